"""Watchdogs over real DDS: each fault engages the e-stop (policy ``stop``) until it clears.

The edge node runs as a process with a real ONNX encoder that fails on an all-white frame and
stalls on an all-black one (videorag_ros/bench/rigs/faulty_model.py), so the faults come from onnxruntime
itself. A dead worker cannot be caused by any input (the worker survives everything a frame can
do), so that test runs the node in this process and ends its worker thread from outside with an
asynchronous exception, while a consumer in another rclpy context watches the e-stop.
No timing-bound asserts: each stop must arrive within its timeout plus a generous margin.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

pytest.importorskip("rclpy", reason="ROS 2 not installed: run through `make test`")

from diagnostic_msgs.msg import DiagnosticArray
from geometry_msgs.msg import PolygonInstanceStamped
from sensor_msgs.msg import Image
from std_msgs.msg import Bool

from test.support.domains import child_env
from videorag_ros.bench.rigs.faulty_model import BLACK, WHITE, export_faulty_model, solid_frame
from videorag_ros.bench.rigs.patterns import pattern_frame
from videorag_ros.ros import qos
from videorag_ros.ros.conversions import ns_to_stamp
from videorag_ros.ros.graph import EdgeGraph, wait_until

pytestmark = pytest.mark.integration
TIMEOUT_S = 1.0
DEADLINE_MS = 150.0
MARGIN_S = 5.0  # generous: the machine is shared


@pytest.fixture(scope="module")
def faulty_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The faulty encoder; an all-black frame stalls it for about a second."""
    return export_faulty_model(tmp_path_factory.mktemp("models") / "faulty", hang_size=3072)


def _params(model_dir: Path) -> dict[str, Any]:
    return {
        "cameras": ["front"],
        "front": {"topic": "camera/front/image_raw", "timeout_s": TIMEOUT_S, "on_silence": "stop"},
        "model": str(model_dir),
        "gate": {"keyframe_interval_s": 0.0, "max_rate_hz": 0.0, "motion_rate_hz": 0.0},
        "watchdog": {"encoder_deadline_ms": DEADLINE_MS, "on_encoder_fault": "stop", "encoder_recovery_frames": 3, "on_worker_fault": "stop"},
        "estop_topic": "/estop",
        "cmd_vel_topic": "/cmd_vel_safety",
        "cmd_vel_lock_topic": "/videorag_test/lock",
        "collision_monitor": {"topic": "/videorag_test/obstacle"},
        "diagnostics_period_s": 0.2,
        "allow_no_triggers": True,  # the watchdogs alone drive the stop here
    }


def pipeline_status(diagnostics: list[DiagnosticArray]) -> list[tuple[int, str]]:
    """(level, message) of every 'videorag: pipeline' status received, oldest first."""
    out = []
    for arr in diagnostics:
        for st in arr.status:
            if st.name == "videorag: pipeline":
                out.append((st.level[0] if isinstance(st.level, bytes) else int(st.level), st.message))
    return out


class Graph(EdgeGraph):
    """The edge node process, a camera, and consumers of the e-stop, lock and polygon."""

    def __init__(self, params: Path, log: Path, domain: int) -> None:
        super().__init__(params, domain_id=domain, log_path=log, extra_env=child_env(domain))
        self.front = self.publisher(Image, "camera/front/image_raw")
        self.locks: list[bool] = []
        self.polygons: list[int] = []  # number of points of each polygon received
        self.node.create_subscription(Bool, "/videorag_test/lock", lambda m: self.locks.append(m.data), qos.COMMAND)
        self.node.create_subscription(PolygonInstanceStamped, "/videorag_test/obstacle", lambda m: self.polygons.append(len(m.polygon.polygon.points)), qos.COMMAND)

    def send(self, rgb: np.ndarray) -> None:
        h, w = rgb.shape[:2]
        msg = Image(height=h, width=w, encoding="rgb8", step=w * 3, data=rgb.tobytes())
        msg.header.stamp = ns_to_stamp(time.time_ns())
        self.front.publish(msg)

    def stream(self, n: int, kind: str = "stripes") -> None:
        for i in range(n):
            self.send(pattern_frame(kind, seed=i))
            self.spin(1 / 30)

    def estop(self) -> bool:
        return bool(self.monitor.log.estop) and self.monitor.log.estop[-1][1]

    def stream_until(self, pred: Any, timeout_s: float) -> bool:
        """Keep the camera alive (30 Hz) until ``pred()``."""
        deadline = time.monotonic() + timeout_s
        i = 0
        while time.monotonic() < deadline:
            self.send(pattern_frame("stripes", seed=i))
            self.spin(1 / 30)
            i += 1
            if pred():
                return True
        return bool(pred())


@pytest.fixture(scope="module")
def graph(faulty_model_dir: Path, tmp_path_factory: pytest.TempPathFactory, ros_domain: int) -> Iterator[Graph]:
    tmp = tmp_path_factory.mktemp("watchdogs")
    params = tmp / "edge.yaml"
    params.write_text(yaml.safe_dump({"videorag_edge": {"ros__parameters": _params(faulty_model_dir)}}))
    g = Graph(params, tmp / "edge.log", ros_domain)
    try:
        g.wait_ready([g.front])
        yield g
    finally:
        g.close()
        print(g.log_path.read_text())


def test_a_camera_that_never_spoke_holds_the_stop_until_it_delivers(graph: Graph) -> None:
    # The node came up with no camera frames: after timeout_s the silence watchdog stops the robot.
    assert wait_until(graph.estop, TIMEOUT_S + MARGIN_S, spin=graph.spin), graph.monitor.log.estop
    assert wait_until(lambda: graph.monitor.camera_values("front").get("_level") == "2", MARGIN_S, spin=graph.spin)
    cam = graph.monitor.camera_values("front")
    assert "no frames for" in cam["_message"] and "e-stop engaged" in cam["_message"]
    assert graph.stream_until(lambda: not graph.estop(), MARGIN_S)
    assert wait_until(lambda: graph.monitor.camera_values("front").get("_level") == "0", MARGIN_S, spin=graph.spin)


def test_silent_camera_stops_every_stop_adapter_until_frames_return(graph: Graph) -> None:
    graph.stream(20)
    assert not graph.estop()
    n_locks, n_polys = len(graph.locks), len(graph.polygons)
    assert wait_until(graph.estop, TIMEOUT_S + MARGIN_S, spin=graph.spin)  # the camera went quiet
    assert wait_until(lambda: int(graph.monitor.camera_values("front").get("silent_periods", 0)) >= 2, MARGIN_S, spin=graph.spin)
    # a watchdog stop is a full stop: twist_mux lock and collision polygon engage too, and keep beating
    assert wait_until(lambda: graph.locks[n_locks:].count(True) >= 3 and sum(1 for p in graph.polygons[n_polys:] if p > 0) >= 3, MARGIN_S, spin=graph.spin)
    assert graph.stream_until(lambda: not graph.estop(), MARGIN_S)
    assert wait_until(lambda: graph.locks[-1] is False and graph.polygons[-1] == 0, MARGIN_S, spin=graph.spin)


def test_encoder_error_stops_until_the_encoder_recovers(graph: Graph) -> None:
    graph.stream(10)
    assert not graph.estop()
    n_diag = len(graph.monitor.log.diagnostics)
    graph.send(solid_frame(WHITE))  # onnxruntime fails on this one
    assert wait_until(graph.estop, MARGIN_S, spin=graph.spin)
    assert wait_until(lambda: any(lvl == 2 for lvl, _ in pipeline_status(graph.monitor.log.diagnostics[n_diag:])), MARGIN_S, spin=graph.spin)
    msgs = [m for lvl, m in pipeline_status(graph.monitor.log.diagnostics[n_diag:]) if lvl == 2]
    assert "encoder: failed on camera 'front'" in msgs[0] and "EncoderError" in msgs[0] and "e-stop engaged" in msgs[0]
    # good frames from the same camera clear it (encoder_recovery_frames in a row)
    assert graph.stream_until(lambda: not graph.estop(), MARGIN_S)
    assert wait_until(lambda: pipeline_status(graph.monitor.log.diagnostics)[-1][0] == 0, MARGIN_S, spin=graph.spin)
    assert int(graph.monitor.pipeline_values()["watchdog.encoder_faults"]) >= 1
    assert graph.proc.poll() is None


def test_hung_encoder_is_caught_while_it_runs(graph: Graph) -> None:
    graph.stream(10)
    assert not graph.estop()
    n_diag = len(graph.monitor.log.diagnostics)
    graph.send(solid_frame(BLACK))  # the forward pass stalls for about a second
    graph.spin(1 / 30)  # (a camera reader keeps only the newest frame: let this one be taken first)
    # the camera keeps streaming; the stop must come from the deadline, not from silence
    assert graph.stream_until(graph.estop, DEADLINE_MS / 1e3 + MARGIN_S)
    assert graph.stream_until(lambda: not graph.estop(), MARGIN_S + 5.0)
    messages = [m for lvl, m in pipeline_status(graph.monitor.log.diagnostics[n_diag:]) if lvl == 2]
    assert any("has been running" in m and f"deadline {DEADLINE_MS:g} ms" in m for m in messages), messages  # caught mid-flight
    assert graph.monitor.camera_values("front")["_level"] == "0"  # the camera never went silent


def test_dead_worker_engages_the_estop(faulty_model_dir: Path, own_ros_domain: int) -> None:
    """The node spins single-threaded, as shipped; its worker is killed from outside."""
    from videorag_ros.bench.rigs.worker_death import WorkerDeathRig

    overrides = {"model": str(faulty_model_dir), "diagnostics_period_s": 0.2, "front.timeout_s": 60.0}
    with WorkerDeathRig(own_ros_domain, overrides) as rig:
        estop = rig.estop
        assert wait_until(lambda: len(estop) >= 3, 30.0, spin=rig.spin)
        assert not any(v for _, v in estop)
        rig.kill_worker()
        assert wait_until(lambda: estop[-1][1], MARGIN_S, spin=rig.spin)
        assert wait_until(lambda: any(lvl == 2 for lvl, _ in pipeline_status(rig.statuses)), MARGIN_S, spin=rig.spin)
        [msg, *_] = [m for lvl, m in pipeline_status(rig.statuses) if lvl == 2]
        assert "worker: frame worker thread died: WorkerKilled" in msg and "e-stop engaged" in msg
        # it never clears, and the heartbeat keeps saying so
        n = len(estop)
        wait_until(lambda: False, 0.5, spin=rig.spin)
        assert len(estop) > n and all(v for _, v in estop[n:])
