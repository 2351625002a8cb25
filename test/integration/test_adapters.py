"""Action adapters over real DDS: the edge node as a process, consumers in this process.

Two reference-image triggers route to different adapters: ``disk_ahead`` is a full stop
(``estop``: e-stop Bool, zero Twist, twist_mux lock, collision polygon) plus JSON;
``stripes_ahead`` drives only the collision polygon, plus JSON. A green frame matches neither.
Each adapter's messages must arrive with the expected content on ENTER, keep flowing as a
heartbeat, and clear on EXIT; the polygon and lock heartbeats keep flowing while clear.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
import yaml

pytest.importorskip("rclpy", reason="ROS 2 not installed: run through `make test`")

from geometry_msgs.msg import PolygonInstanceStamped
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import Image
from std_msgs.msg import Bool, String

from test.support.domains import child_env
from videorag_ros.bench.rigs.patterns import pattern_frame
from videorag_ros.core.stamps import stamp_to_ns
from videorag_ros.ros import qos
from videorag_ros.ros.conversions import ns_to_stamp
from videorag_ros.ros.graph import EdgeGraph, videorag_command, wait_until

pytestmark = pytest.mark.integration
POLYGON = [0.15, 0.2, 0.45, 0.2, 0.45, -0.2, 0.15, -0.2]


def green_frame(seed: int = 0) -> np.ndarray:
    """A frame neither trigger matches."""
    rng = np.random.default_rng(seed)
    img = np.zeros((120, 160, 3), np.int16) + np.array([30, 200, 60], np.int16)
    return np.clip(img + rng.integers(-6, 7, img.shape), 0, 255).astype(np.uint8)


def _params(tmp: Path, model_dir: Path, **extra: Any) -> dict[str, Any]:
    refs = {}
    for kind in ("disk", "stripes"):
        refs[kind] = tmp / f"{kind}.png"
        cv2.imwrite(str(refs[kind]), cv2.cvtColor(pattern_frame(kind), cv2.COLOR_RGB2BGR))
    trigger = {"enter_threshold": 0.95, "exit_threshold": 0.9, "min_hold_s": 0.0}
    return {
        "cameras": ["front"],
        "front": {"topic": "camera/front/image_raw", "timeout_s": 30.0},
        "model": str(model_dir),
        "gate": {"keyframe_interval_s": 0.0, "max_rate_hz": 0.0, "motion_rate_hz": 0.0},
        "triggers": ["disk_ahead", "stripes_ahead"],
        "disk_ahead": {"reference_images": [str(refs["disk"])], "actions": ["estop", "json"], **trigger},
        "stripes_ahead": {"reference_images": [str(refs["stripes"])], "actions": ["collision_monitor", "json"], **trigger},
        "estop_topic": "/estop",
        "cmd_vel_topic": "/cmd_vel_safety",
        "cmd_vel_rate_hz": 20.0,
        "cmd_vel_lock_topic": "/videorag_test/lock",
        "collision_monitor": {"topic": "/videorag_test/obstacle", "frame_id": "base_footprint", "polygon": POLYGON},
        "json_topic": "/videorag_test/actions",
        "action_heartbeat_hz": 20.0,
        "diagnostics_period_s": 0.25,
        **extra,
    }


def _write(tmp: Path, params: dict[str, Any], name: str = "edge.yaml") -> Path:
    path = tmp / name
    path.write_text(yaml.safe_dump({"videorag_edge": {"ros__parameters": params}}))
    return path


class Consumers:
    """What twist_mux's lock, collision_monitor's polygon source and a JSON consumer receive."""

    def __init__(self, node: Any) -> None:
        self.locks: list[tuple[float, bool]] = []
        self.polygons: list[tuple[float, PolygonInstanceStamped]] = []
        self.json: list[dict[str, Any]] = []
        node.create_subscription(Bool, "/videorag_test/lock", lambda m: self.locks.append((time.monotonic(), m.data)), qos.COMMAND)
        # collision_monitor subscribes its polygon sources with sensor-data QoS (best effort)
        node.create_subscription(PolygonInstanceStamped, "/videorag_test/obstacle", lambda m: self.polygons.append((time.monotonic(), m)), qos_profile_sensor_data)
        node.create_subscription(String, "/videorag_test/actions", lambda m: self.json.append(json.loads(m.data)), qos.EVENTS)

    def since(self, t: float) -> tuple[list[bool], list[PolygonInstanceStamped]]:
        """Lock values and polygons received after monotonic time ``t``."""
        return [v for ts, v in self.locks if ts > t], [p for ts, p in self.polygons if ts > t]


class Graph(EdgeGraph):
    """EdgeGraph with a camera publisher and the adapter consumers."""

    def __init__(self, params: Path, log: Path, domain: int) -> None:
        super().__init__(params, domain_id=domain, log_path=log, extra_env=child_env(domain))
        self.front = self.publisher(Image, "camera/front/image_raw")
        self.consumers = Consumers(self.node)

    def stream(self, make: Any, n: int) -> None:
        for i in range(n):
            rgb = make(i)
            h, w = rgb.shape[:2]
            msg = Image(height=h, width=w, encoding="rgb8", step=w * 3, data=rgb.tobytes())
            msg.header.stamp = ns_to_stamp(time.time_ns())
            self.front.publish(msg)
            self.spin(1 / 30)

    def states(self, trigger: str) -> list[str]:
        return [t.state for t in self.monitor.log.triggers if t.trigger == trigger and t.state != "HOLD"]


@pytest.fixture(scope="module")
def graph(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory, ros_domain: int) -> Iterator[Graph]:
    tmp = tmp_path_factory.mktemp("adapters")
    g = Graph(_write(tmp, _params(tmp, tiny_model_dir)), tmp / "edge.log", ros_domain)
    try:
        g.wait_ready([g.front])
        assert wait_until(lambda: len(g.consumers.polygons) >= 3 and len(g.consumers.locks) >= 3, 10.0, spin=g.spin), g.log_path.read_text()[-3000:]
        yield g
    finally:
        g.close()
        print(g.log_path.read_text())


def _is_obstacle(p: PolygonInstanceStamped) -> bool:
    pts = [v for pt in p.polygon.polygon.points for v in (round(pt.x, 6), round(pt.y, 6))]
    return pts == POLYGON


def test_clear_state_keeps_heartbeats_flowing(graph: Graph) -> None:
    graph.stream(green_frame, 10)
    graph.spin(0.1)  # messages published before the change may still be in flight on other topics
    t0 = time.monotonic()
    assert wait_until(lambda: all(len(x) >= 4 for x in graph.consumers.since(t0)), 5.0, spin=graph.spin)  # heartbeats keep coming
    locks, polygons = graph.consumers.since(t0)
    assert len(locks) >= 4 and not any(locks)  # lock heartbeat: unlocked
    assert len(polygons) >= 4 and all(len(p.polygon.polygon.points) == 0 for p in polygons)  # empty polygon: no obstacle
    assert all(p.header.frame_id == "base_footprint" and p.polygon.id == 0 for p in polygons)
    stamps = [stamp_to_ns(p.header.stamp) for p in polygons]
    assert stamps == sorted(stamps) and stamps[-1] > stamps[0]  # stamped now, so collision_monitor can age it
    assert abs(stamps[-1] - time.time_ns()) < 5e9
    assert graph.monitor.log.twists == 0 and graph.monitor.log.estop[-1][1] is False
    assert graph.consumers.json == []


def test_full_stop_drives_every_stop_adapter_and_json(graph: Graph) -> None:
    graph.stream(lambda i: pattern_frame("disk", seed=i), 15)
    assert wait_until(lambda: graph.monitor.log.estop[-1][1] is True, 5.0, spin=graph.spin)
    graph.spin(0.1)  # messages published before the change may still be in flight on other topics
    t0 = time.monotonic()
    twists0 = graph.monitor.log.twists
    # no new frames: everything below is heartbeat
    heartbeats = lambda: all(len(x) >= 4 for x in graph.consumers.since(t0)) and graph.monitor.log.twists - twists0 >= 4 and len([m for m in graph.consumers.json if m["state"] == "HOLD"]) >= 4  # noqa: E731
    assert wait_until(heartbeats, 5.0, spin=graph.spin)
    locks, polygons = graph.consumers.since(t0)
    assert len(locks) >= 4 and all(locks)
    assert len(polygons) >= 4 and all(_is_obstacle(p) for p in polygons)
    assert graph.monitor.log.twists - twists0 >= 4  # zero Twist at cmd_vel_rate_hz
    enter = graph.consumers.json[0]
    assert set(enter) == {"trigger", "state", "camera", "score", "stamp"}
    assert (enter["trigger"], enter["state"], enter["camera"]) == ("disk_ahead", "ENTER", "front") and enter["score"] >= 0.95
    assert abs(enter["stamp"] - time.time()) < 30.0
    holds = [m for m in graph.consumers.json if m["state"] == "HOLD"]
    assert len(holds) >= 4 and all(m["trigger"] == "disk_ahead" for m in holds)


def test_exit_clears_every_adapter_and_the_polygon_keeps_beating(graph: Graph) -> None:
    graph.stream(green_frame, 15)
    assert wait_until(lambda: graph.monitor.log.estop[-1][1] is False, 5.0, spin=graph.spin)
    assert wait_until(lambda: graph.states("disk_ahead") == ["ENTER", "EXIT"], 2.0, spin=graph.spin)
    assert wait_until(lambda: graph.consumers.json[-1]["state"] == "EXIT", 2.0, spin=graph.spin)
    assert graph.consumers.json[-1]["trigger"] == "disk_ahead"
    graph.spin(0.1)  # messages published before the change may still be in flight on other topics
    t0 = time.monotonic()
    twists0 = graph.monitor.log.twists
    n_json = len(graph.consumers.json)
    # absence cannot be waited for: a fixed window long enough for several heartbeats at 10-20 Hz
    assert wait_until(lambda: all(len(x) >= 4 for x in graph.consumers.since(t0)), 5.0, spin=graph.spin)
    locks, polygons = graph.consumers.since(t0)
    assert len(locks) >= 4 and not any(locks)
    assert len(polygons) >= 4 and all(len(p.polygon.polygon.points) == 0 for p in polygons)
    assert graph.monitor.log.twists == twists0  # no zero Twist while clear: twist_mux falls back to the other inputs
    assert len(graph.consumers.json) == n_json  # no HOLD heartbeats once clear


def test_a_trigger_routed_to_one_adapter_drives_only_that_adapter(graph: Graph) -> None:
    n_json = len(graph.consumers.json)
    graph.stream(lambda i: pattern_frame("stripes", seed=i), 15)
    assert wait_until(lambda: graph.states("stripes_ahead") == ["ENTER"], 5.0, spin=graph.spin)
    graph.spin(0.1)  # messages published before the change may still be in flight on other topics
    t0 = time.monotonic()
    assert wait_until(lambda: all(len(x) >= 3 for x in graph.consumers.since(t0)), 5.0, spin=graph.spin)
    locks, polygons = graph.consumers.since(t0)
    assert polygons and all(_is_obstacle(p) for p in polygons)
    assert locks and not any(locks)  # no twist_mux stop
    assert graph.monitor.log.estop[-1][1] is False  # and no e-stop
    assert [m["state"] for m in graph.consumers.json[n_json:]][:1] == ["ENTER"]
    graph.stream(green_frame, 15)
    assert wait_until(lambda: graph.states("stripes_ahead") == ["ENTER", "EXIT"], 5.0, spin=graph.spin)
    graph.spin(0.1)  # messages published before the change may still be in flight on other topics
    t0 = time.monotonic()
    assert wait_until(lambda: len(graph.consumers.since(t0)[1]) >= 2, 5.0, spin=graph.spin)
    _, polygons = graph.consumers.since(t0)
    assert polygons and all(len(p.polygon.polygon.points) == 0 for p in polygons)


def test_diagnostics_report_the_outputs(graph: Graph) -> None:
    n = len(graph.monitor.log.diagnostics)
    assert wait_until(lambda: len(graph.monitor.log.diagnostics) > n, 5.0, spin=graph.spin)  # a fresh report
    values = graph.monitor.pipeline_values()
    assert values["estop_active"] == "False" and values["collision_polygon_engaged"] == "False"
    assert values["stop_causes"] == "none" and values["watchdog.faults"] == "none"


def _start_and_wait(params: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*videorag_command("edge", "--params", str(params))], env=env, capture_output=True, text=True, timeout=120, check=False)


def test_speed_limit_without_nav2_msgs_is_a_clear_startup_error(tiny_model_dir: Path, tmp_path: Path, ros_domain: int) -> None:
    try:
        import nav2_msgs  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("nav2_msgs is installed here; test_speed_limit_messages covers the adapter")
    params = _params(tmp_path, tiny_model_dir, **{"speed_limit": {"topic": "/speed_limit"}})
    params["triggers"] = ["disk_ahead"]
    del params["stripes_ahead"]
    params["disk_ahead"] = {**params["disk_ahead"], "actions": ["slow_down"], "speed_limit": 30.0}
    env = child_env(ros_domain)
    path = _write(tmp_path, params)
    check = subprocess.run([*videorag_command("edge", "--check", "--params", str(path))], env=env, capture_output=True, text=True, timeout=60, check=False)
    out = _start_and_wait(path, env)
    # The node refuses to start without the message package, and --check (which runs every
    # check the node runs) says so first, in the same words.
    for run in (check, out):
        assert run.returncode == 1, run.stderr[-2000:]
        assert "speed_limit.topic" in run.stderr and "nav2_msgs is not importable" in run.stderr, run.stderr[-2000:]
        assert "Traceback" not in run.stderr


def test_speed_limit_messages(tiny_model_dir: Path, tmp_path: Path) -> None:
    nav2 = pytest.importorskip("nav2_msgs.msg", reason="nav2_msgs is not installable here (no PyPI wheel); runs on a robot")
    params = _params(tmp_path, tiny_model_dir, **{"speed_limit": {"topic": "/videorag_test/speed_limit", "percentage": True}})
    params["disk_ahead"] = {**params["disk_ahead"], "actions": ["slow_down"], "speed_limit": 30.0}
    g = Graph(_write(tmp_path, params), tmp_path / "edge.log")
    limits: list[Any] = []
    try:
        g.node.create_subscription(nav2.SpeedLimit, "/videorag_test/speed_limit", limits.append, 10)
        g.wait_ready([g.front])
        g.stream(lambda i: pattern_frame("disk", seed=i), 15)
        assert wait_until(lambda: len(limits) >= 4, 5.0, spin=g.spin)  # the limit, then heartbeats
        assert all(m.speed_limit == 30.0 and m.percentage for m in limits)
        assert g.monitor.log.estop[-1][1] is False  # a slow-down is never a stop
        g.stream(green_frame, 15)
        assert wait_until(lambda: limits[-1].speed_limit == 0.0, 5.0, spin=g.spin)  # 0.0 = "no limit" once on EXIT
        n = len(limits)
        g.spin(0.5)
        assert len(limits) == n  # and quiet while clear
    finally:
        g.close()
