"""Query planning: exact numpy scan of a ring slice, or the run level (centroids, then the best runs' frames).

A query has a scan (the contiguous run of ring rows its time window covers, all of them when it
has none) and candidates (rows of that scan that also pass the stamp and camera filters). Two
ways to answer it:

- **exact**: one fp32 matmul over the scanned rows, mask, ``argpartition``. Cost grows linearly
  with the rows scanned; the answer is exact.
- **runs**: score the centroids of the closed runs the filters allow (one matmul), then score
  exactly the ring rows spanned by the ``probes`` best runs and by the open runs (in place;
  the frames of a run too wide for that are copied out), mask, ``argpartition``. Cost grows
  with the runs and rows scored; the answer is exact when the true neighbours lie in those rows
  (the recall controller samples how often).

``CostModel`` holds the slopes per vector element, measured by ``videorag bench index`` on the
reference machine (2-core x86, numpy/OpenBLAS); the planner picks the cheaper plan.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True, slots=True)
class CostModel:
    """Predicted query cost in nanoseconds; defaults measured by ``videorag bench index``.

    Attributes:
        exact_ns_per_element: Exact scan cost per scanned row per dimension (contiguous rows;
            also the cost of scoring run centroids).
        exact_base_ns: Fixed cost of an exact query (Python, masks, argpartition).
        runs_base_ns: Fixed cost of a query through the run level (centroids, selection, the
            spans' matmuls, masks).
        gather_ns_per_element: Cost per gathered frame per dimension (copying scattered rows out,
            then scoring them; the frames of runs too wide to score in place).
    """

    exact_ns_per_element: float = 0.16
    exact_base_ns: float = 100_000.0
    runs_base_ns: float = 150_000.0
    gather_ns_per_element: float = 0.5

    def exact_ns(self, rows: int, dim: int) -> float:
        """Predicted cost of an exact scan of ``rows`` rows."""
        return self.exact_base_ns + self.exact_ns_per_element * rows * dim

    def runs_ns(self, runs: int, rows: float, gathered: float, dim: int) -> float:
        """Predicted cost of scoring ``runs`` centroids, ``rows`` ring rows in place and ``gathered`` copied-out frames."""
        return self.runs_base_ns + (self.exact_ns_per_element * (runs + rows) + self.gather_ns_per_element * gathered) * dim

    def max_probes(self, *, budget_ns: float, runs: int, per_probe: tuple[float, float], fixed: tuple[float, float], dim: int) -> int:
        """Most runs a global query may probe within ``budget_ns`` (0 if even one does not fit).

        Args:
            budget_ns: Predicted cost allowed.
            runs: Closed runs (centroids scored).
            per_probe: ``(rows, gathered)`` expected per probed run (``Runs.rows_per_probe``).
            fixed: ``(rows, gathered)`` scored whatever the count (the open runs).
            dim: Vector dimension.
        """
        left = budget_ns - self.runs_ns(runs, fixed[0], fixed[1], dim)
        one = (self.exact_ns_per_element * per_probe[0] + self.gather_ns_per_element * per_probe[1]) * dim
        if left < one:
            return 0
        return int(left // one) if one > 0 else 1 << 30


@dataclass(frozen=True, slots=True)
class Plan:
    """How one query is answered.

    Attributes:
        method: ``"exact"`` or ``"runs"``.
        probes: Runs whose frames are scored (0 for exact).
        scan_rows: Rows an exact scan reads (the window's run of the ring).
        candidates: Rows passing every filter.
        runs: Closed runs whose centroids are scored (0 for exact).
        frames: Ring rows the run plan is predicted to score exactly (the probed and open runs'
            spans and gathered frames; 0 for exact).
        reason: Why this plan (for logs and tests).
    """

    method: str
    probes: int
    scan_rows: int
    candidates: int
    runs: int
    frames: int
    reason: str


def plan_query(
    *,
    k: int,
    dim: int,
    scan_rows: int,
    candidates: int,
    runs: int,
    per_probe: tuple[float, float],
    fixed: tuple[float, float],
    probes: int,
    cost: CostModel,
    exact_reason: str | None = None,
) -> Plan:
    """Choose exact or the run level for one query.

    Args:
        k: Results wanted (already clamped to ``candidates``).
        dim: Vector dimension.
        scan_rows: Rows of the contiguous ring run an exact scan reads.
        candidates: Rows passing the time and camera filters.
        runs: Closed runs the filters allow (centroids scored by the run plan).
        per_probe: ``(rows scored in place, frames gathered)`` expected per probed run.
        fixed: ``(rows, gathered)`` of the open runs the filters allow (always scored by the run plan).
        probes: Runs whose frames the run plan scores (raised so that at least ``2 k`` rows are
            expected to be scored: a run plan must be able to return ``k`` hits).
        cost: The cost model.
        exact_reason: When set, the run level is not allowed (sampled recall cannot reach the
            floor within the latency budget): a query it would answer is answered exactly, with
            this reason.

    Returns:
        The plan.
    """
    exact = Plan("exact", 0, scan_rows, candidates, 0, 0, "")
    if k <= 0 or candidates <= 0:
        return _with(exact, "nothing to search")
    if runs <= 0 or probes <= 0:
        return _with(exact, "no closed run to probe")
    p = min(enough_probes(probes, k, per_probe), runs)
    rows, gathered = p * per_probe[0] + fixed[0], p * per_probe[1] + fixed[1]
    frames = round(rows + gathered)
    c_exact, c_runs = cost.exact_ns(scan_rows, dim), cost.runs_ns(runs, rows, gathered, dim)
    if c_exact <= c_runs:
        return _with(exact, f"exact scan of {scan_rows} rows ({c_exact / 1e3:.0f} us) <= {p} of {runs} runs ({c_runs / 1e3:.0f} us)")
    if exact_reason:
        return _with(exact, exact_reason)
    return Plan("runs", p, scan_rows, candidates, runs, frames, f"{p} of {runs} runs, {frames} frames ({c_runs / 1e3:.0f} us) < exact scan of {scan_rows} rows ({c_exact / 1e3:.0f} us)")


def enough_probes(probes: int, k: int, per_probe: tuple[float, float]) -> int:
    """``probes``, raised so that the probed runs are expected to hold ``2 k`` rows (``k`` hits with room for filters)."""
    per = per_probe[0] + per_probe[1]
    return max(probes, math.ceil(2 * k / per)) if per > 0 else probes


def _with(plan: Plan, reason: str) -> Plan:
    return Plan(plan.method, plan.probes, plan.scan_rows, plan.candidates, plan.runs, plan.frames, reason)


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
