"""package.xml, setup.py, tools/requirements-*.txt and rosdep/videorag.yaml tell one story.

``rosdep install --from-paths src`` must resolve every key package.xml names: each is a key
rosdistro defines (listed below) or one rosdep/videorag.yaml defines; the Python packages in
package.xml are the ones setup.py installs; every third-party module the package imports is
declared (or listed here as optional, with the reason).
"""

from __future__ import annotations

import ast
import runpy
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]

# Keys rosdistro's rosdep/python.yaml defines (apt unless the key ends in -pip). Sources:
# /work/notes/rosdep_keys.md, from github.com/ros/rosdistro rosdep/python.yaml (python3-aiortc
# since rosdistro PR #48359, python3-httpx PR #44364); format:
# https://docs.ros.org/en/independent/api/rosdep/html/rosdep_yaml_format.html
ROSDISTRO_PYTHON_KEYS = {
    "python3-numpy", "python3-opencv", "python3-yaml", "python3-pil", "python3-tqdm", "python3-matplotlib",
    "python3-rosbags-pip", "python3-onnxruntime-pip", "python3-onnxruntime-gpu-pip", "python3-websockets",
    "python3-aiortc", "python3-aiohttp", "python3-httpx", "python3-pytest", "python3-hypothesis",
    "python3-torch", "python3-transformers-pip", "python3-faiss",
}
# Keys that are not there (same sources): they must come from rosdep/videorag.yaml or not be used.
ROSDISTRO_MISSING = {
    "python3-hnswlib", "python3-hnswlib-pip", "python3-onnx", "python3-onnx-pip", "python3-tokenizers",
    "python3-tokenizers-pip", "python3-av", "python3-av-pip", "python3-qdrant-client-pip", "python3-aiortc-pip",
}
# ROS packages: rosdep resolves a package name released in the distro (Humble, Jazzy).
ROS_PACKAGES = {
    "ament_cmake", "ament_cmake_python", "ament_cmake_pytest", "ament_index_python", "rosidl_default_generators",
    "rosidl_default_runtime", "builtin_interfaces", "std_msgs", "sensor_msgs", "geometry_msgs", "diagnostic_msgs", "nav_msgs",
    "rosgraph_msgs", "rcl_interfaces", "rclpy", "launch", "launch_ros",
}
# pip distribution (as setup.py names it) -> the rosdep key package.xml uses for it
PIP_TO_ROSDEP = {
    "numpy": "python3-numpy", "opencv-python-headless": "python3-opencv", "pyyaml": "python3-yaml",
    "pillow": "python3-pil", "tqdm": "python3-tqdm", "rosbags": "python3-rosbags-pip", "hnswlib": "python3-hnswlib-pip",
    "onnxruntime": "python3-onnxruntime-pip", "tokenizers": "python3-tokenizers-pip", "matplotlib": "python3-matplotlib",
    "av": "python3-av-pip", "websockets": "python3-websockets", "aiohttp": "python3-aiohttp", "aiortc": "python3-aiortc",
    "httpx": "python3-httpx",
}
# import name -> pip distribution
MODULE_TO_PIP = {
    "numpy": "numpy", "cv2": "opencv-python-headless", "yaml": "pyyaml", "PIL": "pillow", "tqdm": "tqdm",
    "rosbags": "rosbags", "hnswlib": "hnswlib", "onnxruntime": "onnxruntime", "tokenizers": "tokenizers",
    "matplotlib": "matplotlib", "av": "av", "websockets": "websockets", "aiohttp": "aiohttp", "aiortc": "aiortc",
    "aioice": "aiortc",  # aiortc's own ICE library, installed with it
    "httpx": "httpx",
}
# Imported, deliberately not a dependency of the installed package:
OPTIONAL_MODULES = {
    "torch": "toolchain extra (model export / training), never on a robot",
    "transformers": "toolchain extra", "onnx": "toolchain extra", "openvino": "bench extra",
    "tensorrt": "JetPack / TensorRT, capability-checked at run time", "cuda": "TensorRT runtime (cuda-python), capability-checked",
    "pycuda": "TensorRT runtime, capability-checked", "nav2_msgs": "speed_limit adapter only; no PyPI wheel, present with Nav2",
    "videorag": "this package's own messages (colcon build)",
    "hnswlib": "bench extra: the index's peers (videorag bench index --peers)", "faiss": "bench extra: an index peer",
    "qdrant_edge": "bench extra: an index peer; the fleet extra: the embedded fleet store",
    "qdrant_client": "fleet extra: a Qdrant server or cluster",
}
# Package.xml's ROS keys that tools/requirements-ros.txt cannot name: no PyPI wheel (../shared/ros2-tools).
NO_WHEEL = {"launch", "launch_ros", "ament_cmake_pytest"}


def package_xml() -> ET.Element:
    return ET.parse(REPO / "package.xml").getroot()


def exec_keys() -> set[str]:
    root = package_xml()
    return {e.text.strip() for tag in ("exec_depend", "depend") for e in root.iter(tag) if e.text}


def all_keys() -> set[str]:
    root = package_xml()
    tags = ("exec_depend", "depend", "build_depend", "buildtool_depend", "test_depend")
    return {e.text.strip() for tag in tags for e in root.iter(tag) if e.text}


def custom_rosdep() -> dict[str, Any]:
    data = yaml.safe_load((REPO / "rosdep" / "videorag.yaml").read_text())
    assert isinstance(data, dict)
    return data


def setup_kwargs(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The keyword arguments setup.py passes to setuptools.setup()."""
    import setuptools

    seen: dict[str, Any] = {}
    monkeypatch.setattr(setuptools, "setup", lambda **kw: seen.update(kw))
    monkeypatch.chdir(REPO)
    runpy.run_path(str(REPO / "setup.py"))
    return seen


def dist_name(requirement: str) -> str:
    from packaging.requirements import Requirement

    return Requirement(requirement).name.lower()


def test_every_key_resolves_from_rosdistro_or_our_rosdep_yaml() -> None:
    ours = set(custom_rosdep())
    unresolved = {k for k in all_keys() if k not in ROS_PACKAGES | ROSDISTRO_PYTHON_KEYS | ours}
    assert not unresolved, f"package.xml keys neither in rosdistro (per this test's list) nor in rosdep/videorag.yaml: {sorted(unresolved)}"


def test_our_rosdep_yaml_defines_only_missing_keys_as_pip_on_jammy_and_noble() -> None:
    data = custom_rosdep()
    assert set(data) <= ROSDISTRO_MISSING, f"keys rosdistro already has (its definition would win): {sorted(set(data) - ROSDISTRO_MISSING)}"
    assert set(data) <= all_keys(), f"unused keys in rosdep/videorag.yaml: {sorted(set(data) - all_keys())}"
    for key, rule in data.items():
        for release in ("jammy", "noble"):
            packages = rule["ubuntu"][release]["pip"]["packages"]
            assert packages and all(isinstance(p, str) for p in packages), (key, release)
            assert key.endswith("-pip"), f"{key}: a pip rule under a name that reads like an apt package"


def test_package_xml_and_setup_py_list_the_same_python_packages(monkeypatch: pytest.MonkeyPatch) -> None:
    kw = setup_kwargs(monkeypatch)
    installed = [*kw["install_requires"], *kw["extras_require"]["ingest"], *kw["extras_require"]["viz"]]
    names = {dist_name(r) for r in installed}
    unmapped = names - set(PIP_TO_ROSDEP)
    assert not unmapped, f"setup.py requirements with no rosdep key in this test's PIP_TO_ROSDEP: {sorted(unmapped)}"
    python_keys = {k for k in exec_keys() if k.startswith("python3-")}
    assert {PIP_TO_ROSDEP[n] for n in names} == python_keys, (
        f"in setup.py only: {sorted({PIP_TO_ROSDEP[n] for n in names} - python_keys)}; "
        f"in package.xml only: {sorted(python_keys - {PIP_TO_ROSDEP[n] for n in names})}")


def test_package_xml_ros_dependencies_are_in_the_venv_requirements() -> None:
    wheels = {ln.split("#", 1)[0].strip() for ln in (REPO / "tools" / "requirements-ros.txt").read_text().splitlines()}
    ros_keys = {k for k in all_keys() if not k.startswith("python3-")} - NO_WHEEL
    missing = {k for k in ros_keys if "ros-" + k.replace("_", "-") not in wheels}
    assert not missing, f"package.xml ROS dependencies without a ros-* wheel in tools/requirements-ros.txt: {sorted(missing)}"


def imported_modules() -> set[str]:
    """Top-level modules imported anywhere in videorag_ros (absolute imports)."""
    found: set[str] = set()
    for path in (REPO / "videorag_ros").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                found.update(a.name.split(".")[0] for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
    return found - set(sys.stdlib_module_names) - {"videorag_ros", "__future__"}


def test_every_import_of_the_package_is_declared() -> None:
    modules = imported_modules()
    keys = exec_keys()
    undeclared = set()
    for m in modules - set(OPTIONAL_MODULES):
        if m in MODULE_TO_PIP:
            if PIP_TO_ROSDEP[MODULE_TO_PIP[m]] not in keys:
                undeclared.add(m)
        elif m not in keys:
            undeclared.add(m)
    assert not undeclared, f"imported by videorag_ros but not declared in package.xml: {sorted(undeclared)}"
