"""``TemporalIndex``: the robot's bounded visual memory (ring + run level + exact path + recall control + snapshots).

Concurrency: one ``RLock`` guards the ring and the run level. ``add`` holds it for one eviction,
one append and, every ``run_frames`` frames of a camera, one run centroid (tens of microseconds
at 100k x 512); nothing in ``add`` waits for a query, a snapshot or the recall sampler. A query
holds it to plan and, on the run plan, to score the centroids and pick the runs (a fraction of a
millisecond at 100k); exact scans, the gathered frames' scores and snapshot copies read the
ring's arrays *off* the lock and then check, under it, which of the rows they read are still
live (a slot is rewritten only after its entry was evicted, and evictions go oldest first).

A background thread (started on first use, one per index) answers sampled queries exactly and
through the run level at a ladder of probe counts, raises the count when the configured one
misses ``recall_floor`` (within ``search_budget_ms``), and answers exactly when no count within
the budget reaches it. The run level is rebuilt from the ring only after a snapshot load; it
never degrades with turnover (runs are whole or forgotten), so there are no background rebuilds.
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
from videorag_ros.core.index.maintenance import ProbeController, RecallTracker, probe_ladder, recall_at_k
from videorag_ros.core.index.moments import build_moments
from videorag_ros.core.index.planner import CostModel, Plan, enough_probes, plan_query
from videorag_ros.core.index.query import Query, RunSelection, Scored, collect, exact_scores, gathered_hits, merge_ranges, outside, probe, select_runs
from videorag_ros.core.index.ring import Ring
from videorag_ros.core.index.runs import Runs, unit_mean
from videorag_ros.core.index.snapshot import SnapshotData, read_snapshot, write_snapshot
from videorag_ros.core.index.types import Hit, IndexStats, Moment, Payload

log = logging.getLogger(__name__)

_METHODS = ("auto", "exact", "runs")
_Task = tuple[str, Any]
_Answer = tuple[Plan, list[Scored], Ring, list[tuple[float, Payload]]]


class TemporalIndex:
    """Thread-safe ring of frame embeddings with capacity and TTL eviction, planned search, moments."""

    def __init__(
        self,
        *,
        dim: int,
        capacity: int,
        ttl_s: float,
        thumbnail_budget_bytes: int = 0,
        recall_floor: float = 0.9,
        recall_sample_every: int = 16,
        recall_min_samples: int = 8,
        cost: CostModel | None = None,
        background: bool = True,
        run_frames: int = 32,
        probes: int = 32,
        search_budget_ms: float = 3.0,
    ) -> None:
        """Create an empty index.

        Args:
            dim: Embedding dimension.
            capacity: Maximum entries kept (ring size).
            ttl_s: Entries older than this (vs the newest stamp seen) are evicted; 0 disables.
            thumbnail_budget_bytes: Total bytes of JPEG thumbnails kept (oldest dropped first).
            recall_floor: Sampled recall@k wanted from the run level; under it the probe count is
                raised within ``search_budget_ms``, then queries are answered exactly; 0 disables.
            recall_sample_every: Every n-th query that the run level answers (or would answer) is
                re-answered exactly and at a ladder of probe counts, off-thread; 0 disables.
            recall_min_samples: Samples needed before recall can change the probe count.
            cost: Planner cost model (defaults: measured on the reference machine).
            background: Run recall checks on a background thread; False runs them inline
                (deterministic tests).
            run_frames: Consecutive frames of one camera per run (one centroid each).
            probes: Runs whose frames a query scores (raised by the recall controller when the
                sampled recall misses ``recall_floor``).
            search_budget_ms: Predicted cost (planner cost model) of a global query through the
                run level up to which the recall controller may raise the probe count.

        Raises:
            TemporalIndexError: Non-positive dimension or capacity, or an invalid setting.
        """
        if dim <= 0 or capacity <= 0:
            msg = f"index needs dim > 0 and capacity > 0, got dim={dim} capacity={capacity}"
            raise TemporalIndexError(msg)
        if (
            ttl_s < 0 or thumbnail_budget_bytes < 0 or not 0.0 <= recall_floor <= 1.0 or run_frames < 1 or probes < 1
            or not math.isfinite(search_budget_ms) or search_budget_ms < 0
        ):  # fmt: skip
            msg = (
                f"invalid index settings: ttl_s={ttl_s} (>= 0), thumbnail_budget_bytes={thumbnail_budget_bytes} (>= 0), "
                f"recall_floor={recall_floor} (0..1), run_frames={run_frames} (>= 1), probes={probes} (>= 1), "
                f"search_budget_ms={search_budget_ms} (>= 0)"
            )
            raise TemporalIndexError(msg)
        self.dim, self.capacity, self.ttl_s = dim, capacity, ttl_s
        self.thumbnail_budget_bytes = thumbnail_budget_bytes
        self.recall_floor, self.recall_sample_every, self.recall_min_samples = recall_floor, recall_sample_every, recall_min_samples
        self.cost = cost or CostModel()
        self.background = background
        self.run_frames, self.probes, self.search_budget_ms = run_frames, probes, search_budget_ms
        self._lock = threading.RLock()
        self._ring = Ring(dim=dim, capacity=capacity, thumbnail_budget_bytes=thumbnail_budget_bytes)
        self._runs = Runs(dim=dim, run_frames=run_frames, capacity=capacity)
        self._use_runs = True  # False after load(approximate=False): every query exact
        self._epoch = 0  # bumped when the ring is replaced (snapshot load)
        self.recall = RecallTracker()  # recall at the configured probe count: the run level's health
        self._probe_ctl = ProbeController()  # recall per probe count: which count the planner uses
        self._probes = probes  # chosen by the recall controller (never below ``probes``)
        self._exact_reason: str | None = None  # set while no count within the budget reaches the floor
        self.evicted_ttl = self.evicted_capacity = 0
        self.inserts = self.exact_queries = self.run_queries = 0
        self.last_plan: Plan | None = None
        self._sample_count = 0
        # background work: ("recall", Query)
        self._tasks: deque[_Task] = deque(maxlen=64)
        self._cv = threading.Condition()
        self._busy = False
        self._worker: threading.Thread | None = None
        self._closed = False
        self.descriptions = DescriptionStore()  # the slow loop's texts about moments (see add_description)

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
        """Evict what TTL and capacity require before one more entry at ``stamp_ns`` (under the lock)."""
        ring = self._ring
        if self.ttl_s > 0 and len(ring):
            horizon = max(ring.max_ns if ring.max_ns is not None else stamp_ns, stamp_ns) - int(self.ttl_s * 1e9)
            while len(ring) and ring.stamps[ring.first % self.capacity] < horizon:
                ring.evict_oldest()
                self.evicted_ttl += 1
        if len(ring) >= self.capacity:
            ring.evict_oldest()
            self.evicted_capacity += 1
        self._runs.evict_below(ring.first)

    def _append(self, v: npt.NDArray[np.float32], payload: Payload) -> None:
        """Evict, append to the ring and to the camera's open run; close the run when full (under the lock)."""
        ring = self._ring
        self._evict_for(int(payload.stamp_ns))
        g = ring.append(v, payload)
        if not self._use_runs:
            return
        cam = int(ring.cams[g % self.capacity])
        members = self._runs.add(g, cam)
        if members is not None:
            rows = ring.vectors[np.asarray(members, np.int64) % self.capacity]
            self._runs.close(cam, members, unit_mean(rows))

    def add(self, vector: npt.NDArray[np.float32], payload: Payload) -> None:
        """Remember one frame: evict by TTL and capacity, then insert.

        Args:
            vector: ``(D,)`` float32, L2-normalised.
            payload: Camera id, stamp, frame seq, gate reason and optional JPEG thumbnail.

        Raises:
            TemporalIndexError: Wrong dimension or non-finite vector.
        """
        v = self._vector(vector, "embedding")
        with self._lock:
            self._append(v, payload)
            self.inserts += 1

    def add_many(self, vectors: npt.NDArray[np.float32], payloads: list[Payload], *, batch: int = 1024) -> None:
        """Bulk insert (replays, benchmarks): the same as ``add`` per frame, ``batch`` frames per lock hold.

        Args:
            vectors: ``(N, D)`` float32, L2-normalised, oldest first.
            payloads: N payloads.
            batch: Entries per lock hold.

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
        step = max(1, batch)
        for c0 in range(0, len(vecs), step):
            with self._lock:
                for p, v in zip(payloads[c0 : c0 + step], vecs[c0 : c0 + step], strict=True):
                    self._append(v, p)
                self.inserts += len(vecs[c0 : c0 + step])

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
            method: ``"auto"`` (planner), ``"exact"`` or ``"runs"`` (forced, at the configured
                ``probes``; benchmarks and tests).

        Returns:
            Hits, best score first.

        Raises:
            TemporalIndexError: Wrong dimension, or an unknown ``method``.
        """
        if method not in _METHODS:
            msg = f"search method {method!r} is not one of {', '.join(_METHODS)}"
            raise TemporalIndexError(msg)
        query = Query(self._vector(vector, "query"), k, since_ns, until_ns, None if cameras is None else frozenset(cameras))
        return [Hit(s, p) for s, p in self._search(query, method)]

    def _search(self, query: Query, method: str) -> list[tuple[float, Payload]]:
        found = self._answer(query, method, probes=None, payloads=True)
        if found is None:
            return []
        plan, _, _, result = found
        with self._lock:
            self.last_plan = plan
            self.exact_queries += plan.method == "exact"
            self.run_queries += plan.method == "runs"
            sampled = method == "auto" and self.recall_sample_every > 0 and (plan.method == "runs" or self._would_probe(plan))
            if sampled:
                self._sample_count += 1
                sampled = self._sample_count % self.recall_sample_every == 0
        if sampled:
            self._submit(("recall", query))
        return result

    def _would_probe(self, plan: Plan) -> bool:
        """Whether the run level would answer a query that exact mode answered exactly (so its recall is sampled)."""
        return plan.method == "exact" and self._exact_reason is not None and plan.reason == self._exact_reason

    def _answer(self, query: Query, method: str, *, probes: int | None, payloads: bool = False) -> _Answer | None:
        """Plan and answer one query; None when nothing matches.

        Returns:
            The plan, ``(score, g)`` best first, the ring read, and (with ``payloads``) the
            hits' payloads, read in the same lock hold that checked the entries are live.

        ``probes`` forces the run plan at that count (the recall sampler); ``method`` "runs"
        forces it at the configured count.
        """
        while True:
            with self._lock:
                ring, runs, epoch = self._ring, self._runs, self._epoch
                if query.k <= 0 or not len(ring):
                    return None
                lo, hi = ring.window(query.since_ns, query.until_ns)
                codes = ring.camera_mask_codes(query.cameras)
                if hi <= lo or (codes is not None and len(codes) == 0):
                    return None
                sel: RunSelection | None = None
                open_ranges: list[tuple[int, int]] = []
                open_gs: list[int] = []
                if self._use_runs and method != "exact":
                    sel = select_runs(runs, lo, hi, codes, whole=query.since_ns is None and query.until_ns is None)
                    open_ranges, open_gs = runs.open_parts(codes)
                fixed = (float(sum(min(b, hi) - max(a, lo) for a, b in open_ranges if b > lo and a < hi)), float(len(open_gs)))
                plan = self._plan(method, probes, k=query.k, scan_rows=hi - lo, runs=sel.count if sel is not None else 0, fixed=fixed)
                if plan.method == "runs" and sel is not None:
                    ranges, gathered = probe(runs, sel, query.vector, plan.probes, runs.span_max)
                    ranges = merge_ranges(ranges + open_ranges, lo, hi)
                    gs = outside(gathered + open_gs, ranges, lo, hi)  # a frame is scored once
                else:
                    ranges, gs = [(lo, hi)], np.zeros(0, np.int64)
            pieces = exact_scores(ring, ranges, query, codes)
            hits = gathered_hits(ring, gs, query, codes, 2 * query.k)  # 2k: a few may be evicted meanwhile
            with self._lock:
                if self._epoch != epoch:  # the ring was replaced meanwhile: answer again
                    continue
                out = collect(query.k, self._ring.first, pieces, hits)
                found = [(sc, ring.payload(g)) for sc, g in out] if payloads else []
            if plan.method == "exact" and query.filtered:
                plan = Plan("exact", 0, plan.scan_rows, sum(int(np.isfinite(s).sum()) for _, s in pieces), 0, 0, plan.reason)
            elif plan.method == "runs":
                plan = Plan("runs", plan.probes, plan.scan_rows, plan.candidates, plan.runs, sum(b - a for a, b in ranges) + len(gs), plan.reason)
            return plan, out, ring, found

    def _plan(self, method: str, probes: int | None, *, k: int, scan_rows: int, runs: int, fixed: tuple[float, float]) -> Plan:
        """The plan for one query (under the lock; ``candidates`` of an exact plan is filled in after the scan)."""
        if method == "exact":
            return Plan("exact", 0, scan_rows, scan_rows, 0, 0, "forced")
        if probes is not None or method == "runs":
            p = probes if probes is not None else self.probes
            if runs <= 0 or not self._use_runs:
                return Plan("exact", 0, scan_rows, scan_rows, 0, 0, "no closed run to probe")
            if probes is None:  # the recall sampler measures exactly the count it asks for
                p = enough_probes(p, k, self._runs.rows_per_probe())
            return Plan("runs", min(p, runs), scan_rows, scan_rows, runs, 0, "forced")
        if not self._use_runs:
            return Plan("exact", 0, scan_rows, scan_rows, 0, 0, "run level not built (one-shot reader)")
        return plan_query(
            k=k, dim=self.dim, scan_rows=scan_rows, candidates=scan_rows, runs=runs, per_probe=self._runs.rows_per_probe(),
            fixed=fixed, probes=max(self.probes, self._probes), cost=self.cost, exact_reason=self._exact_reason,
        )  # fmt: skip

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
        """Size, run level, sampled recall, the planner's probe count and mode, and counters."""
        with self._lock:
            p = max(self.probes, self._probes)
            return IndexStats(
                live=len(self._ring), capacity=self.capacity, runs=len(self._runs), open_frames=self._runs.open_frames,
                inserts=self.inserts, evicted_ttl=self.evicted_ttl, evicted_capacity=self.evicted_capacity,
                thumbnail_bytes=self._ring.thumbnail_bytes, thumbnails_dropped=self._ring.thumbnails_dropped,
                exact_queries=self.exact_queries, run_queries=self.run_queries, last_recall=self.recall.last,
                mean_recall=self.recall.mean, recall_samples=self.recall.total, probes=p,
                effective_recall=self._probe_ctl.stat(p)[0], global_mode="exact" if self._exact_reason else "runs",
                mode_reason=self._exact_reason or "",
            )  # fmt: skip

    def measure_recall(self, queries: npt.NDArray[np.float32], k: int = 10, *, record: bool = True) -> float:
        """Mean recall@k of the run level (at the configured ``probes``) against exact search over all live entries.

        Args:
            queries: ``(Q, D)`` float32 queries, L2-normalised.
            k: Neighbours compared.
            record: Add each query's recall to the tracked samples (``stats().mean_recall``).

        Returns:
            The mean recall (1.0 when nothing could be measured).
        """
        got = [self._recall_at(Query(self._vector(q, "query"), k, None, None, None), [self.probes], record=record) for q in np.atleast_2d(queries)]
        vals = [r[0] for r in got if r]
        return float(np.mean(vals)) if vals else 1.0

    def _recall_at(self, query: Query, ladder: list[int], *, record: bool) -> list[float]:
        """Recall@k of the run level at each probe count of ``ladder`` against the exact answer (empty when not measurable)."""
        truth = self._answer(query, "exact", probes=None)
        if truth is None or not truth[1]:
            return []
        out = []
        for p in ladder:
            approx = self._answer(query, "runs", probes=p)
            if approx is None or approx[2] is not truth[2]:  # reloaded meanwhile
                return []
            with self._lock:
                first = self._ring.first
            r = recall_at_k([g for _, g in approx[1] if g >= first], [g for _, g in truth[1] if g >= first])
            out.append(r)
            if record:
                self._probe_ctl.add(p, r)
                if p == self.probes:
                    self.recall.add(r)
        return out

    def _ladder(self) -> list[int]:
        """Probe counts the recall controller may use: ``probes`` doubling up to what ``search_budget_ms`` allows (under the lock)."""
        runs = len(self._runs)
        opened = self._runs.open_parts(None)
        fixed = (float(sum(b - a for a, b in opened[0])), float(len(opened[1])))
        cap = self.cost.max_probes(budget_ns=self.search_budget_ms * 1e6, runs=runs, per_probe=self._runs.rows_per_probe(), fixed=fixed, dim=self.dim)
        return probe_ladder(self.probes, min(cap, max(runs, 1)))

    def _sample(self, query: Query) -> None:
        """One recall sample at every ladder count, then the controller's decision (background thread)."""
        with self._lock:
            ladder = self._ladder()
        if not self._recall_at(query, ladder, record=True) or self.recall_floor <= 0:
            return
        with self._lock:
            current = max(self.probes, self._probes)
        choice = self._probe_ctl.choose(ladder, floor=self.recall_floor, min_samples=self.recall_min_samples, current=current)
        if choice is None:
            return
        with self._lock:
            if choice == 0:
                best, n = self._probe_ctl.stat(ladder[-1])
                reason = (
                    f"sampled recall@10 {best or 0.0:.2f} at {ladder[-1]} probes (the most within the {self.search_budget_ms:g} ms "
                    f"budget, {n} samples) is under the floor {self.recall_floor:.2f}: exact scan"
                )
                if self._exact_reason is None:
                    log.warning("index: %s; answering queries exactly (raise index.search_budget_ms to probe more runs)", reason)
                self._exact_reason = reason
            else:
                if self._exact_reason is not None or choice != current:
                    log.info("index: probing %d runs per query (sampled recall %.3f >= floor %.2f)", choice, self._probe_ctl.stat(choice)[0] or 0.0, self.recall_floor)
                self._exact_reason, self._probes = None, choice

    # --- background worker ---------------------------------------------------------------
    def _submit(self, task: _Task) -> None:
        if not self.background:
            self._run_task(task)
            return
        with self._cv:
            if self._closed:
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
            self._sample(arg)

    def wait_idle(self, timeout_s: float = 60.0) -> bool:
        """Wait until background work (recall checks) is done; returns False on timeout."""
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

    def load(self, path: str | Path, *, approximate: bool = True, max_bytes: int | None = None) -> int:
        """Replace the memory with a snapshot (the run level is rebuilt before this returns).

        A snapshot larger than this index's capacity keeps its newest entries.

        Args:
            path: Snapshot file.
            approximate: False never builds the run level: every query is exact (one-shot
                readers such as ``videorag query --index`` that ask a few questions).
            max_bytes: Largest snapshot file accepted (see ``max_snapshot_bytes``); None: no limit.

        Returns:
            Entries loaded.

        Raises:
            TemporalIndexError: Missing, not a regular file, too large, truncated, corrupt or
                wrong-version file, or a snapshot of another embedding dimension; the memory is
                left as it was.
        """
        return self.load_data(read_snapshot(path, max_bytes=max_bytes), source=str(path), approximate=approximate)

    def max_snapshot_bytes(self) -> int:
        """The largest snapshot an index of this size could write, with a 4x margin for a
        snapshot of a larger memory (``load`` keeps its newest entries)."""
        per_entry = 4 * self.dim + 8 + 4 + 8 + 4 + 8
        return 4 * (self.capacity * per_entry + self.thumbnail_budget_bytes) + (64 << 20)

    def load_data(self, data: SnapshotData, *, source: str = "<memory>", approximate: bool = True) -> int:
        """``load`` from a snapshot already read (``read_snapshot``), so a caller that needs
        its size or camera names first does not read the file twice.

        Args:
            data: The snapshot's contents.
            source: Where it came from, for error messages.
            approximate: False never builds the run level (see ``load``).

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
        runs = Runs(dim=self.dim, run_frames=self.run_frames, capacity=self.capacity)
        if approximate and len(ring):  # a filled ring holds entries 0..n-1 in slots 0..n-1: views, no copy
            runs.rebuild(0, ring.cams[: len(ring)], ring.vectors[: len(ring)])
        with self._lock:
            self._epoch += 1
            self._ring, self._runs, self._use_runs = ring, runs, approximate
            self.recall.clear()
            self._probe_ctl.clear()
            self._probes, self._exact_reason = self.probes, None
        self.descriptions.replace(data.descriptions)
        return len(ring)

    def __enter__(self) -> TemporalIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
