"""Asking the memory: query validation, time arguments, and moments from real footage.

The memory is built by the real pipeline (gate → shipped videorag-tiny → index) from two
real clips of Debian's opencv-doc: vtest.avi (pedestrians, camera "plaza") and box.mp4
(a box on a table, hand-held camera "table"), both stamped from t = 0. Queries use words
the shipped model knows (its vocabulary is warehouse scenes: no "cup", no "table").
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from test.support.memory import build_clip_memory
from videorag_ros.core.index import TemporalIndex, merge_spans, read_snapshot
from videorag_ros.core.index.types import Hit, Payload
from videorag_ros.core.query import MAX_K, MomentQuery, QueryError, answer_query
from videorag_ros.core.timefmt import TimeSpecError, format_stamp, parse_time

S = 1_000_000_000


@pytest.fixture(scope="module")
def memory(footage, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, float], object]:
    """(snapshot path, clip duration per camera in s, encoder) built from two real clips."""
    path = tmp_path_factory.mktemp("memory") / "clips.vrag"
    duration, encoder = build_clip_memory(footage, {"plaza": "vtest.avi", "table": "box.mp4"}, path)
    return path, duration, encoder


@pytest.fixture
def index(memory):
    path, _, _ = memory
    data = read_snapshot(path)
    with TemporalIndex(dim=data.dim, capacity=len(data), ttl_s=0, thumbnail_budget_bytes=1 << 30, background=False) as idx:
        idx.load_data(data, approximate=False)
        yield idx


def test_validation_names_the_problem(index, memory) -> None:
    encoder = memory[2]
    bad = {
        "needs a text or an image": MomentQuery(text="  "),
        r"k = 0: ask for 1\.\.100": MomentQuery(text="person", k=0),
        f"k = {MAX_K + 1}": MomentQuery(text="person", k=MAX_K + 1),
        "context_s = -1": MomentQuery(text="person", context_s=-1.0),
        "context_s = nan": MomentQuery(text="person", context_s=float("nan")),
        "time range is empty": MomentQuery(text="person", since_ns=5 * S, until_ns=4 * S),
        r"unknown camera id\(s\) \['rear'\]; this memory has \['plaza', 'table'\]": MomentQuery(text="person", cameras=("rear",)),
        "none of the words": MomentQuery(text="qwzx vbnm"),
        "characters; at most": MomentQuery(text="person " * 200),
        r"\(H, W, 3\) uint8": MomentQuery(image=np.zeros((4, 4), np.uint8)),
    }
    for pattern, query in bad.items():
        with pytest.raises(QueryError, match=pattern):
            answer_query(index, encoder, query, known_cameras=index.camera_ids())


def test_moments_from_real_footage_are_valid_and_ordered(index, memory) -> None:
    _, duration, encoder = memory
    answer = answer_query(index, encoder, MomentQuery(text="a person walking", k=8, context_s=2.0), known_cameras=index.camera_ids())
    ms = answer.moments
    assert len(ms) == 8 and answer.remembered == len(index)
    assert [m.score for m in ms] == sorted((m.score for m in ms), reverse=True)
    for m in ms:
        assert 0 <= m.start_ns <= m.best_ns <= m.end_ns <= duration[m.camera_id] * S + 1
        assert m.end_ns - m.start_ns <= 4 * 2 * S  # merged spans are capped at 4 contexts
        assert m.best.frame_seq in m.frame_seqs and m.best.thumbnail
        assert list(m.frame_seqs) == sorted(m.frame_seqs) and m.hits >= 1
    # moments on one camera never overlap
    for cam in {m.camera_id for m in ms}:
        spans = sorted((m.start_ns, m.end_ns) for m in ms if m.camera_id == cam)
        assert all(a[1] < b[0] for a, b in itertools.pairwise(spans))
    assert "encode" in answer.summary()


def test_time_and_camera_filters(index, memory) -> None:
    encoder = memory[2]
    cams = index.camera_ids()
    window = answer_query(index, encoder, MomentQuery(text="a person walking", since_ns=20 * S, until_ns=30 * S, k=5, context_s=1.0), known_cameras=cams)
    assert window.moments and all(20 * S <= m.best_ns <= 30 * S for m in window.moments)
    for cam in ("plaza", "table"):
        only = answer_query(index, encoder, MomentQuery(text="a cardboard box", cameras=(cam,), k=5), known_cameras=cams)
        assert only.moments and {m.camera_id for m in only.moments} == {cam}
    both = answer_query(index, encoder, MomentQuery(text="a cardboard box", k=20, context_s=0.5), known_cameras=cams)
    assert {m.camera_id for m in both.moments} == {"plaza", "table"}
    empty = answer_query(index, encoder, MomentQuery(text="a person", since_ns=500 * S), known_cameras=cams)
    assert empty.moments == []


def test_context_windows_merge(index, memory) -> None:
    encoder = memory[2]
    cams = index.camera_ids()
    q = {"text": "a person walking", "k": 5, "cameras": ("plaza",)}
    tight = answer_query(index, encoder, MomentQuery(context_s=0.0, **q), known_cameras=cams).moments
    wide = answer_query(index, encoder, MomentQuery(context_s=3.0, **q), known_cameras=cams).moments
    assert all(m.start_ns == m.end_ns == m.best_ns and len(m.frame_seqs) == 1 for m in tight)
    assert any(m.hits > 1 for m in wide) and any(len(m.frame_seqs) > 1 for m in wide)
    assert wide[0].score == tight[0].score and wide[0].start_ns <= tight[0].best_ns <= wide[0].end_ns


def test_image_query_finds_its_own_clip(index, memory, footage) -> None:
    encoder = memory[2]
    cap = cv2.VideoCapture(str(footage("box.mp4")))
    cap.set(cv2.CAP_PROP_POS_FRAMES, 100)
    ok, bgr = cap.read()
    cap.release()
    assert ok
    got = answer_query(index, encoder, MomentQuery(image=cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), k=1), known_cameras=index.camera_ids())
    assert got.moments[0].camera_id == "table" and got.moments[0].score > 0.9


def test_dense_hits_do_not_chain_into_one_moment() -> None:
    hits = [Hit(1.0 - abs(i - 50) / 100, Payload("c", i * S // 10, i, "motion")) for i in range(300)]  # a hit every 0.1 s for 30 s
    spans = merge_spans(hits, 1 * S)
    assert len(spans) > 1 and all(hi - lo <= 4 * S for _, lo, hi, _ in spans)
    assert all(a[2] < b[1] for a, b in itertools.pairwise(spans))  # disjoint, in time order
    assert sum(len(h) for *_, h in spans) == 300  # every hit lands in exactly one span
    best = max(spans, key=lambda s: max(h.score for h in s[3]))
    assert best[1] <= 5 * S <= best[2]


def test_parse_time_forms() -> None:
    now = 1_795_000_000 * S
    assert parse_time("-30s", now_ns=now) == now - 30 * S
    assert parse_time("-5m", now_ns=now) == now - 300 * S
    assert parse_time("-1.5h", now_ns=now) == now - 5400 * S
    assert parse_time("-250ms", now_ns=now) == now - S // 4
    assert parse_time("12.5", now_ns=now) == 12_500_000_000
    noon = parse_time("12:00:00", now_ns=now)
    assert abs(noon - now) < 86400 * S and format_stamp(noon) == "12:00:00.000"
    assert format_stamp(parse_time("2026-11-21T14:02:11.250", now_ns=now), with_date=True) == "2026-11-21 14:02:11.250"
    assert format_stamp(12_250_000_000) == "12.250 s"
    with pytest.raises(TimeSpecError, match="cannot read time 'yesterday'"):
        parse_time("yesterday", now_ns=now)


def test_cli_on_snapshot_prints_table_json_and_sheet(memory, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from videorag_ros.cli.query import main

    path, duration, _ = memory
    sheet = tmp_path / "sheet.png"
    assert main(["a person walking", "--index", str(path), "--k", "3", "--last", "30s", "--camera", "plaza", "--json", "--sheet", str(sheet)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1].split()[:3] == ["#", "camera", "from"] and len(out) == 1 + 1 + 3 + 2
    result = json.loads(out[-1])
    assert [m["camera_id"] for m in result["moments"]] == ["plaza"] * 3
    newest = max(duration.values())
    assert all(newest - 30 <= m["best"] <= duration["plaza"] for m in result["moments"])
    img = cv2.imread(str(sheet))
    assert img is not None and img.shape[0] > 200 and img.shape[1] > 600
    assert main(["nothing", "--index", str(tmp_path / "missing.vrag")]) == 1
    assert "missing.vrag' does not exist" in capsys.readouterr().err
    corrupt = tmp_path / "corrupt.vrag"
    corrupt.write_bytes(b"\x00" * 100)
    assert main(["a person", "--index", str(corrupt)]) == 1
    assert "not a videorag index snapshot" in capsys.readouterr().err
    assert main([]) == 2
