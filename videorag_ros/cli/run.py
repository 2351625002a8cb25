"""``videorag run --video PATH | --bag PATH``: the edge pipeline on a recording, no ROS.

Writes a JSON report (``--report``), a snapshot of the memory built from the recording
(``--index``, loadable by ``videorag query`` and ``TemporalIndex.load``) and a timeline
plot of trigger scores, thresholds, events and gate decisions (``--plot``).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from videorag_ros.core.printable import printable

if TYPE_CHECKING:
    from videorag_ros.core.pipeline import EdgePipeline


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="videorag run", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    src = parser.add_mutually_exclusive_group(required=True)
    src.add_argument("--video", type=Path, help="video file (anything OpenCV/FFmpeg decodes)")
    src.add_argument("--bag", type=Path, help="rosbag2 directory (sqlite3 or mcap) or ROS 1 .bag file")
    parser.add_argument("--report", type=Path, help="write the JSON report here")
    parser.add_argument("--index", type=Path, metavar="PATH", help="write a snapshot of the memory built from the recording here")
    parser.add_argument("--plot", type=Path, metavar="PNG", help="write a timeline plot (trigger scores, thresholds, events, gate) here")
    parser.add_argument("--params", type=Path, help="edge parameter file (default: the shipped config/edge.yaml)")
    parser.add_argument("--model", help="override the parameter file's model")
    parser.add_argument("--camera", help="--video: camera id the frames belong to (default: the first configured camera)")
    parser.add_argument(
        "--topic", action="append", default=[], metavar="CAM=/TOPIC",
        help="--bag: read camera CAM from this bag topic (repeatable); a CAM not in the parameter file is added as a camera",
    )  # fmt: skip
    parser.add_argument("--json", action="store_true", help="print the run summary as JSON (last line)")
    return parser


def _check_outputs(args: argparse.Namespace) -> str | None:
    """Every output path must be writable as a regular file before the run starts, not after it."""
    from videorag_ros.core.safe_files import UnsafeFileError, check_output_path

    for flag, path in (("--report", args.report), ("--index", args.index), ("--plot", args.plot)):
        if path is None:
            continue
        try:
            check_output_path(path, what=flag)
        except UnsafeFileError as err:
            return str(err)
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """Run the pipeline over a video or a bag; write the report, memory snapshot and plot asked for."""
    args = _parser().parse_args(argv)
    if args.topic and args.bag is None:
        print("error: --topic applies to --bag only", file=sys.stderr)
        return 2
    if args.camera and args.video is None:
        print("error: --camera applies to --video only (use --topic CAM=/topic with --bag)", file=sys.stderr)
        return 2
    if problem := _check_outputs(args):
        print(f"error: {printable(problem)}", file=sys.stderr)
        return 2

    from videorag_ros.cli.edge import default_params
    from videorag_ros.core.config import build_edge_config, load_params_file
    from videorag_ros.core.encoder.encoder import load_encoder
    from videorag_ros.core.errors import VideoragError
    from videorag_ros.core.pipeline import EdgePipeline
    from videorag_ros.recordings.bag_reader import parse_topic_map

    try:
        topic_map = parse_topic_map(args.topic)
    except ValueError as err:
        print(f"error: {printable(err)}", file=sys.stderr)
        return 2
    source_path = args.video if args.video is not None else args.bag
    if not source_path.exists():  # before loading a model: the cheap mistake first
        kind = "video file" if args.video is not None else "bag"
        print(f"error: {kind} '{printable(source_path)}' does not exist", file=sys.stderr)
        return 1
    try:
        values = load_params_file(args.params or default_params())
        if args.model:
            values["model"] = args.model
        cameras = list(values.get("cameras", ["front"]))
        for cam in topic_map:
            if cam not in cameras:
                print(printable(f"note: camera '{cam}' is not in the parameter file; added for --topic {cam}={topic_map[cam]}"), file=sys.stderr)
                cameras.append(cam)
        values["cameras"] = cameras
        config = build_edge_config(values)
        camera = args.camera or config.cameras[0].id
        if camera not in {c.id for c in config.cameras}:
            print(f"error: camera '{camera}' is not in the parameter file's cameras {[c.id for c in config.cameras]}", file=sys.stderr)
            return 2
        encoder = load_encoder(config.model, backend=config.encoder_backend, threads=config.encoder_threads)
        pipeline = EdgePipeline(config, encoder)
        try:
            if args.video is not None:
                report = _run_video(pipeline, args.video, camera)
            else:
                report = _run_bag(pipeline, args.bag, topic_map)
            index_info = _save_index(pipeline, args.index) if args.index else None
        finally:
            pipeline.index.close()
    except VideoragError as err:
        print(f"error: {printable(err)}", file=sys.stderr)
        return 1
    source = args.video if args.video is not None else args.bag
    report["source"] = str(source)
    report["video" if args.video is not None else "bag"] = str(source)
    if args.report:
        args.report.write_text(json.dumps(report, indent=1))
    if args.plot:
        from videorag_ros.viz.timeline import plot_timeline

        plot_timeline(report, args.plot, title=f"{source.name}: {report['encoder']}")
    _print_summary(report, index_info, args)
    if args.json:
        summary = {
            "source": str(source),
            "video" if args.video is not None else "bag": str(source),
            "frames": len(report["frames"]),
            "admitted": sum(f["admitted"] for f in report["frames"]),
            "cameras": report["cameras"],
            "triggers": report["triggers"],
            "encoder": report["encoder"],
            "latency_ms": report["latency_ms"],
            "throughput": report["throughput"],
            "index": index_info,
            "plot": str(args.plot) if args.plot else None,
            "report": str(args.report) if args.report else None,
        }
        print(json.dumps(summary))
    return 0


def _run_video(pipeline: EdgePipeline, path: Path, camera: str) -> dict[str, Any]:
    from tqdm import tqdm

    from videorag_ros.recordings.offline import read_video, run_frames, with_camera

    frames, count, fps = read_video(path, limits=pipeline.config.limits)
    print(printable(f"{path}: ~{count} frames at {fps:.1f} fps; camera '{camera}'; encoder {pipeline.encoder.describe()}"), file=sys.stderr)
    with tqdm(total=count or None, unit="frame", file=sys.stderr, disable=None) as bar:
        return run_frames(pipeline, with_camera(frames, camera), on_frame=lambda n: bar.update(1))


def _run_bag(pipeline: EdgePipeline, path: Path, topic_map: dict[str, str]) -> dict[str, Any]:
    from tqdm import tqdm

    from videorag_ros.recordings.bag_reader import BagFrames
    from videorag_ros.recordings.offline import run_frames

    cameras = {c.id: c.topic for c in pipeline.config.cameras}
    with BagFrames(path, cameras, topic_map=topic_map, limits=pipeline.config.limits) as bag:
        mapping = ", ".join(f"{cam} <- {topic}" for cam, topic in bag.camera_topics.items())
        print(printable(f"{path}: {bag.message_count} image messages ({mapping}); encoder {pipeline.encoder.describe()}"), file=sys.stderr)
        for cam, topic in bag.missing.items():
            print(printable(f"note: camera '{cam}': topic {topic} is not in the bag; it gets no frames (map it with --topic {cam}=/topic)"), file=sys.stderr)
        with tqdm(total=bag.message_count or None, unit="msg", file=sys.stderr, disable=None) as bar:
            report = run_frames(pipeline, bag.frames(on_message=lambda: bar.update(1)), rejects=bag.rejects)
        for cam, n in bag.log_time_stamped_frames().items():
            print(printable(f"note: camera '{cam}': {n} frames had header.stamp 0 and were stamped with the bag's log time"), file=sys.stderr)
        seen: set[tuple[str, str]] = set()
        for r in bag.rejects:  # one example per camera and reason
            if (r.camera_id, r.reason) not in seen:
                seen.add((r.camera_id, r.reason))
                n = bag.rejected[(r.camera_id, r.reason)]
                print(printable(f"warning: camera '{r.camera_id}': {n} message(s) rejected ({r.reason}), e.g. {r.error}"), file=sys.stderr)
    return report


def _save_index(pipeline: EdgePipeline, path: Path) -> dict[str, Any]:
    index = pipeline.index
    nbytes = index.save(path)
    entries = len(index)
    evicted = index.evicted_ttl + index.evicted_capacity
    if evicted:
        print(
            f"note: the memory forgot {evicted} frames while reading (ttl {index.evicted_ttl}, capacity {index.evicted_capacity}); "
            "raise index.ttl_s (0 = never) / index.capacity in --params to keep the whole recording",
            file=sys.stderr,
        )
    return {"path": str(path), "entries": entries, "bytes": nbytes, "evicted": evicted}


def _print_summary(report: dict[str, Any], index_info: dict[str, Any] | None, args: argparse.Namespace) -> None:
    tp = report["throughput"]
    print(
        f"{tp['frames']} frames, {tp['admitted']} admitted by the gate ({tp['admitted_share']:.0%}), {tp['embedded']} embedded, "
        f"{len(report['triggers'])} trigger events"
    )
    print(f"throughput: {tp['frames_per_s']:.1f} frames/s, {tp['embedded_per_s']:.1f} embedded/s, {tp['wall_s']:.1f} s wall")
    if len(report["cameras"]) > 1 or any(c["rejected_input"] for c in report["cameras"].values()):
        for cam, c in report["cameras"].items():
            rej = ", ".join(f"{reason} {n}" for reason, n in sorted(c["rejected_input"].items())) or "none"
            print(printable(f"  camera {cam:<10} {c['frames']:6d} frames  {c['admitted']:6d} admitted  rejected input: {rej}"))
    t0 = report["frames"][0]["stamp"] if args.bag is not None and report["frames"] else 0.0  # bag stamps are wall-clock
    for ev in report["triggers"]:
        print(printable(f"  {ev['stamp'] - t0:8.2f} s  {ev['state']:<5} {ev['name']}  camera {ev['camera']}  score {ev['score']:.3f}"))
    for stage, s in report["latency_ms"].items():
        print(f"  {stage:<13} p50 {s['p50']:7.2f} ms  p95 {s['p95']:7.2f} ms  p99 {s['p99']:7.2f} ms")
    if index_info:
        print(f"memory: {index_info['entries']} entries, {index_info['bytes']} bytes -> {index_info['path']}")
    if args.plot:
        print(f"plot: {args.plot}")
    if args.report:
        print(f"report: {args.report}")
