"""The query path's pure parts: filter masks, one plan per graph segment, exact scoring, merging.

A query covers a run ``[lo, hi)`` of ring entries (its time window; all live entries without
one). The run is cut at graph-segment boundaries into parts; each part is planned on its own
(``plan_query``: exact scan of its rows, or an HNSW query of its segment with over-fetch and
post-filter), exact parts are scored with one matmul per contiguous ring slice, and the
parts' top-k are merged. ``TemporalIndex`` runs these under or off its lock as documented there.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from videorag_ros.core.index.graph import Segment
from videorag_ros.core.index.planner import CostModel, Plan, fetch_size, plan_query, top_k
from videorag_ros.core.index.ring import Ring

# (score, entry number g)
Scored = tuple[float, int]
# (g of the first row, scores of a contiguous slice of rows)
Piece = tuple[int, npt.NDArray[np.float32]]


@dataclass(frozen=True, slots=True)
class Query:
    """One search: ``(D,)`` float32 unit vector, k, and its filters."""

    vector: npt.NDArray[np.float32]
    k: int
    since_ns: int | None
    until_ns: int | None
    cameras: frozenset[str] | None

    @property
    def filtered(self) -> bool:
        """Whether any filter applies (HNSW results then need post-filtering)."""
        return self.since_ns is not None or self.until_ns is not None or self.cameras is not None


@dataclass(frozen=True, slots=True)
class Scan:
    """Ring rows to score exactly, read off the lock: entry ranges plus the run's filter mask.

    Attributes:
        ring: The ring read (replaced on a snapshot load; ``epoch`` tells).
        epoch: The index's epoch when the scan was planned.
        lo: Entry number of ``mask[0]``.
        mask: Rows of the run passing the filters; None = all.
        ranges: ``[g_lo, g_hi)`` ranges to score, ascending and disjoint.
    """

    ring: Ring
    epoch: int
    lo: int
    mask: npt.NDArray[np.bool_] | None
    ranges: list[tuple[int, int]]


@dataclass(frozen=True, slots=True)
class Part:
    """The rows ``[lo, hi)`` of one graph segment that a query covers, how many hits they owe, and their plan."""

    seg: Segment | None
    lo: int
    hi: int
    k: int
    plan: Plan


def run_mask(ring: Ring, lo: int, hi: int, query: Query, codes: npt.NDArray[np.int32] | None) -> npt.NDArray[np.bool_]:
    """Rows of the run ``[lo, hi)`` whose stamp is in the query window and whose camera is selected."""
    masks = []
    for a, b, _ in ring.segments(lo, hi):
        mk = np.ones(b - a, bool)
        if query.since_ns is not None:
            mk &= ring.stamps[a:b] >= query.since_ns
        if query.until_ns is not None:
            mk &= ring.stamps[a:b] <= query.until_ns
        if codes is not None:
            mk &= np.isin(ring.cams[a:b], codes) if len(codes) > 1 else ring.cams[a:b] == codes[0]
        masks.append(mk)
    if not masks:
        return np.zeros(0, bool)
    return np.concatenate(masks) if len(masks) > 1 else masks[0]


def merge_ranges(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sort ``[a, b)`` ranges and merge the ones that touch or overlap."""
    out: list[tuple[int, int]] = []
    for a, b in sorted(ranges):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def plan_parts(
    query: Query,
    k: int,
    segs: list[tuple[Segment | None, int, int, int]],
    *,
    lo: int,
    mask: npt.NDArray[np.bool_] | None,
    dim: int,
    ef: int,
    forced_ef: int,
    cost: CostModel,
    method: str,
) -> list[Part]:
    """One plan per graph segment the run covers: exact scan of its rows, or HNSW over the segment.

    Args:
        query: The query.
        k: Hits wanted over the whole run (already clamped to its candidates).
        segs: ``(segment or None, g_lo, g_hi, live entries of the segment)`` per part, in order.
        lo: Entry number of ``mask[0]``.
        mask: Filter mask over the run (None: unfiltered).
        dim: Vector dimension.
        ef: Beam for planned HNSW parts (the recall controller's).
        forced_ef: Beam for ``method="hnsw"`` (the configured ``ef_search``).
        cost: Planner cost model.
        method: ``"auto"`` or ``"hnsw"`` (forced).

    Returns:
        The parts that hold candidates; each owes ``min(k, its candidates)`` hits.
    """
    parts = []
    for seg, a, b, seg_live in segs:
        cand = b - a if mask is None else int(mask[a - lo : b - lo].sum())
        if cand <= 0:
            continue
        kp = min(k, cand)
        if seg is None or seg_live <= 0:
            plan = Plan("exact", 0, 0, b - a, cand, "no graph segment holds these rows")
        elif method == "hnsw":
            fetch = fetch_size(k=kp, live=seg_live, candidates=cand, filtered=query.filtered)
            plan = Plan("hnsw", fetch, max(forced_ef, fetch), b - a, cand, "forced")
        else:
            plan = plan_query(
                k=kp, dim=dim, live=seg_live, scan_rows=b - a, candidates=cand, filtered=query.filtered,
                graph_ready=True, ef_search=ef, cost=cost,
            )  # fmt: skip
        parts.append(Part(seg, a, b, kp, plan))
    return parts


def summarize(parts: list[Part], scan_rows: int, candidates: int) -> Plan:
    """One ``Plan`` describing a query's parts (method ``hnsw`` when any part uses the graph)."""
    hnsw = [p.plan for p in parts if p.plan.method == "hnsw"]
    if len(parts) == 1:
        reason = parts[0].plan.reason
    else:
        reason = "; ".join(f"[{p.lo}, {p.hi}) {p.plan.method}: {p.plan.reason}" for p in parts)
    if hnsw:
        return Plan("hnsw", max(p.fetch for p in hnsw), max(p.ef for p in hnsw), scan_rows, candidates, reason, len(parts))
    return Plan("exact", 0, 0, scan_rows, candidates, reason, len(parts))


def exact_scores(vector: npt.NDArray[np.float32], scan: Scan) -> list[Piece]:
    """Scores of the scan's rows (call off the lock): one piece per contiguous ring slice, masked rows at -inf."""
    ring = scan.ring
    pieces = []
    for a, b in scan.ranges:
        for s0, s1, g0 in ring.segments(a, b):
            s = ring.vectors[s0:s1] @ vector
            if scan.mask is not None:
                s[~scan.mask[g0 - scan.lo : g0 - scan.lo + (s1 - s0)]] = -np.inf
            pieces.append((g0, s))
    return pieces


def collect(k: int, first: int, pieces: list[Piece], hits: list[Scored]) -> list[Scored]:
    """The best ``k`` of the exact pieces and the HNSW hits, skipping entries below ``first`` (evicted meanwhile).

    Call under the lock that orders evictions: rows of evicted entries may have been rewritten,
    and evictions go oldest first, so they are a prefix of every piece.
    """
    out = [(s, g) for s, g in hits if g >= first]
    if pieces:
        for g0, s in pieces:
            if g0 < first:
                s[: min(first - g0, len(s))] = -np.inf
        scores = np.concatenate([s for _, s in pieces]) if len(pieces) > 1 else pieces[0][1]
        starts = np.cumsum([0] + [len(s) for _, s in pieces])
        for i in top_k(scores, k).tolist():
            j = int(np.searchsorted(starts, i, side="right")) - 1
            out.append((float(scores[i]), pieces[j][0] + i - int(starts[j])))
    out.sort(key=lambda t: (-t[0], t[1]))
    return out[:k]
