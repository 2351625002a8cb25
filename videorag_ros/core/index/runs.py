"""Runs: the index's coarse level, one centroid per run of consecutive frames of one camera.

Why runs and not a graph over every frame. Frames arrive in time order, and consecutive frames
of a camera are near-duplicates. An HNSW graph built by inserting them in that order (hnswlib,
M 16, ef_construction 200) leaves whole scenes unreachable: on issue 14's workload (100k x 512,
consecutive cosine 0.999, a cut every ~300 frames) recall@10 stays at 0.78 from ef 16 to 256,
and shuffling the inserts in batches of 256 or 1 024 frames does not help (0.79 / 0.85); only a
build in random order over the whole set (1.000) or hnswlib's ``replace_deleted`` repairs
(0.994) do. Those repairs need hnswlib's own fp32 copy of every vector besides the ring's
(about 420 MiB per 100k x 512 in all), and a graph over a smaller projection of the vectors
loses the scenes again (0.91 / 0.96 at 128 / 192 dimensions). No library indexes by time
runs, so this module does, with numpy.

A run is up to ``run_frames`` consecutive frames of one camera (in ring order). While a run is
open (still filling) its frames are scanned exactly by every query; once full it is *closed*:
its centroid (the normalised mean of its vectors) joins the coarse level. A query scores the
centroids of the runs its filters allow (one matmul), takes the ``probes`` best runs and scores
their frames exactly (a gather and a matmul), so every returned score is an exact cosine.
Embeddings with no temporal structure (i.i.d.) give centroids that say nothing: the index's
recall controller sees it and answers such data exactly.

Runs close in the order their last frame arrived, so their last entry numbers ``g`` ascend with
the run number and evicted runs are always the oldest: the live runs are ``head <= r < tail``,
stored in slot ``r % slots`` (arrays grow by doubling when more runs are live than slots, which
only a camera with very few frames can cause). Not thread-safe: ``TemporalIndex`` holds its
lock around every call.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from videorag_ros.core.errors import TemporalIndexError


@dataclass(slots=True)
class _Open:
    """The frames of one camera's run that is still filling (entry numbers, ascending)."""

    members: list[int] = field(default_factory=list)


class Runs:
    """Closed runs (centroid, camera, entry numbers) in closing order, plus each camera's open run."""

    def __init__(self, *, dim: int, run_frames: int, capacity: int, span_max: int | None = None) -> None:
        """Create an empty run level.

        Args:
            dim: Vector dimension.
            run_frames: Frames per closed run (one camera's consecutive frames).
            capacity: The ring's capacity (sizes the first allocation: ``capacity / run_frames`` runs).
            span_max: Runs spanning more ring rows than this are *wide* (four or more cameras at
                equal rates, or a camera slower than the others): their frames are gathered rather
                than their span scored (default ``3 * run_frames``: a gathered row costs about
                three scanned ones, see ``CostModel``).

        Raises:
            TemporalIndexError: ``run_frames`` below 1.
        """
        if run_frames < 1:
            msg = f"run_frames must be >= 1, got {run_frames}"
            raise TemporalIndexError(msg)
        self.dim, self.run_frames = dim, run_frames
        self.span_max = span_max if span_max is not None else 3 * run_frames
        self.head = self.tail = 0  # live closed runs: head <= r < tail
        self._alloc(max(8, -(-capacity // run_frames) + 8))
        self._open: dict[int, _Open] = {}
        self._narrow_rows = self._wide = 0  # over live closed runs: rows spanned by the narrow ones, count of wide ones

    def _alloc(self, n: int) -> None:
        self.slots = n
        self.centroids = np.zeros((n, self.dim), np.float32)
        self.first_g = np.zeros(n, np.int64)
        self.last_g = np.zeros(n, np.int64)
        self.cams = np.zeros(n, np.int32)
        self.members = np.full((n, self.run_frames), -1, np.int64)

    def __len__(self) -> int:
        return self.tail - self.head

    @property
    def open_frames(self) -> int:
        """Frames in open runs (scanned exactly by every query that they pass the filters of)."""
        return sum(len(o.members) for o in self._open.values())

    # --- mutation ------------------------------------------------------------------------
    def add(self, g: int, cam: int) -> list[int] | None:
        """Append entry ``g`` of camera code ``cam`` to that camera's open run.

        Returns:
            The run's entry numbers when this entry fills it (the caller then computes the
            centroid and calls ``close``), else None.
        """
        run = self._open.setdefault(cam, _Open())
        run.members.append(g)
        if len(run.members) < self.run_frames:
            return None
        return run.members

    def close(self, cam: int, members: list[int], centroid: npt.NDArray[np.float32]) -> None:
        """Store a filled run of camera ``cam`` with its ``(D,)`` unit centroid; the camera's next frame opens a new run."""
        self._open.pop(cam, None)
        if len(self) >= self.slots:
            self._grow()
        s = self.tail % self.slots
        n = len(members)
        self.centroids[s] = centroid
        self.first_g[s], self.last_g[s], self.cams[s] = members[0], members[-1], cam
        self.members[s, :n] = members
        self.members[s, n:] = -1
        self.tail += 1
        self._count(s, 1)

    def _count(self, s: int, sign: int) -> None:
        span = int(self.last_g[s] - self.first_g[s]) + 1
        if span <= self.span_max:
            self._narrow_rows += sign * span
        else:
            self._wide += sign

    def _grow(self) -> None:
        """Double the slots, keeping the live runs (run r moves to slot r % new slots)."""
        old: list[npt.NDArray[Any]] = [self.centroids, self.first_g, self.last_g, self.cams, self.members]
        old_slots, live = self.slots, np.arange(self.head, self.tail)
        self._alloc(self.slots * 2)
        new: list[npt.NDArray[Any]] = [self.centroids, self.first_g, self.last_g, self.cams, self.members]
        for dst, src in zip(new, old, strict=True):
            dst[live % self.slots] = src[live % old_slots]

    def evict_below(self, first: int) -> None:
        """Forget closed runs whose every entry is below ``first`` and open-run entries below it."""
        while self.head < self.tail and self.last_g[self.head % self.slots] < first:
            self._count(self.head % self.slots, -1)
            self.head += 1
        for cam in [c for c, o in self._open.items() if o.members and o.members[-1] < first]:
            del self._open[cam]
        for o in self._open.values():
            if o.members[0] < first:
                o.members = [g for g in o.members if g >= first]

    def clear(self) -> None:
        """Forget everything."""
        self.head = self.tail = 0
        self._narrow_rows = self._wide = 0
        self._open.clear()

    def rows_per_probe(self) -> tuple[float, float]:
        """Expected ``(rows scored in place, frames gathered)`` per probed run, over the live closed runs."""
        n = len(self)
        if not n:
            return 0.0, 0.0
        return self._narrow_rows / n, self._wide * self.run_frames / n

    # --- reading -------------------------------------------------------------------------
    def slices(self, r_lo: int, r_hi: int) -> list[tuple[int, int, int]]:
        """Physical slices ``(slot_start, slot_end, r_start)`` holding runs ``r_lo <= r < r_hi`` (at most two)."""
        if r_hi <= r_lo:
            return []
        a, n = r_lo % self.slots, r_hi - r_lo
        if a + n <= self.slots:
            return [(a, a + n, r_lo)]
        return [(a, self.slots, r_lo), (0, a + n - self.slots, r_lo + self.slots - a)]

    def first_run_ending_at_or_after(self, g: int) -> int:
        """The first live run whose last entry is ``>= g`` (``tail`` when none)."""
        for a, b, r0 in self.slices(self.head, self.tail):
            i = int(np.searchsorted(self.last_g[a:b], g, side="left"))
            if i < b - a:
                return r0 + i
        return self.tail

    def open_parts(self, cams: npt.NDArray[np.int32] | None) -> tuple[list[tuple[int, int]], list[int]]:
        """What to score for the open runs of the given camera codes (None: all cameras).

        Returns:
            Entry ranges ``[a, b)`` (the spans of narrow open runs) and entry numbers (the
            frames of wide ones), as ``query.probe`` does for closed runs.
        """
        keep = None if cams is None else set(cams.tolist())
        ranges: list[tuple[int, int]] = []
        gathered: list[int] = []
        for cam, o in self._open.items():
            if (keep is None or cam in keep) and o.members:
                if o.members[-1] - o.members[0] + 1 <= self.span_max:
                    ranges.append((o.members[0], o.members[-1] + 1))
                else:
                    gathered += o.members
        return ranges, gathered

    def rebuild(self, g_lo: int, cams: npt.NDArray[np.int32], vectors: npt.NDArray[np.float32]) -> None:
        """Recompute every run from the live entries ``g_lo, g_lo + 1, ...`` (after a snapshot load).

        Args:
            g_lo: Entry number of the first row.
            cams: ``(N,)`` camera code per entry, in entry order.
            vectors: ``(N, D)`` float32 vectors in entry order.
        """
        self.clear()
        closed: list[tuple[int, int, list[int]]] = []  # (last g, cam, members)
        still_open: dict[int, _Open] = {}
        for cam in np.unique(cams).tolist():
            gs = (np.flatnonzero(cams == cam) + g_lo).tolist()
            n_full = len(gs) // self.run_frames * self.run_frames
            closed += [(gs[i + self.run_frames - 1], cam, gs[i : i + self.run_frames]) for i in range(0, n_full, self.run_frames)]
            if n_full < len(gs):
                still_open[cam] = _Open(gs[n_full:])
        closed.sort()
        for _, cam, members in closed:
            self.close(cam, members, unit_mean(vectors[np.asarray(members) - g_lo]))
        self._open = still_open


def unit_mean(rows: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """The normalised mean of ``(n, D)`` rows (zeros when they cancel out)."""
    m = rows.mean(axis=0, dtype=np.float64)
    norm = float(np.linalg.norm(m))
    out: npt.NDArray[np.float32] = (m / norm).astype(np.float32) if norm > 0 else np.zeros(rows.shape[1], np.float32)
    return out
