"""Index maintenance: sampled recall against exact search, and how many runs to probe.

The index samples a share of its queries, answers them a second time exactly (off the caller's
thread) and compares with the run level's answer at a ladder of probe counts (how many runs'
frames are scored). ``RecallTracker`` keeps the recall of the last few samples at one probe
count; ``ProbeController`` keeps one per probe count and picks the smallest whose sampled recall
reaches the floor, or says that none within the latency budget does (the index then answers
exactly).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Hashable, Iterable

import numpy as np


def recall_at_k(approx: Iterable[Hashable], exact: Iterable[Hashable]) -> float:
    """Share of the exact top-k found by the approximate search (1.0 when exact is empty)."""
    e = set(exact)
    if not e:
        return 1.0
    return len(e & set(approx)) / len(e)


class RecallTracker:
    """Recall of the last ``window`` sampled queries (thread-safe, bounded)."""

    def __init__(self, *, window: int = 32) -> None:
        """Create an empty tracker.

        Args:
            window: Samples kept; older ones roll off.
        """
        self._samples: deque[float] = deque(maxlen=window)
        self._lock = threading.Lock()
        self.total = 0

    def add(self, recall: float) -> None:
        """Record one sample (0..1)."""
        with self._lock:
            self._samples.append(recall)
            self.total += 1

    def clear(self) -> None:
        """Forget the samples (after a rebuild they describe the old graph)."""
        with self._lock:
            self._samples.clear()

    @property
    def last(self) -> float | None:
        """The latest sample, or None."""
        with self._lock:
            return self._samples[-1] if self._samples else None

    @property
    def mean(self) -> float | None:
        """Mean of the kept samples, or None."""
        with self._lock:
            return float(np.mean(self._samples)) if self._samples else None

    def __len__(self) -> int:
        with self._lock:
            return len(self._samples)


def probe_ladder(base: int, cap: int) -> list[int]:
    """Probe counts to sample: ``base, 2 base, 4 base, ...`` up to ``cap`` (always holds ``base``)."""
    out = [max(1, base)]
    while out[-1] * 2 <= cap:
        out.append(out[-1] * 2)
    return out


class ProbeController:
    """Sampled recall@k per probe count; picks the smallest count that reaches the floor (thread-safe)."""

    def __init__(self, *, window: int = 32, margin: float = 0.02) -> None:
        """Create an empty controller.

        Args:
            window: Samples kept per probe count.
            margin: Extra recall a smaller count needs before the controller steps down to it
                (hysteresis, so it does not flap between two counts).
        """
        self._window, self.margin = window, margin
        self._trackers: dict[int, RecallTracker] = {}
        self._lock = threading.Lock()

    def add(self, probes: int, recall: float) -> None:
        """Record one sample of recall at probe count ``probes``."""
        with self._lock:
            tr = self._trackers.get(probes)
            if tr is None:
                tr = self._trackers[probes] = RecallTracker(window=self._window)
        tr.add(recall)

    def clear(self) -> None:
        """Forget every sample (the memory was replaced)."""
        with self._lock:
            self._trackers.clear()

    def stat(self, probes: int) -> tuple[float | None, int]:
        """Mean recall and sample count at probe count ``probes``."""
        with self._lock:
            tr = self._trackers.get(probes)
        return (None, 0) if tr is None else (tr.mean, len(tr))

    def choose(self, ladder: list[int], *, floor: float, min_samples: int, current: int) -> int | None:
        """The probe count to use from now on.

        Args:
            ladder: Candidate counts, ascending (the largest is the most the latency budget allows).
            floor: Recall wanted.
            min_samples: Samples a count needs before its mean counts.
            current: The count in use (for the step-down hysteresis).

        Returns:
            The smallest ladder count whose mean recall reaches ``floor``; ``0`` when the largest
            count has enough samples and misses the floor (none within the budget is good
            enough: answer exactly); ``None`` while there is not enough evidence either way.
        """
        good: list[int] = []
        for probes in ladder:
            mean, n = self.stat(probes)
            if mean is not None and n >= min_samples and mean >= floor and (probes >= current or mean >= min(1.0, floor + self.margin)):
                good.append(probes)
        if good:
            return min(good)
        mean, n = self.stat(ladder[-1])
        if mean is not None and n >= min_samples and mean < floor:
            return 0
        return None
