"""index planner: exact vs HNSW choice, identical top-k on time windows and camera filters."""

from __future__ import annotations

import numpy as np
import pytest

from videorag_ros.core.index import CostModel, Payload, TemporalIndex, plan_query, top_k

S = 1_000_000_000
COST = CostModel(exact_ns_per_element=0.35, exact_base_ns=40_000, hnsw_base_ns=60_000, hnsw_ns_per_ef_element=25.0)


def _unit(rng: np.random.Generator, n: int, d: int) -> np.ndarray:
    v = rng.standard_normal((n, d)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


@pytest.mark.parametrize(
    ("scan_rows", "candidates", "filtered", "ready", "expected"),
    [
        (1_000, 1_000, True, True, "exact"),  # a short window: one small matmul
        (100_000, 100_000, False, True, "hnsw"),  # a global query over a large ring
        (100_000, 50_000, True, True, "hnsw"),  # half the ring: over-fetch 2x2 is cheap
        (100_000, 200, True, True, "exact"),  # a filter keeping 0.2 %: HNSW would need ef ~ 10k
        (100_000, 100_000, False, False, "exact"),  # graph still rebuilding after a snapshot load
        (100_000, 0, True, True, "exact"),  # nothing passes the filter
    ],
)
def test_plan_choice(scan_rows: int, candidates: int, filtered: bool, ready: bool, expected: str) -> None:
    plan = plan_query(
        k=10, dim=512, live=100_000, scan_rows=scan_rows, candidates=candidates, filtered=filtered,
        graph_ready=ready, ef_search=64, cost=COST,
    )  # fmt: skip
    assert plan.method == expected, plan.reason
    if expected == "hnsw":
        assert plan.fetch >= 10 and plan.ef >= plan.fetch


def test_crossover_matches_the_plan_boundary() -> None:
    x = COST.crossover_rows(ef=64, dim=512)
    assert 1_000 < x < 100_000
    below = plan_query(k=10, dim=512, live=200_000, scan_rows=x - 1, candidates=x - 1, filtered=False, graph_ready=True, ef_search=64, cost=COST)
    above = plan_query(k=10, dim=512, live=200_000, scan_rows=x + 1, candidates=x + 1, filtered=False, graph_ready=True, ef_search=64, cost=COST)
    assert (below.method, above.method) == ("exact", "hnsw")


def test_top_k_orders_and_skips_masked() -> None:
    s = np.array([0.1, -np.inf, 0.9, 0.5, 0.9], np.float32)
    assert top_k(s, 3).tolist() == [2, 4, 3]
    assert top_k(s, 10).tolist() == [2, 4, 3, 0]
    assert top_k(np.full(3, -np.inf, np.float32), 2).tolist() == []


@pytest.fixture(scope="module")
def two_camera_index() -> tuple[TemporalIndex, np.ndarray, np.ndarray, np.ndarray]:
    """1 600 live frames of a 2 000-frame stream (the ring wrapped), cameras a/b at 10 Hz, b's stamps jittered."""
    rng = np.random.default_rng(7)
    n, cap = 2_000, 1_600
    data = _unit(rng, n, 16)
    stamps = np.arange(n, dtype=np.int64) * (S // 10)
    cams = np.array(["a" if i % 2 == 0 else "b" for i in range(n)])
    stamps[cams == "b"] -= S // 7  # camera b arrives ~143 ms late: stamps are out of order in the ring
    idx = TemporalIndex(dim=16, capacity=cap, ttl_s=0, ef_search=400, background=False)
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
        (40.0, 180.0, ("a", "b")),  # most of the ring
        (1e6, 2e6, None),  # after everything: empty
    ],
)
def test_exact_and_hnsw_agree_with_brute_force(two_camera_index, since_s, until_s, cameras) -> None:  # type: ignore[no-untyped-def]
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
    for method in ("exact", "hnsw", "auto"):
        hits = idx.search(q, 10, since_ns=since, until_ns=until, cameras=cameras, method=method)
        results[method] = [h.payload.frame_seq for h in hits]
        for h in hits:
            assert h.score == pytest.approx(float(data[h.payload.frame_seq] @ q), abs=1e-5)
    assert results["exact"] == expected
    assert results["hnsw"] == expected
    assert results["auto"] == expected


def test_planner_uses_hnsw_on_large_unfiltered_and_exact_on_short_windows() -> None:
    cheap_hnsw = CostModel(exact_ns_per_element=10.0, exact_base_ns=0, hnsw_base_ns=1_000, hnsw_ns_per_ef_element=1.0)
    rng = np.random.default_rng(8)
    data = _unit(rng, 3_000, 16)
    idx = TemporalIndex(dim=16, capacity=3_000, ttl_s=0, cost=cheap_hnsw, ef_search=200, background=False)
    for i, v in enumerate(data):
        idx.add(v, Payload("a", i * S // 30, i, "motion"))
    q = data[5]
    assert idx.search(q, 5)[0].payload.frame_seq == 5
    assert idx.last_plan is not None and idx.last_plan.method == "hnsw"
    hits = idx.search(q, 5, since_ns=10 * S, until_ns=11 * S)  # 31 frames
    assert idx.last_plan.method == "exact" and len(hits) == 5
    assert all(10 * S <= h.payload.stamp_ns <= 11 * S for h in hits)
    st = idx.stats()
    assert st.hnsw_queries >= 1 and st.exact_queries >= 1


def test_exact_reason_forces_an_exact_plan() -> None:
    plan = plan_query(
        k=10, dim=512, live=100_000, scan_rows=100_000, candidates=100_000, filtered=False, graph_ready=True, ef_search=64, cost=COST,
        exact_reason="sampled recall 0.20 is under the floor 0.90",
    )  # fmt: skip
    assert (plan.method, plan.reason) == ("exact", "sampled recall 0.20 is under the floor 0.90")


def test_a_query_is_planned_per_graph_segment() -> None:
    # segments of 1 000 labels: the live run [30, 3030) covers four; the 30-row newest one is cheaper to scan
    per_row = CostModel(exact_ns_per_element=1.0, exact_base_ns=0.0, hnsw_base_ns=0.0, hnsw_ns_per_ef_element=1.0)
    rng = np.random.default_rng(21)
    data = _unit(rng, 3_030, 16)
    idx = TemporalIndex(dim=16, capacity=3_000, ttl_s=0, segments=3, cost=per_row, background=False)
    for i, v in enumerate(data):
        idx.add(v, Payload("a", i * S // 30, i, "motion"))
    for q in (data[3_020], data[1_500], _unit(rng, 1, 16)[0]):
        exact = [h.payload.frame_seq for h in idx.search(q, 10, method="exact")]
        got = [h.payload.frame_seq for h in idx.search(q, 10)]
        plan = idx.last_plan
        assert plan is not None and plan.method == "hnsw" and plan.parts == 4
        assert "[3000, 3030) exact" in plan.reason and "[1000, 2000) hnsw" in plan.reason
        assert got == exact
    assert idx.search(data[3_020], 1)[0].payload.frame_seq == 3_020  # found by the exact part
