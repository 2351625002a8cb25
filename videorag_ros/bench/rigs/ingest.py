"""Rigs of ``videorag bench ingest``: a recording subscriber, door processes, clients that load the doors, framing costs."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from videorag_ros.bench.common import cpu_s, percentiles
from videorag_ros.bench.rigs.streams import draw_index, moving_frame, read_index
from videorag_ros.ingest import ws_protocol as proto


def tree_cpu_s(pid: int) -> float:
    """CPU seconds of a process and its live descendants (a door and its decoding child)."""
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        total += 0.0 if np.isnan(c := cpu_s(p)) else c
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                todo += [int(x) for x in Path(f"/proc/{p}/task/{task}/children").read_text().split()]
        except OSError:
            pass
    return total


def listening(port: int) -> bool:
    """True when something accepts TCP connections on 127.0.0.1:``port``."""
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def jpeg_640(index: int, width: int, height: int, quality: int = 80) -> bytes:
    """A JPEG of the benchmark's size as an edge client sends it: a synthetic frame with sensor-like noise
    (a flat synthetic frame compresses to a fraction of a camera frame's size)."""
    import cv2

    noise = np.random.default_rng(index).normal(0.0, 10.0, (height, width, 3))
    rgb = np.clip(moving_frame(index, width, height).astype(np.float64) + noise, 0, 255).astype(np.uint8)
    ok, buf = cv2.imencode(".jpg", rgb[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return bytes(buf.tobytes())


class Recorder:
    """A subscriber in the benchmark's process: arrival time, header stamp and (for Image) the frame index, per topic."""

    def __init__(self, domain: int) -> None:
        """Start an rclpy context on ``domain`` and spin it on a thread."""
        import rclpy
        from diagnostic_msgs.msg import DiagnosticArray
        from rclpy.executors import SingleThreadedExecutor

        self.ctx = rclpy.Context()
        rclpy.init(context=self.ctx, domain_id=domain)
        self.node = rclpy.create_node("videorag_bench_ingest", context=self.ctx)
        self.records: dict[str, list[tuple[int, int, int]]] = defaultdict(list)  # topic -> (rx_ns, stamp_ns, index or -1)
        self.diag: dict[str, dict[str, str]] = {}
        self._lock = threading.Lock()
        self.node.create_subscription(DiagnosticArray, "/diagnostics", self._on_diag, 50)
        self._executor = SingleThreadedExecutor(context=self.ctx)
        self._executor.add_node(self.node)
        self._thread = threading.Thread(target=self._spin, daemon=True)
        self._thread.start()

    def _spin(self) -> None:
        while self.ctx.ok():
            try:
                self._executor.spin_once(timeout_sec=0.05)
            except Exception:  # shutdown races end the loop
                return

    def _on_diag(self, msg: Any) -> None:
        with self._lock:
            for st in msg.status:
                self.diag[st.name] = {kv.key: kv.value for kv in st.values}

    def subscribe(self, topic: str, *, raw: bool, indexed: bool = False) -> None:
        """Record every message on ``topic`` (Image if ``raw``, else CompressedImage)."""
        from sensor_msgs.msg import CompressedImage, Image

        from videorag_ros.core.stamps import stamp_to_ns
        from videorag_ros.ros import qos

        def on_msg(msg: Any) -> None:
            rx = time.time_ns()
            idx = -1
            if indexed:
                idx = read_index(np.frombuffer(msg.data, np.uint8).reshape(msg.height, msg.width, 3))
            with self._lock:
                self.records[topic].append((rx, stamp_to_ns(msg.header.stamp), idx))

        self.node.create_subscription(Image if raw else CompressedImage, topic, on_msg, qos.CAMERA_SUBSCRIPTION)

    def publisher(self, raw: bool, topic: str) -> Any:
        """A camera publisher on this node (the direct-publish baseline)."""
        from sensor_msgs.msg import CompressedImage, Image

        from videorag_ros.ros import qos

        return self.node.create_publisher(Image if raw else CompressedImage, topic, qos.CAMERA)

    def taken(self, topic: str) -> list[tuple[int, int, int]]:
        """A copy of what arrived on ``topic``."""
        with self._lock:
            return list(self.records.get(topic, []))

    def status(self, name: str) -> dict[str, str]:
        """Newest diagnostic key/values of status ``name``."""
        with self._lock:
            return dict(self.diag.get(name, {}))

    def close(self) -> None:
        """Stop spinning and shut the context down."""
        import rclpy

        self._executor.shutdown()
        self.node.destroy_node()
        rclpy.shutdown(context=self.ctx)
        self._thread.join(2.0)


def latency_summary(rec: list[tuple[int, int, int]], sent_at: dict[int, int] | None = None) -> dict[str, Any]:
    """Stamp → subscriber latency, and (with ``sent_at``: index → send time) true send → subscriber latency."""
    out: dict[str, Any] = {"received": len(rec), "stamp_to_subscriber_ms": percentiles([(rx - st) / 1e6 for rx, st, _ in rec])}
    if sent_at is not None:
        true = [(rx - sent_at[i]) / 1e6 for rx, _, i in rec if i in sent_at]
        out["send_to_subscriber_ms"] = percentiles(true)
        out["unmatched_indices"] = sum(1 for _, _, i in rec if i not in sent_at)
    return out


async def ws_clients(url: str, token: str, names: list[str], *, fps: float, seconds: float, jpegs: list[bytes]) -> dict[str, int]:
    """``len(names)`` WebSocket clients each sending ``fps`` frames per second for ``seconds``; returns frames sent per client."""
    from websockets.asyncio.client import connect

    async def one(name: str, offset: float) -> int:
        async with connect(url, compression=None, max_size=None) as ws:
            await ws.send(proto.hello_message(name, token))
            await ws.recv()
            await asyncio.sleep(offset)
            n, t_next, end = 0, time.monotonic(), time.monotonic() + seconds
            while time.monotonic() < end:
                await ws.send(proto.pack_frame(name, time.time_ns(), n, jpegs[n % len(jpegs)]))
                n += 1
                t_next += 1 / fps
                await asyncio.sleep(max(0.0, t_next - time.monotonic()))
            return n

    counts = await asyncio.gather(*(one(n, i / (fps * len(names))) for i, n in enumerate(names)))
    return dict(zip(names, counts, strict=True))


async def whip_peers(url_of: Any, token: str, names: list[str], *, fps: float, seconds: float, width: int, height: int) -> dict[str, dict[int, int]]:
    """WebRTC peers pushing indexed frames; returns ``{peer: {index: push time ns}}``."""
    from videorag_ros.ingest.webrtc_client import WhipPublisher

    pubs = [WhipPublisher(url=url_of(n), token=token) for n in names]
    for p in pubs:
        await p.start()
    await asyncio.gather(*(asyncio.wait_for(p.channel_open.wait(), 20) for p in pubs))
    sent: dict[str, dict[int, int]] = {n: {} for n in names}
    base = [moving_frame(i, width, height) for i in range(8)]
    i, t_next, end = 0, time.monotonic(), time.monotonic() + seconds
    while time.monotonic() < end:
        for n, p in zip(names, pubs, strict=True):
            rgb = draw_index(base[i % len(base)].copy(), i)
            now = time.time_ns()
            p.push(rgb, now)
            sent[n][i] = now
        i += 1
        t_next += 1 / fps
        await asyncio.sleep(max(0.0, t_next - time.monotonic()))
    await asyncio.sleep(0.5)
    for p in pubs:
        await p.close()
    return sent


def framing_costs(jpeg: bytes, reps: int = 400) -> dict[str, Any]:
    """Binary header vs base64-in-JSON for one frame: bytes on the wire, pack and parse time per frame (µs)."""
    client, stamp = "drone1", time.time_ns()

    def b64_pack(seq: int) -> str:
        return json.dumps({"type": "frame", "client": client, "stamp_ns": stamp, "seq": seq, "jpeg": base64.b64encode(jpeg).decode("ascii")})

    def b64_parse(text: str | bytes) -> bytes:
        obj = json.loads(text)
        return base64.b64decode(obj["jpeg"], validate=True)

    out: dict[str, Any] = {"jpeg_bytes": len(jpeg)}
    def bin_pack(seq: int) -> bytes:
        return proto.pack_frame(client, stamp, seq, jpeg)

    def bin_parse(data: str | bytes) -> bytes:
        return proto.parse_frame(data if isinstance(data, bytes) else data.encode(), client=client).jpeg

    codecs: list[tuple[str, Callable[[int], str | bytes], Callable[[str | bytes], bytes]]] = [("binary", bin_pack, bin_parse), ("base64_json", b64_pack, b64_parse)]
    for name, pack, parse in codecs:
        pack_us, parse_us = [], []
        for s in range(reps):
            t0 = time.perf_counter_ns()
            d = pack(s)
            t1 = time.perf_counter_ns()
            assert parse(d) == jpeg
            t2 = time.perf_counter_ns()
            pack_us.append((t1 - t0) / 1e3)
            parse_us.append((t2 - t1) / 1e3)
        out[name] = {"wire_bytes": len(d), "pack_us": percentiles(pack_us), "parse_us": percentiles(parse_us)}
    out["wire_ratio_base64_over_binary"] = out["base64_json"]["wire_bytes"] / out["binary"]["wire_bytes"]
    out["cpu_ratio_base64_over_binary_p50"] = (out["base64_json"]["pack_us"]["p50"] + out["base64_json"]["parse_us"]["p50"]) / (
        out["binary"]["pack_us"]["p50"] + out["binary"]["parse_us"]["p50"]
    )
    return out


async def framing_round_trips(jpeg: bytes, n: int = 200) -> dict[str, Any]:
    """Send → parsed-at-a-websockets-server → ack round trips on 127.0.0.1, both framings interleaved in one run (ms)."""
    from websockets.asyncio.client import connect
    from websockets.asyncio.server import serve

    async def handler(ws: Any) -> None:
        async for msg in ws:
            if isinstance(msg, str):
                base64.b64decode(json.loads(msg)["jpeg"], validate=True)
            else:
                proto.parse_frame(msg, client="drone1")
            await ws.send("ok")

    b64 = json.dumps({"type": "frame", "client": "drone1", "stamp_ns": 0, "seq": 0, "jpeg": base64.b64encode(jpeg).decode("ascii")})
    rtt: dict[str, list[float]] = {"binary": [], "base64_json": []}
    async with serve(handler, "127.0.0.1", 0, compression=None, max_size=None) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        async with connect(f"ws://127.0.0.1:{port}", compression=None, max_size=None) as ws:
            for i in range(n):
                for name in ("binary", "base64_json"):
                    t0 = time.perf_counter_ns()
                    await ws.send(proto.pack_frame("drone1", 0, i, jpeg) if name == "binary" else b64)
                    await ws.recv()
                    rtt[name].append((time.perf_counter_ns() - t0) / 1e6)
    return {k: percentiles(v) for k, v in rtt.items()}
