"""``~/debug_image``: the last decided frame with the gate decision and each trigger's score drawn on it.

For RViz and Foxglove users. The frame worker only hands over references (``offer``: a time
check and one assignment, no copy, no drawing) after the decision is published; a thread of
its own draws at most ``rate_hz`` pictures a second (all cameras together) and publishes them,
so the picture can never delay a decision. Frames offered between two pictures replace each
other and are counted as ``skipped``.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from rclpy.node import Node
from sensor_msgs.msg import Image

from videorag_ros.core.pipeline import FrameResult
from videorag_ros.core.triggers import TriggerEngine
from videorag_ros.viz.overlay import TriggerView, draw_debug

WIDTH = 640  # pixels of the published picture


@dataclass(frozen=True, slots=True)
class _Offer:
    rgb: npt.NDArray[np.uint8]
    result: FrameResult
    views: dict[str, TriggerView]
    frame_id: str
    stamp: Any


class DebugImagePublisher:
    """Rate-capped drawing and publishing of ``~/debug_image`` on its own thread."""

    def __init__(self, node: Node, rate_hz: float) -> None:
        """Create the publisher and start the drawing thread.

        Args:
            node: The edge node.
            rate_hz: Most pictures a second.
        """
        self._node = node
        self._pub = node.create_publisher(Image, "~/debug_image", 2)
        self._period_s = 1.0 / rate_hz
        self._next_s = 0.0
        self._slot: _Offer | None = None
        self._cond = threading.Condition()
        self._running = True
        self._last_scores: dict[str, dict[str, float]] = {}  # per camera, for frames the gate rejected
        self.published = 0
        self.skipped = 0
        self.failures = 0
        self._thread = threading.Thread(target=self._run, name="videorag-debug-image", daemon=True)
        self._thread.start()

    def set_rate(self, rate_hz: float) -> None:
        """Change the most pictures a second (live tuning)."""
        self._period_s = 1.0 / rate_hz

    def offer(self, result: FrameResult, rgb: npt.NDArray[np.uint8], triggers: TriggerEngine, frame_id: str, stamp: Any) -> None:
        """Worker thread, after publishing the decision: keep this frame for the next picture if one is due."""
        if result.scores:
            self._last_scores[result.camera_id] = result.scores
        now = time.monotonic()
        if now < self._next_s:
            self.skipped += 1
            return
        self._next_s = now + self._period_s
        scores = self._last_scores.get(result.camera_id, {})
        active = {name for name, cam in triggers.active() if cam == result.camera_id}
        views = {
            t.name: TriggerView(scores.get(t.name, float("nan")), t.enter_threshold, t.exit_threshold, t.name in active)
            for t in triggers.configs
            if t.enabled and (not t.cameras or result.camera_id in t.cameras)
        }
        with self._cond:
            self._slot = _Offer(rgb, result, views, frame_id, stamp)
            self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while self._slot is None and self._running:
                    self._cond.wait(0.5)
                if not self._running:
                    return
                offer, self._slot = self._slot, None
            if offer is None:
                continue
            try:
                self._publish(offer)
            except Exception as err:  # a picture must never take anything down
                self.failures += 1
                self._node.get_logger().warning(f"debug image failed: {type(err).__name__}: {err}", throttle_duration_sec=10.0)

    def _publish(self, offer: _Offer) -> None:
        r = offer.result
        pic = draw_debug(offer.rgb, camera=r.camera_id, admitted=r.decision.admitted, reason=r.decision.reason, triggers=offer.views, width=WIDTH)
        msg = Image()
        msg.header.stamp = offer.stamp
        msg.header.frame_id = offer.frame_id
        msg.height, msg.width = int(pic.shape[0]), int(pic.shape[1])
        msg.encoding = "rgb8"
        msg.step = msg.width * 3
        msg.data = np.ascontiguousarray(pic).tobytes()
        self._pub.publish(msg)
        self.published += 1

    def diagnostics(self) -> dict[str, object]:
        """Values for the pipeline's /diagnostics status."""
        return {"debug_image.published": self.published, "debug_image.skipped": self.skipped, "debug_image.failures": self.failures}

    def close(self) -> None:
        """Stop the thread and destroy the publisher."""
        with self._cond:
            self._running = False
            self._cond.notify()
        self._thread.join(timeout=2.0)
        self._node.destroy_publisher(self._pub)
