"""pip install -e . : the ROS-free core and the `videorag` CLI (the runtime only);
pip install -e .[toolchain] adds model export / quantization / training, .[ingest] the doors
(videorag bridge, ingest ws|webrtc, stream-client), .[viz] the pictures, .[test] everything
`make test` uses.

The ROS 2 build (messages, node executables, launch, config) is CMakeLists.txt + colcon. The
dependency lists are read from tools/requirements-*.txt, the one place they are written.
"""

from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent
_version = {}
exec((HERE / "videorag_ros" / "_version.py").read_text(), _version)


def _requirements(name):
    """The requirement lines of tools/requirements-<name>.txt (comments and -r includes left out)."""
    lines = (HERE / "tools" / f"requirements-{name}.txt").read_text().splitlines()
    return [ln.split("#", 1)[0].strip() for ln in lines if ln.split("#", 1)[0].strip() and not ln.startswith("-r")]


toolchain = _requirements("toolchain")
ingest = _requirements("ingest")
bench = _requirements("bench")
dev = _requirements("dev")
setup(
    name="videorag",
    version=_version["__version__"],
    description="Short-term visual memory and semantic reflexes for ROS 2 robots",
    license="Apache-2.0",
    python_requires=">=3.10",
    packages=find_packages(include=["videorag_ros", "videorag_ros.*"]),
    package_data={"videorag_ros": ["py.typed"]},
    install_requires=_requirements("runtime"),
    extras_require={"toolchain": toolchain, "ingest": ingest, "viz": ["matplotlib>=3.7"], "bench": bench, "test": toolchain + ingest + bench + dev},
    entry_points={"console_scripts": ["videorag = videorag_ros.cli.main:main"]},
)
