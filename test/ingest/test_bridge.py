"""The stream bridge on real decoders: a file, live MPEG-TS over TCP and UDP and an MJPEG HTTP camera served
on 127.0.0.1, and what goes wrong with sources: restarts, stalls, a crashing decoder, garbage files."""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("av", reason="the 'ingest' extra (av) is not installed: pip install 'videorag[ingest]'")

from test.support.waiting import wait_for
from videorag_ros.bench.rigs.streams import MjpegServer, StreamServer, free_port
from videorag_ros.ingest.bridge import BridgeConfig, StreamBridge
from videorag_ros.ingest.frame import IngestFrame
from videorag_ros.ingest.source import parse_source


class Sink:
    """Collects frames from a bridge (its thread) for the test."""

    def __init__(self) -> None:
        self.frames: list[tuple[IngestFrame, int]] = []
        self._lock = threading.Lock()

    def __call__(self, f: IngestFrame) -> None:
        with self._lock:
            self.frames.append((f, time.time_ns()))

    def __len__(self) -> int:
        with self._lock:
            return len(self.frames)


@pytest.fixture
def run_bridge() -> Iterator[Callable[..., tuple[StreamBridge, Sink]]]:
    bridges: list[StreamBridge] = []

    def make(source: str, **kw: object) -> tuple[StreamBridge, Sink]:
        sink = Sink()
        cfg = BridgeConfig(source=parse_source(source), camera="cam", **{"open_timeout_s": 5.0, "stall_timeout_s": 2.0, "backoff_initial_s": 0.2, "backoff_max_s": 1.0} | kw)  # type: ignore[arg-type]
        b = StreamBridge(cfg, sink)
        bridges.append(b)
        b.start()
        return b, sink

    yield make
    for b in bridges:
        b.stop()


def test_file_plays_in_real_time_scaled_and_rate_capped(run_bridge, footage) -> None:
    # vtest.avi: 768x576 at 10 fps; capped to 5 fps and 320 px wide, 3 s of it
    b, sink = run_bridge(str(footage("vtest.avi")), max_width=320, max_height=320, max_fps=5.0)
    time.sleep(3.0)
    n = len(sink)
    assert 11 <= n <= 18, n  # ~15 frames in 3 s at 5 fps: real-time pacing, not as fast as decoding
    f, _ = sink.frames[0]
    assert (f.kind, f.width, f.height, f.stamp_source) == ("rgb", 320, 240, "pace")
    assert len(f.data) == 320 * 240 * 3
    gaps = np.diff([fr.stamp_ns for fr, _ in sink.frames[1:]]) / 1e6
    assert 150 < float(np.median(gaps)) < 250
    assert b.counters.get("cam", "frames_out") == n and b.info["codec"] == "msmpeg4"


def test_file_ends_or_loops(run_bridge, footage) -> None:
    b, sink = run_bridge(str(footage("cup.mp4")), realtime=False, max_width=160, max_height=160)
    assert b.wait(60.0) and b.state == "ended"
    n_once = len(sink)
    assert n_once >= 200  # 217 frames in the clip
    looped, sink2 = run_bridge(str(footage("cup.mp4")), realtime=False, loop=True, max_width=160, max_height=160)
    assert wait_for(lambda: len(sink2) > n_once + 20, 60.0)
    assert looped.state == "streaming" and looped.counters.get("cam", "reconnects") == 0
    stamps = [f.stamp_ns for f, _ in sink2.frames]
    assert stamps == sorted(stamps)


def test_compressed_output_encodes_jpeg(run_bridge, footage) -> None:
    _, sink = run_bridge(str(footage("vtest.avi")), output="compressed", realtime=False, max_width=320, max_height=320)
    assert wait_for(lambda: len(sink) >= 3, 20.0)
    f, _ = sink.frames[0]
    assert f.kind == "jpeg" and f.data[:3] == b"\xff\xd8\xff" and (f.width, f.height) == (320, 240)


def test_live_tcp_stream_is_stamped_from_pts_and_reconnects_after_a_server_restart(run_bridge) -> None:
    server = StreamServer(proto="tcp", fps=15).start()
    try:
        b, sink = run_bridge(server.url)
        assert wait_for(lambda: len(sink) >= 10, 15.0), b.last_error
        f, published = sink.frames[-1]
        assert f.stamp_source == "pts" and (f.width, f.height) == (640, 480)
        assert 0 <= published - f.stamp_ns < 2_000_000_000
        server.stop()  # the camera goes away ...
        assert wait_for(lambda: b.counters.get("cam", "reconnects") >= 1, 10.0)
        before = len(sink)
        server.start()  # ... and comes back on the same port
        assert wait_for(lambda: len(sink) >= before + 10, 20.0), b.last_error
        assert b.state == "streaming"
    finally:
        server.stop()


def test_a_stalled_stream_is_detected_and_reconnected(run_bridge, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="videorag_ros.ingest")
    server = StreamServer(proto="tcp", fps=15).start()
    try:
        b, sink = run_bridge(server.url, stall_timeout_s=1.0)
        assert wait_for(lambda: len(sink) >= 5, 15.0), b.last_error
        server.stall()  # connection open, no bytes
        assert wait_for(lambda: b.counters.get("cam", "stalls") >= 1, 10.0)
        assert "stalled" in b.last_error
        assert wait_for(lambda: "no frame for 1 s (stream stalled); reconnecting" in caplog.text, 5.0)
        server.resume()
        before = len(sink)
        assert wait_for(lambda: len(sink) >= before + 5, 20.0), b.last_error
    finally:
        server.stop()


def test_a_crashing_decoder_costs_a_reconnect_not_the_bridge(run_bridge, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="videorag_ros.ingest")
    server = StreamServer(proto="tcp", fps=15).start()
    try:
        b, sink = run_bridge(server.url)
        assert wait_for(lambda: len(sink) >= 5 and b.child_pid is not None, 15.0), b.last_error
        os.kill(b.child_pid, signal.SIGSEGV)  # what a decoder bug on hostile input looks like
        assert wait_for(lambda: b.counters.get("cam", "decoder_crashes") == 1, 10.0)
        assert "crashed (SIGSEGV)" in b.last_error
        assert wait_for(lambda: "the decoder crashed (SIGSEGV); reconnecting" in caplog.text, 5.0)
        before = len(sink)
        assert wait_for(lambda: len(sink) >= before + 5, 20.0), b.last_error
    finally:
        server.stop()


def test_udp_mpegts(run_bridge) -> None:
    server = StreamServer(proto="udp", fps=15)
    b, sink = run_bridge(server.url)
    server.start()
    try:
        assert wait_for(lambda: len(sink) >= 10, 20.0), b.last_error
        assert sink.frames[-1][0].kind == "rgb"
    finally:
        server.stop()


def test_mjpeg_over_http_is_passed_through_without_reencoding(run_bridge) -> None:
    server = MjpegServer(fps=15)
    try:
        b, sink = run_bridge(server.url)
        assert wait_for(lambda: len(sink) >= 5, 15.0), b.last_error
        f, _ = sink.frames[-1]
        assert f.kind == "jpeg" and f.data[:3] == b"\xff\xd8\xff" and (f.width, f.height) == (640, 480)
        assert f.stamp_source == "receive"  # multipart MJPEG carries no timestamps
        assert b.info["passthrough"] is True
    finally:
        server.stop()


def test_refused_connections_back_off(run_bridge) -> None:
    b, sink = run_bridge(f"tcp://127.0.0.1:{free_port()}", open_timeout_s=1.0)
    assert wait_for(lambda: b.counters.get("cam", "reconnects") >= 2, 15.0)
    assert b.counters.get("cam", "open_failures") >= 2 and len(sink) == 0
    assert b.state in ("backoff", "connecting")


def test_a_garbage_file_is_given_up_with_a_reason(run_bridge, tmp_path: Path) -> None:
    bad = tmp_path / "evil.mp4"
    bad.write_bytes(os.urandom(64 * 1024))
    b, sink = run_bridge(str(bad), max_file_failures=2)
    assert b.wait(30.0) and b.state == "failed"
    assert len(sink) == 0 and b.counters.get("cam", "open_failures") == 2
    assert "open failed" in b.last_error


def test_rtsp_pushed_to_the_bridge_is_stamped_from_rtcp(run_bridge) -> None:
    from videorag_ros.bench.rigs.streams import RtspPusher

    url = f"rtsp://127.0.0.1:{free_port()}/robot"
    b, sink = run_bridge(url, rtsp_listen=True, open_timeout_s=20.0)
    pusher = RtspPusher(url, fps=15).start()
    try:
        assert wait_for(lambda: len(sink) >= 10, 20.0), (b.last_error, pusher.error)
        f, published = sink.frames[-1]
        assert b.info["format"] == "rtsp" and f.kind == "rgb" and (f.width, f.height) == (640, 480)
        assert f.stamp_source == "rtcp"  # the sender's wall clock, from its RTCP sender reports
        assert 0 <= published - f.stamp_ns < 1_000_000_000
    finally:
        pusher.stop()
