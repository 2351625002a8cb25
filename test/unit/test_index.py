"""index: ring capacity, TTL, clamped k, recall against exact search, thumbnails, thread safety."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from videorag_ros.core.errors import TemporalIndexError
from videorag_ros.core.index import CostModel, Payload, TemporalIndex

S = 1_000_000_000
HNSW_ALWAYS = CostModel(exact_ns_per_element=1e3, exact_base_ns=1e9, hnsw_base_ns=0.0, hnsw_ns_per_ef_element=0.0)


def _unit(rng: np.random.Generator, n: int, d: int) -> np.ndarray:
    v = rng.standard_normal((n, d)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


@pytest.mark.parametrize("method", ["auto", "exact", "hnsw"])
def test_capacity_evicts_oldest_and_reuses_slots(method: str) -> None:
    idx = TemporalIndex(dim=8, capacity=5, ttl_s=0, background=False)
    vecs = _unit(np.random.default_rng(0), 12, 8)
    for i, v in enumerate(vecs):
        idx.add(v, Payload("front", i * S, i, "keyframe"))
    assert len(idx) == 5 and idx.evicted_capacity == 7
    st = idx.stats()
    graph_live = st.graph_elements - round(st.deleted_share * st.graph_elements)
    assert graph_live == 5 and st.graph_elements <= 5 + idx.segment_size  # bounded: deleted slots only in the oldest segment
    hits = idx.search(vecs[-1], k=50, method=method)  # k clamped to the live count
    assert len(hits) == 5
    assert {h.payload.frame_seq for h in hits} == {7, 8, 9, 10, 11}
    assert hits[0].payload.frame_seq == 11 and hits[0].score == pytest.approx(1.0, abs=1e-5)


def test_ttl_evicts_by_stamp() -> None:
    idx = TemporalIndex(dim=4, capacity=100, ttl_s=2.0, background=False)
    vecs = _unit(np.random.default_rng(1), 6, 4)
    for i, v in enumerate(vecs):
        idx.add(v, Payload("front", i * S, i, "motion"))
    assert len(idx) == 3 and idx.evicted_ttl == 3  # stamps 3, 4, 5 are within 2 s of 5
    # a jump in time forgets everything older; the deleted graph slots are reused next
    idx.add(vecs[0], Payload("front", 100 * S, 6, "motion"))
    assert len(idx) == 1 and idx.evicted_ttl == 6
    for i in range(1, 4):
        idx.add(vecs[i], Payload("front", (100 + i) * S // 2, 6 + i, "motion"))
    assert idx.stats().graph_elements <= 6


def test_empty_and_dim_errors() -> None:
    idx = TemporalIndex(dim=4, capacity=3, ttl_s=0, background=False)
    assert idx.search(np.ones(4, np.float32) / 2, k=3) == []
    with pytest.raises(TemporalIndexError, match="embedding dim 5 does not match index dim 4"):
        idx.add(np.ones(5, np.float32), Payload("front", 0, 0, "first"))
    with pytest.raises(TemporalIndexError, match="query dim 3 does not match index dim 4"):
        idx.search(np.ones(3, np.float32), k=1)
    with pytest.raises(TemporalIndexError, match="NaN or infinite"):
        idx.add(np.full(4, np.nan, np.float32), Payload("front", 0, 0, "first"))
    with pytest.raises(TemporalIndexError, match="capacity > 0"):
        TemporalIndex(dim=4, capacity=0, ttl_s=0)
    with pytest.raises(TemporalIndexError, match="method 'fast' is not one of"):
        idx.search(np.ones(4, np.float32) / 2, k=1, method="fast")


def test_recall_against_exact_search_after_turnover() -> None:
    rng = np.random.default_rng(2)
    idx = TemporalIndex(dim=32, capacity=500, ttl_s=0, cost=HNSW_ALWAYS, background=False)
    data = _unit(rng, 1500, 32)  # three full turnovers of the ring
    for i, v in enumerate(data):
        idx.add(v, Payload("front", i, i, "keyframe"))
    live = data[-500:]
    queries = _unit(rng, 50, 32)
    recalls = []
    for q in queries:
        exact = set((np.argsort(-(live @ q))[:10] + 1000).tolist())
        hits = idx.search(q, 10)
        assert idx.last_plan is not None and idx.last_plan.method == "hnsw"
        recalls.append(len(exact & {h.payload.frame_seq for h in hits}) / 10)
    assert np.mean(recalls) >= 0.95
    assert idx.measure_recall(queries, 10, record=False) >= 0.95


def test_payload_round_trip_and_thumbnail_budget() -> None:
    idx = TemporalIndex(dim=4, capacity=10, ttl_s=0, thumbnail_budget_bytes=250, background=False)
    vecs = _unit(np.random.default_rng(3), 6, 4)
    for i, v in enumerate(vecs):
        idx.add(v, Payload("cam_b" if i % 2 else "cam_a", i * S, 100 + i, "motion" if i % 3 else "keyframe", bytes([i]) * 100))
    st = idx.stats()
    assert st.thumbnail_bytes == 200 and st.thumbnails_dropped == 4  # two fit; the oldest went first
    hits = {h.payload.frame_seq: h.payload for h in idx.search(vecs[0], k=10)}
    assert hits[105] == Payload("cam_b", 5 * S, 105, "motion", bytes([5]) * 100)
    assert hits[100].thumbnail is None and hits[100].camera_id == "cam_a" and hits[100].reason == "keyframe"
    idx.add(vecs[0], Payload("cam_a", 9 * S, 200, "motion", b"x" * 1000))  # larger than the whole budget
    assert idx.stats().thumbnails_dropped == 5 and idx.stats().thumbnail_bytes == 200


def test_concurrent_inserts_and_searches_stay_consistent() -> None:
    rng = np.random.default_rng(4)
    data = _unit(rng, 3000, 16)
    idx = TemporalIndex(dim=16, capacity=400, ttl_s=0, background=False)
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            for i, v in enumerate(data):
                idx.add(v, Payload("front", i * 1000, i, "motion"))
        except BaseException as err:  # pragma: no cover - reported below
            errors.append(err)

    t = threading.Thread(target=writer)
    t.start()
    while t.is_alive():
        for method in ("exact", "hnsw"):
            q = data[int(rng.integers(3000))]
            for h in idx.search(q, 5, method=method):
                seq = h.payload.frame_seq
                assert h.score == pytest.approx(float(data[seq] @ q), abs=1e-4)  # the score is of this entry's vector
                assert h.payload.stamp_ns == seq * 1000
    t.join()
    assert not errors and len(idx) == 400
    assert idx.search(data[-1], 1)[0].payload.frame_seq == 2999


def test_add_many_matches_single_adds() -> None:
    rng = np.random.default_rng(9)
    data = _unit(rng, 700, 16)
    payloads = [Payload("front", i * S // 100, i, "motion") for i in range(700)]
    one = TemporalIndex(dim=16, capacity=300, ttl_s=2.5, background=False)
    many = TemporalIndex(dim=16, capacity=300, ttl_s=2.5, background=False)
    for v, p in zip(data, payloads, strict=True):
        one.add(v, p)
    many.add_many(data, payloads, batch=128)
    assert len(one) == len(many) == 251 and (one.evicted_ttl, one.evicted_capacity) == (many.evicted_ttl, many.evicted_capacity)
    q = data[650]
    assert [h.payload for h in one.search(q, 5, method="hnsw")] == [h.payload for h in many.search(q, 5, method="hnsw")]
    with pytest.raises(TemporalIndexError, match="add_many needs"):
        many.add_many(data[:2], payloads[:3])
