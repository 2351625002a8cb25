"""A door node whose cameras are remote clients (WebSocket edge clients, WebRTC peers).

Each connected client publishes ``<namespace>/<client>/image_raw[/compressed]``; the edge
node's SemanticTrigger events whose ``camera_id`` is a client's id go back to that client.
``/diagnostics``: ``videorag: <door> <client>`` per client seen (counters, fps, capture-to-publish
p50/p95/p99) and ``videorag: <door>`` for the server (connected clients, refused connections).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from rclpy.node import Node

from videorag_ros.core.config import ParamSpec
from videorag_ros.core.ros_names import check_topic_name
from videorag_ros.ingest.config import check_params
from videorag_ros.ros.ingest_common import FramePublisher, declare_door_parameters, diagnostics_array, door_status, forward_triggers
from videorag_ros.ros.logging_bridge import forward_core_logs

SERVER = "_server"


class ClientDoorNode(Node):
    """Runs a door server and publishes its clients' frames."""

    def __init__(self, name: str, door: str, specs: tuple[ParamSpec, ...], make_server: Callable[[dict[str, Any], Callable[..., None]], Any],
                 *, parameter_overrides: list[Any] | None = None, **kwargs: Any) -> None:  # fmt: skip
        """Declare parameters, start the server, subscribe to the triggers.

        Args:
            name: Node name.
            door: Door name in diagnostics (``ws``, ``webrtc``).
            specs: The door's parameter table.
            make_server: ``(checked params, on_frame) -> server`` with ``start/stop/send_event/counters/clients/config``.
            parameter_overrides: Parameters given by the CLI.
            kwargs: Passed to ``Node``.

        Raises:
            VideoragError: Bad parameters, unusable token file, port in use.
        """
        super().__init__(name, parameter_overrides=parameter_overrides or [], **kwargs)
        forward_core_logs(self.get_logger())
        forward_core_logs(self.get_logger(), "videorag_ros.ingest")
        p = check_params(specs, declare_door_parameters(self, specs))
        check_topic_name(p["triggers_topic"], param="triggers_topic")
        check_topic_name(f"{p['namespace'].rstrip('/')}/client/image_raw", param="namespace")
        self.door = door
        ns = p["namespace"].rstrip("/")
        self.publisher = FramePublisher(self, lambda c: f"{ns}/{c}", frame_id_of=lambda c: f"{c}_optical_frame")
        self.server = make_server(p, self.publisher.publish)
        self._triggers = forward_triggers(self, p["triggers_topic"], self.server.send_event)
        self._diag = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
        self.create_timer(p["diagnostics_period_s"], self._publish_diagnostics)
        self.server.start()
        self.get_logger().info(f"trigger events from {self.resolve_topic_name(p['triggers_topic'])} go back to their clients")

    def _publish_diagnostics(self) -> None:
        c, clients = self.server.counters, self.server.clients()
        statuses: list[DiagnosticStatus] = []
        refused = c.for_camera(SERVER)
        level = DiagnosticStatus.WARN if refused else DiagnosticStatus.OK
        msg = f"{len(clients)} connected" + (f"; refused or bad: {sum(refused.values())}" if refused else "")
        statuses.append(door_status(f"videorag: {self.door}", self.door, c, SERVER, self.publisher.stats, extra={"clients": ",".join(clients) or "-", "port": self.server.port}, level=level, message=msg))
        for cam in c.cameras():
            if cam == SERVER:
                continue
            counts = c.for_camera(cam)
            bad = sum(v for k, v in counts.items() if k in ("bad_frames", "oversized_frames", "idle_timeouts", "send_timeouts", "publish_errors"))
            lvl = DiagnosticStatus.WARN if bad else DiagnosticStatus.OK
            text = ("connected" if cam in clients else "disconnected") + (f"; {bad} bad inputs" if bad else "")
            statuses.append(door_status(f"videorag: {self.door} {cam}", cam, c, cam, self.publisher.stats, extra={"connected": cam in clients, "dropped": self.server.mailbox.dropped.get(cam, 0)}, level=lvl, message=text))
        self._diag.publish(diagnostics_array(self, statuses))

    def destroy_node(self) -> None:
        """Stop the server (if it was made), then destroy the node."""
        server = getattr(self, "server", None)
        if server is not None:
            server.stop()
        super().destroy_node()
