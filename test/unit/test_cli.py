"""CLI commands through main([...]): dispatch, `edge --check`, `run --video`."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import pytest
import yaml

from test.conftest import REPO
from videorag_ros.bench.rigs.patterns import pattern_frame
from videorag_ros.cli import main as cli


def test_dispatch(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--help"]) == 0
    assert "demo" in capsys.readouterr().out
    assert cli.main(["frobnicate"]) == 2
    assert "unknown command 'frobnicate'" in capsys.readouterr().err


def test_edge_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["edge", "--check", "--params", str(REPO / "config" / "edge.yaml")]) == 0
    assert "ok (1 cameras, 1 triggers)" in capsys.readouterr().out
    bad = tmp_path / "bad.yaml"
    bad.write_text("videorag_edge:\n  ros__parameters:\n    gate:\n      keyframe_interval: 1.0\n")
    assert cli.main(["edge", "--check", "--params", str(bad)]) == 1
    assert "did you mean 'gate.keyframe_interval_s'" in capsys.readouterr().err


def _video(path: Path, kinds: list[str], fps: float = 10.0) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (160, 120))
    for i, kind in enumerate(kinds):
        writer.write(cv2.cvtColor(pattern_frame(kind, seed=i), cv2.COLOR_RGB2BGR))
    writer.release()
    return path


def test_run_video_report(tmp_path: Path, tiny_model_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ref = tmp_path / "disk.png"
    cv2.imwrite(str(ref), cv2.cvtColor(pattern_frame("disk"), cv2.COLOR_RGB2BGR))
    params = tmp_path / "p.yaml"
    params.write_text(yaml.safe_dump({"videorag_edge": {"ros__parameters": {
        "model": str(tiny_model_dir), "triggers": ["disk"],
        "disk": {"reference_images": [str(ref)], "enter_threshold": 0.95, "exit_threshold": 0.9, "min_hold_s": 0.0},
        "gate": {"keyframe_interval_s": 0.25, "max_rate_hz": 0.0},
    }}}))
    video = _video(tmp_path / "clip.avi", ["stripes"] * 20 + ["disk"] * 20 + ["stripes"] * 20)
    report_path = tmp_path / "report.json"
    assert cli.main(["run", "--video", str(video), "--params", str(params), "--report", str(report_path), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    report = json.loads(report_path.read_text())
    assert summary["frames"] == len(report["frames"]) == 60
    stamps = [f["stamp"] for f in report["frames"]]
    assert stamps == sorted(stamps) and stamps[1] == pytest.approx(0.1, abs=0.02)  # the file's 10 fps timestamps
    assert {"seq", "stamp", "admitted", "reason"} <= set(report["frames"][0])
    assert report["frames"][0]["reason"] == "first"
    assert 0 < sum(f["admitted"] for f in report["frames"]) < 60  # the gate rejects static frames
    states = [(t["name"], t["state"]) for t in report["triggers"]]
    assert states == [("disk", "ENTER"), ("disk", "EXIT")]
    enter, exit_ = report["triggers"]
    assert 2.0 <= enter["stamp"] < 4.0 and 4.0 <= exit_["stamp"] < 6.0  # inside the disk segment / after it
    assert set(enter) == {"name", "camera", "state", "stamp", "stamp_ns", "score", "latency_ms"}
    assert {"gate", "embed", "processing"} <= set(report["latency_ms"])
    assert set(report["latency_ms"]["embed"]) == {"p50", "p95", "p99"}


def test_run_missing_video(tmp_path: Path, capsys: pytest.CaptureFixture[str], tiny_model_dir: Path) -> None:
    assert cli.main(["run", "--video", str(tmp_path / "none.mp4"), "--model", str(tiny_model_dir)]) == 1
    assert "does not exist" in capsys.readouterr().err
