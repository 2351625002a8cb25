"""index: ring capacity, TTL, clamped k, recall against exact search, thumbnails, thread safety."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from videorag_ros.core.errors import TemporalIndexError
from videorag_ros.core.index import CostModel, Payload, TemporalIndex

S = 1_000_000_000
RUNS_ALWAYS = CostModel(exact_ns_per_element=1e3, exact_base_ns=1e9, runs_base_ns=0.0, gather_ns_per_element=0.0)


def _unit(rng: np.random.Generator, n: int, d: int) -> np.ndarray:
    v = rng.standard_normal((n, d)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _walk(rng: np.random.Generator, n: int, d: int, step: float = 0.15, cut_every: int = 200) -> np.ndarray:
    """Video-like embeddings: a random walk on the sphere with a cut to a new direction every ``cut_every`` frames."""
    out = np.empty((n, d), np.float32)
    v = _unit(rng, 1, d)[0]
    for i in range(n):
        v = _unit(rng, 1, d)[0] if i % cut_every == 0 else v + rng.standard_normal(d).astype(np.float32) * step / np.sqrt(d)
        v /= np.linalg.norm(v)
        out[i] = v
    return out


@pytest.mark.parametrize("method", ["auto", "exact", "runs"])
def test_capacity_evicts_oldest_and_reuses_slots(method: str) -> None:
    idx = TemporalIndex(dim=8, capacity=5, ttl_s=0, run_frames=2, background=False)
    vecs = _unit(np.random.default_rng(0), 12, 8)
    for i, v in enumerate(vecs):
        idx.add(v, Payload("front", i * S, i, "keyframe"))
    assert len(idx) == 5 and idx.evicted_capacity == 7
    st = idx.stats()
    assert st.runs + st.open_frames // 2 <= 3  # bounded: the runs of the live frames only
    hits = idx.search(vecs[-1], k=50, method=method)  # k clamped to the live count
    assert {h.payload.frame_seq for h in hits} == {7, 8, 9, 10, 11}  # runs: 32 probes cover the 3 live runs
    assert hits[0].payload.frame_seq == 11 and hits[0].score == pytest.approx(1.0, abs=1e-5)


def test_ttl_evicts_by_stamp() -> None:
    idx = TemporalIndex(dim=4, capacity=100, ttl_s=2.0, run_frames=2, background=False)
    vecs = _unit(np.random.default_rng(1), 6, 4)
    for i, v in enumerate(vecs):
        idx.add(v, Payload("front", i * S, i, "motion"))
    assert len(idx) == 3 and idx.evicted_ttl == 3  # stamps 3, 4, 5 are within 2 s of 5
    # a jump in time forgets everything older, runs included
    idx.add(vecs[0], Payload("front", 100 * S, 6, "motion"))
    assert len(idx) == 1 and idx.evicted_ttl == 6
    assert idx.stats().runs == 0 and idx.stats().open_frames == 1
    assert [h.payload.frame_seq for h in idx.search(vecs[0], 5, method="runs")] == [6]


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
    with pytest.raises(TemporalIndexError, match=r"run_frames=0 \(>= 1\)"):
        TemporalIndex(dim=4, capacity=3, ttl_s=0, run_frames=0)
    with pytest.raises(TemporalIndexError, match=r"search_budget_ms=nan"):
        TemporalIndex(dim=4, capacity=3, ttl_s=0, search_budget_ms=float("nan"))
    with pytest.raises(TemporalIndexError, match="method 'fast' is not one of auto, exact, runs"):
        idx.search(np.ones(4, np.float32) / 2, k=1, method="fast")


def test_recall_against_exact_search_after_turnover() -> None:
    rng = np.random.default_rng(2)
    idx = TemporalIndex(dim=32, capacity=2_000, ttl_s=0, cost=RUNS_ALWAYS, run_frames=16, probes=16, background=False)
    data = _walk(rng, 6_000, 32)  # three full turnovers of the ring
    for i, v in enumerate(data):
        idx.add(v, Payload(f"cam{i % 2}", i, i, "keyframe"))
    live = data[-2_000:]
    picks = rng.integers(0, 2_000, 50)
    queries = live[picks] + rng.standard_normal((50, 32)).astype(np.float32) * 0.02
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    recalls = []
    for q in queries:
        exact = set((np.argsort(-(live @ q))[:10] + 4_000).tolist())
        hits = idx.search(q, 10)
        assert idx.last_plan is not None and idx.last_plan.method == "runs" and idx.last_plan.probes == 16
        recalls.append(len(exact & {h.payload.frame_seq for h in hits}) / 10)
        assert all(h.score == pytest.approx(float(data[h.payload.frame_seq] @ q), abs=1e-5) for h in hits)  # exact scores
    assert np.mean(recalls) >= 0.95
    assert idx.measure_recall(queries, 10, record=False) >= 0.95


def test_a_slow_camera_is_gathered_and_camera_filters_are_exact() -> None:
    """A camera with one frame per 50 of the others spans many rows per run: its frames are copied out, not their span."""
    rng = np.random.default_rng(5)
    idx = TemporalIndex(dim=16, capacity=3_000, ttl_s=0, cost=RUNS_ALWAYS, run_frames=8, probes=8, background=False)
    data = _walk(rng, 3_000, 16, cut_every=100)
    for i, v in enumerate(data):
        idx.add(v, Payload("slow" if i % 50 == 0 else "fast", i, i, "motion"))
    slow = np.arange(0, 3_000, 50)
    assert idx._runs.rows_per_probe()[1] > 0  # some runs are wide (gathered)
    for q in data[rng.integers(0, 3_000, 20)]:
        got = [h.payload.frame_seq for h in idx.search(q, 3, cameras=["slow"], method="runs")]
        want = slow[np.argsort(-(data[slow] @ q))[:3]].tolist()
        assert got == want  # 60 slow frames: 7 closed runs (8 probes reach them all) + an open one
        assert all(s % 50 == 0 for s in got)


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
    data = _walk(rng, 3_000, 16)
    idx = TemporalIndex(dim=16, capacity=400, ttl_s=0, run_frames=8, background=False)
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            for i, v in enumerate(data):
                idx.add(v, Payload(f"cam{i % 3}", i * 1000, i, "motion"))
        except BaseException as err:  # pragma: no cover - reported below
            errors.append(err)

    t = threading.Thread(target=writer)
    t.start()
    while t.is_alive():
        for method in ("exact", "runs"):
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
    data = _walk(rng, 700, 16)
    payloads = [Payload(f"cam{i % 2}", i * S // 100, i, "motion") for i in range(700)]
    one = TemporalIndex(dim=16, capacity=300, ttl_s=2.5, run_frames=8, background=False)
    many = TemporalIndex(dim=16, capacity=300, ttl_s=2.5, run_frames=8, background=False)
    for v, p in zip(data, payloads, strict=True):
        one.add(v, p)
    many.add_many(data, payloads, batch=128)
    assert len(one) == len(many) == 251 and (one.evicted_ttl, one.evicted_capacity) == (many.evicted_ttl, many.evicted_capacity)
    assert one.stats() == many.stats()
    q = data[650]
    assert [h.payload for h in one.search(q, 5, method="runs")] == [h.payload for h in many.search(q, 5, method="runs")]
    with pytest.raises(TemporalIndexError, match="add_many needs"):
        many.add_many(data[:2], payloads[:3])
