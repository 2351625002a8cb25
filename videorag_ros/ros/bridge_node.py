"""The stream bridge node: RTSP / HTTP / TCP / UDP / file / webcam → camera topics of the edge node.

Publishes ``camera/<camera_id>/image_raw`` (sensor_msgs/Image, rgb8) or, for MJPEG sources
passed through (and ``output: compressed``), ``camera/<camera_id>/image_raw/compressed``.
``/diagnostics``: ``videorag: bridge <camera_id>`` with fps in/out, stream age, reconnects,
decode errors, decoder crashes, stalls, the stamp source and capture-to-publish latency.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from rclpy.node import Node

from videorag_ros.ingest.bridge import BridgeConfig, StreamBridge
from videorag_ros.ingest.config import BRIDGE_PARAMS, check_params
from videorag_ros.ingest.source import parse_source
from videorag_ros.ros.ingest_common import FramePublisher, declare_door_parameters, diagnostics_array, door_status, overrides, spin_door
from videorag_ros.ros.logging_bridge import forward_core_logs

NODE_NAME = "videorag_bridge"


def bridge_config(p: Mapping[str, Any]) -> BridgeConfig:
    """A ``BridgeConfig`` from checked ``BRIDGE_PARAMS`` values.

    Raises:
        SourceError: The source is empty, malformed or missing.
    """
    keep = {k: p[k] for k in BridgeConfig.__dataclass_fields__ if k in p and k != "source"}
    return BridgeConfig(source=parse_source(p["source"]), camera=p["camera_id"], **keep)


class BridgeNode(Node):
    """Decodes one source and publishes it as a camera."""

    def __init__(self, *, parameter_overrides: list[Any] | None = None, **kwargs: Any) -> None:
        """Declare and check parameters, start the bridge.

        Raises:
            VideoragError: Bad parameters or source.
        """
        super().__init__(NODE_NAME, parameter_overrides=parameter_overrides or [], **kwargs)
        forward_core_logs(self.get_logger())
        forward_core_logs(self.get_logger(), "videorag_ros.ingest")
        p = check_params(BRIDGE_PARAMS, declare_door_parameters(self, BRIDGE_PARAMS))
        self.config = bridge_config(p)
        cam = self.config.camera
        frame_id = p["frame_id"] or f"{cam}_optical_frame"
        self.publisher = FramePublisher(self, lambda c: f"camera/{c}", frame_id_of=lambda _c: frame_id)
        self.bridge = StreamBridge(self.config, self.publisher.publish)
        self._diag = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
        self.create_timer(p["diagnostics_period_s"], self._publish_diagnostics)
        self.get_logger().info(f"bridge '{cam}': {self.config.source.describe()} (output {self.config.output}, max {self.config.max_width}x{self.config.max_height} @ {self.config.max_fps:g} Hz)")
        self.bridge.start()

    def _publish_diagnostics(self) -> None:
        b, cam = self.bridge, self.config.camera
        age = b.stream_age_s()
        level, message = DiagnosticStatus.OK, b.state
        if b.state in ("backoff", "failed") or (b.config.source.live and age > b.config.stall_timeout_s):
            level, message = DiagnosticStatus.ERROR, f"{b.state}: {b.last_error}"
        elif b.state == "connecting":
            level = DiagnosticStatus.WARN
        extra = {"state": b.state, "stream_age_s": age if math.isfinite(age) else -1.0, "stamp_source": b.stamp_source,
                 "source": b.config.source.describe(), "codec": b.info.get("codec", "?"), "output": b.info.get("output", "?")}  # fmt: skip
        status = door_status(f"videorag: bridge {cam}", cam, b.counters, cam, self.publisher.stats, extra=extra, level=level, message=message)
        self._diag.publish(diagnostics_array(self, [status]))

    def destroy_node(self) -> None:
        """Stop the bridge (if it was made), then destroy the node."""
        bridge = getattr(self, "bridge", None)
        if bridge is not None:
            bridge.stop()
        super().destroy_node()


def main(args: list[str] | None = None, *, values: Mapping[str, Any] | None = None, exit_when_done: bool = True) -> int:
    """``ros2 run videorag bridge_node`` (parameters from ``--ros-args``) or ``videorag bridge`` (``values``)."""

    def done(node: BridgeNode) -> bool:
        return exit_when_done and node.bridge.state in ("ended", "failed")

    return spin_door(lambda: BridgeNode(parameter_overrides=overrides(values or {})), args, done=done)
