"""Sliding-window memory of embedded frames over hnswlib.

A fixed-capacity ring: labels are reused (``allow_replace_deleted``), the oldest entry
is evicted when full, and entries older than ``ttl_s`` (by frame stamp, relative to the
newest stamp seen) are evicted on insert. Vectors are L2-normalised, so inner product
is cosine similarity.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass

import hnswlib
import numpy as np
import numpy.typing as npt

from videorag_ros.core.errors import TemporalIndexError


@dataclass(frozen=True, slots=True)
class Payload:
    """What is remembered about one frame besides its vector."""

    camera_id: str
    stamp_ns: int
    frame_seq: int
    reason: str


@dataclass(frozen=True, slots=True)
class Hit:
    """One search result: cosine score and payload."""

    score: float
    payload: Payload


class TemporalIndex:
    """Thread-safe ring of frame embeddings with capacity and TTL eviction."""

    def __init__(self, *, dim: int, capacity: int, ttl_s: float, m: int = 16, ef_construction: int = 100, ef_search: int = 64) -> None:
        """Create an empty index.

        Args:
            dim: Embedding dimension.
            capacity: Maximum entries kept.
            ttl_s: Entries older than this (vs the newest stamp) are evicted; 0 disables.
            m: HNSW graph degree.
            ef_construction: HNSW build-time beam.
            ef_search: HNSW query-time beam (raised to k when k is larger).
        """
        if dim <= 0 or capacity <= 0:
            msg = f"index needs dim > 0 and capacity > 0, got dim={dim} capacity={capacity}"
            raise TemporalIndexError(msg)
        self.dim, self.capacity, self.ttl_s = dim, capacity, ttl_s
        self._hnsw = hnswlib.Index(space="ip", dim=dim)
        self._hnsw.init_index(max_elements=capacity, ef_construction=ef_construction, M=m, allow_replace_deleted=True)
        self._ef_search = ef_search
        self._order: deque[int] = deque()  # live labels, oldest first
        self._payloads: dict[int, Payload] = {}
        self._next_label = 0
        self._free: deque[int] = deque()  # evicted labels, reused by the next inserts
        self._newest_ns: int | None = None
        self._lock = threading.Lock()
        self.evicted_ttl = 0
        self.evicted_capacity = 0

    def __len__(self) -> int:
        with self._lock:
            return len(self._order)

    def _evict_oldest(self) -> None:
        label = self._order.popleft()
        self._hnsw.mark_deleted(label)
        del self._payloads[label]
        self._free.append(label)

    def add(self, vector: npt.NDArray[np.float32], payload: Payload) -> None:
        """Insert one ``(D,)`` L2-normalised vector.

        Raises:
            TemporalIndexError: Wrong dimension.
        """
        v = np.asarray(vector, dtype=np.float32).reshape(1, -1)
        if v.shape[1] != self.dim:
            msg = f"embedding dim {v.shape[1]} does not match index dim {self.dim}; rebuild the index or load the matching model"
            raise TemporalIndexError(msg)
        with self._lock:
            self._newest_ns = payload.stamp_ns if self._newest_ns is None else max(self._newest_ns, payload.stamp_ns)
            if self.ttl_s > 0:
                horizon = self._newest_ns - int(self.ttl_s * 1e9)
                while self._order and self._payloads[self._order[0]].stamp_ns < horizon:
                    self._evict_oldest()
                    self.evicted_ttl += 1
            if len(self._order) >= self.capacity:
                self._evict_oldest()
                self.evicted_capacity += 1
            if self._free:
                label = self._free.popleft()
                self._hnsw.add_items(v, np.array([label]), replace_deleted=True)
            else:
                label = self._next_label
                self._next_label += 1
                self._hnsw.add_items(v, np.array([label]))
            self._order.append(label)
            self._payloads[label] = payload

    def search(self, vector: npt.NDArray[np.float32], k: int) -> list[Hit]:
        """The ``k`` most similar remembered frames, best first (k clamped to the live count)."""
        v = np.asarray(vector, dtype=np.float32).reshape(1, -1)
        if v.shape[1] != self.dim:
            msg = f"query dim {v.shape[1]} does not match index dim {self.dim}"
            raise TemporalIndexError(msg)
        with self._lock:
            k = min(k, len(self._order))
            if k <= 0:
                return []
            self._hnsw.set_ef(max(self._ef_search, k))
            labels, dists = self._hnsw.knn_query(v, k=k)
            return [Hit(1.0 - float(d), self._payloads[int(lab)]) for lab, d in zip(labels[0], dists[0], strict=True)]
