"""index moments: hits grow to ±context on their camera and merge when they overlap."""

from __future__ import annotations

import numpy as np
import pytest

from videorag_ros.core.errors import TemporalIndexError
from videorag_ros.core.index import Hit, Payload, TemporalIndex, build_moments, merge_spans

S = 1_000_000_000


def _hit(cam: str, t_s: float, score: float, seq: int) -> Hit:
    return Hit(score, Payload(cam, int(t_s * S), seq, "motion"))


def test_merge_spans_per_camera() -> None:
    hits = [_hit("a", 10, 0.9, 1), _hit("a", 13, 0.8, 2), _hit("a", 30, 0.7, 3), _hit("b", 11, 0.6, 4)]
    spans = merge_spans(hits, 2 * S)
    # a@10 and a@13 overlap at ±2 s ([8,12] and [11,15]); a@30 stands alone; b is another camera
    assert sorted((c, lo // S, hi // S, len(h)) for c, lo, hi, h in spans) == [("a", 8, 15, 2), ("a", 28, 32, 1), ("b", 9, 13, 1)]
    assert len(merge_spans(hits, 0)) == 4


def test_build_moments_uses_neighbours_and_orders_by_score() -> None:
    frames = {"a": [(int(t * S), 100 + i) for i, t in enumerate(np.arange(0, 40, 0.5))]}

    def neighbours(cam: str, lo: int, hi: int) -> list[tuple[int, int]]:
        return [f for f in frames.get(cam, []) if lo <= f[0] <= hi]

    hits = [_hit("a", 10, 0.8, 120), _hit("a", 12, 0.9, 124), _hit("a", 30, 0.95, 160)]
    moments = build_moments(hits, 1 * S, neighbours, k=5)
    assert [m.score for m in moments] == [0.95, 0.9]
    first, second = moments
    assert (first.start_ns, first.end_ns, first.best_ns, first.hits) == (29 * S, 31 * S, 30 * S, 1)
    assert first.frame_seqs == tuple(range(158, 163))
    assert (second.start_ns, second.end_ns, second.best_ns, second.hits) == (9 * S, 13 * S, 12 * S, 2)
    assert second.best.frame_seq == 124 and len(second.frame_seqs) == 9
    assert build_moments(hits, S, neighbours, k=1) == [first]


def test_index_search_moments() -> None:
    rng = np.random.default_rng(5)
    target = rng.standard_normal(8).astype(np.float32)
    target /= np.linalg.norm(target)
    idx = TemporalIndex(dim=8, capacity=1000, ttl_s=0, background=False)
    for i in range(400):  # two cameras at 5 Hz for 40 s; camera b sees the target from t=20 s to 20.8 s, and faintly at 15 s
        t = i // 2 * S // 5
        cam = "a" if i % 2 == 0 else "b"
        v = rng.standard_normal(8).astype(np.float32)
        v -= (v @ target) * target  # background frames are orthogonal to the target
        v /= np.linalg.norm(v)
        if cam == "b" and 20 * S <= t < 21 * S:
            v = target + 0.01 * v
        elif cam == "b" and t == 15 * S:
            v = 0.8 * target + 0.6 * v
        elif cam == "a" and t == 30 * S:
            v = 0.5 * target + 0.866 * v
        v /= np.linalg.norm(v)
        idx.add(v, Payload(cam, t, i, "motion"))
    moments = idx.search_moments(target, 2, context_s=1.0)
    assert len(moments) == 2
    m = moments[0]
    assert m.camera_id == "b" and m.start_ns == 19 * S and m.end_ns == 22 * S - S // 5
    assert 20 * S <= m.best_ns < 21 * S and m.hits >= 4
    assert len(m.frame_seqs) == (22 * S - S // 5 - 19 * S) // (S // 5) + 1  # every b frame in the span
    assert moments[1].camera_id == "b" and moments[1].best_ns == 15 * S
    only_a = idx.search_moments(target, 1, context_s=0.5, cameras=["a"])
    assert only_a and only_a[0].camera_id == "a"
    assert idx.search_moments(target, 3, context_s=1.0, since_ns=30 * S, until_ns=31 * S)[0].best_ns >= 30 * S
    with pytest.raises(TemporalIndexError, match="context_s = -1"):
        idx.search_moments(target, 1, context_s=-1)
