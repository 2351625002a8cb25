"""What the three door nodes share: parameters from the ingest tables, frame publishing, trigger forwarding, diagnostics."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from rcl_interfaces.msg import ParameterDescriptor
from rclpy.node import Node
from rclpy.parameter import Parameter
from sensor_msgs.msg import CompressedImage, Image

from videorag.msg import SemanticTrigger
from videorag_ros.core.config import ParamSpec
from videorag_ros.core.latency import StageStats
from videorag_ros.core.stamps import stamp_to_ns
from videorag_ros.core.triggers import ENTER, EXIT, HOLD
from videorag_ros.ingest.frame import DoorCounters, IngestFrame
from videorag_ros.ros import qos
from videorag_ros.ros.conversions import ns_to_stamp

STATES = {SemanticTrigger.ENTER: ENTER, SemanticTrigger.HOLD: HOLD, SemanticTrigger.EXIT: EXIT}
log = logging.getLogger(__name__)


def overrides(values: Mapping[str, Any]) -> list[Parameter[Any]]:
    """``parameter_overrides`` for a door node from ``{name: value}`` (the CLI's flags)."""
    return [Parameter(k, value=list(v) if isinstance(v, tuple) else v) for k, v in values.items() if v is not None]


def declare_door_parameters(node: Node, specs: tuple[ParamSpec, ...]) -> dict[str, Any]:
    """Declare a door's parameters (read-only, documented) and return their values (unset lists: None)."""
    out: dict[str, Any] = {}
    for s in specs:
        unit = f" [{s.unit}]" if s.unit else ""
        desc = ParameterDescriptor(description=s.description + unit, read_only=True, dynamic_typing=True)
        node.declare_parameter(s.name, s.default if s.default != [] else None, desc)
        out[s.name] = node.get_parameter(s.name).value
    return out


class FramePublisher:
    """Publishes door frames: ``<prefix>/image_raw`` (Image) or ``<prefix>/image_raw/compressed`` (CompressedImage).

    Publishers are created on a camera's first frame of each kind (sensor-data QoS, depth 1).
    The capture-stamp → publish latency of every frame is recorded in ``stats`` (stage
    ``capture_to_publish``) and the frame counted per camera.
    """

    def __init__(self, node: Node, prefix_of: Callable[[str], str], *, frame_id_of: Callable[[str], str]) -> None:
        """Create the publisher set.

        Args:
            node: The door node.
            prefix_of: Topic prefix of a camera id (relative names honour the namespace).
            frame_id_of: ``header.frame_id`` of a camera id.
        """
        self._node, self._prefix_of, self._frame_id_of = node, prefix_of, frame_id_of
        self._pubs: dict[tuple[str, str], Any] = {}
        self.stats = StageStats()

    def topic(self, camera: str, kind: str) -> str:
        """The topic a frame of ``kind`` from ``camera`` goes to."""
        base = f"{self._prefix_of(camera).rstrip('/')}/image_raw"
        return f"{base}/compressed" if kind == "jpeg" else base

    def publish(self, frame: IngestFrame) -> None:
        """Publish one frame (any thread)."""
        key = (frame.camera, frame.kind)
        pub = self._pubs.get(key)
        if pub is None:
            msg_type = CompressedImage if frame.kind == "jpeg" else Image
            pub = self._pubs[key] = self._node.create_publisher(msg_type, self.topic(*key), qos.CAMERA)
            self._node.get_logger().info(f"camera '{frame.camera}': {msg_type.__name__} on {pub.topic_name}")
        msg: Any
        if frame.kind == "jpeg":
            msg = CompressedImage(format="jpeg", data=frame.data)
        else:
            msg = Image(height=frame.height, width=frame.width, encoding="rgb8", step=frame.width * 3, data=frame.data)
        msg.header.stamp = ns_to_stamp(frame.stamp_ns)
        msg.header.frame_id = self._frame_id_of(frame.camera)
        pub.publish(msg)
        self.stats.record(f"capture_to_publish.{frame.camera}", (time.time_ns() - frame.stamp_ns) / 1e6)


def forward_triggers(node: Node, topic: str, send: Callable[[str, dict[str, Any]], bool]) -> Any:
    """Subscribe to the edge node's SemanticTrigger topic and pass each event to ``send(camera_id, event)``."""

    def on_trigger(msg: SemanticTrigger) -> None:
        event = {
            "trigger": msg.trigger, "state": STATES.get(msg.state, str(msg.state)), "camera": msg.camera_id,
            "score": round(float(msg.score), 4), "threshold": round(float(msg.threshold), 4), "stamp_ns": stamp_to_ns(msg.header.stamp),
            "latency_ms": round(float(msg.latency_ms), 2), "frame_seq": int(msg.frame_seq), "actions": list(msg.actions),
        }  # fmt: skip
        send(msg.camera_id, event)

    return node.create_subscription(SemanticTrigger, topic, on_trigger, qos.EVENTS)


def _kv(key: str, value: object) -> KeyValue:
    return KeyValue(key=key, value=f"{value:.3f}" if isinstance(value, float) else str(value))


def door_status(name: str, hardware_id: str, counters: DoorCounters, camera: str, stats: StageStats, *,
                extra: Mapping[str, object] | None = None, level: int | None = None, message: str = "") -> DiagnosticStatus:  # fmt: skip
    """One DiagnosticStatus of a door camera: its counters, fps in/out, capture-to-publish p50/p95/p99."""
    values = [_kv(k, v) for k, v in sorted(counters.for_camera(camera).items())]
    values += [_kv("fps_in", counters.rate(camera, "frames_in")), _kv("fps_out", counters.rate(camera, "frames_out"))]
    s = stats.summary([f"capture_to_publish.{camera}"]).get(f"capture_to_publish.{camera}")
    if s:
        values += [_kv("capture_to_publish.p50_ms", s["p50"]), _kv("capture_to_publish.p95_ms", s["p95"]), _kv("capture_to_publish.p99_ms", s["p99"])]
    values += [_kv(k, v) for k, v in (extra or {}).items()]
    lvl = DiagnosticStatus.OK if level is None else level
    return DiagnosticStatus(level=lvl, name=name, message=message or "ok", hardware_id=hardware_id, values=values)


def diagnostics_array(node: Node, statuses: list[DiagnosticStatus]) -> DiagnosticArray:
    """Statuses in a stamped DiagnosticArray."""
    arr = DiagnosticArray(status=statuses)
    arr.header.stamp = node.get_clock().now().to_msg()
    return arr


def spin_door(make_node: Callable[[], Any], args: list[str] | None, *, done: Callable[[Any], bool] | None = None) -> int:
    """Init rclpy, build the node, spin until shutdown (or ``done(node)``), clean up.

    Returns:
        0, or 1 when the node could not start (a ``VideoragError``, logged in one line).
    """
    import rclpy
    from rclpy.executors import ExternalShutdownException

    from videorag_ros.core.errors import VideoragError

    logging.basicConfig(level=logging.INFO, format="[%(levelname)s] [%(name)s] %(message)s")
    rclpy.init(args=args)
    node = None
    try:
        node = make_node()
        while rclpy.ok() and not (done is not None and done(node)):
            rclpy.spin_once(node, timeout_sec=0.1)
    except VideoragError as err:
        logging.getLogger("videorag").error("cannot start: %s", err)
        return 1
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        if node is not None:
            node.destroy_node()
        if rclpy.ok():
            rclpy.shutdown()
    return 0
