"""The exporter's outbox: bounded, drop-oldest, counted, safe to fill from the frame worker.

``put`` never blocks on the sender: it takes a lock held only for deque operations (the sender
holds it just as briefly), appends, and when full drops the oldest point and counts it. A failed
batch goes back to the head (``requeue``), where newer points may push its oldest out: while the
store is down the outbox keeps the newest ``capacity`` points, never more.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Generic, TypeVar

T = TypeVar("T")


class Outbox(Generic[T]):
    """A thread-safe FIFO of at most ``capacity`` items that drops its oldest when full."""

    def __init__(self, capacity: int) -> None:
        """Create an empty outbox.

        Raises:
            ValueError: ``capacity`` < 1.
        """
        if capacity < 1:
            msg = f"outbox capacity must be >= 1, got {capacity}"
            raise ValueError(msg)
        self.capacity = capacity
        self._items: deque[T] = deque()
        self._cond = threading.Condition(threading.Lock())
        self._closed = False
        self.accepted = 0
        self.dropped = 0

    def put(self, item: T) -> None:
        """Append ``item``; drop (and count) the oldest when full. Never waits for the sender."""
        with self._cond:
            self.accepted += 1
            self._items.append(item)
            if len(self._items) > self.capacity:
                self._items.popleft()
                self.dropped += 1
            self._cond.notify()

    def take(self, max_items: int, *, fill_wait_s: float, idle_wait_s: float) -> list[T]:
        """Up to ``max_items`` of the oldest items, removed from the outbox.

        Waits up to ``idle_wait_s`` for a first item, then up to ``fill_wait_s`` more for the batch
        to fill (a partial batch goes after that). Returns at once when the outbox is closed.

        Returns:
            The items, oldest first (may be empty).
        """
        with self._cond:
            if not self._items and not self._closed:
                self._cond.wait_for(lambda: bool(self._items) or self._closed, timeout=idle_wait_s)
            if self._items and len(self._items) < max_items and not self._closed:
                self._cond.wait_for(lambda: len(self._items) >= max_items or self._closed, timeout=fill_wait_s)
            n = min(max_items, len(self._items))
            return [self._items.popleft() for _ in range(n)]

    def requeue(self, items: list[T]) -> None:
        """Put a failed batch back at the head; what no longer fits is dropped oldest-first and counted."""
        with self._cond:
            room = max(0, self.capacity - len(self._items))
            keep = items[len(items) - room :] if room < len(items) else items  # the batch's newest fit
            self.dropped += len(items) - len(keep)
            self._items.extendleft(reversed(keep))
            self._cond.notify()

    def __len__(self) -> int:
        """Items waiting."""
        with self._cond:
            return len(self._items)

    def close(self) -> None:
        """Wake a waiting ``take``; later takes return at once."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
