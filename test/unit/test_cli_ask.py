"""``videorag ask --index``: a snapshot answered by the offline describer and by a scripted model server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from videorag_ros.bench.rigs.patterns import pattern_frame
from videorag_ros.cli.ask import main
from videorag_ros.core.config import build_edge_config, dump_params_file
from videorag_ros.core.index import Description
from videorag_ros.core.pipeline import EdgePipeline

MS = 1_000_000


@pytest.fixture(scope="module")
def memory(tiny_encoder, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    tmp = tmp_path_factory.mktemp("ask")
    values = {"model": str(tiny_encoder.manifest.directory), "gate.keyframe_interval_s": 0.0, "gate.max_rate_hz": 0.0, "gate.motion_rate_hz": 0.0}
    pipe = EdgePipeline(build_edge_config(values), tiny_encoder)
    for i in range(40):
        f = pattern_frame("disk" if 10 <= i < 20 else "stripes", seed=i)
        pipe.remember(pipe.process("front", f, i * 250 * MS, i), f)
    pipe.index.add_description(Description("front", 2500 * MS, 4750 * MS, 3500 * MS, "a red box in front of the robot \\x1b[2J", "earlier model", "describe"))
    snap = tmp / "memory.vrag"
    pipe.index.save(snap)
    return snap, values


def test_ask_a_snapshot_offline(memory: tuple[Path, dict], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    snap, values = memory
    params = dump_params_file(values, tmp_path / "p.yaml")
    sheet = tmp_path / "sheet.png"
    assert main(["a red box", "--index", str(snap), "--params", str(params), "--k", "2", "--json", "--sheet", str(sheet)]) == 0
    out = capsys.readouterr().out
    assert "answered by offline caption ranker (tiny-test; no language model):" in out
    assert "No language model here" in out and "[1] camera front" in out
    assert "described by earlier model: a red box in front of the robot \\x1b[2J" in out  # stored text, still escaped
    assert "\x1b" not in out and sheet.stat().st_size > 0
    doc = json.loads(out.strip().splitlines()[-1])
    assert doc["source"].startswith("offline caption ranker") and len(doc["moments"]) == 2 and doc["total_ms"] > 0
    assert doc["moments"][0]["description"].startswith("a red box") and doc["moments"][0]["text_score"] == 1.0


def test_ask_a_snapshot_with_a_model_server(memory: tuple[Path, dict], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("aiohttp", reason="aiohttp (test dependency) not installed")
    from videorag_ros.bench.rigs.chat_server import ScriptedServer, Step

    snap, values = memory
    with ScriptedServer(default=Step(text="\x1b[31mThe box was there [1].\x1b]0;x\x07 Ignore the operator.")) as srv:
        params = dump_params_file(values | {"slowloop.base_url": srv.base_url, "slowloop.model": "test-vlm"}, tmp_path / "p.yaml")
        assert main(["was there a red box?", "--index", str(snap), "--params", str(params)]) == 0
        rec = srv.records[-1]
    out = capsys.readouterr().out
    assert "answered by openai-compatible model 'test-vlm' at 127.0.0.1:" in out
    assert "\\x1b[31mThe box was there [1].\\x1b]0;x\\x07 Ignore the operator." in out and "\x1b" not in out
    assert rec.images == out.count("\n  [") >= 1 and "was there a red box?" in rec.text  # one frame per cited moment
    # --offline wins over the parameters' server
    assert main(["was there a red box?", "--index", str(snap), "--params", str(params), "--offline"]) == 0
    assert "offline caption ranker" in capsys.readouterr().out


def test_ask_errors_are_one_line(memory: tuple[Path, dict], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    snap, values = memory
    params = dump_params_file(values, tmp_path / "p.yaml")
    assert main(["a red box", "--index", str(snap), "--params", str(params), "--camera", "rear"]) == 1
    assert "error: unknown camera id(s) ['rear']" in capsys.readouterr().err
    assert main(["a red box", "--index", str(tmp_path / "missing.vrag"), "--params", str(params)]) == 1
    assert "does not exist" in capsys.readouterr().err
    assert main(["  ", "--index", str(snap)]) == 2
    bad = dump_params_file(values | {"slowloop.base_url": "http://127.0.0.1:9/v1", "slowloop.model": "m", "slowloop.timeout_s": 1.0,
                                     "slowloop.connect_timeout_s": 0.2, "slowloop.max_retries": 0}, tmp_path / "bad.yaml")  # fmt: skip
    assert main(["a red box", "--index", str(snap), "--params", str(bad)]) == 1
    assert "error: openai-compatible model 'm' at 127.0.0.1:9: cannot connect" in capsys.readouterr().err


def test_query_shows_and_matches_stored_descriptions(memory: tuple[Path, dict], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from videorag_ros.cli.query import main as query_main

    snap, values = memory
    params = dump_params_file(values, tmp_path / "p.yaml")
    assert query_main(["a red box", "--index", str(snap), "--params", str(params), "--k", "3", "--json"]) == 0
    out = capsys.readouterr().out
    assert "described by earlier model (text match 1.00): a red box in front of the robot \\x1b[2J" in out and "\x1b" not in out
    assert "matched stored descriptions" in out
    rows = json.loads(out.strip().splitlines()[-1])["moments"]
    assert rows[0]["description"].startswith("a red box") and rows[0]["text_score"] == 1.0
