"""``videorag bench soak``: N cameras at 30 Hz into one edge node for minutes — back-pressure.

Every frame is offered to the encoder (the gate is opened), so with several cameras the
encoder is slower than the frames arrive. What must hold: glass-to-action stays bounded
(each camera has one latest-wins slot, never a queue), every replaced frame is counted as
dropped for its camera, and the node's memory stays flat once its index is full. Reported
per time window: frames published / acted on, glass-to-action p50/p99 at a subscriber, and
the node's resident memory; plus drops per camera and peak RSS.
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

from videorag_ros.bench.common import add_node_options, percentiles, rss_mib, run_and_report
from videorag_ros.bench.pipeline import PROBE, _bench_params


def _soak_params(args: argparse.Namespace, out: Path) -> tuple[Path, list[str]]:
    from videorag_ros.cli.edge import default_params
    from videorag_ros.core.config import dump_params_file, load_params_file

    base = _bench_params(args.params or default_params(), args.model, out)
    flat = load_params_file(base)
    cams = [f"cam{i}" for i in range(args.cameras)]
    flat = {k: v for k, v in flat.items() if not k.startswith("front.")}
    flat["cameras"] = cams
    for c in cams:
        flat[f"{c}.topic"] = f"camera/{c}/image_raw"
        flat[f"{c}.timeout_s"] = 5.0
    flat["index.capacity"] = args.index_capacity
    return dump_params_file(flat, out / "soak_edge.yaml"), cams


def run_bench(args: argparse.Namespace) -> dict[str, Any]:
    """Run the soak; returns the result object printed as JSON."""
    from sensor_msgs.msg import Image

    from videorag_ros.ros.camera_sim_node import render_frames
    from videorag_ros.ros.conversions import ns_to_stamp
    from videorag_ros.ros.graph import EdgeGraph, stage_table, wait_until

    out = Path(args.out_dir or tempfile.mkdtemp(prefix="videorag-soak-"))
    out.mkdir(parents=True, exist_ok=True)
    params, cams = _soak_params(args, out)
    domain = args.domain if args.domain is not None else 150 + os.getpid() % 80
    frames = [f for f, _ in render_frames("person_steps_in", seconds=2.0, fps=args.fps, width=args.width, height=args.height, seed=0)]
    graph = EdgeGraph(params, domain_id=domain, log_path=out / "edge.log", estop_topic="/videorag_bench/estop", cmd_vel_topic="/videorag_bench/cmd_vel_safety")
    rss: list[tuple[float, float]] = []
    published = 0
    try:
        pubs = [graph.publisher(Image, f"camera/{c}/image_raw") for c in cams]
        print(f"starting the edge node with {len(cams)} cameras...", file=sys.stderr)
        graph.wait_ready(pubs)
        encoder = graph.monitor.pipeline_values().get("encoder", "?")
        seconds = args.minutes * 60
        print(f"{len(cams)} cameras x {args.fps:g} Hz {args.width}x{args.height} for {seconds:.0f} s (encoder {encoder})", file=sys.stderr)
        h, w = frames[0].shape[:2]
        t0 = time.monotonic()
        t_next, t_rss, i = t0, t0, 0
        while (now := time.monotonic()) < t0 + seconds:
            graph.spin(t_next - now)
            for k, (c, pub) in enumerate(zip(cams, pubs, strict=True)):
                msg = Image(height=h, width=w, encoding="rgb8", step=w * 3, data=frames[(i + 7 * k) % len(frames)].tobytes())
                msg.header.frame_id = c
                msg.header.stamp = ns_to_stamp(time.time_ns())
                pub.publish(msg)
                published += 1
            i += 1
            t_next += 1.0 / args.fps
            if time.monotonic() >= t_rss:
                rss.append((time.monotonic() - t0, rss_mib(graph.proc.pid)))
                t_rss += 1.0
                if len(rss) % 30 == 0:
                    print(f"  {len(rss)} s: {published} frames published, node RSS {rss[-1][1]:.0f} MiB", file=sys.stderr)
        n_diag = len(graph.monitor.log.diagnostics)
        wait_until(lambda: len(graph.monitor.log.diagnostics) >= n_diag + 3, 5.0, spin=graph.spin)
        stages = stage_table(graph.monitor.pipeline_values())
        per_cam = {c: graph.monitor.camera_values(c) for c in cams}
        probe = [t for t in graph.monitor.log.triggers if t.trigger == PROBE]
        wall_start_ns = time.time_ns() - int((time.monotonic() - t0) * 1e9)
    finally:
        graph.close()
    windows: list[dict[str, Any]] = []
    for lo in range(0, int(seconds), args.window_s):
        sel = [t.wire_latency_ms for t in probe if lo <= (t.stamp_ns - wall_start_ns) / 1e9 < lo + args.window_s]
        mem = [m for s, m in rss if lo <= s < lo + args.window_s]
        windows.append({"t_s": lo, "acted_on": len(sel), "glass_to_action_ms": percentiles(sel), "rss_mib": max(mem) if mem else float("nan")})
    rss_vals = [m for _, m in rss if np.isfinite(m)]
    settled: list[float] = [w["rss_mib"] for w in windows[len(windows) // 2 :]]
    return {
        "bench": "soak",
        "encoder": encoder,
        "cameras": len(cams),
        "fps": args.fps,
        "frame_size": [args.width, args.height],
        "seconds": seconds,
        "frames_published": published,
        "per_camera": {c: {k: int(v.get(k, 0)) for k in ("received", "embedded", "dropped")} for c, v in per_cam.items()},
        "glass_to_action_ms": percentiles([t.wire_latency_ms for t in probe]),
        "stages_ms": {k: stages[k] for k in ("queue", "embed", "glass_to_decision", "index_insert") if k in stages},
        "peak_rss_mib": max(rss_vals) if rss_vals else float("nan"),
        "rss_second_half_range_mib": (max(settled) - min(settled)) if settled else float("nan"),
        "windows": windows,
        "edge_log": str(out / "edge.log"),
    }


def _plot(r: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ws = r["windows"]
    t = [w["t_s"] / 60 for w in ws]
    fig, (a, b) = plt.subplots(2, 1, figsize=(10, 6), sharex=True)
    for key, colour in (("p50", "#3b7dd8"), ("p99", "#c0392b")):
        a.plot(t, [w["glass_to_action_ms"].get(key, np.nan) for w in ws], marker=".", color=colour, label=key)
    a.set(ylabel="glass-to-action (ms)", title=f"{r['cameras']} cameras x {r['fps']:g} Hz, {r['encoder']}")
    a.legend()
    a.grid(alpha=0.3)
    b.plot(t, [w["rss_mib"] for w in ws], marker=".", color="#444444")
    b.set(xlabel="minutes", ylabel="node RSS (MiB)")
    b.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _print_table(r: dict[str, Any]) -> None:
    print(f"encoder: {r['encoder']}   {r['cameras']} cameras x {r['fps']:g} Hz {r['frame_size'][0]}x{r['frame_size'][1]} for {r['seconds']:.0f} s; published {r['frames_published']}")
    print(f"{'window':>8}{'acted on':>10}{'p50 ms':>9}{'p99 ms':>9}{'RSS MiB':>9}")
    for w in r["windows"]:
        g = w["glass_to_action_ms"]
        print(f"{w['t_s']:>7}s{w['acted_on']:>10}{g.get('p50', float('nan')):>9.1f}{g.get('p99', float('nan')):>9.1f}{w['rss_mib']:>9.0f}")
    for c, v in r["per_camera"].items():
        print(f"  {c}: received {v['received']}  embedded {v['embedded']}  dropped (latest-wins, counted) {v['dropped']}")
    g = r["glass_to_action_ms"]
    if g:
        print(f"glass-to-action overall: p50 {g['p50']:.1f}  p95 {g['p95']:.1f}  p99 {g['p99']:.1f}  max {g['max']:.1f} ms (n={g['n']})")
    print(f"node RSS: peak {r['peak_rss_mib']:.0f} MiB; range over the second half {r['rss_second_half_range_mib']:.1f} MiB")


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, run, print the table and (with --json) one JSON line."""
    p = argparse.ArgumentParser(prog="videorag bench soak", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cameras", type=int, default=4)
    p.add_argument("--fps", type=float, default=30.0)
    p.add_argument("--minutes", type=float, default=10.0)
    p.add_argument("--width", type=int, default=640)
    p.add_argument("--height", type=int, default=480)
    p.add_argument("--window-s", type=int, default=30, help="report window (default 30 s)")
    p.add_argument("--index-capacity", type=int, default=20000, help="memory ring size (default 20000: fills within the run)")
    p.add_argument("--plot", type=Path, help="write p99-over-time and RSS-over-time PNG here")
    add_node_options(p)
    args = p.parse_args(argv)

    def plot(result: dict[str, Any]) -> None:
        if args.plot:
            _plot(result, args.plot)
            print(f"plot: {args.plot}")

    return run_and_report(args, run_bench, _print_table, after=plot)
