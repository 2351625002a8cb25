"""Per-stage latency accounting with bounded memory."""

from __future__ import annotations

import threading
from collections.abc import Iterable

import numpy as np


class StageStats:
    """Keeps the last ``window`` samples of each stage and counts samples over a budget.

    Thread-safe: the worker records, the diagnostics timer reads.
    """

    def __init__(self, *, window: int = 4096) -> None:
        """Create empty stats.

        Args:
            window: Samples kept per stage (older ones roll off).
        """
        self._window = window
        self._buf: dict[str, np.ndarray] = {}
        self._n: dict[str, int] = {}
        self._lock = threading.Lock()

    def record(self, stage: str, ms: float) -> None:
        """Add one sample (milliseconds) to a stage."""
        with self._lock:
            buf = self._buf.get(stage)
            if buf is None:
                buf = self._buf[stage] = np.empty(self._window, np.float64)
                self._n[stage] = 0
            buf[self._n[stage] % self._window] = ms
            self._n[stage] += 1

    def samples(self, stage: str) -> np.ndarray:
        """A copy of the samples kept for a stage (empty if none)."""
        with self._lock:
            n = self._n.get(stage, 0)
            if n == 0:
                return np.empty(0)
            out: np.ndarray = self._buf[stage][: min(n, self._window)].copy()
            return out

    def count(self, stage: str) -> int:
        """Samples ever recorded for a stage."""
        with self._lock:
            return self._n.get(stage, 0)

    def stages(self) -> list[str]:
        """Stages seen so far, in first-seen order."""
        with self._lock:
            return list(self._buf)

    def summary(self, stages: Iterable[str] | None = None) -> dict[str, dict[str, float]]:
        """``{stage: {"p50", "p95", "p99", "max", "n"}}`` in milliseconds over the kept window."""
        out = {}
        for stage in stages if stages is not None else self.stages():
            s = self.samples(stage)
            if s.size:
                p50, p95, p99 = np.percentile(s, [50, 95, 99])
                out[stage] = {"p50": float(p50), "p95": float(p95), "p99": float(p99), "max": float(s.max()), "n": self.count(stage)}
        return out
