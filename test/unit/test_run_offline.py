"""`videorag run --video` with --index / --plot on real footage, the multi-camera runner, the timeline."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml

from videorag_ros.bench.rigs.patterns import pattern_frame
from videorag_ros.cli import main as cli
from videorag_ros.core.config import build_edge_config
from videorag_ros.core.encoder.encoder import Encoder, load_encoder
from videorag_ros.core.errors import VideoragError
from videorag_ros.core.index import TemporalIndex, read_snapshot
from videorag_ros.core.pipeline import EdgePipeline
from videorag_ros.recordings.bag_reader import REJECT_CONVERT, InputReject
from videorag_ros.recordings.offline import read_video, run_frames, with_camera
from videorag_ros.viz.timeline import plot_timeline


def _decoded_frames_and_duration_s(path: Path) -> tuple[int, float]:
    cap = cv2.VideoCapture(str(path))
    fps, n = cap.get(cv2.CAP_PROP_FPS), 0
    while cap.grab():
        n += 1
    cap.release()
    return n, n / fps


def _png_ok(path: Path) -> None:
    img = cv2.imread(str(path))
    assert img is not None, f"{path} is not a readable image"
    assert img.shape[0] > 200 and img.shape[1] > 400
    assert img.std() > 0  # not a blank canvas


def test_run_video_footage_index_and_plot(footage: Callable[[str], Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The whole of vtest.avi with the shipped configuration and model."""
    clip = footage("vtest.avi")
    index_path, plot_path, report_path = tmp_path / "vtest.vrag", tmp_path / "vtest.png", tmp_path / "report.json"
    argv = ["run", "--video", str(clip), "--index", str(index_path), "--plot", str(plot_path), "--report", str(report_path), "--json"]
    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    summary = json.loads(out.strip().splitlines()[-1])
    report = json.loads(report_path.read_text())
    n_frames, duration_s = _decoded_frames_and_duration_s(clip)
    assert summary["frames"] == len(report["frames"]) == n_frames
    assert {f["camera"] for f in report["frames"]} == {"front"}
    tp = summary["throughput"]
    embedded = summary["cameras"]["front"]["embedded"]
    assert tp["frames"] == n_frames and tp["embedded"] == embedded
    assert 0 < embedded == summary["admitted"] < n_frames  # the gate keeps some frames from the encoder
    assert tp["frames_per_s"] == pytest.approx(n_frames / tp["wall_s"])
    assert tp["embedded_per_s"] == pytest.approx(embedded / tp["wall_s"])
    assert tp["admitted_share"] == pytest.approx(summary["admitted"] / n_frames)
    assert "frames/s" in out and "embedded/s" in out
    # the memory snapshot: one entry per embedded frame, stamped inside the clip
    assert summary["index"]["entries"] == embedded and summary["index"]["bytes"] == index_path.stat().st_size
    snap = read_snapshot(index_path)
    assert len(snap) == embedded
    assert snap.camera_names == ["front"]
    assert ((snap.stamps >= 0) & (snap.stamps <= duration_s * 1e9)).all()
    encoder = load_encoder("videorag-tiny", backend="cpu")
    with TemporalIndex(dim=encoder.dim, capacity=embedded, ttl_s=0.0) as index:
        assert index.load(index_path) == embedded
        hits = index.search(snap.vectors[len(snap) // 2], k=1)
        assert hits[0].payload.stamp_ns == snap.stamps[len(snap) // 2]
    _png_ok(plot_path)


def _disk_params(tmp_path: Path, model_dir: Path) -> Path:
    ref = tmp_path / "disk.png"
    cv2.imwrite(str(ref), cv2.cvtColor(pattern_frame("disk"), cv2.COLOR_RGB2BGR))
    params = tmp_path / "p.yaml"
    params.write_text(yaml.safe_dump({"videorag_edge": {"ros__parameters": {
        "model": str(model_dir), "triggers": ["disk"],
        "disk": {"reference_images": [str(ref)], "enter_threshold": 0.95, "exit_threshold": 0.9, "min_hold_s": 0.0},
        "gate": {"keyframe_interval_s": 0.25, "max_rate_hz": 0.0},
    }}}))  # fmt: skip
    return params


def test_timeline_of_a_run_with_trigger_events(tmp_path: Path, tiny_model_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    video = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (160, 120))
    for i, kind in enumerate(["stripes"] * 20 + ["disk"] * 20 + ["stripes"] * 20 + ["disk"] * 10):
        writer.write(cv2.cvtColor(pattern_frame(kind, seed=i), cv2.COLOR_RGB2BGR))
    writer.release()
    plot_path, report_path = tmp_path / "timeline.png", tmp_path / "report.json"
    argv = ["run", "--video", str(video), "--params", str(_disk_params(tmp_path, tiny_model_dir)), "--plot", str(plot_path), "--report", str(report_path)]
    assert cli.main(argv) == 0
    report = json.loads(report_path.read_text())
    assert [t["state"] for t in report["triggers"]] == ["ENTER", "EXIT", "ENTER"]  # the last span is still open at the end
    assert report["trigger_settings"]["disk"]["enter_threshold"] == 0.95
    assert f"plot: {plot_path}" in capsys.readouterr().out
    _png_ok(plot_path)
    # a saved report plots again without the model
    again = plot_timeline(json.loads(report_path.read_text()), tmp_path / "again.png", title="from the JSON report")
    _png_ok(again)
    with pytest.raises(ValueError, match="trigger_settings"):
        plot_timeline({"frames": [], "triggers": []}, tmp_path / "bad.png")


@pytest.fixture
def two_camera_pipeline(tiny_encoder: Encoder) -> EdgePipeline:
    config = build_edge_config({
        "model": str(tiny_encoder.manifest.directory), "cameras": ["left", "right"],
        "gate.keyframe_interval_s": 10.0, "gate.max_rate_hz": 0.0,
    })  # fmt: skip
    return EdgePipeline(config, tiny_encoder)


def test_run_frames_several_cameras(two_camera_pipeline: EdgePipeline) -> None:
    pipeline = two_camera_pipeline
    frames = []
    for i in range(12):
        frames.append(("left", pattern_frame("disk" if i % 4 < 2 else "stripes", seed=i), 1_000_000_000 + i * 100_000_000))
        if i % 2 == 0:
            frames.append(("right", pattern_frame("stripes", seed=100 + i), 1_000_000_000 + i * 100_000_000 + 1))
    rejects: list[InputReject] = []

    def source():
        for n, item in enumerate(frames):
            if n == 5:  # a message the source could not convert, between two frames
                rejects.append(InputReject("right", item[2] - 1, REJECT_CONVERT, "bad bytes"))
            yield item

    done = []
    report = run_frames(pipeline, source(), on_frame=done.append, rejects=rejects)
    assert done == list(range(1, len(frames) + 1))
    for cam in ("left", "right"):
        mine = [f for f in report["frames"] if f["camera"] == cam]
        sent = [s for c, _, s in frames if c == cam]
        assert [f["stamp_ns"] for f in mine] == sent
        c = report["cameras"][cam]
        assert c["frames"] == len(sent) and c["embedded"] == c["admitted"] == sum(f["admitted"] for f in mine)
    assert [f["seq"] for f in report["frames"] if f["camera"] == "left"] == list(range(12))
    right_seqs = [f["seq"] for f in report["frames"] if f["camera"] == "right"]
    assert right_seqs == [0, 1, *range(3, 7)]  # the rejected message took seq 2, as in the edge node
    assert report["cameras"]["right"]["rejected_input"] == {REJECT_CONVERT: 1}
    assert report["input_errors"] == [{"camera": "right", "stamp": rejects[0].stamp_ns / 1e9, "stamp_ns": rejects[0].stamp_ns, "reason": REJECT_CONVERT, "error": "bad bytes"}]
    snap = pipeline.index.snapshot_data()
    assert len(snap) == sum(c["embedded"] for c in report["cameras"].values())
    assert set(snap.camera_names) == {"left", "right"}
    pipeline.index.close()


def test_run_frames_unknown_camera_and_single_camera_pairs(two_camera_pipeline: EdgePipeline, tmp_path: Path) -> None:
    with pytest.raises(VideoragError, match="camera 'middle'"):
        run_frames(two_camera_pipeline, iter([("middle", pattern_frame("disk"), 1)]))
    # (rgb, stamp_ns) pairs attributed with camera_id, as read_video yields them
    video = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (160, 120))
    for i in range(6):
        writer.write(cv2.cvtColor(pattern_frame("stripes", seed=i), cv2.COLOR_RGB2BGR))
    writer.release()
    frames, _, _ = read_video(video)
    pairs = list(frames)
    a = run_frames(two_camera_pipeline, iter(pairs), camera_id="right")
    assert {f["camera"] for f in a["frames"]} == {"right"} and len(a["frames"]) == len(pairs)
    assert [c for c, _, _ in with_camera(iter(pairs), "left")] == ["left"] * len(pairs)
    assert np.array_equal(next(with_camera(iter(pairs), "left"))[1], pairs[0][0])
    two_camera_pipeline.index.close()


def test_run_refuses_missing_output_directories_before_running(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for flag in ("--index", "--plot", "--report"):
        assert cli.main(["run", "--video", str(tmp_path / "none.mp4"), flag, str(tmp_path / "no" / "dir" / "x")]) == 2
        assert f"{flag} " in (err := capsys.readouterr().err) and "does not exist" in err
