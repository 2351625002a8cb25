"""A thin hnswlib wrapper: fixed size, deleted slots reused, errors translated, counts tracked.

Labels are the ring's global entry numbers (never reused), so ``replace_deleted`` can hand any
deleted internal slot to a new label without two live labels ever sharing one: hnswlib keeps
one label-to-slot table and reusing a label that still sits in a deleted slot corrupts it.

hnswlib allows concurrent ``add_items`` calls but not ``add_items`` with ``knn_query``; the
owner serialises every call on one graph (``TemporalIndex`` holds its lock).
"""

from __future__ import annotations

import hnswlib
import numpy as np
import numpy.typing as npt

from videorag_ros.core.errors import TemporalIndexError


class Graph:
    """HNSW graph over inner product with a fixed element budget and deleted-slot reuse."""

    def __init__(self, *, dim: int, max_elements: int, m: int, ef_construction: int, seed: int = 100) -> None:
        """Create an empty graph.

        Args:
            dim: Vector dimension.
            max_elements: Elements (live + deleted) the graph can hold.
            m: HNSW degree.
            ef_construction: Build-time beam.
            seed: hnswlib's level generator seed (deterministic builds).
        """
        self.dim, self.max_elements = dim, max_elements
        self._h = hnswlib.Index(space="ip", dim=dim)
        self._h.init_index(max_elements=max_elements, ef_construction=ef_construction, M=m, random_seed=seed, allow_replace_deleted=True)
        self.elements = 0  # internal slots in use (live + deleted)
        self.deleted = 0  # of those, marked deleted (reused by the next adds)

    @property
    def live(self) -> int:
        """Elements that queries can return."""
        return self.elements - self.deleted

    @property
    def deleted_share(self) -> float:
        """Deleted elements / all elements (0 for an empty graph)."""
        return self.deleted / self.elements if self.elements else 0.0

    def reserve(self, n: int) -> None:
        """Grow the graph (only while nobody else uses it) so ``n`` more new labels fit."""
        need = self.elements + max(0, n - self.deleted)
        if need > self.max_elements:
            self.max_elements = max(need, self.max_elements + self.max_elements // 8)
            self._h.resize_index(self.max_elements)

    def add(self, vectors: npt.NDArray[np.float32], labels: npt.NDArray[np.int64], *, num_threads: int = 1) -> None:
        """Insert ``(N, D)`` float32 vectors under new, unique labels, reusing deleted slots first.

        Raises:
            TemporalIndexError: The graph is full or hnswlib refused the vectors.
        """
        n = len(labels)
        if n == 0:
            return
        reused = min(self.deleted, n)
        if self.elements + n - reused > self.max_elements:
            msg = f"HNSW graph full: {self.elements} elements ({self.deleted} deleted) + {n} new exceeds {self.max_elements}"
            raise TemporalIndexError(msg)
        try:
            self._h.add_items(vectors, labels.astype(np.uint64), num_threads=num_threads, replace_deleted=True)
        except RuntimeError as err:
            msg = f"HNSW insert of {n} vectors failed: {err}"
            raise TemporalIndexError(msg) from err
        self.deleted -= reused
        self.elements += n - reused

    def delete(self, label: int) -> None:
        """Mark one live label deleted (its slot is reused by a later add).

        Raises:
            TemporalIndexError: The label is not in the graph.
        """
        try:
            self._h.mark_deleted(label)
        except RuntimeError as err:
            msg = f"HNSW delete of label {label} failed: {err}"
            raise TemporalIndexError(msg) from err
        self.deleted += 1

    def query(self, vector: npt.NDArray[np.float32], k: int, *, ef: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
        """The ``k`` nearest live labels of a ``(D,)`` vector, best first, with inner-product scores.

        ``k`` is clamped to the live count. hnswlib raises when its beam cannot collect ``k``
        live results (many deleted elements): that is reported as ``TemporalIndexError`` so the
        caller can fall back to the exact search.

        Raises:
            TemporalIndexError: hnswlib could not answer.
        """
        k = min(k, self.live)
        if k <= 0:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        try:
            self._h.set_ef(max(ef, k))
            labels, dists = self._h.knn_query(vector.reshape(1, -1), k=k, num_threads=1)
        except RuntimeError as err:
            msg = f"HNSW query for k={k} failed: {err}"
            raise TemporalIndexError(msg) from err
        return labels[0].astype(np.int64), (1.0 - dists[0]).astype(np.float32)
