"""index runs: per-camera runs close when full, evict oldest first, grow, rebuild to the same level."""

from __future__ import annotations

import numpy as np
import pytest

from videorag_ros.core.errors import TemporalIndexError
from videorag_ros.core.index.runs import Runs, unit_mean


def _fill(runs: Runs, vectors: np.ndarray, cams: list[int], g0: int = 0) -> None:
    """Add entries like TemporalIndex does: the centroid of a filled run is the unit mean of its members' vectors."""
    for i, cam in enumerate(cams):
        members = runs.add(g0 + i, cam)
        if members is not None:
            runs.close(cam, members, unit_mean(vectors[np.asarray(members) - g0]))


def _live(runs: Runs) -> list[tuple[int, int, int, list[int]]]:
    out = []
    for r in range(runs.head, runs.tail):
        s = r % runs.slots
        out.append((int(runs.cams[s]), int(runs.first_g[s]), int(runs.last_g[s]), [int(g) for g in runs.members[s] if g >= 0]))
    return out


def test_runs_close_per_camera_in_the_order_their_last_frame_arrived() -> None:
    runs = Runs(dim=4, run_frames=3, capacity=100)
    v = np.eye(4, dtype=np.float32)[np.arange(10) % 4]
    _fill(runs, v, [0, 1, 0, 0, 1, 1, 0, 1, 0, 0])
    assert _live(runs) == [(0, 0, 3, [0, 2, 3]), (1, 1, 5, [1, 4, 5]), (0, 6, 9, [6, 8, 9])]
    assert runs.open_parts(None) == ([(7, 8)], []) and runs.open_frames == 1
    assert runs.rows_per_probe() == pytest.approx(((4 + 5 + 4) / 3, 0.0))  # spans 0..3, 1..5, 6..9
    np.testing.assert_allclose(runs.centroids[0], unit_mean(v[[0, 2, 3]]), atol=1e-6)
    runs.evict_below(2)  # run (0..3) still holds live entries
    assert runs.head == 0
    runs.evict_below(4)
    assert [r[1] for r in _live(runs)] == [1, 6] and runs.rows_per_probe() == pytest.approx(((5 + 4) / 2, 0.0))
    runs.evict_below(8)  # camera 1's open run (7) is forgotten with its last entry
    assert [r[1] for r in _live(runs)] == [6] and runs.open_parts(None) == ([], [])


def test_wide_runs_are_gathered_and_counted() -> None:
    runs = Runs(dim=2, run_frames=2, capacity=100, span_max=4)
    v = np.ones((12, 2), np.float32) / np.sqrt(2)
    _fill(runs, v, [0, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 0])  # camera 0's runs span 6 rows: wide
    assert runs.rows_per_probe() == pytest.approx((2 * 4 / 6, 2 * 2 / 6))  # 4 narrow runs of 2 rows, 2 wide of 2 frames
    runs.add(12, 0)
    assert runs.open_parts(np.asarray([0], np.int32)) == ([(12, 13)], [])


def test_more_live_runs_than_slots_grow_the_arrays() -> None:
    runs = Runs(dim=3, run_frames=1, capacity=4)  # 12 slots to start with
    v = np.random.default_rng(0).standard_normal((40, 3)).astype(np.float32)
    _fill(runs, v, list(range(40)))  # 40 cameras, one frame each: 40 live runs of 1
    assert len(runs) == 40 and runs.slots >= 40
    assert [r[1] for r in _live(runs)] == list(range(40))
    np.testing.assert_allclose(runs.centroids[39 % runs.slots], v[39] / np.linalg.norm(v[39]), atol=1e-6)


def test_rebuild_gives_the_level_incremental_adds_give() -> None:
    rng = np.random.default_rng(1)
    v = rng.standard_normal((500, 8)).astype(np.float32)
    cams = rng.integers(0, 3, 500).tolist()
    a, b = Runs(dim=8, run_frames=16, capacity=500), Runs(dim=8, run_frames=16, capacity=500)
    _fill(a, v, cams)
    b.rebuild(0, np.asarray(cams, np.int32), v)
    assert _live(a) == _live(b) and a.rows_per_probe() == b.rows_per_probe()
    assert sorted(a.open_parts(None)[0]) == sorted(b.open_parts(None)[0]) and a.open_frames == b.open_frames
    np.testing.assert_allclose(a.centroids[: len(a)], b.centroids[: len(b)], atol=1e-6)


def test_bad_run_frames() -> None:
    with pytest.raises(TemporalIndexError, match="run_frames must be >= 1, got 0"):
        Runs(dim=4, run_frames=0, capacity=10)
    assert not unit_mean(np.asarray([[1.0, 0.0], [-1.0, 0.0]], np.float32)).any()  # vectors that cancel out: zeros
