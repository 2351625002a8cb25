"""``videorag run --video PATH --report out.json``: the edge pipeline on a video file, no ROS."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path


def main(argv: Sequence[str] | None = None) -> int:
    """Run the pipeline over a video and write the JSON report."""
    parser = argparse.ArgumentParser(prog="videorag run", description=__doc__)
    parser.add_argument("--video", type=Path, required=True, help="video file (anything OpenCV/FFmpeg decodes)")
    parser.add_argument("--report", type=Path, help="write the JSON report here")
    parser.add_argument("--params", type=Path, help="edge parameter file (default: the shipped config/edge.yaml)")
    parser.add_argument("--model", help="override the parameter file's model")
    parser.add_argument("--camera", help="camera id the frames belong to (default: the first configured camera)")
    parser.add_argument("--json", action="store_true", help="print the report summary as JSON (last line)")
    args = parser.parse_args(argv)

    from tqdm import tqdm

    from videorag_ros.cli.edge import default_params
    from videorag_ros.core.config import build_edge_config, load_params_file
    from videorag_ros.core.errors import VideoragError
    from videorag_ros.core.models.encoder import load_encoder
    from videorag_ros.core.offline import read_video, run_frames
    from videorag_ros.core.pipeline import EdgePipeline

    try:
        values = load_params_file(args.params or default_params())
        if args.model:
            values["model"] = args.model
        config = build_edge_config(values)
        camera = args.camera or config.cameras[0].id
        if camera not in {c.id for c in config.cameras}:
            print(f"error: camera '{camera}' is not in the parameter file's cameras {[c.id for c in config.cameras]}", file=sys.stderr)
            return 2
        encoder = load_encoder(config.model, backend=config.encoder_backend, threads=config.encoder_threads)
        pipeline = EdgePipeline(config, encoder)
        frames, count, fps = read_video(args.video)
        print(f"{args.video}: ~{count} frames at {fps:.1f} fps; encoder {encoder.describe()}", file=sys.stderr)
        with tqdm(total=count or None, unit="frame", file=sys.stderr, disable=None) as bar:
            report = run_frames(pipeline, frames, camera_id=camera, on_frame=lambda n: bar.update(1))
    except VideoragError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    admitted = sum(f["admitted"] for f in report["frames"])
    report["video"] = str(args.video)
    if args.report:
        args.report.write_text(json.dumps(report, indent=1))
    summary = {
        "video": str(args.video),
        "frames": len(report["frames"]),
        "admitted": admitted,
        "triggers": report["triggers"],
        "encoder": report["encoder"],
        "latency_ms": report["latency_ms"],
    }
    print(f"{len(report['frames'])} frames, {admitted} admitted by the gate, {len(report['triggers'])} trigger events")
    for ev in report["triggers"]:
        print(f"  {ev['stamp']:8.2f} s  {ev['state']:<5} {ev['name']}  score {ev['score']:.3f}")
    for stage, s in report["latency_ms"].items():
        print(f"  {stage:<13} p50 {s['p50']:7.2f} ms  p95 {s['p95']:7.2f} ms  p99 {s['p99']:7.2f} ms")
    if args.report:
        print(f"report: {args.report}")
    if args.json:
        print(json.dumps(summary))
    return 0
