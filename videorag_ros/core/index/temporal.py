"""``TemporalIndex``: the robot's bounded visual memory (ring + HNSW + exact path + health + snapshots).

Concurrency: one ``RLock`` guards the ring and the graph. ``add`` holds it for one eviction
and one plain HNSW insert (about a millisecond at 100k x 512); nothing in ``add`` waits for a
rebuild, a snapshot or an exact scan. Exact scans and snapshot copies read the ring's arrays
*off* the lock and then check, under it, which of the rows they read are still live (a slot is
rewritten only after its entry was evicted, and evictions go oldest first, so stale rows are a
prefix). HNSW queries hold the lock for one graph segment at a time (hnswlib forbids
``knn_query`` concurrent with ``add_items``).

The graph is segmented (``graph.SegmentedGraph``): inserts never repair other nodes, evicted
entries are marked deleted, and a segment is dropped once all its entries are evicted. A query
is planned per segment part (exact scan or HNSW with over-fetch) and the parts' top-k merged.

A background thread (started on first use, one per index) answers sampled queries exactly,
tracks HNSW recall at a ladder of beam widths, raises the beam when the configured one misses
``recall_floor`` (within ``hnsw_budget_ms``), answers exactly when no beam within the budget
reaches it, and rebuilds the graph when too much of it is deleted (or, once per episode, when
recall at the configured beam falls under the floor). A rebuild copies the live vectors in
chunks under short lock holds, inserts them into a fresh graph off the lock, chases the inserts
that arrived meanwhile the same way, and swaps the graph in under the lock once the remaining
tail is small.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import deque
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from videorag_ros.core.errors import TemporalIndexError
from videorag_ros.core.index.descriptions import Description, DescriptionStore
from videorag_ros.core.index.graph import Segment, SegmentedGraph
from videorag_ros.core.index.maintenance import EfController, RecallTracker, compaction_reason, ef_ladder, recall_at_k
from videorag_ros.core.index.moments import build_moments
from videorag_ros.core.index.planner import CostModel, Plan
from videorag_ros.core.index.query import Part, Query, Scan, Scored, collect, exact_scores, merge_ranges, plan_parts, run_mask, summarize
from videorag_ros.core.index.ring import Ring
from videorag_ros.core.index.snapshot import SnapshotData, read_snapshot, write_snapshot
from videorag_ros.core.index.types import Hit, IndexStats, Moment, Payload

log = logging.getLogger(__name__)

_REBUILD_CHUNK = 2048  # rows copied per lock hold while rebuilding
_REBUILD_TAIL = 16  # inserts left when the rebuild finishes under the lock (~1 ms each)
_EF_MAX = 4096  # largest beam the recall controller tries
_Task = tuple[str, Any]


class TemporalIndex:
    """Thread-safe ring of frame embeddings with capacity and TTL eviction, planned search, moments."""

    def __init__(
        self,
        *,
        dim: int,
        capacity: int,
        ttl_s: float,
        m: int = 16,
        ef_construction: int = 200,
        ef_search: int = 64,
        thumbnail_budget_bytes: int = 0,
        recall_floor: float = 0.9,
        recall_sample_every: int = 16,
        recall_min_samples: int = 8,
        max_deleted_share: float = 0.5,
        cost: CostModel | None = None,
        background: bool = True,
        seed: int = 100,
        segments: int = 2,
        hnsw_budget_ms: float = 3.0,
    ) -> None:
        """Create an empty index.

        Args:
            dim: Embedding dimension.
            capacity: Maximum entries kept (ring size).
            ttl_s: Entries older than this (vs the newest stamp seen) are evicted; 0 disables.
            m: HNSW graph degree.
            ef_construction: HNSW build-time beam. Frames arrive in time order and consecutive
                embeddings are near-duplicates; at 100 such a build links mostly along the time
                chain (recall@10 0.73 at ef 64 on a 20k video-like walk), at 200 it reaches 0.995.
            ef_search: HNSW query-time beam (raised to the fetch size when larger, and by the
                recall controller when sampled recall misses ``recall_floor``).
            thumbnail_budget_bytes: Total bytes of JPEG thumbnails kept (oldest dropped first).
            recall_floor: Sampled recall@k wanted from HNSW; under it the beam is raised within
                ``hnsw_budget_ms``, then queries are answered exactly, and the graph is rebuilt
                once per episode; 0 disables all of that.
            recall_sample_every: Every n-th query that HNSW answers (or would answer) is re-answered
                exactly and by HNSW at a ladder of beams, off-thread; 0 disables.
            recall_min_samples: Samples needed before recall can change the beam or trigger a rebuild.
            max_deleted_share: Rebuild when more of the graph than this is deleted slots.
            cost: Planner cost model (defaults: measured on the reference machine).
            background: Run recall checks and rebuilds on a background thread; False runs them
                inline (deterministic tests).
            seed: HNSW level-generator seed.
            segments: Graph segments per ``capacity`` (segment size ``ceil(capacity / segments)``):
                the graph holds at most ``capacity * (1 + 1 / segments)`` elements and a global
                query searches up to ``segments + 1`` of them.
            hnsw_budget_ms: Predicted cost (planner cost model) of a global HNSW query up to which
                the recall controller may raise the beam.

        Raises:
            TemporalIndexError: Non-positive dimension or capacity, or an invalid setting.
        """
        if dim <= 0 or capacity <= 0:
            msg = f"index needs dim > 0 and capacity > 0, got dim={dim} capacity={capacity}"
            raise TemporalIndexError(msg)
        if (
            ttl_s < 0 or thumbnail_budget_bytes < 0 or not 0.0 <= recall_floor <= 1.0 or ef_search < 1 or m < 2
            or segments < 1 or hnsw_budget_ms < 0
        ):  # fmt: skip
            msg = (
                f"invalid index settings: ttl_s={ttl_s} (>= 0), thumbnail_budget_bytes={thumbnail_budget_bytes} (>= 0), "
                f"recall_floor={recall_floor} (0..1), ef_search={ef_search} (>= 1), m={m} (>= 2), segments={segments} (>= 1), "
                f"hnsw_budget_ms={hnsw_budget_ms} (>= 0)"
            )
            raise TemporalIndexError(msg)
        self.dim, self.capacity, self.ttl_s = dim, capacity, ttl_s
        self.m, self.ef_construction, self.ef_search, self.seed = m, ef_construction, ef_search, seed
        self.thumbnail_budget_bytes = thumbnail_budget_bytes
        self.recall_floor, self.recall_sample_every, self.recall_min_samples = recall_floor, recall_sample_every, recall_min_samples
        self.max_deleted_share = max_deleted_share
        self.cost = cost or CostModel()
        self.background = background
        self.segment_size = math.ceil(capacity / segments)
        self.hnsw_budget_ms = hnsw_budget_ms
        self._lock = threading.RLock()
        self._ring = Ring(dim=dim, capacity=capacity, thumbnail_budget_bytes=thumbnail_budget_bytes)
        self._graph = self._new_graph()
        self._graph_ready = True
        self._epoch = 0  # bumped when the ring is replaced (snapshot load)
        self._compacting = False
        self.recall = RecallTracker()  # recall at the configured ef_search: the graph's health
        self._efs = EfController()  # recall per beam width: which beam the planner uses
        self._ef = ef_search  # beam chosen by the recall controller (never below ef_search)
        self._exact_reason: str | None = None  # set while no beam within the budget reaches the floor
        self._rebuild_tried = False  # a recall rebuild was tried in this low-recall episode
        self.evicted_ttl = self.evicted_capacity = 0
        self.inserts = self.exact_queries = self.hnsw_queries = self.hnsw_fallbacks = self.compactions = 0
        self.last_plan: Plan | None = None
        self.recall_floor_misses = 0  # recall at ef_search under the floor although the graph was fresh
        self._inserts_at_rebuild = 0
        self._sample_count = 0
        self._shuffle = np.random.default_rng(seed)  # insertion order of bulk inserts, under the lock (see SegmentedGraph.add)
        # background work: ("recall", (vector, k)) | ("compact", reason)
        self._tasks: deque[_Task] = deque(maxlen=64)
        self._cv = threading.Condition()
        self._busy = False
        self._worker: threading.Thread | None = None
        self._closed = False
        self.descriptions = DescriptionStore()  # the slow loop's texts about moments (see add_description)

    def _new_graph(self) -> SegmentedGraph:
        return SegmentedGraph(dim=self.dim, segment_size=self.segment_size, m=self.m, ef_construction=self.ef_construction, seed=self.seed)

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

    def _evict_for(self, stamp_ns: int) -> None:
        """Evict (from the ring only) what TTL and capacity require before one more entry at ``stamp_ns``."""
        ring = self._ring
        if self.ttl_s > 0 and len(ring):
            horizon = max(ring.max_ns if ring.max_ns is not None else stamp_ns, stamp_ns) - int(self.ttl_s * 1e9)
            while len(ring) and ring.stamps[ring.first % self.capacity] < horizon:
                ring.evict_oldest()
                self.evicted_ttl += 1
        if len(ring) >= self.capacity:
            ring.evict_oldest()
            self.evicted_capacity += 1

    def _deleted_reason(self) -> str | None:
        share = self._graph.deleted_share
        if share > self.max_deleted_share and not self._compacting:
            return f"deleted share {share:.2f} above {self.max_deleted_share:.2f}"
        return None

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
            self._evict_for(int(payload.stamp_ns))
            g = ring.append(v, payload)
            try:
                self._graph.evict_below(ring.first)
                self._graph.add(v.reshape(1, -1), np.array([g], np.int64))
            except TemporalIndexError as err:  # never expected; the exact path stays correct meanwhile
                log.error("index insert into the HNSW graph failed, rebuilding it: %s", err)
                self._graph_ready = False
                schedule = "HNSW insert failed"
            self.inserts += 1
            schedule = schedule or self._deleted_reason()
        if schedule:
            self._submit(("compact", schedule))

    def add_many(self, vectors: npt.NDArray[np.float32], payloads: list[Payload], *, num_threads: int = 2, batch: int = 1024) -> None:
        """Bulk insert (replays, benchmarks): same eviction as ``add``, HNSW inserts batched on ``num_threads``.

        Each batch goes into the graph in a shuffled order (better graphs for time-ordered video).
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
        schedule: str | None = None
        for c0 in range(0, len(vecs), step):
            with self._lock:
                ring = self._ring
                g0 = ring.next
                for p, v in zip(payloads[c0 : c0 + step], vecs[c0 : c0 + step], strict=True):
                    self._evict_for(int(p.stamp_ns))
                    ring.append(v, p)
                lo = max(g0, ring.first)  # entries of this batch that are still live
                self._graph.evict_below(ring.first)
                if ring.next > lo:
                    rows, labels = ring.copy_rows(lo, ring.next), np.arange(lo, ring.next, dtype=np.int64)
                    self._graph.add(rows, labels, num_threads=num_threads, shuffle=self._shuffle)
                self.inserts += ring.next - g0
                schedule = self._deleted_reason()
        if schedule:
            self._submit(("compact", schedule))

    def add_description(self, description: Description) -> None:
        """Remember what the slow loop said about a span (forgotten with the frames: TTL, capacity).

        Raises:
            TemporalIndexError: An invalid description (see ``Description.check``).
        """
        with self._lock:
            ring = self._ring
            horizon = int(ring.stamps[ring.first % self.capacity]) if len(ring) else None
        self.descriptions.add(description)
        if horizon is not None:
            self.descriptions.forget_before(horizon)

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
            method: ``"auto"`` (planner), ``"exact"`` or ``"hnsw"`` (forced, at the configured
                ``ef_search``; benchmarks and tests).

        Returns:
            Hits, best score first.

        Raises:
            TemporalIndexError: Wrong dimension, or an unknown ``method``.
        """
        query = Query(self._vector(vector, "query"), k, since_ns, until_ns, None if cameras is None else frozenset(cameras))
        return [Hit(s, p) for s, p in self._search(query, method)]

    def _search(self, query: Query, method: str) -> list[tuple[float, Payload]]:
        if method not in ("auto", "exact", "hnsw"):
            msg = f"search method {method!r} is not one of auto, exact, hnsw"
            raise TemporalIndexError(msg)
        with self._lock:
            ring, epoch, live = self._ring, self._epoch, len(self._ring)
            lo, hi = ring.window(query.since_ns, query.until_ns)
            codes = ring.camera_mask_codes(query.cameras)
            ready = self._graph_ready
            size = self._graph.segment_size
            segs: list[tuple[Segment | None, int, int, int]] = []
            if ready and hi > lo:
                for num in range(lo // size, (hi - 1) // size + 1):
                    a, b = max(lo, num * size), min(hi, (num + 1) * size)
                    seg = self._graph.segment_of(a)
                    segs.append((seg, a, b, seg.graph.live if seg is not None else 0))
            ef = max(self.ef_search, self._ef)
            exact_reason = self._exact_reason
        if query.k <= 0 or live == 0 or hi <= lo or (codes is not None and len(codes) == 0):
            return []
        mask = run_mask(ring, lo, hi, query, codes) if query.filtered else None
        candidates = hi - lo if mask is None else int(mask.sum())
        k = min(query.k, candidates)
        parts: list[Part] = []
        if method != "exact" and ready:
            parts = plan_parts(query, k, segs, lo=lo, mask=mask, dim=self.dim, ef=ef, forced_ef=self.ef_search, cost=self.cost, method=method)
        sampled = False
        if not parts:
            why = "forced" if method == "exact" else "nothing to search" if k <= 0 else "HNSW graph not built yet"
            plan = Plan("exact", 0, 0, hi - lo, candidates, why, 0)
        else:
            uses_hnsw = any(p.plan.method == "hnsw" for p in parts)
            sampled = method == "auto" and uses_hnsw
            plan = summarize(parts, hi - lo, candidates)
            if sampled and exact_reason:  # no beam within the budget reaches the recall floor: scan exactly
                parts = [Part(p.seg, p.lo, p.hi, p.k, Plan("exact", 0, 0, p.hi - p.lo, p.plan.candidates, exact_reason)) for p in parts]
                plan = Plan("exact", 0, 0, hi - lo, candidates, exact_reason, len(parts))
        if method == "auto":
            self.last_plan = plan
        elif method == "hnsw" and parts:
            self.last_plan = Plan("hnsw", plan.fetch, plan.ef, hi - lo, candidates, "forced", plan.parts)
        else:
            self.last_plan = plan
        if k <= 0:
            return []
        hits: list[Scored] = []
        ranges: list[tuple[int, int]] = [] if parts else [(lo, hi)]
        used_hnsw = False
        for part in parts:
            if part.plan.method != "hnsw" or part.seg is None:
                ranges.append((part.lo, part.hi))
                continue
            got = self._hnsw_part(part.seg, part, query, codes, epoch)
            if got is None or len(got) < part.k:
                with self._lock:
                    self.hnsw_fallbacks += 1
                ranges.append((part.lo, part.hi))
                continue
            used_hnsw = True
            hits += got
        scan = Scan(ring, epoch, lo, mask, merge_ranges(ranges))
        pieces = exact_scores(query.vector, scan)
        with self._lock:
            if self._epoch != epoch:  # the ring was replaced meanwhile: answer again from scratch
                result = None
            else:
                out = collect(k, self._ring.first, pieces, hits)
                self.exact_queries += bool(scan.ranges)
                self.hnsw_queries += used_hnsw
                result = [(sc, ring.payload(g)) for sc, g in out]
                if sampled and self.recall_sample_every > 0:
                    self._sample_count += 1
                    sampled = self._sample_count % self.recall_sample_every == 0
                else:
                    sampled = False
        if result is None:
            return self._search(query, "exact")
        if sampled:
            self._submit(("recall", (query.vector.copy(), min(k, 10))))
        return result

    def _hnsw_part(self, seg: Segment, part: Part, query: Query, codes: npt.NDArray[np.int32] | None, epoch: int) -> list[Scored] | None:
        """Graph query of one segment with over-fetch and post-filter: ``(score, g)`` best first; None when hnswlib could not answer."""
        with self._lock:
            if self._epoch != epoch or not self._graph_ready:
                return None
            try:
                labels, scores = seg.graph.query(query.vector, part.plan.fetch, ef=part.plan.ef)
            except TemporalIndexError as err:
                log.debug("HNSW query fell back to exact: %s", err)
                return None
            ring = self._ring
            slots = labels % self.capacity
            keep = labels >= ring.first
            if query.since_ns is not None:
                keep &= ring.stamps[slots] >= query.since_ns
            if query.until_ns is not None:
                keep &= ring.stamps[slots] <= query.until_ns
            if codes is not None:
                keep &= np.isin(ring.cams[slots], codes)
        return list(zip(scores[keep][: part.k].tolist(), labels[keep][: part.k].tolist(), strict=True))

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

    def camera_ids(self) -> list[str]:
        """Camera ids this memory has stored frames of (live or since evicted), in first-seen order."""
        with self._lock:
            return list(self._ring.camera_codes.names)

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
        """Size, deleted share, sampled recall, the planner's beam and mode, and counters."""
        with self._lock:
            ef = max(self.ef_search, self._ef)
            return IndexStats(
                live=len(self._ring), capacity=self.capacity, graph_elements=self._graph.elements,
                deleted_share=self._graph.deleted_share, graph_ready=self._graph_ready, inserts=self.inserts,
                evicted_ttl=self.evicted_ttl, evicted_capacity=self.evicted_capacity,
                thumbnail_bytes=self._ring.thumbnail_bytes, thumbnails_dropped=self._ring.thumbnails_dropped,
                exact_queries=self.exact_queries, hnsw_queries=self.hnsw_queries, hnsw_fallbacks=self.hnsw_fallbacks,
                last_recall=self.recall.last, mean_recall=self.recall.mean, recall_samples=self.recall.total,
                compactions=self.compactions, compacting=self._compacting, segments=len(self._graph.segments),
                effective_ef=ef, effective_recall=self._efs.stat(ef)[0], global_mode="exact" if self._exact_reason else "hnsw",
                mode_reason=self._exact_reason or "", recall_floor_misses=self.recall_floor_misses,
            )  # fmt: skip

    def measure_recall(self, queries: npt.NDArray[np.float32], k: int = 10, *, record: bool = True) -> float:
        """Mean recall@k of HNSW (at the configured ``ef_search``) against exact search over all live entries.

        Args:
            queries: ``(Q, D)`` float32 queries, L2-normalised.
            k: Neighbours compared.
            record: Add each query's recall to the tracked samples (``stats().mean_recall``).

        Returns:
            The mean recall (1.0 when nothing could be measured).
        """
        got = [self._recall_at(self._vector(q, "query"), k, [self.ef_search], record=record) for q in np.atleast_2d(queries)]
        vals = [r[0] for r in got if r]
        return float(np.mean(vals)) if vals else 1.0

    def _exact_top(self, q: npt.NDArray[np.float32], k: int) -> tuple[int, list[int]] | None:
        """Exact top-k entry numbers over all live entries (scan off the lock), with the ring epoch."""
        with self._lock:
            ring, epoch, first, nxt = self._ring, self._epoch, self._ring.first, self._ring.next
        pieces = exact_scores(q, Scan(ring, epoch, first, None, [(first, nxt)]))
        with self._lock:
            if self._epoch != epoch:
                return None
            return epoch, [g for _, g in collect(k, self._ring.first, pieces, [])]

    def _graph_top(self, q: npt.NDArray[np.float32], k: int, ef: int, epoch: int) -> list[int] | None:
        """HNSW top-k entry numbers over every segment at beam ``ef`` (one lock hold per segment)."""
        with self._lock:
            if self._epoch != epoch or not self._graph_ready:
                return None
            segs = self._graph.segments
        found: list[Scored] = []
        for seg in segs:
            with self._lock:
                if self._epoch != epoch:
                    return None
                try:
                    labels, scores = seg.graph.query(q, k, ef=ef)
                except TemporalIndexError:
                    continue
                first = self._ring.first
            found += [(s, g) for s, g in zip(scores.tolist(), labels.tolist(), strict=True) if g >= first]
        found.sort(key=lambda t: (-t[0], t[1]))
        return [g for _, g in found[:k]]

    def _recall_at(self, q: npt.NDArray[np.float32], k: int, efs: list[int], *, record: bool) -> list[float]:
        """Recall@k of HNSW at each beam in ``efs`` against one exact answer (empty when not measurable)."""
        with self._lock:
            if not self._graph_ready or not len(self._ring):
                return []
            k = min(k, len(self._ring))
        exact = self._exact_top(q, k)
        if exact is None:
            return []
        epoch, truth = exact
        out = []
        for ef in efs:
            approx = self._graph_top(q, k, ef, epoch)
            if approx is None:
                return []
            with self._lock:
                first = self._ring.first
            r = recall_at_k([g for g in approx if g >= first], [g for g in truth if g >= first])
            out.append(r)
            if record:
                self._efs.add(ef, r)
                if ef == self.ef_search:
                    self.recall.add(r)
        return out

    def _ladder(self) -> list[int]:
        """Beams the recall controller may use: ``ef_search`` doubling up to what ``hnsw_budget_ms`` allows (under the lock)."""
        live = [s.graph.live for s in self._graph.segments if s.graph.live > 0]
        big = [n for n in live if n > self.cost.crossover_rows(ef=self.ef_search, dim=self.dim)]  # parts HNSW would answer
        cap = self.cost.max_ef(budget_ns=self.hnsw_budget_ms * 1e6, dim=self.dim, searches=max(1, len(big)))
        return ef_ladder(self.ef_search, min(cap, _EF_MAX, max(live, default=1)))

    def _sample(self, q: npt.NDArray[np.float32], k: int) -> None:
        """One recall sample at every ladder beam, then the controller's decisions (background thread)."""
        with self._lock:
            ladder = self._ladder()
        if not self._recall_at(q, k, ladder, record=True):
            return
        floor = self.recall_floor
        if floor > 0:
            self._choose_ef(ladder)
        with self._lock:
            deleted_share = self._graph.deleted_share
            churn = self.inserts - self._inserts_at_rebuild
        why = compaction_reason(
            mean_recall=self.recall.mean, samples=len(self.recall), recall_floor=floor,
            min_samples=self.recall_min_samples, deleted_share=deleted_share, max_deleted_share=self.max_deleted_share,
        )  # fmt: skip
        if deleted_share > self.max_deleted_share:
            self._rebuild(f"deleted share {deleted_share:.2f} is above {self.max_deleted_share:.2f}")
        elif why is None:
            mean = self.recall.mean
            if mean is not None and len(self.recall) >= self.recall_min_samples:
                self._rebuild_tried = False  # the episode is over: a later drop may rebuild again
        elif churn >= max(1, self.capacity // 4) and not self._rebuild_tried:
            self._rebuild_tried = True  # once per episode: a fresh graph that misses the floor is not rebuilt again
            self._rebuild(why)
        else:
            self.recall_floor_misses += 1
            log.debug("index %s on a fresh graph (%d inserts since the last rebuild); the planner raises the beam or scans exactly", why, churn)

    def _choose_ef(self, ladder: list[int]) -> None:
        """Apply the controller: the smallest beam reaching the floor, or exact answers when none within the budget does."""
        with self._lock:
            current = max(self.ef_search, self._ef)
        choice = self._efs.choose(ladder, floor=self.recall_floor, min_samples=self.recall_min_samples, current=current)
        if choice is None:
            return
        with self._lock:
            if choice == 0:
                best, n = self._efs.stat(ladder[-1])
                reason = (
                    f"sampled recall@10 {best or 0.0:.2f} at ef {ladder[-1]} (the largest beam within the {self.hnsw_budget_ms:g} ms "
                    f"budget, {n} samples) is under the floor {self.recall_floor:.2f}: exact scan"
                )
                if self._exact_reason is None:
                    log.warning("index: %s; answering queries exactly (raise index m/ef_search or the budget to use HNSW)", reason)
                self._exact_reason = reason
            else:
                if self._exact_reason is not None or choice != current:
                    log.info("index: HNSW beam ef=%d (sampled recall %.3f >= floor %.2f)", choice, self._efs.stat(choice)[0] or 0.0, self.recall_floor)
                self._exact_reason, self._ef = None, choice

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
            new = self._new_graph()
            shuffle = np.random.default_rng(self.seed + self.compactions)  # this thread's own: add_many uses self._shuffle
            g = start
            while True:
                with self._lock:
                    if self._epoch != epoch:
                        log.info("index rebuild abandoned: the index was reloaded meanwhile")
                        abandoned = True
                        return
                    ring = self._ring
                    first, nxt = ring.first, ring.next
                    g = max(g, first)
                    if nxt - g <= _REBUILD_TAIL:  # finish under the lock and swap
                        new.evict_below(first)
                        if nxt > g:
                            new.add(ring.copy_rows(g, nxt), np.arange(g, nxt, dtype=np.int64))
                        self._graph, self._graph_ready = new, True
                        ring.refresh_disorder()
                        self.compactions += 1
                        self._inserts_at_rebuild = self.inserts
                        self.recall.clear()
                        self._efs.clear()
                        break
                    hi = min(g + _REBUILD_CHUNK, nxt)
                    rows = ring.copy_rows(g, hi)
                new.evict_below(first)  # `new` is private until the swap: no lock needed
                new.add(rows, np.arange(g, hi, dtype=np.int64), num_threads=threads, shuffle=shuffle)
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
            self._sample(q, k)
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
            descriptions=self.descriptions.all(),
        )  # fmt: skip

    def save(self, path: str | Path) -> int:
        """Write a snapshot of the live entries atomically (see ``snapshot.write_snapshot``).

        Returns:
            Bytes written.

        Raises:
            TemporalIndexError: The file could not be written (the previous one is kept).
        """
        return write_snapshot(path, self.snapshot_data())

    def load(self, path: str | Path, *, wait: bool = False, graph: bool = True, max_bytes: int | None = None) -> int:
        """Replace the memory with a snapshot; the HNSW graph is rebuilt in the background.

        Until the rebuild finishes every query is answered exactly (correct, slower on large
        windows). A snapshot larger than this index's capacity keeps its newest entries.

        Args:
            path: Snapshot file.
            wait: Rebuild the graph before returning.
            graph: False never builds the graph: every query is exact (one-shot readers such as
                ``videorag query --index`` that would finish before a rebuild did).
            max_bytes: Largest snapshot file accepted (see ``max_snapshot_bytes``); None: no limit.

        Returns:
            Entries loaded.

        Raises:
            TemporalIndexError: Missing, not a regular file, too large, truncated, corrupt or
                wrong-version file, or a snapshot of another embedding dimension; the memory is
                left as it was.
        """
        return self.load_data(read_snapshot(path, max_bytes=max_bytes), source=str(path), wait=wait, graph=graph)

    def max_snapshot_bytes(self) -> int:
        """The largest snapshot an index of this size could write, with a 4x margin for a
        snapshot of a larger memory (``load`` keeps its newest entries)."""
        per_entry = 4 * self.dim + 8 + 4 + 8 + 4 + 8
        return 4 * (self.capacity * per_entry + self.thumbnail_budget_bytes) + (64 << 20)

    def load_data(self, data: SnapshotData, *, source: str = "<memory>", wait: bool = False, graph: bool = True) -> int:
        """``load`` from a snapshot already read (``read_snapshot``), so a caller that needs
        its size or camera names first does not read the file twice.

        Args:
            data: The snapshot's contents.
            source: Where it came from, for error messages.
            wait: Rebuild the graph before returning.
            graph: False never builds the graph (see ``load``).

        Returns:
            Entries loaded.

        Raises:
            TemporalIndexError: A snapshot of another embedding dimension; the memory is left as it was.
        """
        if data.dim != self.dim:
            msg = f"index snapshot '{source}' holds dim {data.dim} embeddings; this index has dim {self.dim} (another model?)"
            raise TemporalIndexError(msg)
        ring = Ring(dim=self.dim, capacity=self.capacity, thumbnail_budget_bytes=self.thumbnail_budget_bytes)
        ring.fill(data)
        with self._lock:
            self._epoch += 1
            self._ring, self._graph = ring, self._new_graph()
            self._graph_ready = len(ring) == 0
            self.recall.clear()
            self._efs.clear()
            self._ef, self._exact_reason, self._rebuild_tried = self.ef_search, None, False
        self.descriptions.replace(data.descriptions)
        if len(ring) and graph:
            if wait:
                self._rebuild("snapshot loaded", threads=2)
            else:
                self._submit(("compact", "snapshot loaded"))
        return len(ring)

    def __enter__(self) -> TemporalIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
