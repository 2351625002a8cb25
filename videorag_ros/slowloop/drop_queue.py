"""A bounded FIFO that drops its oldest item when full, and counts what it dropped.

``put`` never blocks, so the frame worker can hand work to the slow loop without ever waiting
for it; ``get`` blocks the consumer with a timeout. (``queue.Queue`` blocks or raises when
full; ``collections.deque(maxlen=...)`` drops silently and cannot be waited on.)
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class DropOldestQueue(Generic[T]):
    """Thread-safe bounded queue; a put into a full queue evicts the oldest item."""

    def __init__(self, maxsize: int) -> None:
        """Create an empty queue holding at most ``maxsize`` items (>= 1).

        Raises:
            ValueError: ``maxsize`` < 1.
        """
        if maxsize < 1:
            msg = f"queue size must be >= 1, got {maxsize}"
            raise ValueError(msg)
        self.maxsize = maxsize
        self._items: deque[T] = deque()
        self._cond = threading.Condition()
        self._closed = False
        self.put_count = 0
        self.dropped = 0

    def __len__(self) -> int:
        with self._cond:
            return len(self._items)

    def put(self, item: T) -> bool:
        """Append ``item`` (never blocks).

        Returns:
            True when the oldest item was dropped to make room.
        """
        with self._cond:
            dropped = len(self._items) >= self.maxsize
            if dropped:
                self._items.popleft()
                self.dropped += 1
            self._items.append(item)
            self.put_count += 1
            self._cond.notify()
            return dropped

    def get(self, timeout_s: float) -> T | None:
        """The oldest item, waiting up to ``timeout_s``; None on timeout or once closed."""
        deadline = time.monotonic() + max(0.0, timeout_s)
        with self._cond:
            while not self._items and not self._closed:
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._cond.wait(left)
            if self._closed or not self._items:
                return None
            return self._items.popleft()

    def remove_if(self, pred: Callable[[T], bool]) -> int:
        """Remove the items ``pred`` selects (not counted as dropped); returns how many."""
        with self._cond:
            keep = deque(x for x in self._items if not pred(x))
            n = len(self._items) - len(keep)
            self._items = keep
            return n

    def snapshot(self) -> list[T]:
        """A copy of the queued items, oldest first."""
        with self._cond:
            return list(self._items)

    def close(self) -> None:
        """Wake every waiting ``get``; later gets return None."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
