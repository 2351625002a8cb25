"""``videorag bench index`` on a tiny ring: runs, prints a table and one JSON object last."""

from __future__ import annotations

import json

import pytest

from videorag_ros.bench.index import main


def test_bench_index_tiny_json(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--sizes", "300", "--dim", "16", "--turnovers", "2", "--insert-samples", "50", "--queries", "10", "--probe-sweep", "4,16", "--run-frames", "8", "--json"]
    assert main(argv) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert out[0].startswith("data") and "recall@10" in out[0]
    res = json.loads(out[-1])
    assert res["bench"] == "index" and res["machine"]["cores"]
    (walk, iid) = res["results"]
    assert (walk["data"], iid["data"], walk["inserts"]) == ("walk", "iid", 600)
    assert walk["insert_ms"]["n"] == 50 and walk["recall_at_10_delivered"] == 1.0 and [e["probes"] for e in walk["probe_sweep"]] == [4, 16]
    assert walk["runs"] + walk["open_frames"] // 8 >= 300 // 8 - 3  # runs of 8 frames of 3 cameras over 300 frames
    assert res["crossover"]["live"] == 300 and "insert_p99_ms" in res["targets"]
    assert walk["snapshot"]["bytes"] > 300 * 16 * 4 and walk["snapshot"]["load_s"] >= 0


def test_bench_index_rejects_bad_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--data", "video"]) == 2
    assert "--data must name walk/scenes/iid" in capsys.readouterr().err
    assert main(["--peers", "annoy"]) == 2
    assert "--peers names ['annoy']; expected some of hnswlib,faiss,qdrant" in capsys.readouterr().err


def test_bench_index_peers_tiny_json(capsys: pytest.CaptureFixture[str]) -> None:
    """``--peers`` on a tiny workload: ours first, then every importable peer; a missing peer is named, never fatal."""
    from videorag_ros.bench.index_peers import missing_peers

    argv = ["--peers", "--sizes", "400", "--dim", "16", "--queries", "20", "--peer-sweep", "16", "--ours-sweep", "8", "--warmup", "8", "--json"]
    assert main(argv) == 0
    captured = capsys.readouterr()
    res = json.loads(captured.out.strip().splitlines()[-1])
    assert res["bench"] == "index-peers"
    missing = missing_peers(["hnswlib", "faiss", "qdrant"])
    assert res["missing"].keys() == missing.keys()
    for name in missing:
        assert f"peer {name} missing:" in captured.err
    (run,) = res["runs"]
    assert run["workload"]["data"] == "scenes" and run["workload"]["turnovers"] == 2 and run["workload"]["cameras"] == 2
    systems = [r["system"] for r in run["results"]]
    assert systems == ["ours"] + [p for p in ("hnswlib", "faiss", "qdrant") if p not in missing]
    for r in run["results"]:
        assert r["inserts"] == 800 and r["insert_ms"]["n"] == 400 and 0.0 <= r["global_recall"] <= 1.0 and r["rss_mib_per_100k"] is not None
    ours = run["results"][0]
    assert ours["global_recall"] == 1.0 and ours["window_recall"] == 1.0 and ours["sweep"][0]["probes"] == 8
    assert len(run["equal_recall"]) == len(systems) - 1


def test_a_peer_that_is_not_importable_is_named_not_fatal(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    from videorag_ros.bench import index_peers as bench_index_peers

    monkeypatch.setitem(bench_index_peers._MODULES, "qdrant", "videorag_no_such_module")
    argv = ["--peers", "qdrant", "--sizes", "200", "--dim", "8", "--queries", "5", "--ours-sweep", "4", "--warmup", "4", "--json"]
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert "peer qdrant missing: not importable (No module named 'videorag_no_such_module'); pip install qdrant-edge-py" in captured.err
    res = json.loads(captured.out.strip().splitlines()[-1])
    assert list(res["missing"]) == ["qdrant"] and [r["system"] for r in res["runs"][0]["results"]] == ["ours"]
