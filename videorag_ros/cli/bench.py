"""``videorag bench <what>``: benchmarks that measure and report (p50/p95/p99), never assert."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence

BENCHES = {
    "pipeline": ("videorag_ros.bench.pipeline", "glass-to-action through real DDS, per stage"),
    "model": ("videorag_ros.bench.model", "encoder latency per model x tower x precision x backend"),
    "index": ("videorag_ros.bench.index", "temporal index: insert/query p50/p99, window queries, recall, memory"),
    "query": ("videorag_ros.bench.query", "QueryMoments through the service of a running node with a 10-minute memory"),
    "watchdog": ("videorag_ros.bench.watchdog", "fault-to-e-stop on the wire for each watchdog"),
    "soak": ("videorag_ros.bench.soak", "N cameras at 30 Hz for minutes: bounded latency, counted drops, flat memory"),
    "replay": ("videorag_ros.bench.replay", "scenario bags: trigger precision/recall, time-to-trigger, glass-to-action"),
    "hostile": ("videorag_ros.bench.hostile", "issue 11's hostile inputs against a checkout's commands: exit, message, time, peak RSS"),
    "fleet": ("videorag_ros.bench.fleet", "fleet exporter: frame path with it off vs on, export throughput, embedded query latency at 100k / 1M"),
    "ingest": ("videorag_ros.bench.ingest", "the doors (WebSocket, WebRTC, stream bridge): added latency, CPU per stream, load until frames drop"),
    "gate": ("videorag_ros.bench.gate", "frame gate on real clips: admitted share, static stretches, onset delays"),
    "signals": ("videorag_ros.bench.signals", "SIGINT / SIGTERM at random moments of the edge node's start-up and run: clean exits vs tracebacks and crashes"),
    "slowloop": ("videorag_ros.bench.slowloop", "slow loop on vs off (server answering in 2 s): glass-to-action, request rate, history, videorag ask"),
}
# Benchmarks that never start rclpy (test_dds_confined.py probes every other one).
ROS_FREE = frozenset({"model", "index", "gate"})


def main(argv: Sequence[str] | None = None) -> int:
    """Dispatch to one benchmark's ``main``."""
    args = list(argv or [])
    if not args or args[0] not in BENCHES:
        lines = "\n".join(f"  {k:<10} {h}" for k, (_, h) in BENCHES.items())
        print(f"usage: videorag bench <benchmark> [args]\n\nbenchmarks:\n{lines}", file=sys.stderr if args else sys.stdout)
        return 2 if args else 0
    from videorag_ros.ros.dds import confine_to_localhost

    confine_to_localhost()  # a benchmark's DDS never leaves this machine, nor its children's
    return int(importlib.import_module(BENCHES[args[0]][0]).main(args[1:]) or 0)
