"""index graph: segments fill by plain inserts, evictions mark then drop whole segments, memory stays bounded."""

from __future__ import annotations

import numpy as np
import pytest

from videorag_ros.core.errors import TemporalIndexError
from videorag_ros.core.index import Payload, TemporalIndex
from videorag_ros.core.index.graph import SegmentedGraph


def _unit(rng: np.random.Generator, n: int, d: int) -> np.ndarray:
    v = rng.standard_normal((n, d)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _labels(a: int, b: int) -> np.ndarray:
    return np.arange(a, b, dtype=np.int64)


def test_segments_split_at_boundaries_and_drop_when_fully_evicted() -> None:
    data = _unit(np.random.default_rng(0), 100, 8)
    g = SegmentedGraph(dim=8, segment_size=30, m=8, ef_construction=50)
    g.add(data[:70], _labels(0, 70))  # one add across three segments
    assert [(s.lo, s.hi, s.graph.elements) for s in g.segments] == [(0, 30, 30), (30, 60, 30), (60, 90, 10)]
    g.evict_below(45)  # segment 0 dropped whole, 15 of segment 1 marked deleted
    assert [(s.lo, s.graph.elements, s.graph.deleted) for s in g.segments] == [(30, 30, 15), (60, 10, 0)]
    assert (g.elements, g.deleted, g.live) == (40, 15, 25) and g.deleted_share == pytest.approx(15 / 40)
    g.evict_below(45)  # idempotent
    assert g.deleted == 15
    seg = g.segment_of(40)
    assert seg is not None
    labels, _ = seg.graph.query(data[40], 30, ef=64)  # k clamped to the 15 live ones; deleted never returned
    assert len(labels) == 15 and labels.min() >= 45
    g.evict_below(60)
    assert [s.lo for s in g.segments] == [60] and g.deleted == 0


def test_a_gap_of_evicted_labels_is_skipped() -> None:
    data = _unit(np.random.default_rng(1), 40, 8)
    g = SegmentedGraph(dim=8, segment_size=100, m=8, ef_construction=50)
    g.add(data[:10], _labels(0, 10))
    g.evict_below(25)  # 0..9 deleted; 10..24 were evicted before they were added
    g.add(data[25:40], _labels(25, 40))
    seg = g.segments[0]
    assert (seg.graph.elements, seg.graph.deleted, g.live) == (25, 10, 15)
    labels, _ = seg.graph.query(data[30], 5, ef=50)
    assert labels[0] == 30 and labels.min() >= 25


@pytest.mark.parametrize(
    ("labels", "match"),
    [
        (np.array([5, 7], np.int64), "consecutive"),  # not consecutive
        (np.array([2], np.int64), "below what segment"),  # already in the graph
    ],
)
def test_bad_labels_are_refused(labels: np.ndarray, match: str) -> None:
    data = _unit(np.random.default_rng(2), 8, 4)
    g = SegmentedGraph(dim=4, segment_size=10, m=4, ef_construction=20)
    g.add(data[:4], _labels(0, 4))
    with pytest.raises(TemporalIndexError, match=match):
        g.add(data[: len(labels)], labels)


@pytest.mark.parametrize("segments", [1, 2, 4])
def test_index_graph_stays_within_capacity_plus_one_segment(segments: int) -> None:
    rng = np.random.default_rng(3)
    data = _unit(rng, 64, 16)
    idx = TemporalIndex(dim=16, capacity=120, ttl_s=0, segments=segments, background=False)
    bound = 120 + idx.segment_size
    for i in range(1_000):  # 8 turnovers, every insert evicts once the ring is full
        idx.add(data[i % 64], Payload("front", i, i, "motion"))
        st = idx.stats()
        assert st.graph_elements <= bound and st.graph_elements - round(st.deleted_share * st.graph_elements) == st.live
    assert st.compactions == 0  # no rebuild needed: only the oldest segment ever holds deleted entries
    assert idx.search(data[999 % 64], 1, method="hnsw")[0].payload.frame_seq in {i for i in range(880, 1_000) if i % 64 == 999 % 64}
