"""``videorag bench query``: QueryMoments round trips through a running edge node's service.

The node reloads a memory of ``--minutes`` of video at ``--fps`` (real frames of a video
file, by default vtest.avi from Debian's opencv-doc, embedded with the node's model and laid
out back and forth over the last ``--minutes`` of wall-clock time), then a client in this
process asks a mix of queries (global, last-60-s window, camera filter) one after another.
With ``--camera-fps`` a simulated camera keeps streaming into the node meanwhile, so the
trigger path's latency under query load is measured too.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from videorag_ros.bench.common import add_node_options, percentiles, run_and_report

VTEST = Path("/usr/share/doc/opencv-doc/examples/data/vtest.avi")
QUERIES = (
    "a person walking",
    "a person standing in the aisle",
    "a pallet blocking the aisle",
    "boxes on the floor",
    "smoke filling the corridor",
    "a forklift",
    "an empty corridor",
    "two people crossing",
)


def build_memory(video: Path, model: str, minutes: float, fps: float, out: Path) -> tuple[Path, int, int]:
    """Embed every frame of ``video`` once and lay the clip out back and forth over the last ``minutes``.

    Returns:
        (snapshot path, entries, newest stamp in ns).
    """
    from tqdm import tqdm

    from videorag_ros.core.encoder.encoder import load_encoder
    from videorag_ros.core.index import Payload, TemporalIndex
    from videorag_ros.core.pipeline import thumbnail_jpeg
    from videorag_ros.recordings.offline import read_video

    encoder = load_encoder(model, backend="cpu")
    frames, count, _ = read_video(video)
    vectors, thumbs = [], []
    for rgb, _stamp in tqdm(frames, total=count or None, desc=f"embedding {video.name}", unit="frame", file=sys.stderr, disable=None):
        vectors.append(encoder.encode_images([rgb]).vectors[0])
        thumbs.append(thumbnail_jpeg(rgb))
    n = int(minutes * 60 * fps)
    cycle = [*range(len(vectors)), *range(len(vectors) - 2, 0, -1)]  # ping-pong: no jump at the loop point
    newest = time.time_ns()
    first = newest - int((n - 1) * 1e9 / fps)
    order = [cycle[i % len(cycle)] for i in range(n)]
    payloads = [Payload("front", first + int(i * 1e9 / fps), i, "motion", thumbs[j]) for i, j in enumerate(order)]
    with TemporalIndex(dim=encoder.dim, capacity=n, ttl_s=0.0, thumbnail_budget_bytes=8 << 20, recall_floor=0.0) as index:
        index.add_many(np.stack([vectors[j] for j in order]), payloads)
        path = out / "memory.vrag"
        index.save(path)
    return path, n, newest


def _params(base: Path, model: str | None, snapshot: Path, capacity: int, out: Path) -> Path:
    from videorag_ros.core.config import dump_params_file, load_params_file, override_model

    flat = load_params_file(base)
    override_model(flat, model)
    flat.update({"security.allowed_dirs": [*flat.get("security.allowed_dirs", []), str(snapshot.parent)], "index.snapshot_path": str(snapshot), "index.load_on_start": True, "index.capacity": max(capacity, int(flat.get("index.capacity", 0)))})
    # Never drive a real robot's stop topics from a benchmark.
    flat.update({"estop_topic": "/videorag_bench/estop", "cmd_vel_topic": "/videorag_bench/cmd_vel_safety", "diagnostics_period_s": 0.5})
    return dump_params_file(flat, out / "bench_query_edge.yaml")


def _requests(newest_ns: int, n: int) -> list[tuple[str, Any]]:
    from videorag.srv import QueryMoments
    from videorag_ros.ros.conversions import ns_to_stamp

    out = []
    for i in range(n):
        req = QueryMoments.Request(text=QUERIES[i % len(QUERIES)], k=5, context_s=2.0)
        kind = ("global", "window_60s", "camera")[i % 3]
        if kind == "window_60s":
            req.since = ns_to_stamp(newest_ns - 60_000_000_000)
        elif kind == "camera":
            req.camera_ids = ["front"]
        out.append((kind, req))
    return out


def run_bench(args: argparse.Namespace) -> dict[str, Any]:
    """Build the memory, start the node, ask the queries; returns the result object."""
    from sensor_msgs.msg import Image

    from videorag.srv import QueryMoments
    from videorag_ros.cli.edge import default_params
    from videorag_ros.core.config import build_edge_config, load_params_file
    from videorag_ros.ros.camera_sim_node import render_frames
    from videorag_ros.ros.conversions import ns_to_stamp
    from videorag_ros.ros.graph import EdgeGraph, stage_table, wait_until

    if not args.video.is_file():
        msg = f"{args.video} not found: install Debian's opencv-doc (apt-get install opencv-doc) or pass --video"
        raise RuntimeError(msg)
    out = Path(args.out_dir or tempfile.mkdtemp(prefix="videorag-bench-query-"))
    out.mkdir(parents=True, exist_ok=True)
    base = args.params or default_params()
    model = args.model or build_edge_config(load_params_file(base)).model
    snapshot, entries, _ = build_memory(args.video, model, args.minutes, args.fps, out)
    params = _params(base, args.model, snapshot, entries, out)
    domain = args.domain if args.domain is not None else 150 + os.getpid() % 80
    graph = EdgeGraph(params, domain_id=domain, log_path=out / "edge.log", estop_topic="/videorag_bench/estop", cmd_vel_topic="/videorag_bench/cmd_vel_safety")
    try:
        cam = graph.publisher(Image, "camera/front/image_raw")
        client: Any = graph.node.create_client(QueryMoments, "/videorag_edge/query_moments")
        print(f"starting the edge node with {entries} remembered frames...", file=sys.stderr)
        graph.wait_ready([cam])
        if not wait_until(lambda: "index.size" in graph.monitor.pipeline_values() and client.service_is_ready(), 300, spin=graph.spin):
            msg = f"the node did not load its memory and offer its query service; log:\n{(out / 'edge.log').read_text()[-3000:]}"
            raise RuntimeError(msg)
        frames = [f for f, _ in render_frames("person_steps_in", seconds=4.0, fps=30.0, width=640, height=480, seed=0)] if args.camera_fps > 0 else []
        requests = _requests(time.time_ns(), args.warmup + args.queries)
        rtt: dict[str, list[float]] = {"all": [], "global": [], "window_60s": [], "camera": []}
        failures: list[str] = []
        period = 1.0 / args.camera_fps if args.camera_fps > 0 else 0.0
        t_frame, i_frame, i_req, pending, t_sent, kind = time.monotonic(), 0, 0, None, 0.0, ""
        while i_req < len(requests) or pending is not None:
            if frames and time.monotonic() >= t_frame:
                rgb = frames[i_frame % len(frames)]
                msg = Image(height=rgb.shape[0], width=rgb.shape[1], encoding="rgb8", step=rgb.shape[1] * 3, data=rgb.tobytes())
                msg.header.stamp = ns_to_stamp(time.time_ns())
                cam.publish(msg)
                i_frame, t_frame = i_frame + 1, t_frame + period
            if pending is None and i_req < len(requests):
                kind, req = requests[i_req]
                t_sent, pending = time.perf_counter(), client.call_async(req)
            graph.executor.spin_once(timeout_sec=0.0005)
            if pending is not None and pending.done():
                ms = (time.perf_counter() - t_sent) * 1e3
                resp = pending.result()
                if i_req >= args.warmup:
                    if resp is None or not resp.success:
                        failures.append(resp.message if resp is not None else "no response")
                    rtt["all"].append(ms)
                    rtt[kind].append(ms)
                pending, i_req = None, i_req + 1
        graph.spin(1.0)  # one more diagnostics period
        values = graph.monitor.pipeline_values()
        stages = stage_table(values)
        camera = graph.monitor.camera_values("front")
    finally:
        graph.close()
    return {
        "encoder": values.get("encoder", "?"),
        "memory": {"entries": entries, "minutes": args.minutes, "fps": args.fps, "video": str(args.video), "snapshot_bytes": snapshot.stat().st_size},
        "queries": args.queries,
        "failures": failures,
        "round_trip_ms": {k: percentiles(v) for k, v in rtt.items()},
        "server_ms": {k: stages[k] for k in ("query_encode", "query_search", "query_total") if k in stages},
        "camera_fps": args.camera_fps,
        "frames_published": i_frame,
        "frames_embedded": int(camera.get("embedded", 0)),
        "frames_dropped": int(camera.get("dropped", 0)),
        "trigger_path_ms": {k: stages[k] for k in ("glass_to_decision", "embed") if k in stages},
        "edge_log": str(out / "edge.log"),
    }


def _print_table(r: dict[str, Any]) -> None:
    m = r["memory"]
    print(f"encoder: {r['encoder']}   memory: {m['entries']} frames ({m['minutes']:g} min at {m['fps']:g} Hz of {Path(m['video']).name})")
    if r["camera_fps"]:
        print(f"camera streaming meanwhile at {r['camera_fps']:g} Hz: published {r['frames_published']}, embedded {r['frames_embedded']}, dropped (latest-wins) {r['frames_dropped']}")
    print(f"{'ms':<34}{'p50':>8}{'p95':>8}{'p99':>8}{'max':>8}{'n':>6}")
    rows = [(f"round trip, {k}", v) for k, v in r["round_trip_ms"].items()]
    rows += [(f"in the node, {k}", v) for k, v in r["server_ms"].items()]
    rows += [(f"trigger path, {k}", v) for k, v in r["trigger_path_ms"].items()]
    for name, s in rows:
        if s:
            print(f"{name:<34}{s['p50']:>8.2f}{s['p95']:>8.2f}{s['p99']:>8.2f}{s.get('max', float('nan')):>8.2f}{int(s['n']):>6}")
    if r["failures"]:
        print(f"{len(r['failures'])} queries failed, first: {r['failures'][0]}")


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, run, print the table and (with --json) one JSON line."""
    p = argparse.ArgumentParser(prog="videorag bench query", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--minutes", type=float, default=10.0, help="memory length (default 10)")
    p.add_argument("--fps", type=float, default=30.0, help="remembered frames per second (default 30: every frame admitted)")
    p.add_argument("--queries", type=int, default=300)
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--camera-fps", type=float, default=0.0, help="also stream 640x480 frames into the node at this rate")
    p.add_argument("--video", type=Path, default=VTEST, help="frames for the memory (default: opencv-doc's vtest.avi)")
    add_node_options(p, out_dir_help="where the memory, logs and parameter file go")
    return run_and_report(p.parse_args(argv), run_bench, _print_table)
