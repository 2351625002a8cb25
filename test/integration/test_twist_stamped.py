"""``cmd_vel_stamped: true``: a stopped edge node publishes a zero geometry_msgs/TwistStamped.

The node runs as a process over real DDS; its only camera never sends a frame, so the camera
watchdog (``on_silence: stop``) stops the robot, and twist_mux's top-priority input must carry
zero TwistStamped messages (Jazzy twist_mux ``use_stamped``, Nav2's stamped cmd_vel), stamped
by the node's clock in ``cmd_vel_frame_id``, and no unstamped Twist publisher on the topic.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

pytest.importorskip("rclpy", reason="ROS 2 not installed: run through `make test`")

from geometry_msgs.msg import TwistStamped
from sensor_msgs.msg import Image

from test.support.domains import child_env
from videorag_ros.core.stamps import stamp_to_ns
from videorag_ros.ros import qos
from videorag_ros.ros.graph import EdgeGraph, wait_until

pytestmark = pytest.mark.integration
TOPIC = "/videorag_test/cmd_vel_safety"


def _params(model_dir: Path) -> dict[str, Any]:
    return {
        "cameras": ["front"],
        "front": {"topic": "camera/front/image_raw", "timeout_s": 0.5, "on_silence": "stop"},
        "model": str(model_dir),
        "triggers": ["person_ahead"],
        "person_ahead": {"prompts": ["a person in front of the robot"], "actions": ["estop"]},
        "estop_topic": "/videorag_test/estop",
        "cmd_vel_topic": TOPIC,
        "cmd_vel_rate_hz": 20.0,
        "cmd_vel_stamped": True,
        "cmd_vel_frame_id": "base_footprint",
        "diagnostics_period_s": 0.25,
    }


@pytest.fixture
def graph(tiny_model_dir: Path, tmp_path: Path, own_ros_domain: int) -> Iterator[EdgeGraph]:
    params = tmp_path / "edge.yaml"
    params.write_text(yaml.safe_dump({"/**": {"ros__parameters": _params(tiny_model_dir)}}))
    # the monitor's Twist counter watches another topic: this one carries TwistStamped
    g = EdgeGraph(params, domain_id=own_ros_domain, log_path=tmp_path / "edge.log", estop_topic="/videorag_test/estop",
                  cmd_vel_topic="/videorag_test/unused_twist", extra_env=child_env(own_ros_domain))
    try:
        yield g
    finally:
        g.close()


def test_a_stopped_node_publishes_zero_twist_stamped(graph: EdgeGraph) -> None:
    received: list[tuple[float, TwistStamped]] = []
    graph.node.create_subscription(TwistStamped, TOPIC, lambda m: received.append((time.monotonic(), m)), qos.COMMAND)
    camera = graph.publisher(Image, "camera/front/image_raw")  # matched, never publishes: the camera is silent
    graph.wait_ready([camera])
    log = graph.log_path
    assert wait_until(lambda: bool(graph.monitor.log.estop) and graph.monitor.log.estop[-1][1] is True, 10.0, spin=graph.spin), log.read_text()[-3000:]
    t0 = time.monotonic()
    assert wait_until(lambda: sum(1 for t, _ in received if t > t0) >= 5, 5.0, spin=graph.spin), log.read_text()[-3000:]
    msgs = [m for t, m in received if t > t0]
    for m in msgs:
        v = (m.twist.linear.x, m.twist.linear.y, m.twist.linear.z, m.twist.angular.x, m.twist.angular.y, m.twist.angular.z)
        assert v == (0.0,) * 6
        assert m.header.frame_id == "base_footprint"
    stamps = [stamp_to_ns(m.header.stamp) for m in msgs]
    assert stamps == sorted(stamps) and stamps[-1] > stamps[0]  # stamped as sent, not once
    assert abs(stamps[-1] - time.time_ns()) < 5e9  # the node's clock (no use_sim_time here)
    types = {tuple(i.topic_type for i in graph.node.get_publishers_info_by_topic(TOPIC))}
    assert types == {("geometry_msgs/msg/TwistStamped",)}, types
    assert graph.monitor.pipeline_values()["twist_mux_engaged"] == "True"
