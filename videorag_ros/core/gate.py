"""Frame gating: decide which camera frames are worth embedding.

Each camera keeps a small grey thumbnail of the last admitted frame. A frame is
admitted for motion (enough pixels changed), as a keyframe (too long since the last
admission) or as the first frame; it is rejected when it comes too soon (rate), is
blurry, or nothing changed. Every decision carries its reason and the measurements
behind it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import cv2
import numpy as np
import numpy.typing as npt

from videorag_ros.core.config import GateConfig

ADMIT_REASONS = ("first", "motion", "keyframe")
REJECT_REASONS = ("rate", "blur", "static")


@dataclass(frozen=True, slots=True)
class GateDecision:
    """The gate's verdict on one frame.

    Attributes:
        admitted: True when the frame goes on to the encoder.
        reason: One of ``ADMIT_REASONS`` or ``REJECT_REASONS``.
        motion: Fraction of thumbnail pixels that changed vs the last admitted frame (0..1).
        sharpness: Variance of the Laplacian of the thumbnail (higher is sharper).
    """

    admitted: bool
    reason: str
    motion: float
    sharpness: float


class FrameGate:
    """Per-camera gate state. Not thread-safe: one gate per camera, used by one worker."""

    def __init__(self, config: GateConfig) -> None:
        """Create a gate.

        Args:
            config: Validated gate configuration.
        """
        self._cfg = config
        self._last_thumb: npt.NDArray[np.uint8] | None = None
        self._last_admit_ns: int | None = None
        self._motion_high = False

    def _thumbnail(self, rgb: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
        h, w = rgb.shape[:2]
        tw = min(self._cfg.thumbnail_width, w)
        th = max(1, round(h * tw / w))
        # Subsample first (cheap view), then an area resize of the small image.
        stride = max(1, w // (tw * 2))
        small = rgb[::stride, ::stride]
        grey = cv2.cvtColor(np.ascontiguousarray(small), cv2.COLOR_RGB2GRAY)
        return cast("npt.NDArray[np.uint8]", cv2.resize(grey, (tw, th), interpolation=cv2.INTER_AREA))

    def decide(self, rgb: npt.NDArray[np.uint8], stamp_ns: int) -> GateDecision:
        """Decide whether to admit a frame, and update the state if admitted.

        Args:
            rgb: ``(H, W, 3)`` uint8 RGB frame.
            stamp_ns: The frame's capture stamp in nanoseconds.

        Returns:
            The decision with its reason and measurements.
        """
        cfg = self._cfg
        thumb = self._thumbnail(rgb)
        sharpness = float(cv2.Laplacian(thumb, cv2.CV_32F).var())
        if (
            self._last_thumb is None
            or self._last_admit_ns is None
            or self._last_thumb.shape != thumb.shape
            or stamp_ns < self._last_admit_ns  # time jumped back (bag loop, restarted camera)
        ):
            return self._admit("first", thumb, stamp_ns, 1.0, sharpness)
        diff = cv2.absdiff(thumb, self._last_thumb)
        motion = float(np.count_nonzero(diff > cfg.motion_pixel_delta)) / diff.size
        self._motion_high = motion >= cfg.motion_threshold
        elapsed_s = (stamp_ns - self._last_admit_ns) * 1e-9
        rate_hz = cfg.motion_rate_hz if self._motion_high else cfg.max_rate_hz
        if rate_hz > 0 and elapsed_s < 1.0 / rate_hz:
            return GateDecision(False, "rate", motion, sharpness)
        if cfg.blur_min_variance > 0 and sharpness < cfg.blur_min_variance:
            return GateDecision(False, "blur", motion, sharpness)
        if self._motion_high:
            return self._admit("motion", thumb, stamp_ns, motion, sharpness)
        if elapsed_s >= cfg.keyframe_interval_s:
            return self._admit("keyframe", thumb, stamp_ns, motion, sharpness)
        return GateDecision(False, "static", motion, sharpness)

    def _admit(
        self, reason: str, thumb: npt.NDArray[np.uint8], stamp_ns: int, motion: float, sharpness: float
    ) -> GateDecision:
        self._last_thumb = thumb
        self._last_admit_ns = stamp_ns
        return GateDecision(True, reason, motion, sharpness)
