"""``videorag bench fleet``: what the fleet exporter and stores cost, measured against a baseline in the same run.

Three parts (``--only`` picks some):

- ``pipeline``: glass-to-action and glass-to-decision through real DDS (the ``bench pipeline`` rig:
  every frame admitted and embedded, 640x480 at 30 Hz) with the exporter off, on with its store in a
  child process (the default), and on with the store on a thread of the node, in one run, in turn
  (``--rounds`` alternations). With ``--fleet-interval 0`` (default) every embedded frame is
  exported (30 points/s: the worst case; the default parameters export about 1 a second per camera).
- ``throughput``: points/s from ``offer`` to stored, through the exporter and its store worker, into
  the embedded Qdrant Edge store and qdrant-client's local mode (512-d, 5 KB thumbnails).
- ``query``: embedded query latency (p50/p95/p99 over ``--queries`` random unit vectors, k 40, with
  and without a robot + time filter) at each of ``--sizes`` points, for Qdrant Edge after its index
  build and qdrant-client's local mode (``--local-max`` caps the local mode's size: it keeps every
  point as a Python object and pickles it to sqlite).

Results are reported, never asserted.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from videorag_ros.bench.common import percentiles, run_and_report

DIM = 512
T0_NS = 1_750_000_000_000_000_000


def _points(n: int, offset: int, rng: np.random.Generator, thumb: bytes | None, robots: int = 10) -> list[Any]:
    from videorag_ros.fleet.point import FleetPoint

    v = rng.normal(size=(n, DIM)).astype(np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    return [
        FleetPoint(v[i], f"robot{(offset + i) % robots}", f"cam{(offset + i) % 5}", T0_NS + (offset + i) * 20_000_000, offset + i, "keyframe", "motion", "bench", thumbnail=thumb)
        for i in range(n)
    ]


def _thumbnail() -> bytes:
    import cv2

    img = cv2.resize(np.random.default_rng(0).integers(0, 255, (12, 16, 3), dtype=np.uint8), (160, 120))
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 75])
    assert ok
    return bytes(buf.tobytes())


# --- throughput ------------------------------------------------------------------------------
def bench_throughput(args: argparse.Namespace, out: Path) -> dict[str, Any]:
    """Points/s through the exporter (store worker in a child process) into each embedded engine."""
    from videorag_ros.core.config import FleetConfig
    from videorag_ros.fleet.exporter import FleetExporter

    rng = np.random.default_rng(1)
    thumb = _thumbnail()
    res: dict[str, Any] = {"points": args.points, "thumbnail_bytes": len(thumb)}
    for engine in ("edge", "local"):
        cfg = FleetConfig(enabled=True, robot_id="bench", path=str(out / f"tp-{engine}"), embedded_engine=engine, batch_size=args.batch, flush_interval_s=0.05,
                          outbox_capacity=args.points + 1, ttl_s=0.0, ttl_sweep_period_s=86400.0)  # fmt: skip
        pts = _points(args.points, 0, rng, thumb)
        ex = FleetExporter(cfg, dim=DIM).start()
        t0 = time.perf_counter()
        offer_us = []
        for p in pts:
            t = time.perf_counter()
            ex.offer(p)
            offer_us.append((time.perf_counter() - t) * 1e6)
        while ex.stats().sent + ex.stats().rejected < len(pts) and time.perf_counter() - t0 < 600 and ex.stats().state != "failed":
            time.sleep(0.02)
        wall = time.perf_counter() - t0
        s = ex.stats()
        ex.close()
        res[engine] = {"sent": s.sent, "dropped": s.dropped, "wall_s": wall, "points_per_s": s.sent / wall if wall else 0.0, "batch_ms": s.send_ms,
                       "offer_us": percentiles(offer_us), "state": s.state}  # fmt: skip
        print(f"  throughput {engine}: {s.sent} points in {wall:.1f} s", file=sys.stderr)
    return res


# --- query -----------------------------------------------------------------------------------
def _fill(store: Any, n: int, rng: np.random.Generator, have: int) -> None:
    step = 2000
    for off in range(have, n, step):
        store.upsert(_points(min(step, n - off), off, rng, None))


def _latency(store: Any, rng: np.random.Generator, queries: int, n: int) -> dict[str, Any]:
    from videorag_ros.fleet.store import FleetFilter

    qs = rng.normal(size=(queries, DIM)).astype(np.float32)
    qs /= np.linalg.norm(qs, axis=1, keepdims=True)
    out = {}
    span = n * 20_000_000
    filters = {"global": FleetFilter(), "robot_and_last_10pct": FleetFilter(robots=("robot3",), since_ns=T0_NS + int(span * 0.9))}
    for name, flt in filters.items():
        store.search(qs[0], flt, 40)  # warm
        ms = []
        for q in qs:
            t = time.perf_counter()
            store.search(q, flt, 40)
            ms.append((time.perf_counter() - t) * 1e3)
        out[name] = percentiles(ms)
    return out


def bench_query(args: argparse.Namespace, out: Path) -> dict[str, Any]:
    """Query latency per size and engine (sizes grow in one store per engine: 100k, then 1M).

    Sizes are the outer loop, so both engines are measured at 100k before the long 1M build, and each
    size's percentiles are printed to stderr as soon as they are known (a run cut short keeps them).
    """
    from videorag_ros.core.config import FleetConfig
    from videorag_ros.fleet.store import FleetStore, open_store

    res: dict[str, Any] = {}
    stores: dict[str, FleetStore] = {}
    rngs = {engine: np.random.default_rng(2) for engine in ("edge", "local")}
    have = dict.fromkeys(rngs, 0)
    try:
        for n in args.sizes:
            for engine, rng in rngs.items():
                if engine == "local" and n > args.local_max:
                    res.setdefault(engine, {})[str(n)] = {"skipped": f"over --local-max {args.local_max}"}
                    continue
                if engine not in stores:
                    stores[engine] = open_store(FleetConfig(enabled=True, robot_id="bench", path=str(out / f"q-{engine}"), embedded_engine=engine), dim=DIM)
                store = stores[engine]
                t = time.perf_counter()
                _fill(store, n, rng, have[engine])
                fill_s = time.perf_counter() - t
                have[engine] = n
                t = time.perf_counter()
                store.optimize()
                build_s = time.perf_counter() - t
                lat = _latency(store, rng, args.queries, n)
                disk = sum(f.stat().st_size for f in (out / f"q-{engine}").rglob("*") if f.is_file())
                res.setdefault(engine, {})[str(n)] = {"insert_s": fill_s, "index_build_s": build_s, "latency_ms": lat, "disk_bytes": disk}
                g, f = lat["global"], lat["robot_and_last_10pct"]
                print(f"  query {engine} {n}: insert {fill_s:.0f} s, build {build_s:.0f} s, disk {disk / 1e6:.0f} MB; global p50/p95/p99 {g['p50']:.2f}/{g['p95']:.2f}/{g['p99']:.2f} ms;"
                      f" robot+time filter {f['p50']:.2f}/{f['p95']:.2f}/{f['p99']:.2f} ms", file=sys.stderr, flush=True)  # fmt: skip
    finally:
        for store in stores.values():
            store.close()
    return res


# --- frame path --------------------------------------------------------------------------------
def bench_pipeline(args: argparse.Namespace, out: Path) -> dict[str, Any]:
    """The ``bench pipeline`` rig with the exporter off / on (process) / on (thread), alternated."""
    from videorag_ros.bench import pipeline as rig
    from videorag_ros.cli.edge import default_params
    from videorag_ros.core.config import dump_params_file, load_params_file

    modes = {"off": None, "process": "process", "thread": "thread"}
    runs: dict[str, list[dict[str, Any]]] = {m: [] for m in modes}
    for r in range(args.rounds):
        for mode, isolation in modes.items():
            base = load_params_file(args.params or default_params())
            d = out / f"pipeline-{mode}-{r}"
            d.mkdir(parents=True, exist_ok=True)
            if isolation is not None:
                base.update({"fleet.enabled": True, "fleet.robot_id": "bench", "fleet.path": str(d / "store"), "fleet.isolation": isolation,
                             "fleet.keyframe_interval_s": args.fleet_interval, "security.allowed_dirs": [*base.get("security.allowed_dirs", []), str(d)]})  # fmt: skip
            ns = argparse.Namespace(params=dump_params_file(base, d / "base.yaml"), model=args.model, domain=args.domain, out_dir=str(d), frames=args.frames,
                                    fps=args.fps, width=640, height=480, plot=None, hostile_camera="none", node_checkout=None, json=False)  # fmt: skip
            print(f"round {r + 1}/{args.rounds}: exporter {mode}", file=sys.stderr)
            res = rig.run_bench(ns)
            res["fleet"] = _fleet_values(d / "edge.log") if isolation else None
            runs[mode].append(res)
    summary: dict[str, Any] = {}
    for mode, rs in runs.items():
        wire = [x for r in rs for x in [r["glass_to_action_ms"]] if x]
        summary[mode] = {
            "glass_to_action_ms_per_round": wire,
            "glass_to_decision_ms_per_round": [r["stages_ms"].get("glass_to_decision", {}) for r in rs],
            "fleet_handoff_ms_per_round": [r["stages_ms"].get("fleet_handoff", {}) for r in rs],
            "received": sum(r["frames_received"] for r in rs), "published": sum(r["frames_published"] for r in rs),
            "dropped": sum(r["frames_dropped"] for r in rs),
        }  # fmt: skip
    base = summary["off"]["glass_to_action_ms_per_round"]
    for mode in ("process", "thread"):
        on = summary[mode]["glass_to_action_ms_per_round"]
        summary[mode]["p99_ratio_vs_off_per_round"] = [a["p99"] / b["p99"] for a, b in zip(on, base, strict=False) if a and b]
    return summary


def _fleet_values(log: Path) -> str:
    """The edge log's fleet lines (the node logs state changes; counters are in /diagnostics)."""
    try:
        return "\n".join(line for line in log.read_text(errors="replace").splitlines() if "fleet" in line)[-2000:]
    except OSError:
        return ""


def run_bench(args: argparse.Namespace) -> dict[str, Any]:
    """Run the parts asked for; returns the result object printed as JSON."""
    out = Path(args.out_dir or tempfile.mkdtemp(prefix="videorag-bench-fleet-"))
    out.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {"bench": "fleet", "machine": {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(), "python": platform.python_version()}}
    only = set(args.only.split(",")) if args.only else {"pipeline", "throughput", "query"}
    try:
        if "pipeline" in only:
            result["pipeline"] = bench_pipeline(args, out)
        if "throughput" in only:
            result["throughput"] = bench_throughput(args, out)
        if "query" in only:
            result["query"] = bench_query(args, out)
    finally:
        if not args.keep:
            shutil.rmtree(out, ignore_errors=True)
    return result


def _print(r: dict[str, Any]) -> None:
    def fmt(s: dict[str, float]) -> str:
        return f"{s.get('p50', 0):7.2f} {s.get('p95', 0):7.2f} {s.get('p99', 0):7.2f}" if s else "      -       -       -"

    if "pipeline" in r:
        print("frame path, exporter off / on (p50 p95 p99 ms per round; glass-to-action at a subscriber | glass-to-decision in the node | fleet handoff)")
        for mode, s in r["pipeline"].items():
            for i, (w, d, h) in enumerate(zip(s["glass_to_action_ms_per_round"], s["glass_to_decision_ms_per_round"], s["fleet_handoff_ms_per_round"], strict=False)):
                print(f"  {mode:<8} round {i + 1}: {fmt(w)} | {fmt(d)} | {fmt(h)}")
            if "p99_ratio_vs_off_per_round" in s:
                print(f"  {mode:<8} p99 ratio vs off: {', '.join(f'{x:.2f}' for x in s['p99_ratio_vs_off_per_round'])}")
    if "throughput" in r:
        t = r["throughput"]
        for engine in ("edge", "local"):
            e = t[engine]
            print(f"export {engine:<6} {e['sent']} points in {e['wall_s']:.2f} s: {e['points_per_s']:.0f} points/s; batch p50 {e['batch_ms'].get('p50', 0):.1f} ms; offer p99 {e['offer_us'].get('p99', 0):.1f} us")
    if "query" in r:
        for engine, sizes in r["query"].items():
            for n, q in sizes.items():
                if "skipped" in q:
                    print(f"query {engine:<6} {n:>8}: skipped ({q['skipped']})")
                    continue
                lat = q["latency_ms"]
                print(f"query {engine:<6} {n:>8}: global {fmt(lat['global'])} | robot+time filter {fmt(lat['robot_and_last_10pct'])}  (insert {q['insert_s']:.0f} s, index build {q['index_build_s']:.0f} s, disk {q['disk_bytes'] / 1e6:.0f} MB)")


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments, run, print the table and (with --json) one JSON line."""
    p = argparse.ArgumentParser(prog="videorag bench fleet", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--only", help="comma-separated parts: pipeline, throughput, query (default: all)")
    p.add_argument("--frames", type=int, default=300, help="pipeline: frames per run")
    p.add_argument("--fps", type=int, default=30)
    p.add_argument("--rounds", type=int, default=2, help="pipeline: alternations of off / process / thread")
    p.add_argument("--fleet-interval", type=float, default=0.0, help="pipeline: fleet.keyframe_interval_s (0: every embedded frame is exported)")
    p.add_argument("--points", type=int, default=5000, help="throughput: points exported")
    p.add_argument("--batch", type=int, default=64, help="throughput: fleet.batch_size")
    p.add_argument("--sizes", type=lambda s: [int(x) for x in s.split(",")], default=[100_000, 1_000_000], help="query: store sizes (default 100000,1000000)")
    p.add_argument("--local-max", type=int, default=100_000, help="query: largest size tried with qdrant-client's local mode")
    p.add_argument("--queries", type=int, default=200)
    p.add_argument("--params", type=Path, help="pipeline: base parameter file (default: shipped config/edge.yaml)")
    p.add_argument("--model", help="pipeline: override the model")
    p.add_argument("--domain", type=int, help="pipeline: ROS_DOMAIN_ID")
    p.add_argument("--out-dir", help="where stores, logs and parameter files go (removed unless --keep)")
    p.add_argument("--keep", action="store_true", help="keep --out-dir")
    p.add_argument("--json", action="store_true", help="print the result as one JSON object on the last line")
    args = p.parse_args(argv)
    return run_and_report(args, run_bench, _print)


