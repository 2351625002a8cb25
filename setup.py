"""pip install -e . : the ROS-free core (videorag_ros.core) and the `videorag` CLI.

The ROS 2 build (messages, node executables, launch, config) is CMakeLists.txt + colcon.
"""

from pathlib import Path

from setuptools import find_packages, setup

_version = {}
exec((Path(__file__).parent / "videorag_ros" / "_version.py").read_text(), _version)

setup(
    name="videorag",
    version=_version["__version__"],
    description="Short-term visual memory and semantic reflexes for ROS 2 robots",
    license="Apache-2.0",
    python_requires=">=3.10",
    packages=find_packages(include=["videorag_ros", "videorag_ros.*"]),
    package_data={"videorag_ros": ["py.typed"]},
    install_requires=[
        "numpy>=1.24",
        "opencv-python-headless>=4.8",
        "hnswlib>=0.8",
        "onnxruntime>=1.17",
        "pyyaml>=6",
        "rosbags>=0.10",
        "tqdm>=4.60",
        "httpx>=0.23",
    ],
    entry_points={"console_scripts": ["videorag = videorag_ros.cli.main:main"]},
)
