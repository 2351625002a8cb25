"""``videorag bench ingest``: what each door adds, what it costs, and what happens as load rises.

Every door runs as its own process (``videorag ingest ws|webrtc``, ``videorag bridge``), as on a
robot; a subscriber in this process records each frame's arrival. Per door at WIDTHxHEIGHT:

The bridge is measured twice: pulling MPEG-TS (H.264) over TCP, and as an RTSP server a pusher
sends H.264 to over RTP (RTCP sender reports give it the sender's clock).

- latency: capture stamp → published, from the door's own ``/diagnostics``
  (``capture_to_publish``), and stamp → subscriber. For WebRTC and the bridge, whose stamps are
  reconstructed from the stream (``ingest/stamps.py``), the frames also carry their index in
  pixels, so the true send → subscriber latency is measured too.
- CPU per stream: the door process (with its decoding child) over the run, in % of one core.
- load: N WebSocket clients × fps and N WebRTC peers, step by step, until frames drop: frames
  sent / received, drops the door counted in its latest-wins slots, latency p50/p95/p99.
- baseline, same run: this process publishing the same frames straight to its subscriber; and
  the two framings of the WebSocket protocol (binary header vs base64 in JSON).

The machine is shared and noisy: compare doors with the baseline of the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from videorag_ros.bench.common import percentiles, run_and_report

TOKEN = "bench-ingest-token-0123456789abcdef"


def _steps(text: str) -> list[tuple[int, float]]:
    try:
        out = [(int(n), float(f)) for n, f in (s.split("x") for s in text.split(",") if s)]
    except ValueError as err:
        msg = f"--load {text!r}: expected NxFPS,NxFPS,... (e.g. 1x15,4x15,8x30)"
        raise argparse.ArgumentTypeError(msg) from err
    if not out or any(n < 1 or n > 64 or not 0 < f <= 120 for n, f in out):
        msg = f"--load {text!r}: 1..64 clients at 0..120 fps per step"
        raise argparse.ArgumentTypeError(msg)
    return out


class _Door:
    """A door process, its CPU meter and its port."""

    def __init__(self, args_: list[str], out: Path, name: str, env: dict[str, str], port: int | None) -> None:
        from videorag_ros.bench.rigs.ingest import listening
        from videorag_ros.ros.graph import start, wait_until

        self.log = out / f"{name}.log"
        self.proc = start(args_, env, log_path=str(self.log))
        if port is not None and not wait_until(lambda: listening(port) or self.proc.poll() is not None, 60.0):
            self.close()
            msg = f"the {name} door did not listen on {port}; log:\n{self.log.read_text()[-2000:]}"
            raise RuntimeError(msg)
        if self.proc.poll() is not None:
            msg = f"the {name} door exited ({self.proc.returncode}); log:\n{self.log.read_text()[-2000:]}"
            raise RuntimeError(msg)

    def cpu(self) -> tuple[float, float]:
        from videorag_ros.bench.rigs.ingest import tree_cpu_s

        return time.monotonic(), tree_cpu_s(self.proc.pid)

    def close(self) -> None:
        from videorag_ros.ros.graph import stop

        stop(self.proc)


def _cpu_pct(a: tuple[float, float], b: tuple[float, float], streams: int) -> float:
    return 100.0 * (b[1] - a[1]) / max(1e-6, b[0] - a[0]) / max(1, streams)


def _node_latency(rec: Any, status: str) -> dict[str, float]:
    v = rec.status(status)
    return {k: float(v[f"capture_to_publish.{k}_ms"]) for k in ("p50", "p95", "p99") if f"capture_to_publish.{k}_ms" in v}


def _baseline(rec: Any, args: argparse.Namespace, jpeg: bytes) -> dict[str, Any]:
    """This process publishing JPEG and raw frames straight to its own subscriber: the floor every door sits on."""
    from sensor_msgs.msg import CompressedImage, Image

    from videorag_ros.bench.rigs.ingest import latency_summary
    from videorag_ros.bench.rigs.streams import moving_frame
    from videorag_ros.ros.conversions import ns_to_stamp

    out: dict[str, Any] = {}
    rgb = moving_frame(0, args.width, args.height).tobytes()
    for raw in (False, True):
        topic = f"/bench/direct/{'raw' if raw else 'jpeg'}"
        rec.subscribe(topic, raw=raw)
        pub = rec.publisher(raw, topic)
        _wait_matched(pub)
        n, end = 0, time.monotonic() + args.seconds
        while time.monotonic() < end:
            msg = Image(height=args.height, width=args.width, encoding="rgb8", step=args.width * 3, data=rgb) if raw else CompressedImage(format="jpeg", data=jpeg)
            msg.header.stamp = ns_to_stamp(time.time_ns())
            pub.publish(msg)
            n += 1
            time.sleep(1 / args.fps)
        time.sleep(0.3)
        out["raw" if raw else "jpeg"] = {"sent": n, **latency_summary(rec.taken(topic))}
    return out


def _wait_matched(pub: Any, timeout_s: float = 10.0) -> None:
    end = time.monotonic() + timeout_s
    while pub.get_subscription_count() == 0 and time.monotonic() < end:
        time.sleep(0.05)


def _ws(rec: Any, args: argparse.Namespace, out: Path, env: dict[str, str], tok: Path, *, jpegs: list[bytes]) -> dict[str, Any]:
    from videorag_ros.bench.rigs.ingest import latency_summary, ws_clients
    from videorag_ros.bench.rigs.streams import free_port

    port = free_port()
    door = _Door(["ingest", "ws", "--token-file", str(tok), "--port", str(port), "--max-width", "4096", "--max-height", "4096", "--max-clients", "64", "--max-frame-bytes", str(1 << 20)], out, "ws", env, port)
    steps: list[dict[str, Any]] = []
    try:
        rec.subscribe("/ingest/warmup/image_raw/compressed", raw=False)  # first connection, publisher creation, discovery: not measured
        asyncio.run(ws_clients(f"ws://127.0.0.1:{port}", TOKEN, ["warmup"], fps=args.fps, seconds=2.0, jpegs=jpegs))
        for k, (n, fps) in enumerate([(1, float(args.fps)), *args.load]):
            names = [f"s{k}c{i}" for i in range(n)]
            for name in names:
                rec.subscribe(f"/ingest/{name}/image_raw/compressed", raw=False)
            time.sleep(1.0)  # discovery of the new topics
            print(f"  ws: {n} client(s) x {fps:g} fps ...", file=sys.stderr)
            a = door.cpu()
            sent = asyncio.run(ws_clients(f"ws://127.0.0.1:{port}", TOKEN, names, fps=fps, seconds=args.seconds, jpegs=jpegs))
            b = door.cpu()
            time.sleep(1.5)  # last frames and one diagnostics period
            recs = [r for name in names for r in rec.taken(f"/ingest/{name}/image_raw/compressed")]
            dropped = sum(int(rec.status(f"videorag: ws {name}").get("dropped", 0)) for name in names)
            node = [_node_latency(rec, f"videorag: ws {name}") for name in names]
            total = sum(sent.values())
            steps.append({"clients": n, "fps": fps, "sent": total, "door_dropped": dropped, "lost": total - len(recs) - dropped,
                          "cpu_pct_per_stream": _cpu_pct(a, b, n), "node_capture_to_publish_p99_ms": max((x.get("p99", 0.0) for x in node), default=0.0),
                          **latency_summary(recs)})  # fmt: skip
            if k > 0 and total and (dropped + total - len(recs)) / total > 0.2 and len(steps) >= 3 and steps[-2]["door_dropped"] > 0:
                break  # dropping hard at two steps running: the door's limit on this machine is found
    finally:
        door.close()
    first = steps[0]
    return {"latency": first, "node_capture_to_publish_ms": _node_latency(rec, "videorag: ws s0c0"), "load": steps[1:]}


def _webrtc(rec: Any, args: argparse.Namespace, out: Path, env: dict[str, str], tok: Path) -> dict[str, Any]:
    from videorag_ros.bench.rigs.ingest import latency_summary, whip_peers
    from videorag_ros.bench.rigs.streams import free_port

    port = free_port()
    door = _Door(["ingest", "webrtc", "--token-file", str(tok), "--port", str(port), "--max-width", "4096", "--max-height", "4096", "--max-fps", "0"], out, "webrtc", env, port)
    steps: list[dict[str, Any]] = []
    try:
        rec.subscribe("/ingest/warmup/image_raw", raw=True, indexed=True)
        asyncio.run(whip_peers(lambda c: f"http://127.0.0.1:{port}/whip/{c}", TOKEN, ["warmup"], fps=args.fps, seconds=2.0, width=args.width, height=args.height))
        for k, n in enumerate([1, *args.peers]):
            names = [f"p{k}c{i}" for i in range(n)]
            for name in names:
                rec.subscribe(f"/ingest/{name}/image_raw", raw=True, indexed=True)
            time.sleep(1.0)
            print(f"  webrtc: {n} peer(s) x {args.fps:g} fps ...", file=sys.stderr)
            a = door.cpu()
            sent = asyncio.run(whip_peers(lambda c: f"http://127.0.0.1:{port}/whip/{c}", TOKEN, names, fps=args.fps, seconds=args.seconds, width=args.width, height=args.height))
            b = door.cpu()
            time.sleep(1.5)
            merged = {name: rec.taken(f"/ingest/{name}/image_raw") for name in names}
            per = [latency_summary(merged[name], sent[name]) for name in names]
            true = [(rx - sent[name][i]) / 1e6 for name in names for rx, _, i in merged[name] if i in sent[name]]
            total, got = sum(len(s) for s in sent.values()), sum(p["received"] for p in per)
            dropped = sum(int(rec.status(f"videorag: webrtc {name}").get("dropped", 0)) for name in names)
            steps.append({"peers": n, "fps": args.fps, "sent": total, "received": got, "door_dropped": dropped, "cpu_pct_per_stream": _cpu_pct(a, b, n),
                          "send_to_subscriber_ms": percentiles(true), "stamp_to_subscriber_ms": percentiles([(rx - st) / 1e6 for m in merged.values() for rx, st, _ in m])})  # fmt: skip
    finally:
        door.close()
    return {"latency": steps[0], "node_capture_to_publish_ms": _node_latency(rec, "videorag: webrtc p0c0"), "load": steps[1:]}


def _bridge(rec: Any, args: argparse.Namespace, out: Path, env: dict[str, str], kind: str) -> dict[str, Any]:
    """One bridge: ``tcp`` pulls MPEG-TS (H.264) from a server here; ``rtsp`` listens and a pusher sends H.264 over RTSP/RTP."""
    from videorag_ros.bench.rigs.ingest import latency_summary
    from videorag_ros.bench.rigs.streams import RtspPusher, StreamServer, free_port

    sent: dict[int, int] = {}
    cam = f"bench_{kind}"
    topic = f"/camera/{cam}/image_raw"
    rec.subscribe(topic, raw=True, indexed=True)
    print(f"  bridge: {'MPEG-TS over TCP' if kind == 'tcp' else 'RTSP push (RTP over TCP)'}, H.264 at {args.fps:g} fps ...", file=sys.stderr)
    source: Any
    flags = ["--camera-id", cam, "--max-width", str(args.width), "--max-height", str(args.height), "--max-fps", "0"]
    if kind == "tcp":
        source = StreamServer(proto="tcp", fps=args.fps, width=args.width, height=args.height, indexed=True, on_sent=sent.__setitem__).start()
        door = _Door(["bridge", "--source", source.url, *flags], out, f"bridge_{kind}", env, None)
    else:
        url = f"rtsp://127.0.0.1:{free_port()}/bench"
        door = _Door(["bridge", "--source", url, "--rtsp-listen", *flags], out, f"bridge_{kind}", env, None)
        source = RtspPusher(url, fps=args.fps, width=args.width, height=args.height, indexed=True, on_sent=sent.__setitem__).start()
    try:
        from videorag_ros.ros.graph import wait_until

        wait_until(lambda: len(rec.taken(topic)) > 0, 30.0)
        n0, a = len(rec.taken(topic)), door.cpu()
        time.sleep(args.seconds)
        b, recs = door.cpu(), rec.taken(topic)[n0:]
        time.sleep(1.5)
        status = rec.status(f"videorag: bridge {cam}")
    finally:
        door.close()
        source.stop()
    lat = latency_summary(recs, sent)
    return {"latency": {"fps": args.fps, "cpu_pct_per_stream": _cpu_pct(a, b, 1), "stamp_source": status.get("stamp_source", "?"), **lat},
            "node_capture_to_publish_ms": _node_latency(rec, f"videorag: bridge {cam}"), "counters": {k: status.get(k) for k in ("frames_in", "frames_out", "reconnects", "decode_errors")}}  # fmt: skip


def run_bench(args: argparse.Namespace) -> dict[str, Any]:
    """Run every part; returns the result object printed as JSON."""
    from videorag_ros.bench.rigs.ingest import Recorder, framing_costs, framing_round_trips, jpeg_640
    from videorag_ros.ingest.errors import require
    from videorag_ros.ros.graph import local_ros_env

    for module in ("av", "websockets", "aiortc", "aiohttp"):
        require(module)
    out = Path(args.out_dir or tempfile.mkdtemp(prefix="videorag-bench-ingest-"))
    out.mkdir(parents=True, exist_ok=True)
    tok = out / "token"
    tok.write_text(TOKEN)
    tok.chmod(0o600)
    domain = args.domain if args.domain is not None else 150 + os.getpid() % 80
    env = local_ros_env(domain) | {"PYTHONPATH": f"{Path(__file__).resolve().parents[2]}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    for key in ("FASTDDS_DEFAULT_PROFILES_FILE", "FASTRTPS_DEFAULT_PROFILES_FILE"):  # this process's participant, like the doors'
        if key in env:
            os.environ[key] = env[key]
    jpegs = [jpeg_640(i, args.width, args.height) for i in range(8)]
    print("framing: binary vs base64-in-JSON ...", file=sys.stderr)
    result: dict[str, Any] = {"bench": "ingest", "frame_size": [args.width, args.height], "fps": args.fps, "seconds": args.seconds,
                              "framing": framing_costs(jpegs[0]) | {"round_trip_ms": asyncio.run(framing_round_trips(jpegs[0]))}}  # fmt: skip
    rec = Recorder(domain)
    try:
        print("baseline: direct publish ...", file=sys.stderr)
        result["baseline_direct"] = _baseline(rec, args, jpegs[0])
        doors: dict[str, Any] = {}
        if "ws" in args.doors:
            doors["ws"] = _ws(rec, args, out, env, tok, jpegs=jpegs)
        if "webrtc" in args.doors:
            doors["webrtc"] = _webrtc(rec, args, out, env, tok)
        if "bridge" in args.doors:
            doors["bridge"] = _bridge(rec, args, out, env, "tcp")
        if "rtsp" in args.doors:
            doors["bridge_rtsp"] = _bridge(rec, args, out, env, "rtsp")
        result["doors"] = doors
    finally:
        rec.close()
    result["machine"] = {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(), "python": platform.python_version()}
    result["logs"] = str(out)
    return result


def _fmt(p: dict[str, float] | None) -> str:
    return f"{p['p50']:7.2f} {p['p95']:7.2f} {p['p99']:7.2f}" if p else "      -       -       -"


def _print_table(r: dict[str, Any]) -> None:
    f = r["framing"]
    print(f"frames {r['frame_size'][0]}x{r['frame_size'][1]} at {r['fps']:g} fps, {r['seconds']:g} s per step; JPEG {f['jpeg_bytes']} B")
    print(f"framing: binary {f['binary']['wire_bytes']} B, pack+parse p50 {f['binary']['pack_us']['p50'] + f['binary']['parse_us']['p50']:.0f} us, round trip p50 {f['round_trip_ms']['binary']['p50']:.2f} ms | "
          f"base64-in-JSON {f['base64_json']['wire_bytes']} B ({f['wire_ratio_base64_over_binary']:.2f}x), pack+parse p50 {f['base64_json']['pack_us']['p50'] + f['base64_json']['parse_us']['p50']:.0f} us "
          f"({f['cpu_ratio_base64_over_binary_p50']:.1f}x), round trip p50 {f['round_trip_ms']['base64_json']['p50']:.2f} ms")  # fmt: skip
    print(f"{'path':<44}{'p50':>7} {'p95':>7} {'p99':>7}   (ms)")
    for k, v in r.get("baseline_direct", {}).items():
        print(f"{'direct publish -> subscriber (' + k + ')':<44}{_fmt(v['stamp_to_subscriber_ms'])}   {v['received']}/{v['sent']}")
    for name, d in r.get("doors", {}).items():
        lat = d["latency"]
        print(f"{name + ': capture -> published (node)':<44}{_fmt(d['node_capture_to_publish_ms'] or None)}")
        print(f"{name + ': stamp -> subscriber':<44}{_fmt(lat.get('stamp_to_subscriber_ms'))}   cpu {lat['cpu_pct_per_stream']:.1f} % of a core per stream")
        if lat.get("send_to_subscriber_ms"):
            print(f"{name + ': sent -> subscriber (frame index)':<44}{_fmt(lat['send_to_subscriber_ms'])}")
        for s in d.get("load", []):
            who = f"{s.get('clients', s.get('peers'))} x {s['fps']:g} fps"
            lat_ = s.get("send_to_subscriber_ms") or s.get("stamp_to_subscriber_ms")
            print(f"{'  ' + name + ' load ' + who:<44}{_fmt(lat_)}   sent {s['sent']} received {s['received']} door-dropped {s['door_dropped']} cpu/stream {s['cpu_pct_per_stream']:.1f} %")


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments, run, print the table and (with --json) one JSON line."""
    parser = argparse.ArgumentParser(prog="videorag bench ingest", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=6.0, help="length of each measurement step")
    parser.add_argument("--fps", type=float, default=15.0)
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=480)
    parser.add_argument("--doors", default="ws,webrtc,bridge,rtsp", help="comma-separated: ws, webrtc, bridge (MPEG-TS over TCP), rtsp (the bridge receiving RTSP)")
    parser.add_argument("--load", type=_steps, default=_steps("2x15,4x15,8x15,8x30,16x30,32x30"), help="WebSocket load steps NxFPS,... (default 2x15,4x15,8x15,8x30,16x30,32x30)")
    parser.add_argument("--peers", type=lambda s: [int(x) for x in s.split(",") if x], default=[2, 4], help="WebRTC load steps: peers at --fps (default 2,4)")
    parser.add_argument("--domain", type=int, help="ROS_DOMAIN_ID (default: derived from the pid)")
    parser.add_argument("--out-dir", help="where the door logs go")
    parser.add_argument("--json", action="store_true", help="print the result as one JSON object on the last line")
    args = parser.parse_args(argv)
    args.doors = [d for d in args.doors.split(",") if d]
    return run_and_report(args, run_bench, _print_table)
