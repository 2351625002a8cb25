"""The edge node's tap into the fleet: selected frames to the exporter, the robot's pose, a diagnostics status.

Wired into the edge node with a few lines (not a companion node): the vectors and thumbnails exist
only in the node's process, and a companion would need them published on a topic, per frame,
serialised on the frame path. Here the frame worker calls ``offer`` after the decision is out and
the frame is remembered: the selector (fleet/selector.py) picks keyframes and trigger moments' best
frames, and each picked point is appended to the exporter's bounded outbox (fleet/exporter.py).
Nothing here waits for the network or the store, which runs in a child process. The handoff is
timed as the ``fleet_handoff`` stage in ``/diagnostics``.

Pose: with ``fleet.pose_topic`` set, the node keeps the last 64 poses (nav_msgs/Odometry,
geometry_msgs/PoseStamped or PoseWithCovarianceStamped) and attaches to each point the one nearest
its frame's stamp, if within ``fleet.pose_max_age_s``.
"""

from __future__ import annotations

import bisect
import math
import threading
import time
from collections import deque
from dataclasses import replace
from typing import Any

from diagnostic_msgs.msg import DiagnosticStatus, KeyValue
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy

from videorag_ros.core import stages
from videorag_ros.core.config import EdgeConfig
from videorag_ros.core.errors import ConfigError
from videorag_ros.core.index import Payload
from videorag_ros.core.pipeline import EdgePipeline, FrameResult
from videorag_ros.core.printable import printable
from videorag_ros.core.stamps import stamp_to_ns
from videorag_ros.fleet.errors import require
from videorag_ros.fleet.exporter import FleetExporter
from videorag_ros.fleet.point import FleetPoint, Pose
from videorag_ros.fleet.selector import MomentSelector

POSE_HISTORY = 64
RECENT_POINTS = 256  # points kept to attach later descriptions to (a few minutes of keyframes)
POSE_QOS = QoSProfile(depth=5, reliability=ReliabilityPolicy.BEST_EFFORT)  # takes reliable and best-effort publishers


def _pose_type(kind: str) -> Any:
    if kind == "odometry":
        try:
            from nav_msgs.msg import Odometry
        except ImportError as err:
            raise ConfigError("fleet.pose_type 'odometry' needs nav_msgs (ros-<distro>-nav-msgs); or use 'pose' / 'pose_with_covariance'") from err
        return Odometry
    from geometry_msgs.msg import PoseStamped, PoseWithCovarianceStamped

    return PoseStamped if kind == "pose" else PoseWithCovarianceStamped


def pose_from_msg(msg: Any) -> Pose | None:
    """A pose message (Odometry, PoseStamped, PoseWithCovarianceStamped) → Pose; None when not finite."""
    pose = msg.pose.pose if hasattr(msg.pose, "pose") else msg.pose
    p, q = pose.position, pose.orientation
    values = (p.x, p.y, p.z, q.x, q.y, q.z, q.w)
    if not all(math.isfinite(v) for v in values):
        return None
    x, y, z, qx, qy, qz, qw = (float(v) for v in values)
    return Pose(str(msg.header.frame_id)[:256], x, y, z, qx, qy, qz, qw, stamp_to_ns(msg.header.stamp))


class FleetTap:
    """Selector + exporter + pose for one edge node."""

    def __init__(self, node: Node, config: EdgeConfig, pipeline: EdgePipeline) -> None:
        """Start the exporter and subscribe to the pose topic (if any).

        Raises:
            ConfigError: The pose type needs a message package that is missing.
            MissingDependencyError: qdrant-client / qdrant-edge-py is not installed.
        """
        cfg = config.fleet
        # A missing package stops the node at start-up with one line, not later in the store worker.
        require("qdrant_client" if cfg.url or cfg.embedded_engine == "local" else "qdrant_edge")
        self._cfg, self._pipeline, self._node = cfg, pipeline, node
        self._selector = MomentSelector(robot_id=cfg.robot_id, model=pipeline.encoder.name, keyframe_interval_s=cfg.keyframe_interval_s, moment_max_s=cfg.moment_max_s)
        self._poses: deque[tuple[int, Pose]] = deque(maxlen=POSE_HISTORY)
        self._pose_lock = threading.Lock()
        # Points sent lately, so a description the slow loop writes afterwards can be added to them.
        self._recent: deque[FleetPoint] = deque(maxlen=RECENT_POINTS)
        self._recent_lock = threading.Lock()
        self.points = 0
        self.described = 0
        if cfg.pose_topic:
            node.create_subscription(_pose_type(cfg.pose_type), cfg.pose_topic, self._on_pose, POSE_QOS)
        self.exporter = FleetExporter(cfg, dim=pipeline.encoder.dim).start()
        where = cfg.url or f"embedded ({cfg.embedded_engine})"
        node.get_logger().info(f"fleet export as robot '{cfg.robot_id}' to {where}, collection '{cfg.collection}'; store in a {cfg.isolation}")

    def _on_pose(self, msg: Any) -> None:
        pose = pose_from_msg(msg)
        if pose is not None:
            with self._pose_lock:
                self._poses.append((pose.stamp_ns, pose))

    def _pose_at(self, stamp_ns: int) -> Pose | None:
        with self._pose_lock:
            poses = list(self._poses)
        if not poses:
            return None
        poses.sort(key=lambda sp: sp[0])
        i = bisect.bisect_left(poses, stamp_ns, key=lambda sp: sp[0])
        near = min(poses[max(0, i - 1) : i + 1], key=lambda sp: abs(sp[0] - stamp_ns))
        return near[1] if abs(near[0] - stamp_ns) <= self._cfg.pose_max_age_s * 1e9 else None

    def offer(self, result: FrameResult, payload: Payload | None) -> None:
        """The frame worker, after the decision is out and the frame remembered: pass on what is selected."""
        if result.vector is None:
            return
        t0 = time.perf_counter()
        thumb = payload.thumbnail if payload is not None and self._cfg.thumbnails else None
        points = self._selector.observe(result.camera_id, result.stamp_ns, result.frame_seq, result.decision.reason, result.vector, result.events, thumb)
        for p in points:
            self._send(p)
        self._pipeline.record(stages.FLEET_HANDOFF, (time.perf_counter() - t0) * 1e3)

    def _send(self, p: FleetPoint) -> None:
        pose = self._pose_at(p.stamp_ns) if self._cfg.pose_topic else None
        if pose is not None:
                p = replace(p, pose=pose)
        self.exporter.offer(p)
        self.points += 1
        with self._recent_lock:
            self._recent.append(p)

    def describe(self, camera_id: str, start_ns: int, end_ns: int, text: str, source: str) -> None:
        """The slow loop's thread: a description of ``[start_ns, end_ns]`` on a camera joins the points sent from that span.

        The points are offered again with the description (same id: the store overwrites them),
        so the fleet can match and show what the slow loop said; the frame path is not involved.
        """
        updated = []
        with self._recent_lock:
            for i, p in enumerate(self._recent):  # by position: points hold numpy vectors, == would compare them
                if p.camera_id == camera_id and start_ns <= p.stamp_ns <= end_ns and not p.description:
                    self._recent[i] = replace(p, description=text, description_source=source)
                    updated.append(self._recent[i])
        for p in updated:
            self.exporter.offer(p)
        self.described += len(updated)

    def diagnostic_status(self) -> DiagnosticStatus:
        """``videorag: fleet``: state, backlog, sent, dropped, rejected, retries, last error, TTL sweeps."""
        s = self.exporter.stats()
        values = {
            "state": s.state, "store": s.store, "robot_id": self._cfg.robot_id, "backlog": s.backlog, "outbox_capacity": self._cfg.outbox_capacity,
            "selected": self.points, "described": self.described, "sent": s.sent, "dropped": s.dropped, "rejected": s.rejected, "retries": s.retries,
            "worker_restarts": s.worker_restarts, "open_moments": self._selector.open_moments(),
            "last_error": s.last_error or "none", "last_error_age_s": "n/a" if s.last_error_age_s is None else f"{s.last_error_age_s:.1f}",
            "send.p50_ms": f"{s.send_ms.get('p50', 0.0):.2f}", "send.p99_ms": f"{s.send_ms.get('p99', 0.0):.2f}",
            "ttl_sweeps": s.worker.get("ttl_sweeps", 0), "ttl_deleted": s.worker.get("ttl_deleted", 0), "index_builds": s.worker.get("optimizes", 0),
        }  # fmt: skip
        if s.state == "failed":
            level, message = DiagnosticStatus.ERROR, f"export stopped: {s.last_error}"
        elif s.state == "retrying":
            level, message = DiagnosticStatus.WARN, f"store unavailable, {s.backlog} points waiting ({s.dropped} dropped): {s.last_error}"
        elif s.dropped or s.rejected:
            level, message = DiagnosticStatus.WARN, f"exporting; {s.dropped} dropped from a full outbox, {s.rejected} refused by the store"
        else:
            level, message = DiagnosticStatus.OK, "exporting" if s.state == "ok" else s.state
        kv = [KeyValue(key=k, value=printable(v, max_chars=400)) for k, v in values.items()]
        return DiagnosticStatus(level=level, name="videorag: fleet", message=printable(message, max_chars=400), hardware_id=self._cfg.robot_id, values=kv)

    def close(self) -> None:
        """Pass on the best frames of open moments, send what the outbox holds (2 s at most), stop."""
        for p in self._selector.flush():
            self._send(p)
        self.exporter.close(drain_s=2.0)
