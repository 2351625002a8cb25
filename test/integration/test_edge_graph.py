"""The edge node as a process over real DDS: e-stop on a positive scene, silence on a negative
one, survival of malformed input, and diagnostics counters.

The node runs with the test's own exported encoder and a reference-image trigger, so this
test depends only on the pipeline, not on a trained model's accuracy.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml

pytest.importorskip("rclpy", reason="ROS 2 not installed: run through `make test`")

from sensor_msgs.msg import CompressedImage, Image

from test.support.domains import child_env
from videorag_ros.bench.rigs.patterns import pattern_frame
from videorag_ros.ros.conversions import ns_to_stamp
from videorag_ros.ros.graph import EdgeGraph, wait_until

pytestmark = pytest.mark.integration


def _write_params(tmp: Path, model_dir: Path) -> Path:
    ref = tmp / "disk.png"
    cv2.imwrite(str(ref), cv2.cvtColor(pattern_frame("disk"), cv2.COLOR_RGB2BGR))
    params = {
        "cameras": ["front", "rear", "side"],
        "front": {"topic": "camera/front/image_raw", "transport": "raw", "timeout_s": 5.0},
        "rear": {"topic": "camera/rear/image_raw/compressed", "transport": "compressed", "timeout_s": 5.0},
        "side": {"topic": "camera/side/image_raw", "timeout_s": 0.5},  # never publishes
        "model": str(model_dir),
        "max_width": 1024,
        "max_height": 1024,
        "gate": {"keyframe_interval_s": 0.0, "max_rate_hz": 0.0, "motion_rate_hz": 0.0},
        "triggers": ["disk_ahead"],
        "disk_ahead": {"reference_images": [str(ref)], "enter_threshold": 0.95, "exit_threshold": 0.9, "min_hold_s": 0.0, "actions": ["estop"]},
        "estop_topic": "/estop",
        "cmd_vel_topic": "/cmd_vel_safety",
        "diagnostics_period_s": 0.25,
    }
    path = tmp / "edge.yaml"
    path.write_text(yaml.safe_dump({"videorag_edge": {"ros__parameters": params}}))
    return path


class Graph(EdgeGraph):
    """EdgeGraph with this test's two camera publishers."""

    def __init__(self, params: Path, log: Path, domain: int) -> None:
        super().__init__(params, domain_id=domain, log_path=log, extra_env=child_env(domain))
        self.front = self.publisher(Image, "camera/front/image_raw")
        self.rear = self.publisher(CompressedImage, "camera/rear/image_raw/compressed")

    def send_raw(self, rgb: np.ndarray) -> None:
        h, w = rgb.shape[:2]
        msg = Image(height=h, width=w, encoding="rgb8", step=w * 3, data=rgb.tobytes())
        msg.header.stamp = ns_to_stamp(time.time_ns())
        self.front.publish(msg)

    def send_jpeg(self, rgb: np.ndarray) -> None:
        ok, buf = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
        assert ok
        msg = CompressedImage(format="jpeg", data=buf.tobytes())
        msg.header.stamp = ns_to_stamp(time.time_ns())
        self.rear.publish(msg)

    def stream(self, kind: str, n: int, *, send: str = "raw") -> None:
        for i in range(n):
            frame = pattern_frame(kind, seed=i)
            (self.send_raw if send == "raw" else self.send_jpeg)(frame)
            self.spin(1 / 30)


@pytest.fixture(scope="module")
def graph(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory, ros_domain: int) -> Iterator[Graph]:
    tmp = tmp_path_factory.mktemp("edge")
    g = Graph(_write_params(tmp, tiny_model_dir), tmp / "edge.log", ros_domain)
    try:
        g.wait_ready([g.front, g.rear])
        yield g
    finally:
        g.close()
        print(g.log_path.read_text())


def test_negative_scene_fires_nothing(graph: Graph) -> None:
    embedded0 = int(graph.monitor.camera_values("front").get("embedded", 0))
    graph.stream("stripes", 30)
    assert wait_until(lambda: int(graph.monitor.camera_values("front").get("embedded", 0)) >= embedded0 + 20, 10.0, spin=graph.spin)
    assert graph.monitor.log.triggers == []
    assert graph.monitor.log.estop and not any(v for _, v in graph.monitor.log.estop)  # latched False arrived


def test_positive_scene_engages_estop_and_publishes_trigger(graph: Graph) -> None:
    graph.stream("disk", 30)
    assert wait_until(lambda: any(v for _, v in graph.monitor.log.estop), 5.0, spin=graph.spin)
    enters = [t for t in graph.monitor.log.triggers if t.state == "ENTER"]
    assert len(enters) == 1
    ev = enters[0]
    assert ev.trigger == "disk_ahead" and ev.camera_id == "front" and ev.score >= 0.95
    # one loose ceiling; the real numbers come from `videorag bench pipeline`
    assert 0.0 < ev.latency_ms < 1000.0 and ev.wire_latency_ms >= ev.latency_ms
    assert any(t.state == "HOLD" for t in graph.monitor.log.triggers)
    assert wait_until(lambda: graph.monitor.log.twists >= 3, 2.0, spin=graph.spin), "zero Twist not published while stopped"


def test_estop_releases_when_scene_clears(graph: Graph) -> None:
    graph.stream("stripes", 15)
    assert wait_until(lambda: graph.monitor.log.estop[-1][1] is False, 5.0, spin=graph.spin)
    assert [t.state for t in graph.monitor.log.triggers if t.state != "HOLD"] == ["ENTER", "EXIT"]


def _bad_images() -> list[Image]:
    good = pattern_frame("disk")
    h, w = good.shape[:2]
    return [
        Image(height=h, width=w, encoding="rgb8", step=w * 3, data=good.tobytes()[:-7]),  # short buffer
        Image(height=h, width=w, encoding="32FC1", step=w * 4, data=bytes(w * h * 4)),  # unknown encoding
        Image(height=0, width=0, encoding="rgb8", step=0, data=b""),  # empty
        Image(height=2000, width=2, encoding="mono8", step=2, data=bytes(4000)),  # over max_height
        Image(height=h, width=w, encoding="rgb8", step=w, data=bytes(w * h)),  # step too short
    ]


def test_malformed_input_is_counted_and_node_survives(graph: Graph) -> None:
    for msg in _bad_images():
        msg.header.stamp = ns_to_stamp(time.time_ns())
        graph.front.publish(msg)
        graph.spin(0.05)
    bad = CompressedImage(format="jpeg", data=b"\xff\xd8 this is not a jpeg")
    bad.header.stamp = ns_to_stamp(time.time_ns())
    graph.rear.publish(bad)
    graph.spin(0.1)

    def counted() -> bool:
        front, rear = graph.monitor.camera_values("front"), graph.monitor.camera_values("rear")
        return int(front.get("rejected_input", 0)) >= 5 and int(rear.get("rejected_input", 0)) >= 1

    assert wait_until(counted, 5.0, spin=graph.spin), graph.monitor.camera_values("front")
    assert graph.proc.poll() is None, "edge node died on malformed input"
    # the other camera still works: a positive scene on the compressed camera fires
    graph.stream("disk", 20, send="jpeg")
    assert wait_until(lambda: any(t.state == "ENTER" and t.camera_id == "rear" for t in graph.monitor.log.triggers), 5.0, spin=graph.spin)


def test_silent_camera_is_reported(graph: Graph) -> None:
    side = graph.monitor.camera_values("side")
    assert side["_level"] == "2" and "no frames" in side["_message"]  # ERROR: a silent camera is a fault
    assert int(side.get("silent_periods", 0)) >= 1
