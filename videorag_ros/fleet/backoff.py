"""Retry delays of the exporter: exponential, capped, jittered.

Written here rather than taken from a retry library (tenacity, backoff): those retry a *call*,
while the exporter's retry state is its outbox (a failed batch goes back to the head, where new
points may push its oldest out), and its waits must end at once when the node shuts down. Only
this delay rule is left to write, and it is a few lines.
"""

from __future__ import annotations

import random


class Backoff:
    """Delays ``initial_s · 2**n`` capped at ``max_s``, each within ±``jitter`` of itself."""

    def __init__(self, *, initial_s: float, max_s: float, jitter: float = 0.2, seed: int | None = None) -> None:
        """Create a backoff.

        Args:
            initial_s: First delay.
            max_s: Largest delay.
            jitter: Random spread as a fraction of the delay (robots that lost the server together
                do not come back in lock-step).
            seed: Seed of the jitter (tests).

        Raises:
            ValueError: ``0 < initial_s <= max_s`` or ``0 <= jitter < 1`` does not hold.
        """
        if not (0 < initial_s <= max_s) or not (0 <= jitter < 1):
            msg = f"backoff needs 0 < initial_s ({initial_s}) <= max_s ({max_s}) and 0 <= jitter ({jitter}) < 1"
            raise ValueError(msg)
        self._initial, self._max, self._jitter = initial_s, max_s, jitter
        self._rng = random.Random(seed)
        self.failures = 0

    def next_delay(self) -> float:
        """Seconds to wait before the next attempt; counts one failure."""
        base = min(self._max, self._initial * 2.0 ** min(self.failures, 60))
        self.failures += 1
        return min(self._max, max(0.0, base * (1.0 + self._rng.uniform(-self._jitter, self._jitter))))

    def reset(self) -> None:
        """After a success: start again from ``initial_s``."""
        self.failures = 0
