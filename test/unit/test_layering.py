"""The core never imports rclpy or message packages; the launch file names what we install."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

from test.conftest import REPO

# What the runtime core may never import, at module level or lazily inside a function: ROS, the
# model toolchain's heavy packages, the bag library, and every room of the package above it.
CORE_FORBIDDEN = ("rclpy", "videorag", "torch", "transformers", "rosbags", "matplotlib")
CORE_FORBIDDEN_ROOMS = ("ros", "cli", "bench", "toolchain", "recordings", "scenarios", "sim", "viz", "ingest", "slowloop", "fleet")


def _imports(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.append(node.module)
    return names


def test_core_imports_nothing_above_it_not_even_lazily() -> None:
    """No exemptions: every module under videorag_ros/core, every import statement in it."""
    bad = []
    for path in sorted((REPO / "videorag_ros" / "core").rglob("*.py")):
        for name in _imports(path):
            root = name.split(".")[0]
            room = name.split(".")[1] if name.startswith("videorag_ros.") else ""
            if root in CORE_FORBIDDEN or root.endswith("_msgs") or room in CORE_FORBIDDEN_ROOMS:
                bad.append(f"{path.relative_to(REPO)}: import {name}")
    assert not bad, "\n".join(bad)


def test_core_imports_without_ros() -> None:
    """Importing every core module loads no ROS, toolchain or bag package (what a laptop without ROS sees)."""
    code = (
        "import sys, pkgutil, importlib, videorag_ros.core as c\n"
        "for m in pkgutil.walk_packages(c.__path__, 'videorag_ros.core.'): importlib.import_module(m.name)\n"
        f"bad = [m for m in sys.modules if m.split('.')[0] in {CORE_FORBIDDEN!r} or m.endswith('_msgs') or '_msgs.' in m]\n"
        "print(bad); sys.exit(1 if bad else 0)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stdout + out.stderr


def test_launch_file_names_installed_executables_and_config() -> None:
    tree = ast.parse((REPO / "launch" / "edge.launch.py").read_text())
    strings = {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)}
    cmake = (REPO / "CMakeLists.txt").read_text()
    installed = set(re.findall(r"scripts/(\w+)", cmake))
    executables = {kw.value.value for n in ast.walk(tree) if isinstance(n, ast.keyword) and n.arg == "executable" for kw in [n]}
    assert executables and executables <= installed
    for exe in executables:
        assert (REPO / "scripts" / exe).is_file()
    assert "edge.yaml" in strings and (REPO / "config" / "edge.yaml").is_file()
    assert re.search(r"install\(DIRECTORY launch config models", cmake)
    assert "videorag_edge" in strings  # node name = the parameter file's section


def test_readme_documents_every_parameter() -> None:
    from videorag_ros.core.config import CAMERA_PARAMS, EDGE_PARAMS, TRIGGER_PARAMS

    readme = (REPO / "README.md").read_text()
    names = [s.name for s in EDGE_PARAMS] + [f"<cam>.{s.name}" for s in CAMERA_PARAMS] + [f"<trig>.{s.name}" for s in TRIGGER_PARAMS]
    missing = [n for n in names if f"`{n}`" not in readme]
    assert not missing, f"README parameter table lacks {missing}"


def test_readme_parameter_tables_are_the_generated_ones() -> None:
    sys.path.insert(0, str(REPO / "tools"))
    import readme_params

    readme = (REPO / "README.md").read_text()
    for table in readme_params.tables():
        assert table in readme, f"README parameter table is out of date; run: python tools/readme_params.py --write\n{table[:300]}"


def test_version_defined_once_and_matches_package_xml() -> None:
    from videorag_ros import __version__

    xml = (REPO / "package.xml").read_text()
    assert f"<version>{__version__}</version>" in xml


def test_arrows_only_point_down() -> None:
    """Rooms below the entry points never import the commands (cli) or the benchmarks (bench)."""
    bad = []
    for room in ("core", "recordings", "scenarios", "sim", "toolchain", "ros", "viz", "ingest", "slowloop", "fleet"):
        for path in sorted((REPO / "videorag_ros" / room).rglob("*.py")):
            for name in _imports(path):
                if name.startswith(("videorag_ros.cli", "videorag_ros.bench", "test.", "test")) and not name.startswith("testing"):
                    bad.append(f"{path.relative_to(REPO)}: import {name}")
    assert not bad, "\n".join(bad)
