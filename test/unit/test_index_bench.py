"""``videorag bench index`` on a tiny ring: runs, prints a table and one JSON object last."""

from __future__ import annotations

import json

import pytest

from videorag_ros.bench.index import main


def test_bench_index_tiny_json(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--sizes", "300", "--dim", "16", "--turnovers", "2", "--insert-samples", "50", "--queries", "10", "--ef-sweep", "16,64", "--json"]
    assert main(argv) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert out[0].startswith("data") and "recall@10" in out[0]
    res = json.loads(out[-1])
    assert res["bench"] == "index" and res["machine"]["hnswlib"] and res["machine"]["cores"]
    (walk, iid) = res["results"]
    assert (walk["data"], iid["data"], walk["inserts"]) == ("walk", "iid", 600)
    assert walk["insert_ms"]["n"] == 50 and walk["recall_at_10"] >= 0.9 and [e["ef"] for e in walk["ef_sweep"]] == [16, 64]
    assert res["crossover"]["live"] == 300 and "insert_p99_ms" in res["targets"]


def test_bench_index_rejects_bad_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--data", "video"]) == 2
    assert "--data must name walk/iid" in capsys.readouterr().err
