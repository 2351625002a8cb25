"""``videorag bench slowloop``: what the slow loop costs the reflexes, and what it does within its limits.

An OpenAI-compatible server scripted to answer in ``--delay`` seconds (2 by default) runs in this
process on 127.0.0.1. Edge nodes run as their own processes on the shipped parameters with every
frame embedded and an always-active probe trigger (as ``bench pipeline``), alternating rounds
with the slow loop **off** (``slowloop.enabled: false``) and **on** (pointed at the server,
describing every ``--period`` seconds, which asks for more than ``--rate`` requests per minute
allow), so both conditions share the machine's state. Reported:

- glass-to-action at a subscriber, p50/p95/p99 per condition (all rounds pooled) and the on/off
  ratio; the node's hand-off time (worker → slow loop) from its /diagnostics;
- the request rate the server saw (overall and the busiest 60 s) against the limit;
- the rolling history's size (tokens) over the on time, ``--soak-minutes`` of one long on run;
- ``videorag ask`` end to end (a fresh process each time): ``--index`` with the offline
  describer, ``--index`` with the local server, and ``--node`` against a running node.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from videorag_ros.bench.common import add_node_options, percentiles, run_and_report
from videorag_ros.bench.pipeline import PROBE, _bench_params

BENCH_MODEL_NAME = "bench-vlm"


def _params(args: argparse.Namespace, out: Path, base_url: str, *, on: bool, snapshot: Path | None = None) -> Path:
    from videorag_ros.cli.edge import default_params
    from videorag_ros.core.config import dump_params_file, load_params_file

    flat = load_params_file(_bench_params(args.params or default_params(), args.model, out))
    flat["front.timeout_s"] = 10.0
    flat["slowloop.enabled"] = on
    if on:
        flat.update({
            "slowloop.base_url": base_url, "slowloop.model": BENCH_MODEL_NAME, "slowloop.period_s": args.period,
            "slowloop.rate_limit_per_min": args.rate, "slowloop.burst": args.burst, "slowloop.timeout_s": max(10.0, 3 * args.delay),
        })  # fmt: skip
    if snapshot is not None:
        flat.update({"index.snapshot_path": str(snapshot), "security.allowed_dirs": [str(out)]})
    return dump_params_file(flat, out / f"slowloop_{'on' if on else 'off'}{'_snap' if snapshot else ''}.yaml")


def _slow_values(diag: Any) -> dict[str, str]:
    for st in diag.status:
        if st.name == "videorag: slow loop":
            return {kv.key: kv.value for kv in st.values}
    return {}


def _round(args: argparse.Namespace, params: Path, frames: list[np.ndarray], domain: int, log: Path, *, seconds: float, keep: bool = False) -> dict[str, Any]:
    """One node, ``seconds`` of frames at ``--fps``; returns wire latencies and the slow loop's diagnostics over time."""
    from sensor_msgs.msg import Image

    from videorag_ros.core.stamps import stamp_to_ns
    from videorag_ros.ros.conversions import ns_to_stamp
    from videorag_ros.ros.graph import EdgeGraph, wait_until

    graph = EdgeGraph(params, domain_id=domain, log_path=log, estop_topic="/videorag_bench/estop", cmd_vel_topic="/videorag_bench/cmd_vel_safety")
    try:
        pub = graph.publisher(Image, "camera/front/image_raw")
        graph.wait_ready([pub])
        h, w = frames[0].shape[:2]
        n_trig = len(graph.monitor.log.triggers)
        t0 = time.monotonic()
        t_next, i, last_note = t0, 0, t0
        while (now := time.monotonic()) < t0 + seconds:
            graph.spin(t_next - now)
            msg = Image(height=h, width=w, encoding="rgb8", step=w * 3, data=frames[i % len(frames)].tobytes())
            msg.header.frame_id = "camera_front"
            msg.header.stamp = ns_to_stamp(time.time_ns())
            pub.publish(msg)
            i += 1
            t_next += 1.0 / args.fps
            if now - last_note >= 60:
                print(f"    {now - t0:.0f} / {seconds:.0f} s", file=sys.stderr)
                last_note = now
        n_diag = len(graph.monitor.log.diagnostics)
        wait_until(lambda: len(graph.monitor.log.diagnostics) >= n_diag + 3, 5.0, spin=graph.spin)
        wire = [t.wire_latency_ms for t in graph.monitor.log.triggers[n_trig:] if t.trigger == PROBE]
        history = []
        for d in graph.monitor.log.diagnostics:
            v = _slow_values(d)
            if "slowloop.history.tokens" in v:
                history.append(((stamp_to_ns(d.header.stamp) / 1e9), int(v["slowloop.history.tokens"]), int(v["slowloop.history.entries"])))
        slow = _slow_values(graph.monitor.log.diagnostics[-1]) if graph.monitor.log.diagnostics else {}
        cam = graph.monitor.camera_values("front")
        result = {"published": i, "received": int(cam.get("received", 0)), "dropped": int(cam.get("dropped", 0)), "wire": wire, "history": history, "slow": slow}
        if keep:
            result["graph"] = graph
            return result
    except BaseException:
        graph.close()
        raise
    graph.close()
    return result


def _busiest_minute(times: Sequence[float]) -> int:
    ts = sorted(times)
    best, j = 0, 0
    for i, t in enumerate(ts):
        while ts[j] < t - 60.0:
            j += 1
        best = max(best, i - j + 1)
    return best


def _time_cli(argv: list[str], env: dict[str, str], n: int) -> dict[str, Any]:
    from videorag_ros.ros.graph import videorag_command

    times, failures, last = [], 0, ""
    for _ in range(n):
        t0 = time.perf_counter()
        proc = subprocess.run(videorag_command(*argv), env=env, capture_output=True, text=True, timeout=300, check=False)
        if proc.returncode == 0:
            times.append((time.perf_counter() - t0) * 1e3)
            last = proc.stdout
        else:
            failures += 1
            last = proc.stderr
    return {"ms": percentiles(times), "failures": failures, "last_output": last[-600:]}


def run_bench(args: argparse.Namespace) -> dict[str, Any]:
    """Run the benchmark; returns the result object printed as JSON."""
    from videorag_ros.bench.rigs.chat_server import ScriptedServer, Step
    from videorag_ros.ros.camera_sim_node import render_frames
    from videorag_ros.ros.graph import local_ros_env

    out = Path(args.out_dir or tempfile.mkdtemp(prefix="videorag-bench-slowloop-"))
    out.mkdir(parents=True, exist_ok=True)
    domain = args.domain if args.domain is not None else 150 + os.getpid() % 80
    print(f"rendering frames {args.width}x{args.height}...", file=sys.stderr)
    frames = [f for f, _ in render_frames("person_steps_in", seconds=4.0, fps=args.fps, width=args.width, height=args.height, seed=0)]
    server = ScriptedServer(default=Step(mode="slow", delay_s=args.delay))
    base_url = server.start()
    result: dict[str, Any] = {"bench": "slowloop", "server_delay_s": args.delay, "rate_limit_per_min": args.rate, "burst": args.burst, "period_s": args.period,
                              "fps": args.fps, "frame_size": [args.width, args.height], "rounds": args.rounds, "round_s": args.seconds}  # fmt: skip
    try:
        wire: dict[str, list[float]] = {"off": [], "on": []}
        per_round, on_s, handoff, history = [], 0.0, [], []
        req_times: list[float] = []
        for r in range(args.rounds):
            for cond in ("off", "on"):
                print(f"round {r + 1}/{args.rounds}: slow loop {cond}, {args.seconds:g} s at {args.fps:g} Hz...", file=sys.stderr)
                n_req = len(server.records)
                t0 = time.monotonic()
                res = _round(args, _params(args, out, base_url, on=cond == "on"), frames, domain, out / f"edge_{cond}_{r}.log", seconds=args.seconds)
                wire[cond] += res["wire"]
                per_round.append({"condition": cond, "published": res["published"], "received": res["received"], "dropped": res["dropped"], "glass_to_action_ms": percentiles(res["wire"])})
                if cond == "on":
                    on_s += time.monotonic() - t0
                    req_times += [rec.t_monotonic for rec in server.records[n_req:]]
                    handoff.append({k: res["slow"].get(f"slowloop.handoff.{k}_ms") for k in ("p50", "p99", "max")})
                    history += [(t, tok) for t, tok, _ in res["history"]]
        p99_on, p99_off = percentiles(wire["on"]).get("p99", float("nan")), percentiles(wire["off"]).get("p99", float("nan"))
        result["glass_to_action_ms"] = {"off": percentiles(wire["off"]), "on": percentiles(wire["on"]), "p99_ratio_on_off": p99_on / p99_off if p99_off else float("nan")}
        result["per_round"] = per_round
        result["handoff_ms_per_on_round"] = handoff
        result["requests"] = {"n": len(req_times), "on_seconds": on_s, "per_min": len(req_times) / (on_s / 60) if on_s else 0.0, "busiest_60s": _busiest_minute(req_times), "limit_per_min": args.rate, "burst": args.burst}
        result["history_tokens_rounds"] = {"max": max((h for _, h in history), default=0), "samples": len(history)}
        # A long on run: the history's size over time, and a snapshot for the ask timings.
        snapshot = out / "memory.vrag"
        soak_s = args.soak_minutes * 60 if args.soak_minutes > 0 else args.seconds
        print(f"long run: slow loop on for {soak_s:.0f} s...", file=sys.stderr)
        n_req = len(server.records)
        t0 = time.monotonic()
        res = _round(args, _params(args, out, base_url, on=True, snapshot=snapshot), frames, domain, out / "edge_long.log", seconds=soak_s, keep=True)
        graph = res.pop("graph")
        try:
            hist = res["history"]
            t_first = hist[0][0] if hist else 0.0
            by_minute: dict[int, tuple[int, int]] = {}
            for t, tok, entries in hist:
                by_minute[int((t - t_first) // 60)] = (tok, entries)
            long_req = [rec.t_monotonic for rec in server.records[n_req:]]
            result["long_run"] = {
                "seconds": soak_s, "glass_to_action_ms": percentiles(res["wire"]), "received": res["received"], "published": res["published"], "dropped": res["dropped"],
                "history_tokens_by_minute": {m: v[0] for m, v in sorted(by_minute.items())}, "history_entries_by_minute": {m: v[1] for m, v in sorted(by_minute.items())},
                "history_max_tokens": max((tok for _, tok, _ in hist), default=0), "history_budget": int(res["slow"].get("slowloop.history.max_tokens", 0)),
                "history_evicted": int(res["slow"].get("slowloop.history.evicted", 0)),
                "requests": len(long_req), "per_min": len(long_req) / ((time.monotonic() - t0) / 60), "busiest_60s": _busiest_minute(long_req),
                "handoff_ms": {k: res["slow"].get(f"slowloop.handoff.{k}_ms") for k in ("p50", "p99", "max")},
                "slow_loop_counters": {k: v for k, v in res["slow"].items() if k.startswith(("slowloop.jobs", "slowloop.requests", "slowloop.rate_waits", "slowloop.errors", "slowloop.frames"))},
            }  # fmt: skip
            env = local_ros_env(domain)
            server.set_default(Step(mode="slow", delay_s=args.delay))
            print(f"videorag ask --node x{args.asks} (server answers in {args.delay:g} s)...", file=sys.stderr)
            q = "was there a person in front of the robot?"
            ask_node = _time_cli(["ask", q, "--node", "/videorag_edge", "--timeout", "120"], env, args.asks)
        finally:
            graph.close()  # saves the snapshot
        from videorag_ros.core.config import dump_params_file, load_params_file

        snap_params = load_params_file(_params(args, out, base_url, on=True))
        with_server = dump_params_file(snap_params, out / "ask_server.yaml")
        print(f"videorag ask --index x{args.asks}: offline, then with the server...", file=sys.stderr)
        env_plain = dict(os.environ)
        ask_offline = _time_cli(["ask", q, "--index", str(snapshot), "--params", str(with_server), "--offline"], env_plain, args.asks)
        ask_index_server = _time_cli(["ask", q, "--index", str(snapshot), "--params", str(with_server)], env_plain, args.asks)
        result["ask_end_to_end_ms"] = {"index_offline": ask_offline, "index_server": ask_index_server, "node_server": ask_node}
    finally:
        server.stop()
    result["machine"] = {"cores": os.cpu_count(), "out_dir": str(out)}
    return result


def _line(name: str, s: dict[str, Any]) -> str:
    if not s:
        return f"  {name:<34} (no samples)"
    return f"  {name:<34}{s['p50']:>9.2f}{s['p95']:>9.2f}{s['p99']:>9.2f}{int(s['n']):>7}"


def _print_table(r: dict[str, Any]) -> None:
    g = r["glass_to_action_ms"]
    print(f"slow loop: server answers in {r['server_delay_s']:g} s; limit {r['rate_limit_per_min']:g}/min (burst {r['burst']}); describe every {r['period_s']:g} s")
    print(f"  {'glass-to-action (ms)':<34}{'p50':>9}{'p95':>9}{'p99':>9}{'n':>7}")
    print(_line("slow loop off", g["off"]))
    print(_line("slow loop on", g["on"]))
    print(f"  p99 on/off: {g['p99_ratio_on_off']:.2f}")
    for pr in r["per_round"]:
        s = pr["glass_to_action_ms"]
        print(f"    {pr['condition']:<4} published {pr['published']} received {pr['received']} dropped {pr['dropped']}  p50 {s.get('p50', 0):.2f} p99 {s.get('p99', 0):.2f}")
    print(f"  hand-off worker -> slow loop (ms, per on round): {r['handoff_ms_per_on_round']}")
    q = r["requests"]
    print(f"  requests: {q['n']} in {q['on_seconds']:.0f} s on = {q['per_min']:.1f}/min, busiest 60 s {q['busiest_60s']} (limit {q['limit_per_min']:g}/min + burst {q['burst']})")
    lr = r["long_run"]
    print(f"  long run {lr['seconds']:.0f} s: glass-to-action p99 {lr['glass_to_action_ms'].get('p99', 0):.2f} ms; {lr['requests']} requests = {lr['per_min']:.1f}/min, busiest 60 s {lr['busiest_60s']}")
    print(f"    history tokens by minute {lr['history_tokens_by_minute']} (budget {lr['history_budget']}, max {lr['history_max_tokens']}, evicted {lr['history_evicted']})")
    for name, a in r["ask_end_to_end_ms"].items():
        print(_line(f"videorag ask {name}", a["ms"]) + (f"  failures {a['failures']}" if a["failures"] else ""))


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments, run, print the table and (with --json) one JSON line."""
    parser = argparse.ArgumentParser(prog="videorag bench slowloop", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3, help="off/on round pairs (default 3)")
    parser.add_argument("--seconds", type=float, default=20.0, help="frames per round, in seconds (default 20)")
    parser.add_argument("--fps", type=float, default=30.0)
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=480)
    parser.add_argument("--delay", type=float, default=2.0, help="seconds the server takes to answer (default 2)")
    parser.add_argument("--rate", type=float, default=12.0, help="slowloop.rate_limit_per_min (default 12)")
    parser.add_argument("--burst", type=int, default=3, help="slowloop.burst (default 3)")
    parser.add_argument("--period", type=float, default=1.0, help="slowloop.period_s: asks for more than the rate allows (default 1)")
    parser.add_argument("--soak-minutes", type=float, default=0.0, help="length of the long on run that tracks the history (default: --seconds)")
    parser.add_argument("--asks", type=int, default=5, help="videorag ask runs per mode (default 5)")
    add_node_options(parser)
    return run_and_report(parser.parse_args(argv), run_bench, _print_table)
