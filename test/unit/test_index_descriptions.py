"""index descriptions: stored with their spans, forgotten with the frames, in snapshots (v2, v1 still read), fused into queries."""

from __future__ import annotations

import hashlib
import json
import struct
from pathlib import Path

import numpy as np
import pytest

from videorag_ros.core.errors import TemporalIndexError
from videorag_ros.core.index import Description, DescriptionStore, Payload, TemporalIndex, read_snapshot, text_match
from videorag_ros.core.index.descriptions import content_words
from videorag_ros.core.index.snapshot import MAGIC
from videorag_ros.core.query import TEXT_WEIGHT, MomentQuery, answer_query

S = 1_000_000_000


def _d(cam: str = "front", start: float = 1.0, end: float = 2.0, text: str = "a person on the left", **kw: object) -> Description:
    return Description(cam, int(start * S), int(end * S), int((start + end) / 2 * S), text, "test describer", **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("query", "text", "score"),
    [
        ("a person on the left", "A PERSON standing on the left side", 1.0),
        ("pallets in the aisle", "a pallet blocking the aisle", 1.0),  # plural stripped, stop words ignored
        ("a forklift near the door", "a forklift parked", 0.5),  # 'forklift', 'near', 'door': 1 of ... see below
        ("the of a", "anything", 0.0),  # no content words
        ("smoke", "", 0.0),
    ],
)
def test_text_match_is_query_coverage(query: str, text: str, score: float) -> None:
    if query.startswith("a forklift"):
        assert content_words(query) == {"forklift", "near", "door"}
        score = 1 / 3
    assert text_match(query, text) == pytest.approx(score)


@pytest.mark.parametrize(
    ("bad", "match"),
    [
        ({"start_ns": 5 * S, "end_ns": 1 * S}, "start <= best <= end"),
        ({"text": "x" * 5000}, "at most 4000"),
        ({"kind": "gossip"}, "kind 'gossip'"),
        ({"camera_id": ""}, "camera id"),
        ({"start_ns": 1.5}, "integers"),
    ],
)
def test_invalid_descriptions_are_refused(bad: dict, match: str) -> None:
    fields = _d().as_dict() | bad
    with pytest.raises(TemporalIndexError, match=match):
        Description.from_dict(fields)
    with pytest.raises(TemporalIndexError, match="unexpected or missing"):
        Description.from_dict({"camera_id": "x"})


def test_store_is_bounded_and_counts_what_it_drops() -> None:
    store = DescriptionStore(capacity=3)
    for i in range(5):
        store.add(_d(start=i, end=i + 0.5, text=f"t{i}"))
    assert [d.text for d in store.all()] == ["t2", "t3", "t4"] and store.dropped == 2
    store.forget_before(int(3.6 * S))
    assert [d.text for d in store.all()] == ["t4"] and store.forgotten == 2
    assert store.overlapping("front", int(4.2 * S), int(9 * S))[0].text == "t4"
    assert store.overlapping("rear", 0, 10 * S) == []


def _index(n: int = 200, seed: int = 0) -> tuple[TemporalIndex, np.ndarray]:
    rng = np.random.default_rng(seed)
    vecs = rng.standard_normal((n, 16)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    idx = TemporalIndex(dim=16, capacity=n, ttl_s=0, background=False)
    for i, v in enumerate(vecs):
        idx.add(v, Payload("front", i * S // 10, i, "motion"))
    return idx, vecs


def test_descriptions_are_forgotten_with_the_frames() -> None:
    idx = TemporalIndex(dim=4, capacity=10, ttl_s=0, background=False)
    v = np.array([1, 0, 0, 0], np.float32)
    for i in range(10):
        idx.add(v, Payload("front", i * S, i, "motion"))
    idx.add_description(_d(start=0, end=1, text="old"))
    idx.add_description(_d(start=5, end=6, text="new"))
    for i in range(10, 13):  # evicts frames 0..2 by capacity
        idx.add(v, Payload("front", i * S, i, "motion"))
    idx.add_description(_d(start=11, end=12, text="newest"))
    assert [d.text for d in idx.descriptions.all()] == ["new", "newest"]


def test_snapshot_v2_round_trips_descriptions(tmp_path: Path) -> None:
    idx, _ = _index()
    idx.add_description(_d(start=3, end=4, text="a forklift \\x1b[2J crossing", kind="describe"))
    idx.add_description(_d(start=5, end=6, text="confirmed: a person", kind="verify"))
    path = tmp_path / "m.vrag"
    idx.save(path)
    data = read_snapshot(path)
    assert [d.text for d in data.descriptions] == ["a forklift \\x1b[2J crossing", "confirmed: a person"]
    back = TemporalIndex(dim=16, capacity=200, ttl_s=0, background=False)
    back.load(path)
    assert back.descriptions.all() == idx.descriptions.all()


def _rewrite(path: Path, header_edit, version: int) -> None:
    raw = path.read_bytes()
    _, _, hlen, blen, _ = struct.unpack("<8sIIQ32s", raw[:56])
    header = json.loads(raw[56 : 56 + hlen])
    header_edit(header)
    hb = json.dumps(header, sort_keys=True).encode()
    body = raw[56 + hlen :]
    path.write_bytes(struct.pack("<8sIIQ32s", MAGIC, version, len(hb), blen, hashlib.sha256(hb + body).digest()) + hb + body)


def test_version_1_snapshots_still_load_without_descriptions(tmp_path: Path) -> None:
    idx, vecs = _index()
    path = tmp_path / "v1.vrag"
    idx.save(path)
    _rewrite(path, lambda h: h.pop("descriptions"), 1)  # what a version-1 build wrote
    data = read_snapshot(path)
    assert len(data) == 200 and data.descriptions == []
    back = TemporalIndex(dim=16, capacity=200, ttl_s=0, background=False)
    back.load(path)
    assert back.search(vecs[7], 1)[0].payload.frame_seq == 7


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (lambda h: h.__setitem__("descriptions", "nope"), "not a list"),
        (lambda h: h.__setitem__("descriptions", [{"camera_id": "front"}]), "invalid description"),
        (lambda h: h.__setitem__("descriptions", [_d().as_dict() | {"text": 5}]), "invalid description"),
        (lambda h: h.__setitem__("descriptions", [7]), "invalid description"),
    ],
)
def test_bad_descriptions_in_a_snapshot_are_reported(tmp_path: Path, edit, match: str) -> None:
    idx, _ = _index()
    path = tmp_path / "bad.vrag"
    idx.save(path)
    _rewrite(path, edit, 2)
    with pytest.raises(TemporalIndexError, match=match):
        read_snapshot(path)


class _TextEncoder:
    """Just enough of an Encoder for answer_query: a fixed text vector."""

    name = "fixed"

    def __init__(self, vector: np.ndarray) -> None:
        self.vector = vector

    def knows_no_word_of(self, text: str) -> bool:
        return False

    def unknown_words(self, text: str) -> list[str]:
        return []

    def encode_texts(self, texts: list[str]) -> np.ndarray:
        return np.stack([self.vector] * len(texts))


def test_fusion_lifts_a_described_moment_and_finds_moments_by_text_alone() -> None:
    _, vecs = _index()
    q = vecs[50]
    near = q + 0.35 * vecs[150]  # frame 170 (17.0 s) is close to the query, but not the closest
    near /= np.linalg.norm(near)
    idx2 = TemporalIndex(dim=16, capacity=200, ttl_s=0, background=False)
    for i, v in enumerate(vecs):
        idx2.add(near if i == 170 else v, Payload("front", i * S // 10, i, "motion"))
    enc = _TextEncoder(q)
    query = MomentQuery(text="a forklift crossing", k=1, context_s=0.5)
    plain = answer_query(idx2, enc, query)  # type: ignore[arg-type]
    assert plain.moments[0].best.frame_seq == 50 and plain.moments[0].text_score == 0.0
    cos_170 = float(near @ q)
    assert 1.0 - TEXT_WEIGHT < cos_170 < 1.0
    # A description covering the whole query on 17.0 s: found by text alone (k=1 would not reach
    # it by cosine), and first by the fused score cos + 0.25 x 1.0 > 1.0.
    idx2.add_description(_d(start=16.9, end=17.1, text="a forklift crossing the aisle"))
    fused = answer_query(idx2, enc, query)  # type: ignore[arg-type]
    top = fused.moments[0]
    assert top.best.frame_seq == 170 and top.text_score == 1.0 and top.score == pytest.approx(cos_170, abs=1e-5)
    assert top.description == "a forklift crossing the aisle" and top.description_source == "test describer"
    assert any("matched stored descriptions" in n for n in fused.notes)
    # A description that matches no word of the query adds no moment of its own.
    idx3 = TemporalIndex(dim=16, capacity=200, ttl_s=0, background=False)
    for i, v in enumerate(vecs):
        idx3.add(near if i == 170 else v, Payload("front", i * S // 10, i, "motion"))
    idx3.add_description(_d(start=16.9, end=17.1, text="a crate on the floor"))
    weak = answer_query(idx3, enc, query)  # type: ignore[arg-type]
    assert weak.moments[0].best.frame_seq == 50


def test_fusion_respects_filters() -> None:
    idx, vecs = _index()
    enc = _TextEncoder(vecs[50])
    idx.add_description(_d(cam="front", start=14.9, end=15.1, text="a forklift crossing"))
    out = answer_query(idx, enc, MomentQuery(text="a forklift crossing", k=3, context_s=0.5, until_ns=10 * S))  # type: ignore[arg-type]
    assert all(m.best_ns <= 10 * S for m in out.moments) and not any(m.description for m in out.moments)
