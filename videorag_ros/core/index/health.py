"""Index health: sampled recall against exact search, deleted share, and when to compact.

A ring over hnswlib replaces deleted graph nodes in place. Every replacement repairs the
neighbours' links locally, and after many turnovers the graph can drift from what a fresh
build would give: recall drops while size stays bounded. The index samples a share of its
HNSW queries, answers them a second time exactly (off the caller's thread) and keeps the
recall of the last few samples here. When their mean falls under the floor, or too many
graph slots are deleted (TTL eviction without new frames), it rebuilds the graph.
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
