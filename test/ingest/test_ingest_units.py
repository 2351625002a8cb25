"""The ROS-free, network-free parts of the doors: sources, backoff, stamps, parameters, tokens, the wire format."""

from __future__ import annotations

import itertools
import os
import socket
import struct
from pathlib import Path

import pytest

from videorag_ros.core.errors import ConfigError
from videorag_ros.ingest import ws_protocol as proto
from videorag_ros.ingest.auth import read_token, token_matches
from videorag_ros.ingest.backoff import Backoff
from videorag_ros.ingest.config import BRIDGE_PARAMS, WEBRTC_PARAMS, WS_PARAMS, check_params
from videorag_ros.ingest.decode_worker import fit
from videorag_ros.ingest.errors import AuthError, ProtocolError, SourceError
from videorag_ros.ingest.source import parse_source, redact
from videorag_ros.ingest.stamps import StampMapper

JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 60


@pytest.mark.parametrize(
    ("text", "kind", "live"),
    [
        ("rtsp://user:pw@10.0.0.5:554/stream1", "rtsp", True),  # credentials in the URL, as IP cameras do
        ("rtsps://cam.local/s", "rtsp", True),
        ("http://127.0.0.1:8080/video.mjpg", "http", True),
        ("https://cdn.example.org/live/index.m3u8", "http", True),  # HLS
        ("tcp://127.0.0.1:9000", "tcp", True),
        ("udp://127.0.0.1:5000", "udp", True),
    ],
)
def test_urls_are_classified(text: str, kind: str, live: bool) -> None:
    s = parse_source(text)
    assert (s.kind, s.live, s.url) == (kind, live, text)
    assert "pw" not in s.describe()


def test_a_regular_file_is_a_file_source(tmp_path: Path) -> None:
    f = tmp_path / "clip.mp4"
    f.write_bytes(b"x")
    s = parse_source(str(f))
    assert s.kind == "file" and not s.live and s.url == str(f.resolve())


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("", "empty"),
        ("ftp://host/x", "scheme 'ftp' is not supported"),
        ("rtsp:///nohost", "has no host"),
        ("/no/such/file.mp4", "cannot be read"),
        ("clip\x1b[31m.mp4", "control characters"),  # terminal escapes never reach a log line raw
        ("x" * 3000, "longer than"),
    ],
)
def test_bad_sources_are_refused_with_the_reason(text: str, match: str) -> None:
    with pytest.raises(SourceError, match=match):
        parse_source(text)


def test_fifos_and_devices_are_not_files(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(SourceError, match="not a regular file"):
        parse_source(str(fifo))
    with pytest.raises(SourceError, match="not a regular file"):
        parse_source("/dev/null")
    sock = tmp_path / "s.sock"
    with socket.socket(socket.AF_UNIX) as s:
        s.bind(str(sock))
        with pytest.raises(SourceError, match="not a regular file"):
            parse_source(str(sock))


def test_redact_hides_credentials_only() -> None:
    assert redact("rtsp://admin:hunter2@cam:554/s") == "rtsp://***@cam:554/s"
    assert redact("rtsp://cam:554/s") == "rtsp://cam:554/s"


def test_backoff_doubles_up_to_the_cap_and_resets() -> None:
    b = Backoff(initial_s=0.5, max_s=4.0, jitter=0.0)
    assert [b.next_delay() for _ in range(6)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    b.reset()
    assert b.next_delay() == 0.5
    j = Backoff(initial_s=1.0, max_s=10.0, jitter=0.2, seed=1)
    assert all(0.8 <= j.next_delay() / base <= 1.2 for base in (1, 2, 4, 8))
    with pytest.raises(ValueError, match="initial_s"):
        Backoff(initial_s=0.0)


def test_pts_stamps_follow_the_stream_clock_and_never_the_future() -> None:
    m = StampMapper()
    base = 1_700_000_000_000_000_000
    # frames every 100 ms of stream time, delivered with jitter of 0..30 ms
    delays = [0.020, 0.005, 0.030, 0.010, 0.025]
    out = [m.stamp(i * 0.1, base + int((i * 0.1 + d) * 1e9)) for i, d in enumerate(delays)]
    assert all(src == "pts" for _, src in out)
    stamps = [s for s, _ in out]
    assert all(b - a == 100_000_000 for a, b in itertools.pairwise(stamps[1:]))  # jitter gone once the fastest frame is seen
    assert all(s <= base + int((i * 0.1 + d) * 1e9) for i, (s, d) in enumerate(zip(stamps, delays, strict=True)))


def test_pts_jump_or_a_slow_stream_clock_reanchors() -> None:
    m = StampMapper()
    t = 1_700_000_000_000_000_000
    m.stamp(0.0, t)
    s, _ = m.stamp(100.0, t + 100_000_000)  # looped / restarted encoder: 100 s jump in 0.1 s
    assert s == t + 100_000_000 and m.reanchored == 1
    s, _ = m.stamp(100.1, t + 3_000_000_000)  # stream clock 2.8 s behind ours
    assert s == t + 3_000_000_000 and m.reanchored == 2


def test_rtcp_stamps_are_used_when_plausible_and_refused_otherwise() -> None:
    now = 1_700_000_000_000_000_000
    m = StampMapper(realtime_start_us=(now - 2_000_000_000) // 1000)  # PTS 0 was captured 2 s ago
    assert m.stamp(1.95, now) == (now - 50_000_000, "rtcp")
    bad = StampMapper(realtime_start_us=(now + 3_600_000_000_000) // 1000)  # sender clock an hour ahead
    assert bad.stamp(0.0, now)[1] == "pts" and bad.rtcp_refused == 1
    assert StampMapper().stamp(None, now) == (now, "receive")
    assert StampMapper().stamp(float("nan"), now) == (now, "receive")


def test_fit_keeps_aspect_and_never_upscales() -> None:
    assert fit(1920, 1080, 640, 640) == (640, 360)
    assert fit(320, 240, 640, 480) == (320, 240)
    assert fit(768, 576, 640, 480) == (640, 480)


def test_params_defaults_types_ranges_and_unknown_names() -> None:
    p = check_params(WS_PARAMS, {"token_file": "/x", "port": 0})
    assert p["host"] == "127.0.0.1" and p["max_clients"] == 16 and p["port"] == 0
    assert check_params(WEBRTC_PARAMS, {"ice_servers": None})["ice_servers"] == ()
    assert check_params(BRIDGE_PARAMS, {"max_fps": 5})["max_fps"] == 5.0
    with pytest.raises(ConfigError, match="'max_clients' = 0 is below"):
        check_params(WS_PARAMS, {"max_clients": 0})
    with pytest.raises(ConfigError, match="must be a float"):
        check_params(BRIDGE_PARAMS, {"max_fps": float("nan")})
    with pytest.raises(ConfigError, match="not one of auto, raw, compressed"):
        check_params(BRIDGE_PARAMS, {"output": "h264"})
    with pytest.raises(ConfigError, match="unknown parameter"):
        check_params(WS_PARAMS, {"max_client": 3})


def test_token_file_rules(tmp_path: Path) -> None:
    good = tmp_path / "t"
    good.write_text("  0123456789abcdef-long-token \n")
    good.chmod(0o600)
    assert read_token(good) == b"0123456789abcdef-long-token"
    short = tmp_path / "s"
    short.write_text("abc")
    with pytest.raises(AuthError, match="shorter than 16"):
        read_token(short)
    with pytest.raises(AuthError, match="no token file"):
        read_token("")
    with pytest.raises(AuthError, match="regular file"):
        read_token(tmp_path)
    assert token_matches(b"0123456789abcdef", "0123456789abcdef")
    assert not token_matches(b"0123456789abcdef", "0123456789abcdeX")
    assert not token_matches(b"0123456789abcdef", None)
    assert not token_matches(b"0123456789abcdef", "\udcff")  # not UTF-8: compared as bytes, never raises


def test_frame_round_trip() -> None:
    data = proto.pack_frame("drone1", 123, 7, JPEG)
    assert len(data) == proto.FRAME_HEADER.size + len("drone1") + len(JPEG)
    f = proto.parse_frame(data, client="drone1")
    assert (f.client, f.stamp_ns, f.seq, f.jpeg) == ("drone1", 123, 7, JPEG)


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (b"\x00" * 10, "shorter than"),
        (b"XXXX" + b"\x00" * 40, "expected magic"),
        (proto.pack_frame("other", 1, 1, JPEG), "this connection is 'drone1'"),
        (proto.pack_frame("drone1", 1, 1, b"\x89PNG\r\n\x1a\n" + b"0" * 20), "not a JPEG"),
        (proto.pack_frame("drone1", 1, 1, b""), "not a JPEG"),
        (struct.pack("<4sBBHqQ", b"VRF1", 1, 0, 60000, 0, 0) + b"drone1" + JPEG, "this connection"),  # id length lies
        ("text frame", "got text"),
    ],
)
def test_bad_frames_are_refused_with_the_reason(data: bytes, match: str) -> None:
    with pytest.raises(ProtocolError, match=match):
        proto.parse_frame(data, client="drone1")


@pytest.mark.parametrize(
    ("hello", "match"),
    [
        ("not json", "not JSON"),
        ('{"type": "hello", "version": 2, "client": "a", "token": "t"}', "expected"),
        ('{"type": "hello", "version": 1, "client": "Bad-Id", "token": "t"}', "client id 'Bad-Id' is not valid"),
        ('{"type": "hello", "version": 1, "client": "a"}', "no 'token'"),
        (b"binary", "JSON text hello"),
        ("x" * 5000, "at most 4096"),
    ],
)
def test_bad_hellos_are_refused(hello: str | bytes, match: str) -> None:
    with pytest.raises(ProtocolError, match=match):
        proto.parse_hello(hello)


def test_jpeg_size_reads_the_header_only() -> None:
    cv2 = pytest.importorskip("cv2")
    import numpy as np

    ok, buf = cv2.imencode(".jpg", np.zeros((48, 64, 3), np.uint8))
    assert ok and proto.jpeg_size(buf.tobytes()) == (64, 48)
    with pytest.raises(ProtocolError, match="could not read the JPEG header"):
        proto.jpeg_size(JPEG)
