"""Exponential backoff with jitter for reconnecting to a source or a server."""

from __future__ import annotations

import random


class Backoff:
    """Delays ``initial_s, 2·initial_s, 4·initial_s …`` capped at ``max_s``, each ±``jitter`` (a fraction).

    ``reset()`` after a connection has stayed up, so a flapping source backs off and a source that
    was fine for a while reconnects quickly.
    """

    def __init__(self, *, initial_s: float = 0.5, max_s: float = 10.0, factor: float = 2.0, jitter: float = 0.1, seed: int | None = None) -> None:
        """Create a backoff.

        Args:
            initial_s: First delay.
            max_s: Largest delay.
            factor: Growth per failure.
            jitter: Random spread, as a fraction of the delay (0 disables).
            seed: Seed of the jitter (tests).
        """
        if not (0 < initial_s <= max_s) or factor < 1 or not (0 <= jitter < 1):
            msg = f"backoff needs 0 < initial_s ({initial_s}) <= max_s ({max_s}), factor >= 1 ({factor}), 0 <= jitter < 1 ({jitter})"
            raise ValueError(msg)
        self._initial, self._max, self._factor, self._jitter = initial_s, max_s, factor, jitter
        self._rng = random.Random(seed)
        self.failures = 0

    def next_delay(self) -> float:
        """The delay before the next attempt (seconds); counts one failure."""
        base = min(self._max, self._initial * self._factor**self.failures)
        self.failures += 1
        spread = base * self._jitter
        return max(0.0, min(self._max, base + self._rng.uniform(-spread, spread)))

    def reset(self) -> None:
        """Start again from ``initial_s``."""
        self.failures = 0
