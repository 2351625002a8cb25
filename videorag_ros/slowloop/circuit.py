"""A circuit breaker: after ``failures`` consecutive failed requests, send nothing for ``reset_s``.

Closed → (``failures`` failures in a row) → open → (``reset_s`` later) half-open: one trial
request; its success closes the breaker, its failure opens it again. Hand-written (a state
machine of a few lines) so it shares the slow loop's injectable clock and reports its state to
/diagnostics without adapters.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"


class CircuitBreaker:
    """Thread-safe consecutive-failure breaker."""

    def __init__(self, failures: int, reset_s: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        """Create a closed breaker.

        Raises:
            ValueError: ``failures`` < 1 or ``reset_s`` <= 0.
        """
        if failures < 1 or not reset_s > 0:
            msg = f"circuit breaker needs failures >= 1 and reset_s > 0, got {failures} and {reset_s}"
            raise ValueError(msg)
        self.failures, self.reset_s, self._clock = failures, reset_s, clock
        self._lock = threading.Lock()
        self._state = CLOSED
        self._streak = 0
        self._opened_at = 0.0
        self._trial = False
        self.opened = 0  # times it opened

    @property
    def state(self) -> str:
        """``closed``, ``open`` or ``half_open`` (open turns half-open once ``reset_s`` has passed)."""
        with self._lock:
            if self._state == OPEN and self._clock() - self._opened_at >= self.reset_s:
                return HALF_OPEN
            return self._state

    def retry_in(self) -> float:
        """Seconds until an open breaker lets a trial request through (0 when it would now)."""
        with self._lock:
            if self._state != OPEN:
                return 0.0
            return max(0.0, self._opened_at + self.reset_s - self._clock())

    def allow(self) -> bool:
        """Whether a request may go out now (claims the single trial slot when half-open)."""
        with self._lock:
            if self._state == CLOSED:
                return True
            if self._state == OPEN:
                if self._clock() - self._opened_at < self.reset_s:
                    return False
                self._state, self._trial = HALF_OPEN, False
            if self._trial:
                return False
            self._trial = True
            return True

    def record_success(self) -> None:
        """A request succeeded: close."""
        with self._lock:
            self._state, self._streak, self._trial = CLOSED, 0, False

    def record_failure(self) -> None:
        """A request failed: open after ``failures`` in a row, or at once after a failed trial."""
        with self._lock:
            self._streak += 1
            if self._state == HALF_OPEN or self._streak >= self.failures:
                if self._state != OPEN:
                    self.opened += 1
                self._state, self._opened_at, self._trial = OPEN, self._clock(), False
