"""`videorag bench model` on the test model: backends and thread counts side by side, OpenVINO where installed."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from videorag_ros.bench import model as bench_model


def test_rows_per_backend_and_thread_count(tiny_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = bench_model.main(["--models", str(tiny_model_dir), "--runs", "3", "--threads", "2", "1", "--cache-dir", str(tmp_path), "--json"])
    out = capsys.readouterr().out
    assert code == 0, out
    result = json.loads(out.strip().splitlines()[-1])
    assert result["threads"] == [1, 2]
    ort = [(r["tower"], r["precision"], r["threads"]) for r in result["rows"] if r["backend"] == "ORT CPU EP"]
    assert ort == [("image", "fp32", 1), ("image", "fp32", 2), ("text", "fp32", 1), ("text", "fp32", 2)]  # the test model has no int8 files
    reference, other = [r for r in result["rows"] if r["backend"] == "ORT CPU EP" and r["tower"] == "image"]
    assert reference["cosine_vs_fp32"] is None and other["cosine_vs_fp32"] == pytest.approx(1.0, abs=1e-5)
    assert all(r["p50_ms"] > 0 and r["p50_ms"] <= r["p95_ms"] <= r["p99_ms"] for r in result["rows"])
    ov = [r for r in result["rows"] if r["backend"] == "OpenVINO CPU"]
    if importlib.util.find_spec("openvino") is None:
        assert not ov and "OpenVINO: not installed" in result["openvino"]  # reported, never fatal
    else:
        # fp32 with OpenVINO's default precision (bf16 where the CPU has it) and forced to f32, per thread count.
        assert len(ov) == 2 * 2 * 2 and {r["threads"] for r in ov} == {1, 2}
        assert all(r["cosine_vs_fp32"] > 0.99 for r in ov)
        assert any(r["note"].endswith("precision hint fp32") and r["precision"] == "fp32" for r in ov)
    assert "thr" in out.splitlines()[1]


def test_openvino_can_be_left_out_and_bad_counts_are_refused(tiny_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert bench_model.main(["--models", str(tiny_model_dir), "--runs", "2", "--threads", "1", "--backends", "ort", "--cache-dir", str(tmp_path), "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert {r["backend"] for r in result["rows"]} == {"ORT CPU EP"} and "not requested" in result["openvino"]
    assert bench_model.main(["--models", str(tiny_model_dir), "--threads", "0"]) == 2
    assert "--threads between 1 and 256" in capsys.readouterr().err
