"""A small bounded cache of recent downscaled frames per camera, fed off the reflex path.

The frame worker hands admitted frames (the decoded RGB array it already has, no copy, plus its
embedding) to the slow loop through a drop-oldest queue; the slow loop's own thread keeps at most
one frame per ``min_interval_s`` per camera (the others are counted as thinned before any work
is spent on them), downscales it to ``width`` pixels, stores it as a JPEG (what requests send;
~20-40 KB instead of ~330 KB of pixels at 384 px) with its embedding, and keeps the last
``keep_s`` seconds per camera (at most ``max_per_camera`` frames). Requests pick their frames here.
"""

from __future__ import annotations

import bisect
import threading
from dataclasses import dataclass
from typing import cast

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True, slots=True)
class CachedFrame:
    """One downscaled frame.

    Attributes:
        camera_id: Camera.
        stamp_ns: Capture stamp.
        seq: Frame sequence number on its camera.
        jpeg: The downscaled frame as JPEG bytes.
        vector: The frame's embedding (L2-normalised), if it was embedded.
    """

    camera_id: str
    stamp_ns: int
    seq: int
    jpeg: bytes
    vector: npt.NDArray[np.float32] | None = None


def downscale(rgb: npt.NDArray[np.uint8], width: int) -> npt.NDArray[np.uint8]:
    """``rgb`` resized to ``width`` pixels wide (aspect kept; never enlarged; a copy)."""
    import cv2

    h, w = rgb.shape[:2]
    if w <= width:
        return np.array(rgb, dtype=np.uint8, copy=True)
    return cast("npt.NDArray[np.uint8]", cv2.resize(rgb, (width, max(1, round(h * width / w))), interpolation=cv2.INTER_AREA))


def pick_around(frames: list[CachedFrame], best_ns: int, k: int) -> list[CachedFrame]:
    """Up to ``k`` frames spread evenly over ``frames`` (time order), always including the one nearest ``best_ns``."""
    if len(frames) <= k:
        return list(frames)
    idx = {round(float(i)) for i in np.linspace(0, len(frames) - 1, k)}
    nearest = min(range(len(frames)), key=lambda i: abs(frames[i].stamp_ns - best_ns))
    if nearest not in idx:
        idx.remove(min(idx, key=lambda i: abs(i - nearest)))
        idx.add(nearest)
    return [frames[i] for i in sorted(idx)]


class FrameCache:
    """Thread-safe per-camera time-ordered frames within a time window and a count."""

    def __init__(self, *, width: int, keep_s: float, max_per_camera: int = 128, min_interval_s: float = 0.2, jpeg_quality: int = 80) -> None:
        """Create an empty cache."""
        self.width, self.keep_ns, self.max_per_camera = width, int(keep_s * 1e9), max_per_camera
        self.min_interval_ns, self.jpeg_quality = int(min_interval_s * 1e9), jpeg_quality
        self._frames: dict[str, list[CachedFrame]] = {}
        self._last_kept: dict[str, int] = {}
        self._lock = threading.Lock()
        self.added = 0
        self.thinned = 0

    def add(self, camera_id: str, stamp_ns: int, seq: int, rgb: npt.NDArray[np.uint8], vector: npt.NDArray[np.float32] | None = None, *, keep: bool = False) -> bool:
        """Downscale, JPEG-encode and keep one frame (the slow loop's thread, never the frame worker).

        Args:
            camera_id: Camera.
            stamp_ns: Capture stamp.
            seq: Frame sequence number.
            rgb: ``(H, W, 3)`` uint8 RGB.
            vector: Its embedding, if any.
            keep: Keep it even within ``min_interval_s`` of the last kept frame (a trigger's frame).

        Returns:
            False when the frame came within ``min_interval_s`` of the last one kept (thinned).
        """
        from videorag_ros.slowloop.packing import encode_jpeg

        with self._lock:  # two threads add (the cache thread, and the dispatcher draining before a job)
            last = self._last_kept.get(camera_id)
            if not keep and last is not None and abs(int(stamp_ns) - last) < self.min_interval_ns:
                self.thinned += 1
                return False
            self._last_kept[camera_id] = int(stamp_ns)
        frame = CachedFrame(camera_id, int(stamp_ns), int(seq), encode_jpeg(downscale(rgb, self.width), self.jpeg_quality), vector)
        with self._lock:
            frames = self._frames.setdefault(camera_id, [])
            stamps = [f.stamp_ns for f in frames]
            frames.insert(bisect.bisect_right(stamps, frame.stamp_ns), frame)
            newest = frames[-1].stamp_ns
            cut = bisect.bisect_left([f.stamp_ns for f in frames], newest - self.keep_ns)
            cut = max(cut, len(frames) - self.max_per_camera)
            if cut > 0:
                del frames[:cut]
            self.added += 1
        return True

    def cameras(self) -> list[str]:
        """Cameras with cached frames."""
        with self._lock:
            return [c for c, f in self._frames.items() if f]

    def window(self, camera_id: str, since_ns: int | None = None, until_ns: int | None = None) -> list[CachedFrame]:
        """Frames of a camera with ``since_ns <= stamp <= until_ns`` (None = unbounded), oldest first."""
        with self._lock:
            frames = list(self._frames.get(camera_id, ()))
        return [f for f in frames if (since_ns is None or f.stamp_ns >= since_ns) and (until_ns is None or f.stamp_ns <= until_ns)]

    def latest(self, camera_id: str) -> CachedFrame | None:
        """The newest frame of a camera, if any."""
        with self._lock:
            frames = self._frames.get(camera_id)
            return frames[-1] if frames else None

    def __len__(self) -> int:
        with self._lock:
            return sum(len(f) for f in self._frames.values())
