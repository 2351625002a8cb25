"""The edge node with real rclpy: live parameter changes, typed ranges, the lifecycle variant, the debug image."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("rclpy", reason="ROS 2 not installed: run through `make test`")

from rclpy.executors import SingleThreadedExecutor
from rclpy.lifecycle import TransitionCallbackReturn
from rclpy.parameter import Parameter
from sensor_msgs.msg import Image
from std_msgs.msg import Bool

from test.support.waiting import wait_for
from videorag_ros.core.errors import ConfigError
from videorag_ros.ros import qos
from videorag_ros.ros.conversions import ns_to_stamp

pytestmark = pytest.mark.ros
MS = 1_000_000


def _overrides(model: Path, **extra: Any) -> list[Parameter[Any]]:
    values = {
        "model": str(model),
        "triggers": ["person"],
        "person.prompts": ["a person"],
        "person.enter_threshold": 0.6,
        "person.exit_threshold": 0.4,
        "gate.keyframe_interval_s": 0.0,
        "gate.max_rate_hz": 0.0,
        "gate.motion_rate_hz": 0.0,
        "estop_topic": "estop",
        **extra,
    }
    return [Parameter(k, value=v) for k, v in values.items()]


def _set(node: Any, name: str, value: Any) -> Any:
    return node.set_parameters([Parameter(name, value=value)])[0]


def _frame(i: int) -> np.ndarray:
    return np.full((48, 64, 3), 60 + 10 * (i % 2), np.uint8)


def test_a_threshold_set_live_decides_the_next_frame(ctx: Any, tiny_model_dir: Path) -> None:
    from videorag_ros.ros.edge_node import EdgeNode

    node = EdgeNode(context=ctx, parameter_overrides=_overrides(tiny_model_dir))
    try:
        result = _set(node, "person.enter_threshold", 0.75)
        assert result.successful, result.reason
        assert node.get_parameter("person.enter_threshold").value == 0.75
        assert node.pipeline.triggers.configs[0].enter_threshold == 0.6  # queued until the next frame
        decided = node.pipeline.process("front", _frame(0), 0, 0)
        assert decided.config_generation == 1
        assert node.pipeline.triggers.configs[0].enter_threshold == 0.75
        assert node.config.triggers[0].enter_threshold == 0.75
        assert node._tuning is not None and node._tuning.diagnostics()["parameters.changes"] == 1
    finally:
        node.destroy_node()


@pytest.mark.parametrize(
    ("name", "value", "reason"),
    [
        ("person.enter_threshold", float("nan"), "nan"),  # rclpy's typed range refuses it first; ours would too
        ("person.enter_threshold", float("inf"), ""),  # refused by the typed range already
        ("person.enter_threshold", 0.2, "must not exceed enter_threshold"),  # under exit_threshold 0.4
        ("person.enter_threshold", "high", "must be a float"),
        ("person.debounce_n", 9, ""),  # 9 > debounce_m 3, also over nothing in its range
        ("estop_heartbeat_hz", 0.0, ""),
        ("model", "elsewhere", "read-only"),
        ("cameras", ["front", "rear"], "read-only"),
    ],
)
def test_a_refused_set_returns_the_reason_and_changes_nothing(ctx: Any, tiny_model_dir: Path, name: str, value: Any, reason: str) -> None:
    from videorag_ros.ros.edge_node import EdgeNode

    node = EdgeNode(context=ctx, parameter_overrides=_overrides(tiny_model_dir))
    try:
        before = node.get_parameter(name).value
        result = _set(node, name, value)
        assert not result.successful
        assert reason in result.reason and result.reason
        assert node.get_parameter(name).value == before
        assert node.pipeline.process("front", _frame(0), 0, 0).config_generation == 0
    finally:
        node.destroy_node()


def test_new_prompts_are_encoded_before_the_swap(ctx: Any, tiny_model_dir: Path) -> None:
    from videorag_ros.ros.edge_node import EdgeNode

    node = EdgeNode(context=ctx, parameter_overrides=_overrides(tiny_model_dir))
    try:
        old = node.pipeline.triggers.goals["person"].positive.copy()
        assert _set(node, "person.prompts", ["a pallet in the aisle", "boxes on the floor"]).successful
        node.pipeline.process("front", _frame(0), 0, 0)
        new = node.pipeline.triggers.goals["person"].positive
        assert new.shape[0] == 2 and not np.allclose(new[0], old[0])
    finally:
        node.destroy_node()


def test_numbers_carry_typed_ranges_for_rqt(ctx: Any, tiny_model_dir: Path) -> None:
    from videorag_ros.ros.edge_node import EdgeNode

    node = EdgeNode(context=ctx, parameter_overrides=_overrides(tiny_model_dir))
    try:
        enter = node.describe_parameter("person.enter_threshold")
        assert (enter.floating_point_range[0].from_value, enter.floating_point_range[0].to_value) == (-1.0, 1.0)
        assert not enter.read_only
        n = node.describe_parameter("person.debounce_n")
        assert (n.integer_range[0].from_value, n.integer_range[0].step) == (1, 1)
        assert node.describe_parameter("model").read_only
    finally:
        node.destroy_node()


def test_an_out_of_range_file_value_is_refused_in_our_words(ctx: Any, tiny_model_dir: Path) -> None:
    from videorag_ros.ros.edge_node import EdgeNode

    with pytest.raises(ConfigError, match=re.escape("'person.enter_threshold' = 3.0 is above its maximum 1.0")):
        EdgeNode(context=ctx, parameter_overrides=_overrides(tiny_model_dir, **{"person.enter_threshold": 3.0}))


def test_ctrl_c_during_start_up_stops_the_threads_already_started(ctx: Any, tiny_model_dir: Path) -> None:
    """A KeyboardInterrupt (a process embedding the node) can land inside the constructor: the caller never gets a node to destroy, so it cleans up itself."""
    from videorag_ros.ros.edge_node import EdgeNode

    class InterruptedAtTheEnd(EdgeNode):
        def _start(self) -> None:
            super()._start()  # the worker, query and slow-loop threads are running now
            raise KeyboardInterrupt

    before = set(threading.enumerate())
    with pytest.raises(KeyboardInterrupt):
        InterruptedAtTheEnd(context=ctx, parameter_overrides=_overrides(tiny_model_dir))
    wait_for(lambda: not (set(threading.enumerate()) - before), timeout_s=5.0)
    assert not [t.name for t in set(threading.enumerate()) - before]


# --- lifecycle ---------------------------------------------------------------------------------


@pytest.fixture
def spun(ctx: Any) -> Iterator[Callable[[Any], None]]:
    """Spin nodes of ``ctx`` on a background executor while the test runs."""
    executor = SingleThreadedExecutor(context=ctx)
    stop = threading.Event()

    def spin() -> None:
        while not stop.is_set():
            executor.spin_once(timeout_sec=0.05)

    thread = threading.Thread(target=spin, daemon=True)
    thread.start()
    yield executor.add_node
    stop.set()
    thread.join(timeout=5)
    executor.shutdown()


def test_managed_node_configures_activates_and_fails_safe_when_deactivated(ctx: Any, tiny_model_dir: Path, spun: Callable[[Any], None]) -> None:
    import rclpy

    from videorag_ros.ros.edge_node import ManagedEdgeNode

    node = ManagedEdgeNode(context=ctx, parameter_overrides=_overrides(tiny_model_dir, estop_heartbeat_hz=20.0))
    listener = rclpy.create_node("estop_listener", context=ctx)
    got: list[tuple[float, bool]] = []
    listener.create_subscription(Bool, "/estop", lambda m: got.append((time.monotonic(), m.data)), qos.LATCHED_SAFETY)
    camera = listener.create_publisher(Image, "/camera/front/image_raw", qos.CAMERA_SUBSCRIPTION)
    spun(node)
    spun(listener)
    try:
        time.sleep(0.5)
        assert got == []  # unconfigured: no outputs yet
        assert node.trigger_configure() == TransitionCallbackReturn.SUCCESS
        assert node.pipeline.triggers.configs[0].name == "person"  # model loaded, prompts encoded
        time.sleep(0.3)
        assert got == []  # inactive: still nothing published
        assert node.trigger_activate() == TransitionCallbackReturn.SUCCESS
        assert wait_for(lambda: len(got) >= 3) and not any(v for _, v in got)  # clear, with heartbeats
        msg = Image(height=48, width=64, encoding="rgb8", step=64 * 3, data=_frame(0).tobytes())
        msg.header.stamp = ns_to_stamp(time.time_ns())
        camera.publish(msg)
        assert wait_for(lambda: node.pipeline.counters.get("front", "received") >= 1)
        assert node.trigger_deactivate() == TransitionCallbackReturn.SUCCESS
        assert wait_for(lambda: got[-1][1])  # an explicit stop
        n = len(got)
        time.sleep(0.5)
        assert len(got) == n  # and no heartbeats: 10 would have come at 20 Hz
        assert node.trigger_activate() == TransitionCallbackReturn.SUCCESS
        assert wait_for(lambda: not got[-1][1])  # clear again
        assert node.trigger_deactivate() == TransitionCallbackReturn.SUCCESS
        assert node.trigger_cleanup() == TransitionCallbackReturn.SUCCESS
        assert node.trigger_configure() == TransitionCallbackReturn.SUCCESS  # and again, after a cleanup
    finally:
        node.destroy_node()
        listener.destroy_node()


def test_managed_node_with_a_missing_model_fails_configure_and_stays_unconfigured(ctx: Any, tmp_path: Path) -> None:
    from videorag_ros.ros.edge_node import ManagedEdgeNode

    node = ManagedEdgeNode(context=ctx, parameter_overrides=_overrides(tmp_path / "no-model"))
    try:
        assert node.trigger_configure() == TransitionCallbackReturn.FAILURE
        assert node._state_machine.current_state[1] == "unconfigured"
    finally:
        node.destroy_node()


# --- debug image -------------------------------------------------------------------------------


def test_debug_image_is_published_rate_capped(ctx: Any, tiny_model_dir: Path, spun: Callable[[Any], None]) -> None:
    import rclpy

    from videorag_ros.ros.edge_node import EdgeNode

    node = EdgeNode(context=ctx, parameter_overrides=_overrides(tiny_model_dir, **{"debug_image.enabled": True, "debug_image.rate_hz": 5.0}))
    listener = rclpy.create_node("debug_listener", context=ctx)
    pictures: list[Image] = []
    listener.create_subscription(Image, "/videorag_edge/debug_image", pictures.append, 5)
    camera = listener.create_publisher(Image, "/camera/front/image_raw", qos.CAMERA_SUBSCRIPTION)
    spun(node)
    spun(listener)
    try:
        time.sleep(0.5)
        t0 = time.monotonic()
        for i in range(30):  # 30 frames at 30 Hz: at most 5 pictures a second
            msg = Image(height=48, width=64, encoding="rgb8", step=64 * 3, data=_frame(i).tobytes())
            msg.header.stamp = ns_to_stamp(time.time_ns())
            camera.publish(msg)
            time.sleep(1 / 30)
        assert wait_for(lambda: len(pictures) >= 2)
        elapsed = time.monotonic() - t0 + 0.5
        assert len(pictures) <= 5 * elapsed + 1
        pic = pictures[-1]
        assert (pic.width, pic.encoding) == (640, "rgb8") and len(pic.data) == pic.height * pic.step
        assert node._debug is not None and node._debug.skipped > 0
    finally:
        node.destroy_node()
        listener.destroy_node()


# --- sim time ----------------------------------------------------------------------------------


def test_under_sim_time_latencies_are_measured_against_the_sim_clock(ctx: Any, tiny_model_dir: Path, spun: Callable[[Any], None]) -> None:
    import rclpy
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from rosgraph_msgs.msg import Clock

    from videorag_ros.ros.edge_node import EdgeNode

    node = EdgeNode(context=ctx, parameter_overrides=[*_overrides(tiny_model_dir), Parameter("use_sim_time", value=True)])
    player = rclpy.create_node("player", context=ctx)
    clock_pub = player.create_publisher(Clock, "/clock", QoSProfile(depth=1, reliability=ReliabilityPolicy.BEST_EFFORT))
    camera = player.create_publisher(Image, "/camera/front/image_raw", qos.CAMERA_SUBSCRIPTION)
    spun(node)
    spun(player)
    sim_ns = 1_000 * 1_000_000_000  # a bag recorded 1000 s after the epoch: wall clock minus this stamp is ~56 years
    try:
        assert wait_for(lambda: clock_pub.get_subscription_count() >= 1)
        for i in range(20):
            sim_ns += 50 * MS
            clock_pub.publish(Clock(clock=ns_to_stamp(sim_ns)))
            time.sleep(0.01)
            msg = Image(height=48, width=64, encoding="rgb8", step=64 * 3, data=_frame(i).tobytes())
            msg.header.stamp = ns_to_stamp(sim_ns - 5 * MS)  # exposed 5 ms of sim time before the clock tick
            camera.publish(msg)
            time.sleep(0.04)
        assert wait_for(lambda: node.pipeline.counters.get("front", "embedded") >= 5)
        g2d = node.pipeline.stats.summary(("glass_to_decision",))["glass_to_decision"]
        assert 0 < g2d["p50"] < 10_000  # milliseconds in the sim domain, not decades
        assert node.pipeline.counters.get("front", "over_budget") <= 2  # a loaded machine may exceed 100 ms now and then
    finally:
        node.destroy_node()
        player.destroy_node()
