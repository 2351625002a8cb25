"""``TemporalIndex``: the robot's bounded visual memory (ring + HNSW + exact path + health + snapshots).

Concurrency: one ``RLock`` guards the ring and the graph. ``add`` holds it for one eviction
and one HNSW insert (about a millisecond); nothing in ``add`` waits for a rebuild, a snapshot
or an exact scan. Exact scans and snapshot copies read the ring's arrays *off* the lock and
then check, under it, which of the rows they read are still live (a slot is rewritten only
after its entry was evicted, and evictions go oldest first, so stale rows are a prefix).
HNSW queries hold the lock (hnswlib forbids ``knn_query`` concurrent with ``add_items``).

A background thread (started on first use, one per index) answers sampled queries exactly
to track recall and rebuilds the graph when recall falls under the floor or too much of it
is deleted. A rebuild copies the live vectors in chunks under short lock holds, inserts them
into a fresh graph off the lock, chases the inserts that arrived meanwhile the same way, and
swaps the graph in under the lock once the remaining tail is small.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from videorag_ros.core.errors import TemporalIndexError
from videorag_ros.core.index.graph import Graph
from videorag_ros.core.index.health import RecallTracker, compaction_reason, recall_at_k
from videorag_ros.core.index.moments import build_moments
from videorag_ros.core.index.planner import CostModel, Plan, plan_query, top_k
from videorag_ros.core.index.ring import Ring
from videorag_ros.core.index.snapshot import SnapshotData, read_snapshot, write_snapshot
from videorag_ros.core.index.types import Hit, IndexStats, Moment, Payload

log = logging.getLogger(__name__)

_REBUILD_CHUNK = 2048  # rows copied per lock hold while rebuilding
_REBUILD_TAIL = 64  # inserts left when the rebuild finishes under the lock
_Task = tuple[str, Any]


@dataclass(frozen=True, slots=True)
class _Query:
    vector: npt.NDArray[np.float32]
    k: int
    since_ns: int | None
    until_ns: int | None
    cameras: frozenset[str] | None

    @property
    def filtered(self) -> bool:
        return self.since_ns is not None or self.until_ns is not None or self.cameras is not None


@dataclass(frozen=True, slots=True)
class _Scan:
    """A ring run read off the lock: the ring object, its epoch, physical slices and filter masks."""

    ring: Ring
    epoch: int
    segs: list[tuple[int, int, int]]
    masks: list[npt.NDArray[np.bool_]] | None


def _masks(ring: Ring, segs: list[tuple[int, int, int]], query: _Query, codes: npt.NDArray[np.int32] | None) -> list[npt.NDArray[np.bool_]]:
    """Per slice: rows whose stamp is in the query window and whose camera is selected."""
    masks = []
    for a, b, _ in segs:
        mk = np.ones(b - a, bool)
        if query.since_ns is not None:
            mk &= ring.stamps[a:b] >= query.since_ns
        if query.until_ns is not None:
            mk &= ring.stamps[a:b] <= query.until_ns
        if codes is not None:
            mk &= np.isin(ring.cams[a:b], codes) if len(codes) > 1 else ring.cams[a:b] == codes[0]
        masks.append(mk)
    return masks


class TemporalIndex:
    """Thread-safe ring of frame embeddings with capacity and TTL eviction, planned search, moments."""

    def __init__(
        self,
        *,
        dim: int,
        capacity: int,
        ttl_s: float,
        m: int = 16,
        ef_construction: int = 100,
        ef_search: int = 64,
        thumbnail_budget_bytes: int = 0,
        recall_floor: float = 0.9,
        recall_sample_every: int = 16,
        recall_min_samples: int = 8,
        max_deleted_share: float = 0.5,
        cost: CostModel | None = None,
        background: bool = True,
        seed: int = 100,
    ) -> None:
        """Create an empty index.

        Args:
            dim: Embedding dimension.
            capacity: Maximum entries kept (ring size).
            ttl_s: Entries older than this (vs the newest stamp seen) are evicted; 0 disables.
            m: HNSW graph degree.
            ef_construction: HNSW build-time beam.
            ef_search: HNSW query-time beam (raised to the fetch size when larger).
            thumbnail_budget_bytes: Total bytes of JPEG thumbnails kept (oldest dropped first).
            recall_floor: Rebuild the graph when sampled recall@k falls under this; 0 disables.
            recall_sample_every: Every n-th HNSW query is re-answered exactly (off-thread); 0 disables.
            recall_min_samples: Samples needed before recall can trigger a rebuild.
            max_deleted_share: Rebuild when more of the graph than this is deleted slots.
            cost: Planner cost model (defaults: measured on the reference machine).
            background: Run recall checks and rebuilds on a background thread; False runs them
                inline (deterministic tests).
            seed: HNSW level-generator seed.

        Raises:
            TemporalIndexError: Non-positive dimension or capacity, or an invalid setting.
        """
        if dim <= 0 or capacity <= 0:
            msg = f"index needs dim > 0 and capacity > 0, got dim={dim} capacity={capacity}"
            raise TemporalIndexError(msg)
        if ttl_s < 0 or thumbnail_budget_bytes < 0 or not 0.0 <= recall_floor <= 1.0 or ef_search < 1 or m < 2:
            msg = (
                f"invalid index settings: ttl_s={ttl_s} (>= 0), thumbnail_budget_bytes={thumbnail_budget_bytes} (>= 0), "
                f"recall_floor={recall_floor} (0..1), ef_search={ef_search} (>= 1), m={m} (>= 2)"
            )
            raise TemporalIndexError(msg)
        self.dim, self.capacity, self.ttl_s = dim, capacity, ttl_s
        self.m, self.ef_construction, self.ef_search, self.seed = m, ef_construction, ef_search, seed
        self.thumbnail_budget_bytes = thumbnail_budget_bytes
        self.recall_floor, self.recall_sample_every, self.recall_min_samples = recall_floor, recall_sample_every, recall_min_samples
        self.max_deleted_share = max_deleted_share
        self.cost = cost or CostModel()
        self.background = background
        self._lock = threading.RLock()
        self._ring = Ring(dim=dim, capacity=capacity, thumbnail_budget_bytes=thumbnail_budget_bytes)
        self._graph = self._new_graph(capacity)
        self._graph_from = 0  # labels >= this (and live) are in the graph
        self._graph_ready = True
        self._epoch = 0  # bumped when the ring is replaced (snapshot load)
        self._compacting = False
        self.recall = RecallTracker()
        self.evicted_ttl = self.evicted_capacity = 0
        self.inserts = self.exact_queries = self.hnsw_queries = self.hnsw_fallbacks = self.compactions = 0
        self.last_plan: Plan | None = None
        self.recall_floor_misses = 0  # recall under the floor although the graph was fresh
        self._inserts_at_rebuild = 0
        self._hnsw_count = 0
        # background work: ("recall", (vector, k)) | ("compact", reason)
        self._tasks: deque[_Task] = deque(maxlen=64)
        self._cv = threading.Condition()
        self._busy = False
        self._worker: threading.Thread | None = None
        self._closed = False

    def _new_graph(self, max_elements: int) -> Graph:
        return Graph(dim=self.dim, max_elements=max_elements, m=self.m, ef_construction=self.ef_construction, seed=self.seed)

    def __len__(self) -> int:
        with self._lock:
            return len(self._ring)

    # --- insert --------------------------------------------------------------------------
    def _vector(self, vector: npt.NDArray[np.float32], what: str) -> npt.NDArray[np.float32]:
        v = np.ascontiguousarray(vector, dtype=np.float32).reshape(-1)
        if v.shape[0] != self.dim:
            msg = f"{what} dim {v.shape[0]} does not match index dim {self.dim}; rebuild the index or load the matching model"
            raise TemporalIndexError(msg)
        if not np.isfinite(v).all():
            msg = f"{what} holds NaN or infinite values; expected a finite L2-normalised vector"
            raise TemporalIndexError(msg)
        return v

    def _evict(self) -> None:
        g = self._ring.evict_oldest()
        if g >= self._graph_from:
            try:
                self._graph.delete(g)
            except TemporalIndexError as err:  # only after a failed graph insert; the rebuild repairs it
                log.debug("evicting %d: %s", g, err)

    def add(self, vector: npt.NDArray[np.float32], payload: Payload) -> None:
        """Remember one frame: evict by TTL and capacity, then insert.

        Args:
            vector: ``(D,)`` float32, L2-normalised.
            payload: Camera id, stamp, frame seq, gate reason and optional JPEG thumbnail.

        Raises:
            TemporalIndexError: Wrong dimension or non-finite vector.
        """
        v = self._vector(vector, "embedding")
        schedule: str | None = None
        with self._lock:
            ring = self._ring
            if self.ttl_s > 0 and len(ring):
                newest = payload.stamp_ns if ring.max_ns is None else max(ring.max_ns, payload.stamp_ns)
                horizon = newest - int(self.ttl_s * 1e9)
                while len(ring) and ring.stamps[ring.first % self.capacity] < horizon:
                    self._evict()
                    self.evicted_ttl += 1
            if len(ring) >= self.capacity:
                self._evict()
                self.evicted_capacity += 1
            g = ring.append(v, payload)
            try:
                self._graph.add(v.reshape(1, -1), np.array([g], np.int64))
            except TemporalIndexError as err:  # never expected; the exact path stays correct meanwhile
                log.error("index insert into the HNSW graph failed, rebuilding it: %s", err)
                self._graph_ready = False
                schedule = "HNSW insert failed"
            self.inserts += 1
            if self._graph.deleted_share > self.max_deleted_share and not self._compacting:
                schedule = f"deleted share {self._graph.deleted_share:.2f} above {self.max_deleted_share:.2f}"
        if schedule:
            self._submit(("compact", schedule))

    def add_many(self, vectors: npt.NDArray[np.float32], payloads: list[Payload], *, num_threads: int = 2, batch: int = 1024) -> None:
        """Bulk insert (replays, benchmarks): same eviction as ``add``, HNSW inserts batched on ``num_threads``.

        Holds the lock for a whole batch (hundreds of ms at dim 512): not for the live insert path.

        Args:
            vectors: ``(N, D)`` float32, L2-normalised, oldest first.
            payloads: N payloads.
            num_threads: hnswlib insert threads.
            batch: Entries per lock hold (at most the capacity).

        Raises:
            TemporalIndexError: Wrong shape or non-finite values.
        """
        vecs = np.ascontiguousarray(vectors, dtype=np.float32)
        if vecs.ndim != 2 or vecs.shape[1] != self.dim or len(vecs) != len(payloads):
            msg = f"add_many needs (N, {self.dim}) vectors and N payloads, got {vecs.shape} and {len(payloads)}"
            raise TemporalIndexError(msg)
        if not np.isfinite(vecs).all():
            msg = "add_many: vectors hold NaN or infinite values; expected finite L2-normalised vectors"
            raise TemporalIndexError(msg)
        step = max(1, min(batch, self.capacity))
        for c0 in range(0, len(vecs), step):
            with self._lock:
                ring = self._ring
                g0 = ring.next
                for p, v in zip(payloads[c0 : c0 + step], vecs[c0 : c0 + step], strict=True):
                    if self.ttl_s > 0 and len(ring):
                        horizon = max(ring.max_ns or p.stamp_ns, p.stamp_ns) - int(self.ttl_s * 1e9)
                        while len(ring) and ring.stamps[ring.first % self.capacity] < horizon:
                            self._evict_pending(g0)
                            self.evicted_ttl += 1
                    if len(ring) >= self.capacity:
                        self._evict_pending(g0)
                        self.evicted_capacity += 1
                    ring.append(v, p)
                lo = max(g0, ring.first)  # entries of this batch that are still live
                if ring.next > lo:
                    self._graph.add(ring.copy_rows(lo, ring.next), np.arange(lo, ring.next, dtype=np.int64), num_threads=num_threads)
                self.inserts += ring.next - g0

    def _evict_pending(self, g0: int) -> None:
        """Evict the oldest entry during ``add_many``; entries from ``g0`` on are not in the graph yet."""
        if self._ring.first >= g0:
            self._ring.evict_oldest()
        else:
            self._evict()

    # --- search --------------------------------------------------------------------------
    def search(
        self,
        vector: npt.NDArray[np.float32],
        k: int,
        *,
        since_ns: int | None = None,
        until_ns: int | None = None,
        cameras: Iterable[str] | None = None,
        method: str = "auto",
    ) -> list[Hit]:
        """The ``k`` most similar remembered frames, best first.

        Args:
            vector: ``(D,)`` float32 query, L2-normalised.
            k: Hits wanted; clamped to the frames that pass the filters.
            since_ns: Only frames stamped at or after this.
            until_ns: Only frames stamped at or before this.
            cameras: Only frames of these camera ids (None = all).
            method: ``"auto"`` (planner), ``"exact"`` or ``"hnsw"`` (forced; benchmarks and tests).

        Returns:
            Hits, best score first.

        Raises:
            TemporalIndexError: Wrong dimension, or an unknown ``method``.
        """
        query = _Query(self._vector(vector, "query"), k, since_ns, until_ns, None if cameras is None else frozenset(cameras))
        return [Hit(s, p) for s, p in self._search(query, method)]

    def _search(self, query: _Query, method: str) -> list[tuple[float, Payload]]:
        if method not in ("auto", "exact", "hnsw"):
            msg = f"search method {method!r} is not one of auto, exact, hnsw"
            raise TemporalIndexError(msg)
        with self._lock:
            ring, epoch, live = self._ring, self._epoch, len(self._ring)
            lo, hi = ring.window(query.since_ns, query.until_ns)
            segs = ring.segments(lo, hi)
            codes = ring.camera_mask_codes(query.cameras)
            graph_ready = self._graph_ready
        if query.k <= 0 or live == 0 or hi <= lo or (codes is not None and len(codes) == 0):
            return []
        masks = _masks(ring, segs, query, codes) if query.filtered else None
        candidates = int(sum(int(mk.sum()) for mk in masks)) if masks is not None else hi - lo
        k = min(query.k, candidates)
        plan = plan_query(
            k=k, dim=self.dim, live=live, scan_rows=hi - lo, candidates=candidates, filtered=query.filtered,
            graph_ready=graph_ready, ef_search=self.ef_search, cost=self.cost,
        )  # fmt: skip
        scan = _Scan(ring, epoch, segs, masks)
        if method == "exact" or (method == "auto" and plan.method == "exact") or not graph_ready:
            self.last_plan = plan if method == "auto" else Plan("exact", 0, 0, hi - lo, candidates, "forced")
            return self._exact(query, k, scan)
        if method == "hnsw":
            plan = Plan("hnsw", plan.fetch or k, max(self.ef_search, plan.fetch or k), hi - lo, candidates, "forced")
        self.last_plan = plan
        got = self._hnsw(query, k, plan, codes)
        if got is None or len(got) < k:
            with self._lock:
                self.hnsw_fallbacks += 1
            return self._exact(query, k, scan)
        return got

    def _exact(self, query: _Query, k: int, scan: _Scan) -> list[tuple[float, Payload]]:
        """Exact scan of a ring run off the lock, then validation and payloads under it."""
        ring = scan.ring
        parts = []
        for i, (a, b, _) in enumerate(scan.segs):
            s = ring.vectors[a:b] @ query.vector
            if scan.masks is not None:
                s[~scan.masks[i]] = -np.inf
            parts.append(s)
        if not parts:
            return []
        scores = np.concatenate(parts) if len(parts) > 1 else parts[0]
        g_start = scan.segs[0][2]
        with self._lock:
            if self._epoch != scan.epoch:  # the ring was replaced meanwhile: answer again from scratch
                return self._search(query, "exact")
            self.exact_queries += 1
            stale = self._ring.first - g_start
            if stale > 0:  # entries evicted (slots maybe rewritten) while we scanned
                scores[: min(stale, len(scores))] = -np.inf
            idx = top_k(scores, k)
            return [(float(scores[i]), ring.payload(g_start + int(i))) for i in idx]

    def _hnsw(self, query: _Query, k: int, plan: Plan, codes: npt.NDArray[np.int32] | None) -> list[tuple[float, Payload]] | None:
        """Graph query with over-fetch and post-filter; None when hnswlib could not answer."""
        with self._lock:
            if not self._graph_ready:
                return None
            try:
                labels, scores = self._graph.query(query.vector, plan.fetch, ef=plan.ef)
            except TemporalIndexError as err:
                log.debug("HNSW query fell back to exact: %s", err)
                return None
            self.hnsw_queries += 1
            ring = self._ring
            slots = labels % self.capacity
            keep = labels >= ring.first
            if query.since_ns is not None:
                keep &= ring.stamps[slots] >= query.since_ns
            if query.until_ns is not None:
                keep &= ring.stamps[slots] <= query.until_ns
            if codes is not None:
                keep &= np.isin(ring.cams[slots], codes)
            out = [(float(s), ring.payload(int(g))) for g, s in zip(labels[keep][:k], scores[keep][:k], strict=True)]
            self._hnsw_count += 1
            sample = self.recall_sample_every > 0 and self._hnsw_count % self.recall_sample_every == 0
        if sample:
            self._submit(("recall", (query.vector.copy(), min(k, 10))))
        return out

    def frames_between(self, camera_id: str, lo_ns: int, hi_ns: int) -> list[tuple[int, int]]:
        """Remembered ``(stamp_ns, frame_seq)`` of one camera with ``lo_ns <= stamp <= hi_ns``, in ring order."""
        with self._lock:
            ring = self._ring
            code = ring.camera_codes.codes.get(camera_id)
            if code is None:
                return []
            lo, hi = ring.window(lo_ns, hi_ns)
            out: list[tuple[int, int]] = []
            for a, b, _ in ring.segments(lo, hi):
                st = ring.stamps[a:b]
                sel = np.flatnonzero((ring.cams[a:b] == code) & (st >= lo_ns) & (st <= hi_ns))
                out += zip(st[sel].tolist(), ring.seqs[a:b][sel].tolist(), strict=True)
            return out

    def search_moments(
        self,
        vector: npt.NDArray[np.float32],
        k: int,
        *,
        context_s: float,
        since_ns: int | None = None,
        until_ns: int | None = None,
        cameras: Iterable[str] | None = None,
    ) -> list[Moment]:
        """The ``k`` best moments: hits grown to ±``context_s`` on their camera, overlapping ones merged.

        Args:
            vector: ``(D,)`` float32 query, L2-normalised.
            k: Moments wanted.
            context_s: Frames within this many seconds of a hit (same camera) join its moment.
            since_ns: Only hits stamped at or after this.
            until_ns: Only hits stamped at or before this.
            cameras: Only hits of these camera ids.

        Returns:
            Moments, best score first.

        Raises:
            TemporalIndexError: Wrong dimension or negative ``context_s``.
        """
        if context_s < 0:
            msg = f"context_s = {context_s} must be >= 0"
            raise TemporalIndexError(msg)
        ctx = int(context_s * 1e9)
        cams = None if cameras is None else tuple(cameras)
        fetch = max(k, 1) * 4
        while True:  # merged hits make fewer moments than hits: fetch more until k moments or no more hits
            hits = self.search(vector, fetch, since_ns=since_ns, until_ns=until_ns, cameras=cams)
            moments = build_moments(hits, ctx, self.frames_between, k)
            if len(moments) >= k or len(hits) < fetch or fetch >= 1024:
                return moments
            fetch *= 4

    # --- health --------------------------------------------------------------------------
    def stats(self) -> IndexStats:
        """Size, deleted share, sampled recall and counters."""
        with self._lock:
            return IndexStats(
                live=len(self._ring), capacity=self.capacity, graph_elements=self._graph.elements,
                deleted_share=self._graph.deleted_share, graph_ready=self._graph_ready, inserts=self.inserts,
                evicted_ttl=self.evicted_ttl, evicted_capacity=self.evicted_capacity,
                thumbnail_bytes=self._ring.thumbnail_bytes, thumbnails_dropped=self._ring.thumbnails_dropped,
                exact_queries=self.exact_queries, hnsw_queries=self.hnsw_queries, hnsw_fallbacks=self.hnsw_fallbacks,
                last_recall=self.recall.last, mean_recall=self.recall.mean, recall_samples=self.recall.total,
                compactions=self.compactions, compacting=self._compacting,
            )  # fmt: skip

    def measure_recall(self, queries: npt.NDArray[np.float32], k: int = 10, *, record: bool = True) -> float:
        """Mean recall@k of HNSW against exact search over all live entries for ``(Q, D)`` queries."""
        got = [self._recall_one(self._vector(q, "query"), k, record=record) for q in np.atleast_2d(queries)]
        vals = [r for r in got if r is not None]
        return float(np.mean(vals)) if vals else 1.0

    def _recall_one(self, q: npt.NDArray[np.float32], k: int, *, record: bool) -> float | None:
        with self._lock:
            if not self._graph_ready or not len(self._ring):
                return None
            ring, epoch, first, nxt = self._ring, self._epoch, self._ring.first, self._ring.next
            k = min(k, len(ring))
            try:
                labels, _ = self._graph.query(q, k, ef=self.ef_search)
            except TemporalIndexError:
                labels = np.zeros(0, np.int64)
        exact = self._exact(_Query(q, k, None, None, None), k, _Scan(ring, epoch, ring.segments(first, nxt), None))
        with self._lock:
            self.exact_queries -= 1  # internal, not a user query
        exact_keys = {(p.camera_id, p.stamp_ns, p.frame_seq) for _, p in exact}
        with self._lock:
            if self._epoch != epoch:
                return None
            approx_keys = {(ring.camera_codes.names[int(ring.cams[g % self.capacity])], int(ring.stamps[g % self.capacity]), int(ring.seqs[g % self.capacity])) for g in labels.tolist() if g >= ring.first}
        r = recall_at_k(approx_keys, exact_keys)
        if record:
            self.recall.add(r)
        return r

    def compact(self, *, wait: bool = True, reason: str = "requested") -> None:
        """Rebuild the HNSW graph from the live vectors (inserts keep flowing meanwhile).

        Args:
            wait: Rebuild on this thread and return when done; False queues it for the background thread.
            reason: Logged with the rebuild.
        """
        if wait:
            self._rebuild(reason)
        else:
            self._submit(("compact", reason))

    def _rebuild(self, reason: str, *, threads: int = 1) -> None:
        with self._lock:
            if self._compacting:
                return
            self._compacting = True
            epoch, start = self._epoch, self._ring.first
        t0 = time.perf_counter()
        abandoned = False
        try:
            new = self._new_graph(self.capacity)
            added: list[tuple[int, int]] = []
            marked = start  # added labels below this are marked deleted in `new`
            g = start
            while True:
                with self._lock:
                    if self._epoch != epoch:
                        log.info("index rebuild abandoned: the index was reloaded meanwhile")
                        abandoned = True
                        return
                    ring = self._ring
                    first, nxt = ring.first, ring.next
                    marked = self._mark_evicted(new, added, marked, first)
                    g = max(g, first)
                    if nxt - g <= _REBUILD_TAIL:  # finish under the lock and swap
                        if nxt > g:
                            new.reserve(nxt - g)
                            new.add(ring.copy_rows(g, nxt), np.arange(g, nxt, dtype=np.int64))
                        self._graph, self._graph_from, self._graph_ready = new, first, True
                        ring.refresh_disorder()
                        self.compactions += 1
                        self._inserts_at_rebuild = self.inserts
                        self.recall.clear()
                        break
                    hi = min(g + _REBUILD_CHUNK, nxt)
                    rows = ring.copy_rows(g, hi)
                new.reserve(hi - g)
                new.add(rows, np.arange(g, hi, dtype=np.int64), num_threads=threads)
                added.append((g, hi))
                g = hi
            log.info("index graph rebuilt (%s): %d entries in %.1f s", reason, new.live, time.perf_counter() - t0)
        except TemporalIndexError as err:
            log.error("index rebuild (%s) failed, keeping the current graph: %s", reason, err)
        finally:
            with self._lock:
                self._compacting = False
                retry = abandoned and not self._graph_ready
            if retry:  # the reloaded memory still needs its graph
                self._submit(("compact", "snapshot loaded"))

    @staticmethod
    def _mark_evicted(new: Graph, added: list[tuple[int, int]], marked: int, first: int) -> int:
        """Mark labels ``< first`` added to ``new`` (and not yet marked) as deleted; returns the new mark."""
        if first <= marked:
            return marked
        while added and added[0][1] <= marked:
            added.pop(0)
        for lo, hi in added:
            for label in range(max(lo, marked), min(hi, first)):
                new.delete(label)
        return first

    # --- background worker ---------------------------------------------------------------
    def _submit(self, task: _Task) -> None:
        if not self.background:
            self._run_task(task)
            return
        with self._cv:
            if self._closed:
                return
            if task[0] == "compact" and any(t[0] == "compact" for t in self._tasks):
                return
            self._tasks.append(task)
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(target=self._work, name="videorag-index-health", daemon=True)
                self._worker.start()
            self._cv.notify_all()

    def _work(self) -> None:
        while True:
            with self._cv:
                while not self._tasks and not self._closed:
                    self._cv.wait()
                if self._closed:
                    return
                task = self._tasks.popleft()
                self._busy = True
            try:
                self._run_task(task)
            except Exception:  # the health thread must survive anything
                log.exception("index background task %s failed", task[0])
            finally:
                with self._cv:
                    self._busy = False
                    self._cv.notify_all()

    def _run_task(self, task: _Task) -> None:
        kind, arg = task
        if kind == "recall":
            q, k = arg
            self._recall_one(q, k, record=True)
            with self._lock:
                deleted_share = self._graph.deleted_share
            why = compaction_reason(
                mean_recall=self.recall.mean, samples=len(self.recall), recall_floor=self.recall_floor,
                min_samples=self.recall_min_samples, deleted_share=deleted_share, max_deleted_share=self.max_deleted_share,
            )  # fmt: skip
            if why:
                with self._lock:
                    churn = self.inserts - self._inserts_at_rebuild
                if churn >= max(1, self.capacity // 4) or "deleted" in why:
                    self._rebuild(why)
                else:  # a fresh graph is as good as these settings get: rebuilding again would not help
                    self.recall_floor_misses += 1
                    log.warning("index %s only %d inserts after the last rebuild; raise index ef_search or m", why, churn)
        elif kind == "compact":
            self._rebuild(str(arg))

    def wait_idle(self, timeout_s: float = 60.0) -> bool:
        """Wait until background work (recall checks, rebuilds) is done; returns False on timeout."""
        deadline = time.monotonic() + timeout_s
        with self._cv:
            while self._tasks or self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cv.wait(left)
        return True

    def close(self) -> None:
        """Stop the background thread (pending work is dropped)."""
        with self._cv:
            self._closed = True
            self._tasks.clear()
            self._cv.notify_all()
        w = self._worker
        if w is not None and w is not threading.current_thread():
            w.join(timeout=10.0)

    # --- snapshots -----------------------------------------------------------------------
    def snapshot_data(self) -> SnapshotData:
        """A consistent copy of the live entries, taken with short lock holds (inserts keep flowing)."""
        with self._lock:
            ring, epoch, lo, hi = self._ring, self._epoch, self._ring.first, self._ring.next
            thumbs = [ring.thumbs[g % self.capacity] for g in range(lo, hi)]
            cams, reasons = list(ring.camera_codes.names), list(ring.reason_codes.names)
            meta = {"capacity": self.capacity, "ttl_s": self.ttl_s, "inserts": self.inserts, "evicted_ttl": self.evicted_ttl,
                    "evicted_capacity": self.evicted_capacity, "saved_unix_ns": time.time_ns()}  # fmt: skip
        vectors = ring.copy_rows(lo, hi)
        stamps, cam_col = ring.column(ring.stamps, lo, hi), ring.column(ring.cams, lo, hi)
        seqs, reason_col = ring.column(ring.seqs, lo, hi), ring.column(ring.reasons, lo, hi)
        with self._lock:
            if self._epoch != epoch:
                return self.snapshot_data()
            cut = max(0, min(self._ring.first, hi) - lo)  # evicted while copying: drop them
        return SnapshotData(
            dim=self.dim, vectors=vectors[cut:], stamps=stamps[cut:], cameras=cam_col[cut:].astype(np.int32), seqs=seqs[cut:],
            reasons=reason_col[cut:].astype(np.int32), thumbnails=thumbs[cut:], camera_names=cams, reason_names=reasons, meta=meta,
        )  # fmt: skip

    def save(self, path: str | Path) -> int:
        """Write a snapshot of the live entries atomically (see ``snapshot.write_snapshot``).

        Returns:
            Bytes written.

        Raises:
            TemporalIndexError: The file could not be written (the previous one is kept).
        """
        return write_snapshot(path, self.snapshot_data())

    def load(self, path: str | Path, *, wait: bool = False) -> int:
        """Replace the memory with a snapshot; the HNSW graph is rebuilt in the background.

        Until the rebuild finishes every query is answered exactly (correct, slower on large
        windows). A snapshot larger than this index's capacity keeps its newest entries.

        Args:
            path: Snapshot file.
            wait: Rebuild the graph before returning.

        Returns:
            Entries loaded.

        Raises:
            TemporalIndexError: Missing, truncated, corrupt or wrong-version file, or a snapshot
                of another embedding dimension; the memory is left as it was.
        """
        data = read_snapshot(path)
        if data.dim != self.dim:
            msg = f"index snapshot '{path}' holds dim {data.dim} embeddings; this index has dim {self.dim} (another model?)"
            raise TemporalIndexError(msg)
        ring = Ring(dim=self.dim, capacity=self.capacity, thumbnail_budget_bytes=self.thumbnail_budget_bytes)
        ring.fill(data)
        with self._lock:
            self._epoch += 1
            self._ring, self._graph = ring, self._new_graph(self.capacity)
            self._graph_from = ring.next
            self._graph_ready = len(ring) == 0
            self.recall.clear()
        if len(ring):
            if wait:
                self._rebuild("snapshot loaded", threads=2)
            else:
                self._submit(("compact", "snapshot loaded"))
        return len(ring)

    def __enter__(self) -> TemporalIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
