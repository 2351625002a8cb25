"""index snapshots: round trip, atomic replace with .prev kept, corrupt files reported by name."""

from __future__ import annotations

import hashlib
import json
import struct
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from videorag_ros.core.errors import TemporalIndexError
from videorag_ros.core.index import FORMAT_VERSION, Payload, TemporalIndex, prev_path, read_snapshot
from videorag_ros.core.index.snapshot import MAGIC

S = 1_000_000_000


def _unit(rng: np.random.Generator, n: int, d: int) -> np.ndarray:
    v = rng.standard_normal((n, d)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _filled(n: int = 300, cap: int = 200, seed: int = 0) -> tuple[TemporalIndex, np.ndarray]:
    idx = TemporalIndex(dim=16, capacity=cap, ttl_s=0, thumbnail_budget_bytes=2_000, background=False)
    data = _unit(np.random.default_rng(seed), n, 16)
    for i, v in enumerate(data):
        thumb = bytes([i % 256]) * 30 if i % 4 == 0 else None
        idx.add(v, Payload("front" if i % 3 else "rear", i * S // 10, i, ("motion", "keyframe")[i % 2], thumb))
    return idx, data


def _results(idx: TemporalIndex, queries: np.ndarray, **kw: object) -> list[list[tuple[float, Payload]]]:
    return [[(round(h.score, 5), h.payload) for h in idx.search(q, 10, **kw)] for q in queries]  # type: ignore[arg-type]


def test_round_trip_gives_identical_search_results(tmp_path: Path) -> None:
    idx, _ = _filled()
    path = tmp_path / "memory.vrag"
    nbytes = idx.save(path)
    assert path.stat().st_size == nbytes and not prev_path(path).exists()
    back = TemporalIndex(dim=16, capacity=200, ttl_s=0, thumbnail_budget_bytes=2_000, background=False)
    assert back.load(path) == 200
    queries = _unit(np.random.default_rng(9), 8, 16)
    for kw in ({}, {"since_ns": 12 * S, "until_ns": 20 * S}, {"cameras": ["rear"]}, {"method": "exact"}):
        assert _results(back, queries, **kw) == _results(idx, queries, **kw)
    assert back.stats().thumbnail_bytes == idx.stats().thumbnail_bytes
    assert back.measure_recall(queries, 10, record=False) >= 0.95
    back.add(_unit(np.random.default_rng(1), 1, 16)[0], Payload("front", 31 * S, 300, "motion"))  # keeps going after a load
    assert len(back) == 200


def test_load_rebuilds_the_run_level_before_returning(tmp_path: Path) -> None:
    idx, data = _filled()
    idx.save(tmp_path / "m.vrag")
    back = TemporalIndex(dim=16, capacity=200, ttl_s=0, run_frames=8, background=True)
    try:
        back.load(tmp_path / "m.vrag")
        st = back.stats()
        assert st.runs == 200 // 3 // 8 + (2 * 200 // 3) // 8 and st.runs * 8 + st.open_frames == 200  # per camera, in entry order
        back.add(data[0], Payload("front", 40 * S, 999, "motion"))  # keeps going after a load
        assert back.search(data[299], 1, method="runs")[0].payload.frame_seq == 299
        assert back.search(data[0], 1, method="runs")[0].payload.frame_seq == 999
        assert len(back) == 200
    finally:
        back.close()
    one_shot = TemporalIndex(dim=16, capacity=200, ttl_s=0, background=False)
    one_shot.load(tmp_path / "m.vrag", approximate=False)  # `videorag query --index`: no run level, exact answers
    assert one_shot.stats().runs == 0 and one_shot.search(data[299], 1)[0].payload.frame_seq == 299
    assert one_shot.last_plan is not None and one_shot.last_plan.method == "exact"


def test_a_snapshot_of_the_previous_release_loads(tmp_path: Path) -> None:
    """data/index_v1_fa881c3.vrag was written by the segmented-HNSW release (data/make_index_v1.py): same format, same entries."""
    from test.unit.data.make_index_v1 import payload, vectors

    idx = TemporalIndex(dim=8, capacity=100, ttl_s=0, thumbnail_budget_bytes=64, run_frames=4, background=False)
    assert idx.load(Path(__file__).parent / "data" / "index_v1_fa881c3.vrag") == 48  # frames 12..59 (capacity 48)
    v = vectors()
    for i in (12, 30, 59):
        hit = idx.search(v[i], 1)[0]
        want = payload(i)
        assert hit.score == pytest.approx(1.0, abs=1e-6) and hit.payload.frame_seq == want.frame_seq
        assert (hit.payload.camera_id, hit.payload.stamp_ns, hit.payload.reason) == (want.camera_id, want.stamp_ns, want.reason)
    assert idx.search(v[55], 1)[0].payload.thumbnail == bytes([55]) * 10  # the thumbnails kept within the budget
    assert idx.stats().runs > 0
    idx.save(tmp_path / "again.vrag")  # and is written back in the same format
    assert read_snapshot(tmp_path / "again.vrag").vectors.shape == (48, 8)


def test_smaller_capacity_keeps_the_newest_and_dim_mismatch_is_reported(tmp_path: Path) -> None:
    idx, _ = _filled()
    path = tmp_path / "m.vrag"
    idx.save(path)
    small = TemporalIndex(dim=16, capacity=50, ttl_s=0, background=False)
    assert small.load(path) == 50
    assert min(h.payload.frame_seq for h in small.search(np.ones(16, np.float32) / 4, 50)) == 250
    other = TemporalIndex(dim=8, capacity=50, ttl_s=0, background=False)
    with pytest.raises(TemporalIndexError, match=r"m\.vrag' holds dim 16 embeddings; this index has dim 8"):
        other.load(path)


def _corrupt(path: Path, how: str) -> None:
    raw = bytearray(path.read_bytes())
    if how == "truncated":
        path.write_bytes(raw[: len(raw) // 2])
    elif how == "flipped":
        raw[len(raw) - 100] ^= 0x40
        path.write_bytes(raw)
    elif how == "version":
        raw[8:12] = struct.pack("<I", FORMAT_VERSION + 1)
        path.write_bytes(raw)
    elif how == "magic":
        path.write_bytes(b"PK\x03\x04" + raw[4:])
    elif how == "empty":
        path.write_bytes(b"")


@pytest.mark.parametrize(
    ("how", "message"),
    [
        ("truncated", "is truncated"),  # a crash while copying the file
        ("flipped", "is corrupt: sha256"),  # one bit flipped on disk
        ("version", f"has format version {FORMAT_VERSION + 1}; this build reads version {FORMAT_VERSION}"),
        ("magic", "is not a videorag index snapshot"),  # another file at the path
        ("empty", "is truncated: 0 bytes"),
    ],
)
def test_bad_snapshot_is_reported_and_previous_good_kept(tmp_path: Path, how: str, message: str) -> None:
    path = tmp_path / "memory.vrag"
    first, _ = _filled(seed=1)
    first.save(path)  # good #1
    second, _ = _filled(seed=2)
    second.save(path)  # good #2; good #1 becomes .prev
    good_prev = prev_path(path).read_bytes()
    assert read_snapshot(prev_path(path)).vectors.shape == (200, 16)
    _corrupt(path, how)
    fresh = TemporalIndex(dim=16, capacity=200, ttl_s=0, background=False)
    with pytest.raises(TemporalIndexError, match=f"'{path}' {message}"):
        fresh.load(path)
    assert len(fresh) == 0
    second.save(path)  # the next save must not rotate the corrupt file over the good .prev
    assert prev_path(path).read_bytes() == good_prev
    assert fresh.load(path) == 200


def test_empty_index_round_trip(tmp_path: Path) -> None:
    empty = TemporalIndex(dim=16, capacity=10, ttl_s=0, background=False)
    empty.save(tmp_path / "e.vrag")
    back = TemporalIndex(dim=16, capacity=10, ttl_s=0, background=False)
    assert back.load(tmp_path / "e.vrag") == 0 and back.stats().runs == 0
    assert back.search(np.ones(16, np.float32) / 4, 3) == []


def test_missing_file_and_unwritable_directory(tmp_path: Path) -> None:
    idx, _ = _filled(n=5)
    with pytest.raises(TemporalIndexError, match="does not exist"):
        idx.load(tmp_path / "nope.vrag")
    with pytest.raises(TemporalIndexError, match="could not be written"):
        idx.save(tmp_path / "no-such-dir" / "m.vrag")
    assert not list(tmp_path.iterdir())


@pytest.fixture(scope="module")
def good_bytes(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    idx, _ = _filled(n=20, cap=16)
    path = tmp_path_factory.mktemp("snap") / "m.vrag"
    idx.save(path)
    return path.read_bytes()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_fuzzed_snapshot_bytes_only_raise_temporal_index_error(tmp_path: Path, good_bytes: bytes, data: st.DataObject) -> None:
    raw = bytearray(good_bytes)
    kind = data.draw(st.sampled_from(["flip", "cut", "append", "header"]))
    if kind == "flip":
        for pos in data.draw(st.lists(st.integers(0, len(raw) - 1), min_size=1, max_size=8)):
            raw[pos] ^= data.draw(st.integers(1, 255))
    elif kind == "cut":
        raw = raw[: data.draw(st.integers(0, len(raw) - 1))]
    elif kind == "append":
        raw += data.draw(st.binary(min_size=1, max_size=64))
    else:  # a well-formed, correctly checksummed file with a hostile header
        header = json.dumps(
            data.draw(
                st.dictionaries(
                    st.sampled_from(["dim", "count", "camera_names", "reason_names", "sections", "meta"]),
                    st.recursive(st.none() | st.integers(-5, 10**6) | st.text(max_size=5), lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=8), c, max_size=4), max_leaves=12),
                )
            )
        ).encode()
        body = data.draw(st.binary(max_size=256))
        raw = bytearray(struct.pack("<8sIIQ32s", MAGIC, FORMAT_VERSION, len(header), len(body), hashlib.sha256(header + body).digest()) + header + body)
    path = tmp_path / "fuzz.vrag"
    path.write_bytes(bytes(raw))
    try:
        snap = read_snapshot(path)
    except TemporalIndexError as err:
        assert "fuzz.vrag" in str(err)
        return
    assert bytes(raw) == good_bytes or len(snap) >= 0  # an untouched or harmless edit may still read
