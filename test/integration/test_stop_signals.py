"""The edge node as ``ros2 launch`` stops it: SIGINT or SIGTERM, at any point, ends it cleanly.

A clean end is exit status 0, no traceback or C++ abort on stderr, and the memory snapshot written
(the node saves it on the way out). Real process, real rclpy and DDS on loopback.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

pytest.importorskip("rclpy", reason="ROS 2 not installed: run through `make test`")

from test.support.domains import child_env
from videorag_ros.bench.signals import edge_params_with_memory
from videorag_ros.ros.graph import start

pytestmark = pytest.mark.ros
STARTED = "camera 'front'"  # logged once the cameras are subscribed, just before the worker starts
MID_START_UP = "loaded image_int8.onnx"  # logged while the node is still being constructed


def _stop_at(marker: str, sig: signal.Signals, tmp: Path, domain: int) -> tuple[int, str, Path]:
    params = edge_params_with_memory(tmp)
    log = tmp / "edge.log"
    proc = start(["edge", "--params", str(params)], child_env(domain), log_path=str(log))
    try:
        deadline = time.monotonic() + 60.0
        while marker not in log.read_text(errors="replace"):
            assert proc.poll() is None, f"the node exited before '{marker}': {log.read_text(errors='replace')[-2000:]}"
            assert time.monotonic() < deadline, f"no '{marker}' within 60 s"
            time.sleep(0.01)
        proc.send_signal(sig)
        code = proc.wait(timeout=30.0)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return code, log.read_text(errors="replace"), tmp / "memory.vrag"


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=lambda s: s.name)
@pytest.mark.parametrize("marker", [STARTED, MID_START_UP], ids=["running", "starting"])
def test_a_stop_signal_ends_the_node_cleanly_and_saves_its_memory(sig: signal.Signals, marker: str, tmp_path: Path, ros_domain: int) -> None:
    code, log, snapshot = _stop_at(marker, sig, tmp_path, ros_domain)
    assert code == 0, log[-3000:]
    assert "Traceback" not in log, log[-3000:]
    assert "terminate called" not in log, log[-3000:]
    assert snapshot.is_file() and snapshot.stat().st_size > 0, f"no memory snapshot saved on {sig.name}: {log[-2000:]}"
