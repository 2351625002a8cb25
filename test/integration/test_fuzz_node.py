"""Generated bad (and good) camera messages into the edge node over real DDS.

Every message the node receives must be accounted for by exactly one counter — dropped in
the latest-wins slot, rejected as malformed input, rejected by the gate, or admitted — and
the node must keep running and keep serving its other camera.
"""

from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

pytest.importorskip("rclpy", reason="ROS 2 not installed: run through `make test`")

from sensor_msgs.msg import CompressedImage, Image

from test.support.domains import child_env
from test.unit.test_fuzz_inputs import compressed_images, raw_images
from videorag_ros.core.config import dump_params_file
from videorag_ros.ros.conversions import ns_to_stamp
from videorag_ros.ros.graph import EdgeGraph, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.fuzz]
U32 = 2**32 - 1


@pytest.fixture(scope="module")
def graph(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory, ros_domain: int):
    tmp = tmp_path_factory.mktemp("fuzz_node")
    params = dump_params_file(
        {
            "cameras": ["raw", "jpeg"], "raw.topic": "fuzz/raw", "jpeg.topic": "fuzz/jpeg", "jpeg.transport": "compressed",
            "raw.timeout_s": 30.0, "jpeg.timeout_s": 30.0, "model": str(tiny_model_dir), "max_width": 1024, "max_height": 1024,
            "max_compressed_bytes": 1 << 20, "estop_topic": "/fuzz/estop", "cmd_vel_topic": "/fuzz/cmd_vel", "diagnostics_period_s": 0.25,
        },
        tmp / "edge.yaml",
    )  # fmt: skip
    g = EdgeGraph(params, domain_id=ros_domain, log_path=tmp / "edge.log", estop_topic="/fuzz/estop", cmd_vel_topic="/fuzz/cmd_vel", extra_env=child_env(ros_domain))
    try:
        g.raw, g.jpeg = g.publisher(Image, "fuzz/raw"), g.publisher(CompressedImage, "fuzz/jpeg")
        g.wait_ready([g.raw, g.jpeg])
        yield g
    finally:
        g.close()


FUZZ = settings(derandomize=True, deadline=None, database=None, max_examples=250, suppress_health_check=list(HealthCheck))


@pytest.fixture(scope="module")
def storm(graph: EdgeGraph) -> dict[str, int]:
    """Publish the generated messages (hypothesis, derandomised) into the running node; how many were sent."""
    sent = {"raw": 0, "jpeg": 0}

    @given(raw_images().filter(lambda f: all(0 <= f[k] <= U32 for k in ("width", "height", "step"))), compressed_images())
    @FUZZ
    def publish(raw: dict, jpeg: dict) -> None:
        msg = Image(encoding=raw["encoding"], width=raw["width"], height=raw["height"], step=raw["step"], data=raw["data"])
        msg.header.stamp = ns_to_stamp(time.time_ns())
        graph.raw.publish(msg)
        cmsg = CompressedImage(format=jpeg["fmt"], data=jpeg["data"])
        cmsg.header.stamp = ns_to_stamp(time.time_ns())
        graph.jpeg.publish(cmsg)
        sent["raw"] += 1
        sent["jpeg"] += 1
        graph.spin(0.02)

    publish()
    return sent


def test_every_generated_message_is_accounted_for_exactly_once(graph: EdgeGraph, storm: dict[str, int]) -> None:
    """Every message the node received is counted once as dropped / rejected_input / gate_rejected / admitted."""
    assert storm["raw"] >= 200 and storm["jpeg"] >= 200, storm
    good = cv2.imencode(".jpg", np.full((48, 64, 3), 128, np.uint8))[1].tobytes()
    ok_msg = CompressedImage(format="jpeg", data=good)
    ok_msg.header.stamp = ns_to_stamp(time.time_ns())
    graph.jpeg.publish(ok_msg)  # a good frame after the storm is still served

    last: dict[str, int] = {}

    def settled() -> bool:
        # Best-effort DDS may lose frames under load, so what was *received* is the reference:
        # settled once each camera's received count stops changing and every one is accounted.
        vals = {cam: graph.monitor.camera_values(cam) for cam in ("raw", "jpeg")}
        received = {cam: int(v.get("received", -1)) for cam, v in vals.items()}
        stable = received == last
        last.clear()
        last.update(received)
        return stable and all(received[cam] > 0 and _accounted(v) == received[cam] for cam, v in vals.items())

    assert wait_until(settled, 30, spin=graph.spin, step_s=0.5), {cam: graph.monitor.camera_values(cam) for cam in ("raw", "jpeg")}
    for cam in ("raw", "jpeg"):
        v = graph.monitor.camera_values(cam)
        assert int(v["received"]) <= storm[cam] + (cam == "jpeg")
        assert int(v["rejected_input"]) > 0 and int(v.get("admitted", 0)) > 0, v
    assert graph.proc.poll() is None
    assert "Traceback" not in graph.log_path.read_text()


def _accounted(values: dict[str, str]) -> int:
    return sum(int(v) for k, v in values.items() if k in ("dropped", "rejected_input", "admitted") or k.startswith("gate_rejected."))
