"""Latest-wins frame slots: one per camera, never a queue.

A new frame replaces an unprocessed one and the replaced frame is counted as dropped,
so a slow encoder makes decisions on fresh frames instead of working through a backlog.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(slots=True)
class _Slot(Generic[T]):
    item: T
    waiting_since: float  # when the slot last became non-empty (a replacement keeps it)


class LatestWinsMailbox(Generic[T]):
    """One slot per camera; ``take`` serves the camera that has waited longest for service.

    The wait counts from when a camera's slot became non-empty, not from its newest frame:
    otherwise a camera whose frames keep replacing each other would always look freshest
    and starve behind the others when the encoder is slower than the cameras.
    """

    def __init__(self) -> None:
        """Create an empty mailbox."""
        self._slots: dict[str, _Slot[T]] = {}
        self._cond = threading.Condition()
        self._closed = False
        self.dropped: Counter[str] = Counter()

    def put(self, camera_id: str, item: T) -> bool:
        """Store the newest frame of a camera.

        Returns:
            True if an unprocessed frame was replaced (and counted as dropped).
        """
        with self._cond:
            slot = self._slots.get(camera_id)
            if slot is not None:
                self.dropped[camera_id] += 1
                slot.item = item
            else:
                self._slots[camera_id] = _Slot(item, time.monotonic())
            replaced = slot is not None
            self._cond.notify()
            return replaced

    def take(self, timeout_s: float) -> tuple[str, T] | None:
        """Wait up to ``timeout_s`` for a frame; None on timeout or after ``close``."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while not self._slots and not self._closed:
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._cond.wait(left)
            if self._closed:
                return None
            cam = min(self._slots, key=lambda c: self._slots[c].waiting_since)
            return cam, self._slots.pop(cam).item

    def close(self) -> None:
        """Wake and stop every waiting ``take``."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
