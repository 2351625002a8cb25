"""index health: deleted share, sampled recall, rebuilds that keep recall and never block inserts."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from videorag_ros.core.index import CostModel, Payload, RecallTracker, TemporalIndex, compaction_reason, recall_at_k

S = 1_000_000_000
HNSW_ALWAYS = CostModel(exact_ns_per_element=1e3, exact_base_ns=1e9, hnsw_base_ns=0.0, hnsw_ns_per_ef_element=0.0)


def _unit(rng: np.random.Generator, n: int, d: int) -> np.ndarray:
    v = rng.standard_normal((n, d)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_recall_helpers() -> None:
    assert recall_at_k([1, 2, 3], [1, 2, 4, 5]) == 0.5
    assert recall_at_k([], []) == 1.0
    tr = RecallTracker(window=3)
    for r in (0.2, 1.0, 1.0, 0.7):
        tr.add(r)
    assert tr.last == 0.7 and tr.mean == pytest.approx(0.9) and len(tr) == 3 and tr.total == 4
    kw = {"recall_floor": 0.9, "min_samples": 3, "deleted_share": 0.1, "max_deleted_share": 0.5}
    assert compaction_reason(mean_recall=0.8, samples=3, **kw) is not None
    assert compaction_reason(mean_recall=0.8, samples=2, **kw) is None  # too few samples
    assert compaction_reason(mean_recall=0.95, samples=9, **kw) is None
    assert "deleted share" in (compaction_reason(mean_recall=None, samples=0, **{**kw, "deleted_share": 0.6}) or "")


def test_compaction_keeps_recall_and_frees_deleted_slots() -> None:
    rng = np.random.default_rng(3)
    idx = TemporalIndex(dim=24, capacity=600, ttl_s=5.0, background=False, cost=HNSW_ALWAYS, max_deleted_share=1.0)
    data = _unit(rng, 2_400, 24)
    for i, v in enumerate(data):  # 4 turnovers at 100 Hz
        idx.add(v, Payload("front", i * S // 100, i, "motion"))
    queries = _unit(rng, 40, 24)
    before = idx.measure_recall(queries, 10, record=False)
    idx.add(data[0], Payload("front", 40 * S, 9_999, "motion"))  # 16 s later: TTL forgets all but this one
    assert len(idx) == 1 and idx.stats().deleted_share > 0.99
    for i in range(300):
        idx.add(data[i], Payload("front", 40 * S + (i + 1) * S // 100, 10_000 + i, "motion"))
    assert idx.stats().graph_elements == 501  # TTL kept 500 live (+1); deleted slots were reused, not grown
    idx.compact(wait=True, reason="test")
    st = idx.stats()
    assert st.compactions == 1 and st.graph_elements == 301 and st.deleted_share == 0.0 and st.graph_ready
    after = idx.measure_recall(queries, 10, record=False)
    assert before >= 0.95 and after >= 0.95
    assert idx.search(data[299], 1)[0].payload.frame_seq == 10_299


def test_deleted_share_schedules_a_rebuild() -> None:
    idx = TemporalIndex(dim=8, capacity=100, ttl_s=1.0, background=False, max_deleted_share=0.5)
    data = _unit(np.random.default_rng(4), 101, 8)
    for i in range(100):
        idx.add(data[i], Payload("front", i * S // 100, i, "motion"))
    idx.add(data[100], Payload("front", 10 * S, 100, "motion"))  # evicts 100, deleted share 100/101
    st = idx.stats()
    assert st.compactions == 1 and st.graph_elements == 1 and st.live == 1


def test_low_sampled_recall_triggers_one_rebuild_then_warns() -> None:
    rng = np.random.default_rng(5)
    idx = TemporalIndex(
        dim=32, capacity=400, ttl_s=0, m=2, ef_construction=4, ef_search=1, recall_floor=0.99, recall_sample_every=1,
        recall_min_samples=3, background=False, cost=HNSW_ALWAYS,
    )  # fmt: skip
    data = _unit(rng, 800, 32)
    for i, v in enumerate(data):
        idx.add(v, Payload("front", i, i, "motion"))
    for q in _unit(rng, 12, 32):
        idx.search(q, 10)
    st = idx.stats()
    assert st.recall_samples >= 3 and st.compactions == 1  # a fresh graph is as good as m=2/ef=1 gets
    assert idx.recall_floor_misses >= 1 and st.mean_recall is not None and st.mean_recall < 0.99


def test_background_rebuild_while_inserting() -> None:
    rng = np.random.default_rng(6)
    data = _unit(rng, 6_000, 16)
    idx = TemporalIndex(dim=16, capacity=3_000, ttl_s=0, cost=HNSW_ALWAYS)
    try:
        for i in range(3_000):
            idx.add(data[i], Payload("front", i, i, "motion"))
        done = threading.Event()

        def writer() -> None:
            for i in range(3_000, 6_000):
                idx.add(data[i], Payload("front", i, i, "motion"))
            done.set()

        t = threading.Thread(target=writer)
        t.start()
        idx.compact(wait=False, reason="test")
        t.join()
        assert done.is_set() and idx.wait_idle(30.0)
        st = idx.stats()
        assert st.compactions == 1 and st.live == 3_000 and st.graph_elements - round(st.deleted_share * st.graph_elements) == 3_000
        for i in (3_000, 4_500, 5_999):  # entries inserted during the rebuild are in the new graph
            assert idx.search(data[i], 1, method="hnsw")[0].payload.frame_seq == i
        assert idx.measure_recall(_unit(rng, 20, 16), 10, record=False) >= 0.95
    finally:
        idx.close()


def test_memory_stays_bounded_over_many_turnovers() -> None:
    idx = TemporalIndex(dim=4, capacity=50, ttl_s=0.3, thumbnail_budget_bytes=500, background=False)
    data = _unit(np.random.default_rng(7), 64, 4)
    for i in range(5_000):  # bursts and gaps: TTL and capacity eviction alternate
        t = (i // 100) * S + (i % 100) * S // 1000
        idx.add(data[i % 64], Payload(f"cam{i % 3}", t, i, "motion", b"j" * 40))
        st = idx.stats()
        assert st.live <= 50 and st.graph_elements <= 50 and st.thumbnail_bytes <= 500
    assert len(idx._ring._thumb_order) <= 50
