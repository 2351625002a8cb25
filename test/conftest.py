"""Shared fixtures: a tiny exported ONNX model, small synthetic frames, ROS domains.

DDS never leaves this machine in a test: discovery is confined to localhost here, before any
test module can import rclpy, for this process and every process a test starts.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from test.support import domains
from videorag_ros.bench.rigs.tiny_model import export_tiny_model
from videorag_ros.ros.dds import confine_to_localhost

confine_to_localhost()
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def ros_domain() -> Iterator[int]:
    """A ROS domain id held by this test module alone (see test/support/domains.py)."""
    domain = domains.allocate()
    yield domain
    domains.release(domain)


@pytest.fixture
def own_ros_domain() -> Iterator[int]:
    """A ROS domain id held by this one test."""
    domain = domains.allocate()
    yield domain
    domains.release(domain)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real ONNX image/text encoder pair with manifest, exported once per session."""
    return export_tiny_model(tmp_path_factory.mktemp("models") / "tiny-test")


@pytest.fixture(scope="session")
def tiny_encoder(tiny_model_dir: Path):
    from videorag_ros.core.encoder.encoder import load_encoder

    return load_encoder(str(tiny_model_dir), backend="cpu")


@pytest.fixture(scope="session")
def footage(tmp_path_factory: pytest.TempPathFactory):
    """``footage("vtest.avi")`` → path of a real clip from Debian's opencv-doc (see test/support/footage.py)."""
    from test.support.footage import clip_path

    workdir = tmp_path_factory.mktemp("footage")
    return lambda name: clip_path(name, workdir)
