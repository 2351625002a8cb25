"""The edge node exporting to the fleet, as a process over real DDS: keyframes and the trigger moment's best
frame reach the embedded store with the robot's pose; with the server down, frames, triggers and the e-stop
go on as before while the fleet status says why nothing is sent and the outbox stays bounded."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml

pytest.importorskip("rclpy", reason="ROS 2 not installed: run through `make test`")
pytest.importorskip("qdrant_edge", reason="the 'fleet' extra (qdrant-edge-py) is not installed: pip install 'videorag[fleet]'")
pytest.importorskip("qdrant_client", reason="the 'fleet' extra (qdrant-client) is not installed: pip install 'videorag[fleet]'")

from geometry_msgs.msg import PoseStamped
from sensor_msgs.msg import Image

from test.fleet.qdrant_fault_server import closed_port_url
from test.support.domains import child_env
from videorag_ros.bench.rigs.patterns import pattern_frame
from videorag_ros.core.config import FleetConfig
from videorag_ros.fleet.store import FleetFilter, open_store
from videorag_ros.ros.conversions import ns_to_stamp
from videorag_ros.ros.graph import EdgeGraph, wait_until

pytestmark = pytest.mark.integration
CAPACITY = 30


def _params(tmp: Path, model_dir: Path, fleet: dict[str, object]) -> Path:
    ref = tmp / "disk.png"
    cv2.imwrite(str(ref), cv2.cvtColor(pattern_frame("disk"), cv2.COLOR_RGB2BGR))
    params = {
        "cameras": ["front"],
        "front": {"topic": "camera/front/image_raw", "timeout_s": 5.0},
        "model": str(model_dir),
        "gate": {"keyframe_interval_s": 0.0, "max_rate_hz": 0.0, "motion_rate_hz": 0.0},
        "triggers": ["disk_ahead"],
        "disk_ahead": {"reference_images": [str(ref)], "enter_threshold": 0.95, "exit_threshold": 0.9, "min_hold_s": 0.0, "actions": ["estop"]},
        "estop_topic": "/estop",
        "cmd_vel_topic": "/cmd_vel_safety",
        "diagnostics_period_s": 0.25,
        "fleet": {"enabled": True, "robot_id": "rob1", "keyframe_interval_s": 0.2, "flush_interval_s": 0.1, **fleet},
    }
    path = tmp / "edge.yaml"
    path.write_text(yaml.safe_dump({"videorag_edge": {"ros__parameters": params}}))
    return path


class Graph(EdgeGraph):
    def __init__(self, params: Path, log: Path, domain: int) -> None:
        super().__init__(params, domain_id=domain, log_path=log, extra_env=child_env(domain))
        self.front = self.publisher(Image, "camera/front/image_raw")
        self.pose = self.publisher(PoseStamped, "/robot_pose")
        self.closed = False

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            super().close()

    def stream(self, kind: str, n: int) -> None:
        for i in range(n):
            now = time.time_ns()
            pose = PoseStamped()
            pose.header.stamp, pose.header.frame_id = ns_to_stamp(now), "map"
            pose.pose.position.x, pose.pose.position.y, pose.pose.orientation.w = 3.0 + i * 0.01, -1.5, 1.0
            self.pose.publish(pose)
            rgb = pattern_frame(kind, seed=i)
            h, w = rgb.shape[:2]
            msg = Image(height=h, width=w, encoding="rgb8", step=w * 3, data=rgb.tobytes())
            msg.header.stamp = ns_to_stamp(now)
            self.front.publish(msg)
            self.spin(1 / 30)

    def fleet_values(self) -> dict[str, str]:
        for arr in reversed(list(self.monitor.log.diagnostics)):
            for st in arr.status:
                if st.name == "videorag: fleet":
                    level = st.level[0] if isinstance(st.level, bytes) else int(st.level)
                    return {kv.key: kv.value for kv in st.values} | {"_level": str(level), "_message": st.message}
        return {}


@pytest.fixture
def run_graph(tiny_model_dir: Path, tmp_path: Path, own_ros_domain: int) -> Iterator[object]:
    graphs: list[Graph] = []

    def start(fleet: dict[str, object]) -> Graph:
        g = Graph(_params(tmp_path, tiny_model_dir, fleet), tmp_path / "edge.log", own_ros_domain)
        graphs.append(g)
        g.wait_ready([g.front, g.pose] if "pose_topic" in fleet else [g.front])
        return g

    yield start
    for g in graphs:
        g.close()
        print(g.log_path.read_text()[-4000:])


def test_keyframes_and_the_moment_best_frame_reach_the_embedded_store_with_the_pose(run_graph: object, tmp_path: Path) -> None:
    store_dir = tmp_path / "fleet"
    g: Graph = run_graph({"path": str(store_dir), "pose_topic": "/robot_pose", "pose_type": "pose"})  # type: ignore[operator]
    g.stream("stripes", 20)
    g.stream("disk", 25)
    g.stream("stripes", 20)
    assert wait_until(lambda: any(t.state == "EXIT" for t in g.monitor.log.triggers), 5.0, spin=g.spin)
    assert wait_until(lambda: int(g.fleet_values().get("sent", 0)) >= 5 and g.fleet_values().get("state") == "ok", 20.0, spin=g.spin), g.fleet_values()
    values = g.fleet_values()
    assert values["_level"] == "0" and values["dropped"] == "0" and values["robot_id"] == "rob1"
    assert int(values["selected"]) < int(g.monitor.camera_values("front")["embedded"])  # selected frames, not every admitted one
    assert "fleet_handoff.p99_ms" in g.monitor.pipeline_values()
    # The slow loop (offline describer) describes the trigger's moment; its points get the text.
    assert wait_until(lambda: int(g.fleet_values().get("described", 0)) >= 1, 20.0, spin=g.spin), g.fleet_values()
    g.close()  # the node stops its exporter and the store worker: the store is free to open
    store = open_store(FleetConfig(path=str(store_dir)), dim=_dim(store_dir), create=False)
    try:
        assert store.count(FleetFilter(robots=("rob1",), kinds=("keyframe",))) >= 5
        assert store.count(FleetFilter(robots=("rob1",), kinds=("moment",))) == 1
        probe = np.zeros(store.dim, np.float32)
        probe[0] = 1.0
        points = store.search(probe, FleetFilter(robots=("rob1",)), 100)
        moment = next(p for p in points if p.kind == "moment")
        assert moment.trigger == "disk_ahead" and moment.trigger_score >= 0.95 and moment.moment_start_ns <= moment.stamp_ns <= moment.moment_end_ns
        assert moment.thumbnail is not None and moment.thumbnail[:3] == b"\xff\xd8\xff"
        described = [p for p in points if p.description]
        assert described and all(p.description_source.startswith("offline caption ranker") for p in described), [(p.kind, p.description) for p in points]
        posed = [p for p in points if p.pose is not None]
        assert posed and all(p.pose.frame_id == "map" and p.pose.y == -1.5 for p in posed if p.pose)
    finally:
        store.close()


def _dim(store_dir: Path) -> int:
    from videorag_ros.fleet.edge_store import read_shard_config

    found = read_shard_config(store_dir / "videorag_moments")
    assert found is not None
    return found[0]


def test_a_dead_server_leaves_frames_triggers_and_estop_alone(run_graph: object) -> None:
    g: Graph = run_graph({"url": closed_port_url(), "outbox_capacity": CAPACITY, "batch_size": 4, "timeout_s": 1.0, "backoff_initial_s": 0.05, "backoff_max_s": 0.2, "keyframe_interval_s": 0.0})  # type: ignore[operator]
    g.stream("stripes", 30)
    g.stream("disk", 30)
    assert wait_until(lambda: any(v for _, v in g.monitor.log.estop), 5.0, spin=g.spin)
    assert wait_until(lambda: int(g.monitor.camera_values("front").get("embedded", 0)) >= 55, 10.0, spin=g.spin), g.monitor.camera_values("front")
    assert wait_until(lambda: g.fleet_values().get("state") == "retrying" and int(g.fleet_values().get("retries", 0)) >= 2, 10.0, spin=g.spin), g.fleet_values()
    v = g.fleet_values()
    assert v["_level"] == "1" and "Connect" in v["last_error"]  # WARN, naming the failure
    assert int(v["backlog"]) <= CAPACITY + 4 and int(v["dropped"]) >= int(v["selected"]) - CAPACITY - 4 and v["sent"] == "0"
    assert [t.state for t in g.monitor.log.triggers if t.state != "HOLD"][:1] == ["ENTER"]
