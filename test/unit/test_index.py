"""index: ring capacity, TTL, clamped k, recall against exact search."""

from __future__ import annotations

import numpy as np
import pytest

from videorag_ros.core.errors import TemporalIndexError
from videorag_ros.core.index import Payload, TemporalIndex

S = 1_000_000_000


def _unit(rng: np.random.Generator, n: int, d: int) -> np.ndarray:
    v = rng.standard_normal((n, d)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_capacity_evicts_oldest_and_reuses_slots() -> None:
    idx = TemporalIndex(dim=8, capacity=5, ttl_s=0)
    vecs = _unit(np.random.default_rng(0), 12, 8)
    for i, v in enumerate(vecs):
        idx.add(v, Payload("front", i * S, i, "keyframe"))
    assert len(idx) == 5 and idx.evicted_capacity == 7
    hits = idx.search(vecs[-1], k=50)  # k clamped to the live count
    assert len(hits) == 5
    assert {h.payload.frame_seq for h in hits} == {7, 8, 9, 10, 11}
    assert hits[0].payload.frame_seq == 11 and hits[0].score == pytest.approx(1.0, abs=1e-5)


def test_ttl_evicts_by_stamp() -> None:
    idx = TemporalIndex(dim=4, capacity=100, ttl_s=2.0)
    vecs = _unit(np.random.default_rng(1), 6, 4)
    for i, v in enumerate(vecs):
        idx.add(v, Payload("front", i * S, i, "motion"))
    assert len(idx) == 3 and idx.evicted_ttl == 3  # stamps 3, 4, 5 are within 2 s of 5


def test_empty_and_dim_errors() -> None:
    idx = TemporalIndex(dim=4, capacity=3, ttl_s=0)
    assert idx.search(np.ones(4, np.float32) / 2, k=3) == []
    with pytest.raises(TemporalIndexError, match="embedding dim 5 does not match index dim 4"):
        idx.add(np.ones(5, np.float32), Payload("front", 0, 0, "first"))


def test_recall_against_exact_search_after_turnover() -> None:
    rng = np.random.default_rng(2)
    idx = TemporalIndex(dim=32, capacity=500, ttl_s=0)
    data = _unit(rng, 1500, 32)  # three full turnovers of the ring
    for i, v in enumerate(data):
        idx.add(v, Payload("front", i, i, "keyframe"))
    live = data[-500:]
    queries = _unit(rng, 50, 32)
    recalls = []
    for q in queries:
        exact = set((np.argsort(-(live @ q))[:10] + 1000).tolist())
        got = {h.payload.frame_seq for h in idx.search(q, 10)}
        recalls.append(len(exact & got) / 10)
    assert np.mean(recalls) >= 0.95
