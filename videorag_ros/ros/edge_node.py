"""The edge node: camera topics → gate → embed → triggers → e-stop, SemanticTrigger, diagnostics.

Threads: the executor runs subscriptions (which only park the message in a latest-wins
slot) and timers (heartbeats, diagnostics); one worker thread converts, gates, embeds,
decides and publishes. Nothing on the worker waits for the executor.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any

import rclpy
from geometry_msgs.msg import Twist
from rclpy.node import Node
from sensor_msgs.msg import CompressedImage, Image
from std_msgs.msg import Bool

from videorag.msg import SemanticTrigger
from videorag_ros.core.config import NODE_NAME, CameraConfig, EdgeConfig, build_edge_config
from videorag_ros.core.errors import FrameError, VideoragError
from videorag_ros.core.mailbox import LatestWinsMailbox
from videorag_ros.core.models.encoder import load_encoder
from videorag_ros.core.pipeline import EdgePipeline, FrameResult
from videorag_ros.ros import qos
from videorag_ros.ros.conversions import compressed_to_rgb_msg, image_to_rgb, stamp_to_ns, trigger_event_to_msg
from videorag_ros.ros.diagnostics import build_diagnostics
from videorag_ros.ros.logging_bridge import forward_core_logs
from videorag_ros.ros.params import declare_edge_parameters


class EdgeNode(Node):
    """Semantic reflexes for one robot's cameras. See README 'Node interface'."""

    def __init__(self, **kwargs: Any) -> None:
        """Declare and validate parameters, load the encoder, wire topics and start the worker.

        Raises:
            VideoragError: Bad parameters, missing model, unreadable trigger images.
        """
        super().__init__(NODE_NAME, **kwargs)
        forward_core_logs(self.get_logger())
        self.config: EdgeConfig = build_edge_config(declare_edge_parameters(self), strict=False)
        cfg = self.config
        encoder = load_encoder(cfg.model, backend=cfg.encoder_backend, threads=cfg.encoder_threads)
        self.pipeline = EdgePipeline(cfg, encoder)
        self.get_logger().info(
            f"encoder {encoder.describe()}; cameras {[c.id for c in cfg.cameras]}; triggers {[t.name for t in cfg.triggers]}"
        )
        self._save_thread: threading.Thread | None = None
        self._saved_inserts = 0
        if cfg.index_snapshot_path and cfg.index_load_on_start:
            self._load_snapshot(cfg.index_snapshot_path)
        self._mailbox: LatestWinsMailbox[tuple[Any, int, int]] = LatestWinsMailbox()
        self._seq = {c.id: 0 for c in cfg.cameras}
        self._last_rx_ns: dict[str, int | None] = {c.id: None for c in cfg.cameras}
        self._started_ns = time.time_ns()
        self._stop_active = False
        self._pub_lock = threading.Lock()

        self._trigger_pub = self.create_publisher(SemanticTrigger, "~/triggers", qos.EVENTS)
        self._estop_pub = self.create_publisher(Bool, cfg.estop_topic, qos.LATCHED_SAFETY)
        self._twist_pub = self.create_publisher(Twist, cfg.cmd_vel_topic, qos.COMMAND) if cfg.cmd_vel_rate_hz > 0 else None
        self._diag_pub = self.create_publisher(_diag_type(), "/diagnostics", 10)
        for cam in cfg.cameras:
            self._subscribe(cam)
        self._publish_estop()
        self.create_timer(1.0 / cfg.estop_heartbeat_hz, self._publish_estop)
        if self._twist_pub is not None:
            self.create_timer(1.0 / cfg.cmd_vel_rate_hz, self._publish_zero_twist_if_stopped)
        self.create_timer(cfg.diagnostics_period_s, self._publish_diagnostics)
        if cfg.index_snapshot_path and cfg.index_snapshot_period_s > 0:
            self.create_timer(cfg.index_snapshot_period_s, self._save_snapshot_in_background)
        self._running = True
        self._worker = threading.Thread(target=self._work, name="videorag-worker", daemon=True)
        self._worker.start()

    # --- input ---------------------------------------------------------------------------
    def _subscribe(self, cam: CameraConfig) -> None:
        msg_type = CompressedImage if cam.transport == "compressed" else Image

        def on_frame(msg: Any, cam_id: str = cam.id) -> None:
            rx = time.time_ns()
            self._last_rx_ns[cam_id] = rx
            self._seq[cam_id] += 1
            self.pipeline.counters.add(cam_id, "received")
            self._mailbox.put(cam_id, (msg, rx, self._seq[cam_id]))

        self.create_subscription(msg_type, cam.topic, on_frame, qos.CAMERA)
        self.get_logger().info(f"camera '{cam.id}': {msg_type.__name__} on {self.resolve_topic_name(cam.topic)}")

    def _work(self) -> None:
        while self._running:
            item = self._mailbox.take(timeout_s=0.2)
            if item is None:
                continue
            cam_id, (msg, rx_ns, seq) = item
            try:
                self._handle(cam_id, msg, rx_ns, seq)
            except FrameError as err:
                self.pipeline.counters.add(cam_id, "rejected_input")
                self.get_logger().warning(f"camera '{cam_id}': frame {seq} rejected: {err}", throttle_duration_sec=2.0)
            except VideoragError as err:
                self.get_logger().error(f"camera '{cam_id}': frame {seq} failed: {err}", throttle_duration_sec=2.0)
            except Exception as err:  # the worker must survive anything a frame can cause
                self.pipeline.counters.add(cam_id, "internal_errors")
                self.get_logger().error(f"camera '{cam_id}': frame {seq}: unexpected {type(err).__name__}: {err}", throttle_duration_sec=2.0)

    def _handle(self, cam_id: str, msg: Any, rx_ns: int, seq: int) -> None:
        stats = self.pipeline.stats
        stamp_ns = stamp_to_ns(msg.header.stamp)
        t_take = time.time_ns()
        stats.record("receive", (rx_ns - stamp_ns) * 1e-6)
        stats.record("queue", (t_take - rx_ns) * 1e-6)
        t0 = time.perf_counter()
        if isinstance(msg, CompressedImage):
            rgb = compressed_to_rgb_msg(msg, self.config.limits)
        else:
            rgb = image_to_rgb(msg, self.config.limits)
        stats.record("convert", (time.perf_counter() - t0) * 1e3)
        result = self.pipeline.process(cam_id, rgb, stamp_ns, seq)
        if result.vector is not None:
            self._publish_decision(result, msg.header.frame_id)
            now = time.time_ns()
            stats.record("glass_to_decision", (now - stamp_ns) * 1e-6)
            if (now - stamp_ns) * 1e-6 > self.config.latency_budget_ms:
                self.pipeline.counters.add(cam_id, "over_budget")
            # From our callback to the published decision, minus the encoder's forward pass:
            # what this package adds around the model (DDS transport is the 'receive' stage).
            stats.record("overhead_excl_forward", (now - rx_ns) * 1e-6 - result.stage_ms["embed"])
        self.pipeline.remember(result, rgb)

    # --- memory snapshots -----------------------------------------------------------------
    def _load_snapshot(self, path: str) -> None:
        """Reload the memory; a missing or bad snapshot is logged and the node starts with an empty memory."""
        if not os.path.exists(path):
            self.get_logger().info(f"index snapshot {path} does not exist yet; starting with an empty memory")
            return
        try:
            n = self.pipeline.index.load(path)
        except VideoragError as err:
            self.pipeline.counters.add("index", "snapshot_load_failures")
            self.get_logger().error(f"{err}; starting with an empty memory (the last good snapshot, if any, stays in {path}.prev)")
            return
        self.get_logger().info(f"memory reloaded from {path}: {n} frames (HNSW graph rebuilding in the background)")

    def _save_snapshot(self) -> None:
        path = self.config.index_snapshot_path
        t0 = time.perf_counter()
        try:
            nbytes = self.pipeline.index.save(path)
        except VideoragError as err:
            self.pipeline.counters.add("index", "snapshot_failures")
            self.get_logger().error(f"memory snapshot failed: {err}", throttle_duration_sec=30.0)
            return
        self.pipeline.counters.add("index", "snapshot_saves")
        self.get_logger().debug(f"memory snapshot {path}: {nbytes / 1e6:.1f} MB in {time.perf_counter() - t0:.2f} s")

    def _save_snapshot_in_background(self) -> None:
        """Timer callback: save on a helper thread so neither the executor nor the worker waits for the disk."""
        if self._save_thread is not None and self._save_thread.is_alive():
            return  # the previous save is still writing
        inserts = self.pipeline.index.inserts
        if inserts == self._saved_inserts:
            return  # nothing new since the last save
        self._saved_inserts = inserts
        self._save_thread = threading.Thread(target=self._save_snapshot, name="videorag-snapshot", daemon=True)
        self._save_thread.start()

    # --- output --------------------------------------------------------------------------
    def _publish_decision(self, result: FrameResult, frame_id: str) -> None:
        stop = "estop" in self.pipeline.triggers.active_actions()
        changed = stop != self._stop_active
        t0 = time.perf_counter()
        if changed:
            self._stop_active = stop
            self._publish_estop()  # the action first: it is what the robot acts on
            self._publish_zero_twist_if_stopped()
        for ev in result.events:
            latency_ms = (time.time_ns() - ev.stamp_ns) * 1e-6
            self._trigger_pub.publish(trigger_event_to_msg(ev, frame_id=frame_id, latency_ms=latency_ms))
            self.pipeline.stats.record("glass_to_action", latency_ms)
        if result.events:
            self.pipeline.stats.record("publish", (time.perf_counter() - t0) * 1e3)
        if changed:  # logged after publishing, so logging can never delay or block the stop
            for ev in result.events:
                if ev.state != "HOLD" and "estop" in ev.actions:
                    text = f"'{ev.trigger}' on camera '{ev.camera_id}' score {ev.score:.3f} frame stamp {ev.stamp_ns / 1e9:.3f}"
                    if stop:
                        self.get_logger().warning(f"e-stop ENGAGED by {text}")
                    else:
                        self.get_logger().info(f"e-stop released: {text}")

    def _publish_estop(self) -> None:
        with self._pub_lock:
            self._estop_pub.publish(Bool(data=self._stop_active))

    def _publish_zero_twist_if_stopped(self) -> None:
        if self._stop_active and self._twist_pub is not None:
            with self._pub_lock:
                self._twist_pub.publish(Twist())

    def _publish_diagnostics(self) -> None:
        now = time.time_ns()
        silent = {}
        for cam in self.config.cameras:
            last = self._last_rx_ns[cam.id]
            idle_s = (now - (last if last is not None else self._started_ns)) * 1e-9
            if idle_s > cam.timeout_s:
                silent[cam.id] = idle_s
                self.pipeline.counters.add(cam.id, "silent_periods")
                self.get_logger().warning(
                    f"camera '{cam.id}': no frames for {idle_s:.1f} s on {self.resolve_topic_name(cam.topic)}",
                    throttle_duration_sec=5.0,
                )
        msg = build_diagnostics(self.pipeline, self._mailbox.dropped, silent, self.config, stop_active=self._stop_active)
        msg.header.stamp = self.get_clock().now().to_msg()
        self._diag_pub.publish(msg)

    def destroy_node(self) -> None:
        """Stop the worker, then destroy the node."""
        self._running = False
        self._mailbox.close()
        self._worker.join(timeout=2.0)
        if self._save_thread is not None:
            self._save_thread.join(timeout=30.0)
        if self.config.index_snapshot_path:
            self._save_snapshot()
        self.pipeline.index.close()
        super().destroy_node()


def _diag_type() -> Any:
    from diagnostic_msgs.msg import DiagnosticArray

    return DiagnosticArray


def main(args: list[str] | None = None) -> int:
    """``ros2 run videorag edge_node``: spin the edge node until shutdown."""
    logging.basicConfig(level=logging.INFO)
    rclpy.init(args=args)
    node = None
    try:
        node = EdgeNode()
        rclpy.spin(node)
    except VideoragError as err:
        logging.getLogger("videorag").fatal("cannot start: %s", err)
        return 1
    except KeyboardInterrupt:
        pass
    except rclpy.executors.ExternalShutdownException:
        pass
    finally:
        if node is not None:
            node.destroy_node()
        if rclpy.ok():
            rclpy.shutdown()
    return 0
