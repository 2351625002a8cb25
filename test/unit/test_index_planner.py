"""index planner: exact vs run-level choice, identical top-k on time windows and camera filters."""

from __future__ import annotations

import numpy as np
import pytest

from videorag_ros.core.index import CostModel, Payload, TemporalIndex, plan_query, top_k
from videorag_ros.core.index.query import merge_ranges

S = 1_000_000_000
COST = CostModel()  # the shipped defaults
NONE = (0.0, 0.0)


def _unit(rng: np.random.Generator, n: int, d: int) -> np.ndarray:
    v = rng.standard_normal((n, d)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


@pytest.mark.parametrize(
    ("scan_rows", "candidates", "runs", "expected", "why"),
    [
        (1_800, 1_800, 60, "exact", "exact scan of 1800 rows"),  # a 60 s window: one small matmul beats centroids + spans
        (100_000, 100_000, 3_125, "runs", "32 of 3125 runs"),  # a global query over a large ring
        (50_000, 50_000, 1_560, "runs", "32 of 1560 runs"),  # half the ring
        (100_000, 100_000, 0, "exact", "no closed run to probe"),  # the run level is empty (after load(approximate=False))
        (100_000, 0, 3_125, "exact", "nothing to search"),  # nothing passes the filter
    ],
)
def test_plan_choice(scan_rows: int, candidates: int, runs: int, expected: str, why: str) -> None:
    plan = plan_query(k=10, dim=512, scan_rows=scan_rows, candidates=candidates, runs=runs, per_probe=(64.0, 0.0), fixed=(64.0, 0.0), probes=32, cost=COST)
    assert plan.method == expected and why in plan.reason, plan.reason
    if expected == "runs":
        assert plan.probes == 32 and plan.frames == 32 * 64 + 64 and plan.runs == runs


def test_exact_reason_overrides_only_the_run_plan() -> None:
    why = "sampled recall@10 0.20 at 32 probes is under the floor 0.90: exact scan"
    kw = {"k": 10, "dim": 512, "per_probe": (64.0, 0.0), "fixed": NONE, "probes": 32, "cost": COST, "exact_reason": why}
    plan = plan_query(scan_rows=100_000, candidates=100_000, runs=3_125, **kw)  # type: ignore[arg-type]
    assert (plan.method, plan.reason) == ("exact", why)
    plan = plan_query(scan_rows=1_000, candidates=1_000, runs=30, **kw)  # type: ignore[arg-type]
    assert plan.method == "exact" and plan.reason.startswith("exact scan of 1000 rows")


def test_merge_ranges_clips_sorts_and_merges() -> None:
    assert merge_ranges([(5, 10), (0, 3), (3, 4), (8, 20), (30, 40), (25, 26)], 1, 35) == [(1, 4), (5, 20), (25, 26), (30, 35)]
    assert merge_ranges([(5, 10)], 10, 35) == [] and merge_ranges([], 0, 5) == []


def test_top_k_orders_and_skips_masked() -> None:
    s = np.array([0.1, -np.inf, 0.9, 0.5, 0.9], np.float32)
    assert top_k(s, 3).tolist() == [2, 4, 3]
    assert top_k(s, 10).tolist() == [2, 4, 3, 0]
    assert top_k(np.full(3, -np.inf, np.float32), 2).tolist() == []


@pytest.fixture(scope="module")
def two_camera_index() -> tuple[TemporalIndex, np.ndarray, np.ndarray, np.ndarray]:
    """1 600 live frames of a 2 000-frame stream (the ring wrapped), cameras a/b at 10 Hz, b's stamps jittered.

    Every 40th frame is camera c's: its runs span hundreds of rows (gathered, not scanned in place).
    """
    rng = np.random.default_rng(7)
    n, cap = 2_000, 1_600
    data = _unit(rng, n, 16)
    stamps = np.arange(n, dtype=np.int64) * (S // 10)
    cams = np.array(["c" if i % 40 == 0 else "a" if i % 2 == 0 else "b" for i in range(n)])
    stamps[cams == "b"] -= S // 7  # camera b arrives ~143 ms late: stamps are out of order in the ring
    idx = TemporalIndex(dim=16, capacity=cap, ttl_s=0, run_frames=8, probes=10_000, background=False)
    for i in range(n):
        idx.add(data[i], Payload(str(cams[i]), int(stamps[i]), i, "motion"))
    return idx, data, stamps, cams


@pytest.mark.parametrize(
    ("since_s", "until_s", "cameras"),
    [
        (20.0, 26.0, None),  # 6 s window
        (20.0, 26.0, ("b",)),  # window + camera
        (None, 50.0, None),  # open start
        (150.0, None, ("a",)),  # open end, spans the wrap of the ring
        (None, None, ("b",)),  # camera only
        (None, None, ("c",)),  # the slow camera: wide runs, gathered
        (None, None, None),  # everything
        (40.0, 180.0, ("a", "c")),  # most of the ring
        (1e6, 2e6, None),  # after everything: empty
    ],
)
def test_exact_and_runs_agree_with_brute_force(two_camera_index, since_s, until_s, cameras) -> None:  # type: ignore[no-untyped-def]
    """With a probe count above the number of runs the run plan covers every candidate: it must be exact."""
    idx, data, stamps, cams = two_camera_index
    live = np.arange(400, 2_000)
    sel = live.copy()
    since = None if since_s is None else int(since_s * S)
    until = None if until_s is None else int(until_s * S)
    if since is not None:
        sel = sel[stamps[sel] >= since]
    if until is not None:
        sel = sel[stamps[sel] <= until]
    if cameras is not None:
        sel = sel[np.isin(cams[sel], cameras)]
    q = _unit(np.random.default_rng(11), 1, 16)[0]
    expected = [int(i) for i in sel[np.argsort(-(data[sel] @ q), kind="stable")][:10]]
    results = {}
    for method in ("exact", "runs", "auto"):
        hits = idx.search(q, 10, since_ns=since, until_ns=until, cameras=cameras, method=method)
        results[method] = [h.payload.frame_seq for h in hits]
        for h in hits:
            assert h.score == pytest.approx(float(data[h.payload.frame_seq] @ q), abs=1e-5)
    assert results["exact"] == expected
    assert results["runs"] == expected
    assert results["auto"] == expected


def test_planner_uses_runs_on_large_unfiltered_and_exact_on_short_windows() -> None:
    rng = np.random.default_rng(8)
    data = _unit(rng, 30_000, 16)
    idx = TemporalIndex(dim=16, capacity=30_000, ttl_s=0, run_frames=32, probes=8, background=False, recall_sample_every=0)
    for i, v in enumerate(data):
        idx.add(v, Payload("a", i * S // 30, i, "motion"))
    q = data[5]
    idx.search(q, 5)
    assert idx.last_plan is not None and idx.last_plan.method == "runs" and idx.last_plan.runs == 937  # 30 000 / 32
    assert idx.last_plan.frames == 8 * 32 + 16  # eight runs of one camera scanned in place + the open run
    hits = idx.search(q, 5, since_ns=10 * S, until_ns=11 * S)  # 31 frames
    assert idx.last_plan.method == "exact" and len(hits) == 5
    assert all(10 * S <= h.payload.stamp_ns <= 11 * S for h in hits)
    st = idx.stats()
    assert st.run_queries >= 1 and st.exact_queries >= 1
