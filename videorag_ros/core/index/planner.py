"""Query planning: exact numpy scan of a ring slice, or HNSW with over-fetch and post-filter.

A query has a scan (the contiguous run of ring rows its time window covers, all of them
when it has none) and candidates (rows of that scan that also pass the stamp and camera
filters). Two ways to answer it:

- **exact**: one fp32 matmul over the scanned rows, mask, ``argpartition``. Cost grows
  linearly with the rows scanned; the answer is exact.
- **HNSW**: an unfiltered graph query for ``fetch`` neighbours, then the filter. A filter that
  keeps a share ``s`` of the live rows needs about ``k / s`` neighbours to keep ``k``; the
  planner over-fetches by ``overfetch`` and the search falls back to exact when the filter
  still leaves fewer than ``k``. Cost grows with the beam width ``ef = max(ef_search, fetch)``.

``CostModel`` holds the two slopes per vector element, measured by ``videorag bench index``
on the reference machine (2-core x86, numpy/OpenBLAS, hnswlib 0.8); the planner picks the
cheaper plan. The index plans each graph segment a query covers separately, so an HNSW cost is
the cost of searching one segment. ``CostModel.crossover_rows`` is the scan size where they
meet for an unfiltered query (see docs/index.md for the measured table).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True, slots=True)
class CostModel:
    """Predicted query cost in nanoseconds; defaults measured by ``videorag bench index``.

    The HNSW slope is the i.i.d. one (one 50k-entry segment at dim 512: 0.45 ms at ef 64,
    1.54 ms at ef 256); video-like data searches several times cheaper (0.12 ms at ef 64), so
    the model errs towards exact scans of small parts, which cost under half a millisecond.

    Attributes:
        exact_ns_per_element: Exact scan cost per scanned row per dimension.
        exact_base_ns: Fixed cost of an exact query (Python, masks, argpartition).
        hnsw_base_ns: Fixed cost of one graph-segment search (binding, result mapping, post-filter).
        hnsw_ns_per_ef_element: HNSW cost per unit of beam width per dimension.
    """

    exact_ns_per_element: float = 0.16
    exact_base_ns: float = 100_000.0
    hnsw_base_ns: float = 100_000.0
    hnsw_ns_per_ef_element: float = 11.0

    def exact_ns(self, rows: int, dim: int) -> float:
        """Predicted cost of an exact scan of ``rows`` rows."""
        return self.exact_base_ns + self.exact_ns_per_element * rows * dim

    def hnsw_ns(self, ef: int, dim: int) -> float:
        """Predicted cost of an HNSW query with beam ``ef``."""
        return self.hnsw_base_ns + self.hnsw_ns_per_ef_element * ef * dim

    def max_ef(self, *, budget_ns: float, dim: int, searches: int = 1) -> int:
        """Largest beam for which ``searches`` HNSW queries are predicted to fit in ``budget_ns`` (0 if none)."""
        per = budget_ns / max(1, searches) - self.hnsw_base_ns
        if per <= 0:
            return 0
        if self.hnsw_ns_per_ef_element <= 0:
            return 1 << 30
        return int(per / (self.hnsw_ns_per_ef_element * dim))

    def crossover_rows(self, *, ef: int, dim: int) -> int:
        """Scan size above which an unfiltered HNSW query with beam ``ef`` is predicted cheaper."""
        return max(0, math.ceil((self.hnsw_ns(ef, dim) - self.exact_base_ns) / (self.exact_ns_per_element * dim)))


@dataclass(frozen=True, slots=True)
class Plan:
    """How one query is answered.

    Attributes:
        method: ``"exact"`` or ``"hnsw"``.
        fetch: Neighbours asked of HNSW (0 for exact).
        ef: HNSW beam width (0 for exact).
        scan_rows: Rows an exact scan reads.
        candidates: Rows passing every filter.
        reason: Why this plan (for logs and tests).
        parts: Graph segments the query touched (each planned on its own; see ``TemporalIndex``).
    """

    method: str
    fetch: int
    ef: int
    scan_rows: int
    candidates: int
    reason: str
    parts: int = 1


def plan_query(
    *,
    k: int,
    dim: int,
    live: int,
    scan_rows: int,
    candidates: int,
    filtered: bool,
    graph_ready: bool,
    ef_search: int,
    cost: CostModel,
    overfetch: float = 2.0,
    exact_reason: str | None = None,
) -> Plan:
    """Choose exact or HNSW for one query.

    Args:
        k: Results wanted (already clamped to ``candidates``).
        dim: Vector dimension.
        live: Live entries (what the HNSW graph searches).
        scan_rows: Rows of the contiguous ring run an exact scan reads.
        candidates: Rows passing the time and camera filters.
        filtered: Whether any filter applies (HNSW results then need post-filtering).
        graph_ready: Whether the HNSW graph holds every live entry (false while rebuilding
            after a snapshot load).
        ef_search: Configured HNSW beam.
        cost: The cost model.
        overfetch: Safety factor on ``k / selectivity`` for post-filtered HNSW queries.
        exact_reason: When set, HNSW is not allowed (sampled recall cannot reach the floor
            within the latency budget): the plan is exact and this is its reason.

    Returns:
        The plan.
    """
    exact = Plan("exact", 0, 0, scan_rows, candidates, "")
    if k <= 0 or candidates <= 0:
        return _with(exact, "nothing to search")
    if not graph_ready:
        return _with(exact, "HNSW graph not built yet")
    if exact_reason:
        return _with(exact, exact_reason)
    fetch = fetch_size(k=k, live=live, candidates=candidates, filtered=filtered, overfetch=overfetch)
    ef = max(ef_search, fetch)
    c_exact, c_hnsw = cost.exact_ns(scan_rows, dim), cost.hnsw_ns(ef, dim)
    if c_exact <= c_hnsw:
        return _with(exact, f"exact scan of {scan_rows} rows ({c_exact / 1e3:.0f} us) <= HNSW ef={ef} ({c_hnsw / 1e3:.0f} us)")
    return Plan("hnsw", fetch, ef, scan_rows, candidates, f"HNSW ef={ef} fetch={fetch} ({c_hnsw / 1e3:.0f} us) < exact scan of {scan_rows} rows ({c_exact / 1e3:.0f} us)")


def fetch_size(*, k: int, live: int, candidates: int, filtered: bool, overfetch: float = 2.0) -> int:
    """Neighbours to ask of HNSW so that about ``k`` survive a filter keeping ``candidates`` of ``live``."""
    if not filtered or candidates <= 0:
        return k
    return max(k, min(live, math.ceil(k * overfetch * live / candidates)))


def _with(plan: Plan, reason: str) -> Plan:
    return Plan(plan.method, plan.fetch, plan.ef, plan.scan_rows, plan.candidates, reason, plan.parts)


def top_k(scores: npt.NDArray[np.float32], k: int) -> npt.NDArray[np.intp]:
    """Indices of the ``k`` largest finite scores, best first (ties: lower index first)."""
    k = min(k, int(np.isfinite(scores).sum()))
    if k <= 0:
        return np.zeros(0, np.intp)
    if k < len(scores):
        part = np.argpartition(-scores, k - 1)[:k]
    else:
        part = np.arange(len(scores))
    order = np.lexsort((part, -scores[part]))
    return part[order]
