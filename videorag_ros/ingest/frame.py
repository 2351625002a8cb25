"""What every door hands to its node: one frame, its capture stamp, and counters shared by the doors."""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from dataclasses import dataclass

JPEG_SOI = b"\xff\xd8\xff"


@dataclass(frozen=True, slots=True)
class IngestFrame:
    """One frame from a door.

    Attributes:
        camera: The door's camera (or client) id.
        kind: ``"jpeg"`` (``data`` is a JPEG, published as CompressedImage) or ``"rgb"``
            (``data`` is ``height × width × 3`` packed rgb8, published as Image).
        data: The bytes.
        width: Pixels.
        height: Pixels.
        stamp_ns: Capture stamp (wall clock, ns) for ``header.stamp``.
        stamp_source: Where the stamp came from (see ``stamps.STAMP_SOURCES``).
        rx_ns: When the door received it (wall clock, ns).
        seq: The door's frame sequence for this camera.
    """

    camera: str
    kind: str
    data: bytes
    width: int
    height: int
    stamp_ns: int
    stamp_source: str
    rx_ns: int
    seq: int


def is_jpeg(data: bytes | bytearray | memoryview) -> bool:
    """True when ``data`` starts with the JPEG start-of-image marker (the magic bytes)."""
    return bytes(data[:3]) == JPEG_SOI


class DoorCounters:
    """Thread-safe counters per (camera, name), plus frame rates over a sliding window."""

    def __init__(self, *, rate_window_s: float = 2.0) -> None:
        """Create empty counters.

        Args:
            rate_window_s: Window of the fps estimates.
        """
        self._c: Counter[tuple[str, str]] = Counter()
        self._times: dict[tuple[str, str], deque[float]] = {}
        self._window = rate_window_s
        self._lock = threading.Lock()

    def add(self, camera: str, name: str, n: int = 1) -> None:
        """Increase a counter."""
        with self._lock:
            self._c[(camera, name)] += n

    def tick(self, camera: str, name: str) -> None:
        """Count one event of ``name`` and remember its time for ``rate``."""
        now = time.monotonic()
        with self._lock:
            self._c[(camera, name)] += 1
            q = self._times.setdefault((camera, name), deque(maxlen=4096))
            q.append(now)

    def rate(self, camera: str, name: str) -> float:
        """Events per second of ``name`` over the last window."""
        now = time.monotonic()
        with self._lock:
            q = self._times.get((camera, name))
            if not q:
                return 0.0
            n = sum(1 for t in q if now - t <= self._window)
        return n / self._window

    def get(self, camera: str, name: str) -> int:
        """Current value (0 if never counted)."""
        with self._lock:
            return self._c[(camera, name)]

    def for_camera(self, camera: str) -> dict[str, int]:
        """Every counter of one camera."""
        with self._lock:
            return {n: v for (c, n), v in self._c.items() if c == camera}

    def cameras(self) -> list[str]:
        """Cameras with at least one counter."""
        with self._lock:
            return sorted({c for c, _ in self._c})
