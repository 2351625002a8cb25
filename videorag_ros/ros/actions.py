"""Action adapters: the rclpy publishers that turn ``Outputs`` into the ways robots actually stop.

- e-stop: ``std_msgs/Bool`` (true = stop), latched, re-sent at ``estop_heartbeat_hz``.
- twist_mux: a zero ``geometry_msgs/Twist`` at ``cmd_vel_rate_hz`` while engaged (twist_mux's
  top-priority input; ``geometry_msgs/TwistStamped`` stamped now in ``cmd_vel_frame_id`` with
  ``cmd_vel_stamped``, for Jazzy's twist_mux ``use_stamped`` and Nav2's stamped cmd_vel), plus an optional ``std_msgs/Bool`` lock re-sent at the same rate (true while
  engaged). twist_mux treats an expired lock as locked, so a dead node locks the robot.
- collision_monitor: a ``geometry_msgs/PolygonInstanceStamped`` in the robot frame, the virtual
  obstacle while engaged and an empty polygon (no points, no obstacle) while clear, stamped now
  and re-sent at ``action_heartbeat_hz``: collision_monitor's ``source_timeout`` stops the robot if
  the heartbeat ends.
- speed limit: ``nav2_msgs/SpeedLimit`` while a slow-down is active (re-sent as a heartbeat), one
  ``speed_limit: 0.0`` ("no limit") when the last one ends, then silence so a costmap speed filter
  on the same topic is not overridden. Needs ``nav2_msgs``.
- json: ``std_msgs/String`` ``{"trigger","state","camera","score","stamp"}`` on ENTER / EXIT and, as
  a heartbeat, ``HOLD`` for each active pair.

State changes are published at once, from whichever thread applies them (the stop first);
heartbeats come from timers. One lock orders both, so a heartbeat never re-sends a stale state
after a newer one.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from typing import Any

from geometry_msgs.msg import Point32, Twist, TwistStamped
from rclpy.node import Node
from std_msgs.msg import Bool, String

from videorag_ros.core.actions import ActionRouter, Outputs
from videorag_ros.core.config import COLLISION_MONITOR, JSON, SLOW_DOWN, TWIST_MUX, EdgeConfig, enabled_adapters
from videorag_ros.core.errors import ConfigError
from videorag_ros.core.triggers import HOLD, TriggerEvent
from videorag_ros.ros import qos

POLYGON_ID = 0  # collision_monitor keeps one polygon per id and source


def polygon_type() -> Any:
    """``geometry_msgs/PolygonInstanceStamped`` (ROS 2 Iron and later; not in Humble).

    Raises:
        ConfigError: The message type is not available.
    """
    try:
        from geometry_msgs.msg import PolygonInstanceStamped
    except ImportError as err:
        msg = (
            "parameter 'collision_monitor.topic' is set, but this geometry_msgs has no PolygonInstanceStamped "
            "(ROS 2 Iron or later; Nav2's collision_monitor takes polygon sources from Jazzy on); "
            "use the twist_mux adapter on this distribution or leave 'collision_monitor.topic' empty"
        )
        raise ConfigError(msg) from err
    return PolygonInstanceStamped


def speed_limit_type() -> Any:
    """``nav2_msgs/SpeedLimit``.

    Raises:
        ConfigError: ``nav2_msgs`` is not importable here.
    """
    try:
        from nav2_msgs.msg import SpeedLimit
    except ImportError as err:
        msg = (
            "parameter 'speed_limit.topic' is set, but nav2_msgs is not importable in this environment; "
            "install it (apt install ros-$ROS_DISTRO-nav2-msgs) or leave 'speed_limit.topic' empty"
        )
        raise ConfigError(msg) from err
    return SpeedLimit


def check_adapter_types(config: EdgeConfig) -> None:
    """Import the message type of every enabled adapter, as the node will.

    Raises:
        ConfigError: An enabled adapter's message package is missing here.
    """
    enabled = enabled_adapters(config)
    if COLLISION_MONITOR in enabled:
        polygon_type()
    if SLOW_DOWN in enabled:
        speed_limit_type()


def event_json(ev: TriggerEvent, state: str | None = None) -> str:
    """The JSON text of one trigger event (``state`` overrides the event's)."""
    return json.dumps({"trigger": ev.trigger, "state": state or ev.state, "camera": ev.camera_id, "score": round(float(ev.score), 4), "stamp": ev.stamp_ns / 1e9})


class ActionAdapters:
    """Publishers for the e-stop and every enabled adapter, their heartbeats, and change publishing."""

    def __init__(self, node: Node, config: EdgeConfig, router: ActionRouter, *, callback_group: Any = None) -> None:
        """Create the publishers and heartbeat timers and publish the initial (clear) state.

        Args:
            node: The node that owns them.
            config: The node configuration (topics, rates, polygon).
            router: The routing state this publishes.
            callback_group: For the heartbeat timers (kept apart from frame callbacks).

        Raises:
            ConfigError: An adapter is configured whose message type is not available here.
        """
        cfg, a = config, config.adapters
        enabled = enabled_adapters(config)
        self._node, self._cfg, self._router = node, config, router
        self._lock = threading.Lock()
        self._state = Outputs()
        self._estop = node.create_publisher(Bool, cfg.estop_topic, qos.LATCHED_SAFETY)
        twist_type = TwistStamped if cfg.cmd_vel_stamped else Twist
        self._twist = node.create_publisher(twist_type, cfg.cmd_vel_topic, qos.COMMAND) if TWIST_MUX in enabled else None
        self._lock_pub = node.create_publisher(Bool, a.cmd_vel_lock_topic, qos.COMMAND) if self._twist and a.cmd_vel_lock_topic else None
        self._polygon = node.create_publisher(polygon_type(), a.collision_topic, qos.COMMAND) if COLLISION_MONITOR in enabled else None
        self._speed = node.create_publisher(speed_limit_type(), a.speed_limit_topic, qos.COMMAND) if SLOW_DOWN in enabled else None
        uses_json = JSON in enabled and any(JSON in t.actions for t in cfg.triggers)
        self._json = node.create_publisher(String, a.json_topic, qos.EVENTS) if uses_json else None
        self._obstacle = [Point32(x=float(x), y=float(y), z=0.0) for x, y in zip(a.collision_polygon[::2], a.collision_polygon[1::2], strict=True)]
        self._estop_timer = node.create_timer(1.0 / cfg.estop_heartbeat_hz, self._beat_estop, callback_group=callback_group)
        self._timers = [self._estop_timer]
        if self._twist is not None:
            self._timers.append(node.create_timer(1.0 / cfg.cmd_vel_rate_hz, self._beat_twist_mux, callback_group=callback_group))
        self._adapter_timer = None
        if self._polygon is not None or self._speed is not None or self._json is not None:
            self._adapter_timer = node.create_timer(1.0 / a.heartbeat_hz, self._beat_adapters, callback_group=callback_group)
            self._timers.append(self._adapter_timer)
        with self._lock:
            self._publish_all(self._state)

    def pause(self) -> None:
        """Lifecycle deactivate: publish a stop once (e-stop true, latched; zero Twist and lock; the polygon), then no heartbeats.

        A consumer sees an explicit stop, and one that watches the heartbeat sees it end: both fail safe.
        """
        with self._lock:
            stop = Outputs(estop=True, twist_mux=True, collision=True, speed_limit=self._state.speed_limit, causes=("node inactive",))
            self._publish_all(stop)
            for timer in self._timers:
                timer.cancel()

    def resume(self) -> None:
        """Lifecycle activate after a deactivate: publish the real state again and restart the heartbeats."""
        with self._lock:
            self._publish_all(self._state)
            for timer in self._timers:
                timer.reset()

    def close(self) -> None:
        """Destroy the heartbeat timers and every publisher (lifecycle cleanup)."""
        for timer in self._timers:
            self._node.destroy_timer(timer)
        for pub in (self._estop, self._twist, self._lock_pub, self._polygon, self._speed, self._json):
            if pub is not None:
                self._node.destroy_publisher(pub)

    def set_heartbeat_rates(self, estop_hz: float, action_hz: float) -> None:
        """Change the e-stop and adapter heartbeat rates (live tuning); the next beat follows the new period."""
        self._estop_timer.timer_period_ns = round(1e9 / estop_hz)
        if self._adapter_timer is not None:
            self._adapter_timer.timer_period_ns = round(1e9 / action_hz)

    def describe(self) -> str:
        """The enabled outputs, for the start-up log line."""
        names = [f"estop {self._node.resolve_topic_name(self._cfg.estop_topic)}"]
        twist_label = "zero TwistStamped" if self._cfg.cmd_vel_stamped else "zero twist"
        for label, pub in ((twist_label, self._twist), ("twist_mux lock", self._lock_pub), ("collision polygon", self._polygon), ("speed limit", self._speed), ("json", self._json)):
            if pub is not None:
                names.append(f"{label} {pub.topic_name}")
        return ", ".join(names)

    @property
    def router(self) -> ActionRouter:
        """The routing state (read its ``latched()`` pairs; change it only through ``on_*``)."""
        return self._router

    @property
    def state(self) -> Outputs:
        """The outputs last published."""
        return self._state

    # --- changes ------------------------------------------------------------------------------
    def on_events(self, events: Sequence[TriggerEvent]) -> tuple[Outputs, Outputs]:
        """Route one frame's events and publish what changed; returns ``(before, after)``."""
        with self._lock:
            before = self._state
            after = self._router.apply(events)
            self._publish_changes(before, after)
            if self._json is not None:
                for ev in events:
                    if ev.state != HOLD and JSON in ev.actions:
                        self._json.publish(String(data=event_json(ev)))
            return before, after

    def on_watchdog(self, causes: Sequence[str]) -> tuple[Outputs, Outputs]:
        """Set the watchdog stops and publish what changed; returns ``(before, after)``."""
        with self._lock:
            before = self._state
            after = self._router.set_watchdog_stops(causes)
            self._publish_changes(before, after)
            return before, after

    def on_verdict(self, change: Callable[[ActionRouter], Outputs]) -> tuple[Outputs, Outputs]:
        """Apply a verification verdict to the router (``escalate`` / ``release_latch``) and publish what changed."""
        with self._lock:
            before = self._state
            after = change(self._router)
            self._publish_changes(before, after)
            return before, after

    def _publish_changes(self, before: Outputs, after: Outputs) -> None:
        self._state = after
        if after.estop != before.estop:
            self._estop.publish(Bool(data=after.estop))  # the stop first: it is what the robot acts on
        if after.twist_mux != before.twist_mux:
            self._publish_twist_mux(after)
        if after.collision != before.collision:
            self._publish_polygon(after)
        if after.speed_limit != before.speed_limit:
            self._publish_speed_limit(after)

    def _publish_all(self, state: Outputs) -> None:
        self._estop.publish(Bool(data=state.estop))
        self._publish_twist_mux(state)
        self._publish_polygon(state)

    # --- heartbeats ---------------------------------------------------------------------------
    def _beat_estop(self) -> None:
        with self._lock:
            self._estop.publish(Bool(data=self._state.estop))

    def _beat_twist_mux(self) -> None:
        with self._lock:
            self._publish_twist_mux(self._state)

    def _beat_adapters(self) -> None:
        with self._lock:
            self._publish_polygon(self._state)
            if self._state.speed_limit is not None:
                self._publish_speed_limit(self._state)
            if self._json is not None:
                for ev in self._router.active(JSON):
                    self._json.publish(String(data=event_json(ev, HOLD)))

    # --- messages -----------------------------------------------------------------------------
    def _publish_twist_mux(self, state: Outputs) -> None:
        if self._twist is not None and state.twist_mux:
            self._twist.publish(self._zero_twist())
        if self._lock_pub is not None:
            self._lock_pub.publish(Bool(data=state.twist_mux))

    def _zero_twist(self) -> Twist | TwistStamped:
        if not self._cfg.cmd_vel_stamped:
            return Twist()
        msg = TwistStamped()
        msg.header.stamp = self._node.get_clock().now().to_msg()  # the node's clock: sim time under use_sim_time
        msg.header.frame_id = self._cfg.cmd_vel_frame_id
        return msg

    def _publish_polygon(self, state: Outputs) -> None:
        if self._polygon is None:
            return
        msg = self._polygon.msg_type()
        msg.header.stamp = self._node.get_clock().now().to_msg()  # collision_monitor ages sources by this stamp
        msg.header.frame_id = self._cfg.adapters.collision_frame_id
        msg.polygon.id = POLYGON_ID
        msg.polygon.polygon.points = list(self._obstacle) if state.collision else []
        self._polygon.publish(msg)

    def _publish_speed_limit(self, state: Outputs) -> None:
        if self._speed is None:
            return
        msg = self._speed.msg_type()
        msg.header.stamp = self._node.get_clock().now().to_msg()
        msg.percentage = self._cfg.adapters.speed_limit_percentage
        msg.speed_limit = float(state.speed_limit) if state.speed_limit is not None else 0.0  # 0.0 = "no limit" in Nav2
        self._speed.publish(msg)
