"""One thread per camera turns its messages into RGB frames, within a CPU budget.

Decoding is the one step whose cost a camera's sender chooses: a 16 MB progressive JPEG or a
4096 x 4096 Bayer frame costs hundreds of milliseconds, a 640 x 480 frame a few. Done on the
frame worker, one camera sending such frames would delay every other camera's decisions.
Here each camera converts on its own thread (OpenCV releases the GIL while it decodes), so
the worker only ever receives finished frames, and each camera's conversions may use at most
``cpu_share`` of one core on average: after a costly frame the camera's next frames are
dropped, and counted, until its budget has refilled. Other cameras are unaffected.

The input is a latest-wins slot, like the worker's mailbox: a message that arrives while the
previous one waits replaces it (counted as dropped), so nothing queues.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

import numpy as np
import numpy.typing as npt

from videorag_ros.core.errors import FrameError

T = TypeVar("T")
RGB = npt.NDArray[np.uint8]


@dataclass(slots=True)
class ConverterStats:
    """What one camera's converter did (read with ``FrameConverter.stats``)."""

    converted: int = 0
    rejected: int = 0
    replaced: int = 0
    over_budget: int = 0
    cpu_s: float = 0.0
    worst_ms: float = 0.0


class CpuBudget:
    """A token bucket of CPU seconds: refills at ``share`` seconds per second, holds ``burst_s`` x ``share``.

    A conversion is never interrupted; its cost is charged afterwards and may drive the bucket
    negative, and no conversion starts while it is negative.
    """

    def __init__(self, share: float, *, burst_s: float = 1.0, now: float | None = None) -> None:
        """Start full.

        Args:
            share: Fraction of one core allowed on average (0 < share).
            burst_s: Seconds of refill the bucket holds.
            now: Monotonic time to start from (default: now).
        """
        self.share = share
        self.capacity = share * burst_s
        self._tokens = self.capacity
        self._t = time.monotonic() if now is None else now

    def _refill(self, now: float) -> None:
        self._tokens = min(self.capacity, self._tokens + (now - self._t) * self.share)
        self._t = now

    def allows(self, now: float) -> bool:
        """True when a conversion may start now."""
        self._refill(now)
        return self._tokens >= 0.0

    def charge(self, cpu_s: float, now: float) -> None:
        """Charge the CPU seconds a conversion took."""
        self._refill(now)
        self._tokens -= cpu_s


class FrameConverter(Generic[T]):
    """Latest-wins slot + conversion thread + CPU budget for one camera."""

    def __init__(
        self,
        camera_id: str,
        convert: Callable[[T], RGB],
        deliver: Callable[[str, T, RGB, float], None],
        reject: Callable[[str, T, FrameError], None],
        *,
        cpu_share: float,
        burst_s: float = 1.0,
    ) -> None:
        """Start the camera's conversion thread.

        Args:
            camera_id: The camera.
            convert: Message → ``(H, W, 3)`` uint8 RGB; raises ``FrameError`` for bad input.
            deliver: Called on this thread with ``(camera_id, message, rgb, convert_ms)``.
            reject: Called on this thread with ``(camera_id, message, error)`` for bad input.
            cpu_share: Fraction of one core this camera's conversions may use on average.
            burst_s: Seconds of budget a quiet camera may save up.
        """
        self.camera_id = camera_id
        self._convert, self._deliver, self._reject = convert, deliver, reject
        self._budget = CpuBudget(cpu_share, burst_s=burst_s)
        self._item: T | None = None
        self._has_item = False
        self._cond = threading.Condition()
        self._closed = False
        self._stats = ConverterStats()
        self._thread = threading.Thread(target=self._run, name=f"videorag-convert-{camera_id}", daemon=True)
        self._thread.start()

    def put(self, item: T) -> bool:
        """Hand over the camera's newest message.

        Returns:
            True if a message still waiting was replaced (and counted as dropped).
        """
        with self._cond:
            replaced = self._has_item
            if replaced:
                self._stats.replaced += 1
            self._item, self._has_item = item, True
            self._cond.notify()
            return replaced

    def stats(self) -> ConverterStats:
        """A copy of the counters."""
        with self._cond:
            s = self._stats
            return ConverterStats(s.converted, s.rejected, s.replaced, s.over_budget, s.cpu_s, s.worst_ms)

    def is_alive(self) -> bool:
        """True while the conversion thread runs."""
        return self._thread.is_alive()

    def close(self, timeout_s: float = 2.0) -> None:
        """Stop the thread (a conversion in progress finishes first)."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._thread.join(timeout_s)

    def _take(self) -> tuple[bool, T | None]:
        with self._cond:
            while not self._has_item and not self._closed:
                self._cond.wait(0.5)
            if self._closed:
                return False, None
            item, self._item, self._has_item = self._item, None, False
            return True, item

    def _run(self) -> None:
        while True:
            ok, item = self._take()
            if not ok:
                return
            assert item is not None
            if not self._budget.allows(time.monotonic()):
                with self._cond:
                    self._stats.over_budget += 1
                continue
            cpu0, wall0 = time.thread_time(), time.perf_counter()
            try:
                rgb = self._convert(item)
            except FrameError as err:
                error: FrameError | None = err
            except Exception as err:  # a decoder bug on hostile bytes must not end this camera's thread
                error = FrameError(f"unexpected {type(err).__name__} while converting: {str(err)[:200]}")
            else:
                error = None
            cpu = time.thread_time() - cpu0
            ms = (time.perf_counter() - wall0) * 1e3
            self._budget.charge(cpu, time.monotonic())
            with self._cond:
                self._stats.cpu_s += cpu
                self._stats.worst_ms = max(self._stats.worst_ms, ms)
                if error is None:
                    self._stats.converted += 1
                else:
                    self._stats.rejected += 1
            if error is None:
                self._deliver(self.camera_id, item, rgb, ms)
            else:
                self._reject(self.camera_id, item, error)
