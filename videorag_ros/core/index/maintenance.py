"""Index health: sampled recall against exact search, deleted share, when to compact, which beam.

The index samples a share of its queries, answers them a second time exactly (off the caller's
thread) and compares with the HNSW answer at a ladder of beam widths (``ef``). ``RecallTracker``
keeps the recall of the last few samples at one beam; ``EfController`` keeps one per beam and
picks the smallest beam whose sampled recall reaches the floor, or says that none within the
latency budget does (the index then answers exactly). ``compaction_reason`` says when the graph
should be rebuilt: sampled recall at the configured beam under the floor, or too many deleted
slots (TTL eviction without new frames).
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


def compaction_reason(
    *,
    mean_recall: float | None,
    samples: int,
    recall_floor: float,
    min_samples: int,
    deleted_share: float,
    max_deleted_share: float,
) -> str | None:
    """Why the graph should be rebuilt now, or None.

    Args:
        mean_recall: Mean sampled recall (None without samples).
        samples: Samples behind ``mean_recall``.
        recall_floor: Rebuild when the mean recall is below this (0 disables).
        min_samples: Samples needed before recall can trigger a rebuild.
        deleted_share: Deleted graph elements / all graph elements.
        max_deleted_share: Rebuild when more of the graph than this is deleted.

    Returns:
        A human-readable reason, or None when the graph is healthy.
    """
    if recall_floor > 0 and mean_recall is not None and samples >= min_samples and mean_recall < recall_floor:
        return f"sampled recall {mean_recall:.3f} over {samples} queries is below the floor {recall_floor:.3f}"
    if deleted_share > max_deleted_share:
        return f"deleted share {deleted_share:.2f} is above {max_deleted_share:.2f}"
    return None


def ef_ladder(base: int, cap: int) -> list[int]:
    """Beam widths to sample: ``base, 2 base, 4 base, ...`` up to ``cap`` (always holds ``base``)."""
    out = [max(1, base)]
    while out[-1] * 2 <= cap:
        out.append(out[-1] * 2)
    return out


class EfController:
    """Sampled recall@k per HNSW beam width; picks the smallest beam that reaches the floor (thread-safe)."""

    def __init__(self, *, window: int = 32, margin: float = 0.02) -> None:
        """Create an empty controller.

        Args:
            window: Samples kept per beam width.
            margin: Extra recall a smaller beam needs before the controller steps down to it
                (hysteresis, so it does not flap between two beams).
        """
        self._window, self.margin = window, margin
        self._trackers: dict[int, RecallTracker] = {}
        self._lock = threading.Lock()

    def add(self, ef: int, recall: float) -> None:
        """Record one sample of recall at beam ``ef``."""
        with self._lock:
            tr = self._trackers.get(ef)
            if tr is None:
                tr = self._trackers[ef] = RecallTracker(window=self._window)
        tr.add(recall)

    def clear(self) -> None:
        """Forget every sample (the graph changed)."""
        with self._lock:
            self._trackers.clear()

    def stat(self, ef: int) -> tuple[float | None, int]:
        """Mean recall and sample count at beam ``ef``."""
        with self._lock:
            tr = self._trackers.get(ef)
        return (None, 0) if tr is None else (tr.mean, len(tr))

    def choose(self, ladder: list[int], *, floor: float, min_samples: int, current: int) -> int | None:
        """The beam to use from now on.

        Args:
            ladder: Candidate beams, ascending (the largest is the most the latency budget allows).
            floor: Recall wanted.
            min_samples: Samples a beam needs before its mean counts.
            current: The beam in use (for the step-down hysteresis).

        Returns:
            The smallest ladder beam whose mean recall reaches ``floor``; ``0`` when the largest
            beam has enough samples and misses the floor (no beam within the budget is good
            enough: answer exactly); ``None`` while there is not enough evidence either way.
        """
        good: list[int] = []
        for ef in ladder:
            mean, n = self.stat(ef)
            if mean is not None and n >= min_samples and mean >= floor and (ef >= current or mean >= min(1.0, floor + self.margin)):
                good.append(ef)
        if good:
            return min(good)
        mean, n = self.stat(ladder[-1])
        if mean is not None and n >= min_samples and mean < floor:
            return 0
        return None
