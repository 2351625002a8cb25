"""A token bucket: at most ``burst`` requests back to back, ``rate_per_s`` on average.

Hand-written (a dozen lines) because the slow loop needs two things rate-limit libraries do not
combine: an injectable clock for deterministic tests, and ``pause_until`` so a server's
Retry-After holds back every request, not just the one that got the 429.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class TokenBucket:
    """Thread-safe token bucket with a pause."""

    def __init__(self, rate_per_s: float, burst: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        """Create a full bucket.

        Args:
            rate_per_s: Tokens added per second (> 0).
            burst: Bucket size (>= 1).
            clock: Monotonic seconds.

        Raises:
            ValueError: A non-positive rate or burst.
        """
        if not rate_per_s > 0 or burst < 1:
            msg = f"token bucket needs rate_per_s > 0 and burst >= 1, got {rate_per_s} and {burst}"
            raise ValueError(msg)
        self.rate_per_s, self.burst, self._clock = float(rate_per_s), int(burst), clock
        self._tokens = float(burst)
        self._stamp = clock()
        self._paused_until = 0.0
        self._lock = threading.Lock()
        self.taken = 0

    def _refill(self, now: float) -> None:
        self._tokens = min(float(self.burst), self._tokens + (now - self._stamp) * self.rate_per_s)
        self._stamp = now

    def try_take(self, reserve: int = 0) -> float:
        """Take a token if one is available, leaving ``reserve`` tokens for others.

        Background work passes ``reserve=1`` so a person's question or a safety verification
        finds a token at once (the reserve is capped at ``burst - 1``).

        Returns:
            0.0 when a token was taken, else the seconds until one can be.
        """
        need = 1.0 + min(max(reserve, 0), self.burst - 1)
        with self._lock:
            now = self._clock()
            self._refill(now)
            if now < self._paused_until:
                return self._paused_until - now
            if self._tokens >= need:
                self._tokens -= 1.0
                self.taken += 1
                return 0.0
            return (need - self._tokens) / self.rate_per_s

    def pause_until(self, when: float) -> None:
        """Hand out no token before ``when`` (clock seconds), e.g. a server's Retry-After."""
        with self._lock:
            self._paused_until = max(self._paused_until, when)
