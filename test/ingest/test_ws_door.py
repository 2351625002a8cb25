"""The WebSocket door with real websockets clients on 127.0.0.1: frames in, events out, and every kind of bad
client (wrong token, garbage bytes, a 100 MB frame, not-JPEG frames, a silent or flooding client) counted and
logged without disturbing a well-behaved client streaming at the same time."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

pytest.importorskip("websockets.asyncio.server", reason="the 'ingest' extra (websockets>=13) is not installed: pip install 'videorag[ingest]'")

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from test.support.waiting import wait_for
from videorag_ros.ingest import ws_protocol as proto
from videorag_ros.ingest.frame import IngestFrame
from videorag_ros.ingest.ws_server import SERVER, WsConfig, WsIngestServer

TOKEN = "test-token-0123456789abcdef"


def jpeg(seed: int = 0, width: int = 64, height: int = 48) -> bytes:
    img = np.random.default_rng(seed).integers(0, 255, (height, width, 3), np.uint8)
    ok, buf = cv2.imencode(".jpg", img)
    assert ok
    return buf.tobytes()



class Published:
    def __init__(self, delay_s: float = 0.0) -> None:
        self.frames: list[IngestFrame] = []
        self.delay_s = delay_s
        self._lock = threading.Lock()

    def __call__(self, f: IngestFrame) -> None:
        if self.delay_s:
            time.sleep(self.delay_s)  # a slow publish, as under load
        with self._lock:
            self.frames.append(f)

    def of(self, client: str) -> list[IngestFrame]:
        with self._lock:
            return [f for f in self.frames if f.camera == client]


@pytest.fixture
def token_file(tmp_path: Path) -> Path:
    p = tmp_path / "token"
    p.write_text(TOKEN + "\n")
    p.chmod(0o600)
    return p


@pytest.fixture
def door(token_file: Path) -> Iterator[Callable[..., tuple[WsIngestServer, Published]]]:
    servers: list[WsIngestServer] = []

    def make(delay_s: float = 0.0, **params: object) -> tuple[WsIngestServer, Published]:
        pub = Published(delay_s)
        s = WsIngestServer(WsConfig.from_params({"token_file": str(token_file), "port": 0, **params}), pub)
        s.start()
        servers.append(s)
        return s, pub

    yield make
    for s in servers:
        s.stop()


async def hello(url: str, client: str, token: str = TOKEN, **kw: object):
    ws = await connect(url, compression=None, max_size=None, **kw)  # type: ignore[arg-type]
    await ws.send(proto.hello_message(client, token))
    return ws, json.loads(await ws.recv())


async def stream(url: str, client: str, n: int, fps: float) -> int:
    ws, welcome = await hello(url, client)
    assert welcome["type"] == "welcome"
    for i in range(n):
        await ws.send(proto.pack_frame(client, time.time_ns(), i, jpeg(i)))
        await asyncio.sleep(1 / fps)
    await ws.close()
    return n


def test_frames_are_published_and_events_come_back(door) -> None:
    server, pub = door()
    url = f"ws://127.0.0.1:{server.port}"

    async def run() -> list[dict]:
        ws, welcome = await hello(url, "drone1")
        assert welcome == {"type": "welcome", "client": "drone1", "topic": "ingest/drone1/image_raw/compressed", "max_frame_bytes": 2 * 1024 * 1024}
        for i in range(5):
            await ws.send(proto.pack_frame("drone1", time.time_ns(), i, jpeg(i)))
            await asyncio.sleep(0.05)
        assert server.send_event("drone1", {"trigger": "person_ahead", "state": "ENTER", "camera": "drone1"})
        event = json.loads(await asyncio.wait_for(ws.recv(), 5))
        await ws.close()
        return [event]

    events = asyncio.run(run())
    assert events == [{"type": "trigger", "trigger": "person_ahead", "state": "ENTER", "camera": "drone1"}]
    assert wait_for(lambda: len(pub.of("drone1")) == 5, 5)
    f = pub.of("drone1")[0]
    assert (f.kind, f.width, f.height, f.stamp_source, f.seq) == ("jpeg", 64, 48, "client", 0)
    assert not server.send_event("nobody", {"trigger": "x"})
    assert wait_for(lambda: server.clients() == [], 5)


def test_hostile_clients_are_counted_and_a_good_client_keeps_streaming(door, caplog: pytest.LogCaptureFixture) -> None:
    server, pub = door(max_bad_frames=3, hello_timeout_s=1.0)
    url = f"ws://127.0.0.1:{server.port}"
    caplog.set_level(logging.WARNING, logger="videorag_ros.ingest")

    async def wrong_token() -> int | None:
        ws = await connect(url, compression=None)
        await ws.send(proto.hello_message("intruder", "not-the-token-at-all"))
        with pytest.raises(ConnectionClosed) as err:
            await ws.recv()
        return err.value.rcvd.code if err.value.rcvd else None

    async def garbage_bytes() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(range(256)) * 4 + b"\r\n\r\n")
        await writer.drain()
        await reader.read()  # the server hangs up
        writer.close()

    async def huge_frame() -> int | None:
        ws, _ = await hello(url, "bigframe")
        try:
            await ws.send(proto.pack_frame("bigframe", time.time_ns(), 0, b"\xff\xd8\xff" + bytes(100 * 1024 * 1024)))
            await asyncio.wait_for(ws.recv(), 10)
        except ConnectionClosed as err:
            return err.rcvd.code if err.rcvd else None
        return None

    async def not_jpeg() -> int | None:
        ws, _ = await hello(url, "liar")
        try:
            for i in range(5):
                await ws.send(proto.FRAME_HEADER.pack(proto.FRAME_MAGIC, 1, 0, 4, time.time_ns(), i) + b"liar" + b"GIF89a" + bytes(100))
            await asyncio.wait_for(ws.recv(), 5)
        except ConnectionClosed as err:
            return err.rcvd.code if err.rcvd else None
        return None

    async def silent() -> int | None:
        ws = await connect(url, compression=None)  # never says hello
        try:
            await asyncio.wait_for(ws.recv(), 5)
        except ConnectionClosed as err:
            return err.rcvd.code if err.rcvd else None
        return None

    async def run() -> list[object]:
        good = asyncio.create_task(stream(url, "good", 30, 15.0))
        await asyncio.sleep(0.2)
        results = await asyncio.gather(wrong_token(), garbage_bytes(), huge_frame(), not_jpeg(), silent())
        return [await good, *results]

    sent, auth_code, _, big_code, liar_code, silent_code = asyncio.run(run())
    assert auth_code == proto.CLOSE_AUTH and big_code == 1009 and liar_code == proto.CLOSE_BAD_FRAMES and silent_code == proto.CLOSE_BAD_HELLO
    counts = server.counters.for_camera(SERVER)
    assert counts["auth_failures"] == 1 and counts["handshake_failures"] == 1 and counts["hello_timeouts"] == 1
    assert server.counters.get("bigframe", "oversized_frames") == 1
    assert server.counters.get("liar", "bad_frames") == 3 and server.counters.get("liar", "closed_bad_frames") == 1
    # the good client lost nothing
    assert wait_for(lambda: len(pub.of("good")) == sent, 5), len(pub.of("good"))
    assert {f.camera for f in pub.frames} == {"good"}
    text = caplog.text
    for what in ("wrong token", "not a WebSocket handshake", "over max_frame_bytes", "not a JPEG", "no hello"):
        assert what in text, what
    assert TOKEN not in text and "not-the-token-at-all" not in text  # tokens are never logged


def test_a_flooding_client_loses_its_own_frames_not_the_others(door) -> None:
    server, pub = door(delay_s=0.01)  # each publish takes 10 ms
    url = f"ws://127.0.0.1:{server.port}"

    async def flood() -> int:
        ws, _ = await hello(url, "flood")
        for i in range(300):
            await ws.send(proto.pack_frame("flood", time.time_ns(), i, jpeg(i % 7)))
        await asyncio.sleep(0.5)
        await ws.close()
        return 300

    async def run() -> tuple[int, int]:
        return tuple(await asyncio.gather(flood(), stream(url, "steady", 20, 10.0)))  # type: ignore[return-value]

    n_flood, n_steady = asyncio.run(run())
    assert wait_for(lambda: server.clients() == [], 5)
    time.sleep(0.3)
    c = server.counters
    # every received frame is published or counted as dropped, per client
    for client in ("flood", "steady"):
        assert c.get(client, "frames_in") == c.get(client, "frames_out") + c.get(client, "dropped"), client
    assert c.get("flood", "dropped") > 100  # the flood drops its own frames in its slot ...
    assert len(pub.of("steady")) >= 0.8 * n_steady  # ... and the steady client is served fairly
    assert c.get("flood", "frames_in") == n_flood


def test_limits_on_clients_ids_stamps_and_sizes(door) -> None:
    server, pub = door(max_clients=1, max_width=32, max_height=32)
    url = f"ws://127.0.0.1:{server.port}"

    async def run() -> tuple[int | None, int | None]:
        first, _ = await hello(url, "one")
        codes = []
        for client in ("one", "two"):  # same id again, then one too many
            ws = await connect(url, compression=None)
            await ws.send(proto.hello_message(client, TOKEN))
            try:
                await ws.recv()
            except ConnectionClosed as err:
                codes.append(err.rcvd.code if err.rcvd else None)
        await first.send(proto.pack_frame("one", time.time_ns(), 5, jpeg(0)))  # 64x48 > 32x32
        await first.send(proto.pack_frame("one", time.time_ns() + 3_600_000_000_000, 6, jpeg(0, 32, 24)))  # clock an hour ahead
        await first.send(proto.pack_frame("one", time.time_ns(), 6, jpeg(1, 32, 24)))  # repeated sequence number
        await asyncio.sleep(0.3)
        await first.close()
        return codes[0], codes[1]

    in_use, too_many = asyncio.run(run())
    assert in_use == proto.CLOSE_ID_IN_USE and too_many == proto.CLOSE_TOO_MANY
    c = server.counters
    assert c.get("one", "bad_frames") == 1 and c.get("one", "stamps_replaced") == 1 and c.get("one", "out_of_order") == 1
    assert wait_for(lambda: len(pub.of("one")) == 1, 5)
    assert pub.of("one")[0].stamp_source == "receive"


def test_idle_clients_are_closed(door) -> None:
    server, _ = door(idle_timeout_s=0.5)

    async def run() -> int | None:
        ws, _ = await hello(f"ws://127.0.0.1:{server.port}", "sleepy")
        try:
            await asyncio.wait_for(ws.recv(), 5)
        except ConnectionClosed as err:
            return err.rcvd.code if err.rcvd else None
        return None

    assert asyncio.run(run()) == proto.CLOSE_IDLE
    assert server.counters.get("sleepy", "idle_timeouts") == 1


def test_memory_bound_and_token_are_checked_at_start(token_file: Path, tmp_path: Path) -> None:
    from videorag_ros.core.errors import ConfigError
    from videorag_ros.ingest.errors import AuthError

    with pytest.raises(ConfigError, match="exceeds max_memory_bytes"):
        WsConfig.from_params({"token_file": str(token_file), "max_clients": 100, "max_frame_bytes": 8 * 1024 * 1024})
    with pytest.raises(AuthError, match="cannot be read"):
        WsConfig.from_params({"token_file": str(tmp_path / "missing")})
    assert TOKEN not in repr(WsConfig.from_params({"token_file": str(token_file)}))


def test_port_in_use_is_a_clear_error(door, token_file: Path) -> None:
    from videorag_ros.ingest.errors import IngestError

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        server = WsIngestServer(WsConfig.from_params({"token_file": str(token_file), "port": s.getsockname()[1]}), lambda f: None)
        with pytest.raises(IngestError, match=r"cannot listen on 127\.0\.0\.1"):
            server.start()
        server.stop()


def test_stream_client_streams_a_file_and_hears_its_events(door, footage) -> None:
    from videorag_ros.ingest.source import parse_source
    from videorag_ros.ingest.ws_client import StreamClient

    server, pub = door()
    url = f"ws://127.0.0.1:{server.port}"

    def emit_when_connected() -> None:
        if wait_for(lambda: server.clients() == ["cam7"], 20):
            time.sleep(0.5)
            server.send_event("cam7", {"trigger": "t", "state": "ENTER", "camera": "cam7"})

    threading.Thread(target=emit_when_connected, daemon=True).start()
    client = StreamClient(url=url, client_id="cam7", token=TOKEN, source=parse_source(str(footage("vtest.avi"))), fps=4, max_width=320, quality=70)
    stats = client.run(3.0)
    assert stats.connects == 1 and stats.frames_sent >= 6
    assert [e["trigger"] for e in stats.events] == ["t"]
    assert wait_for(lambda: len(pub.of("cam7")) == stats.frames_sent, 5)
    f = pub.of("cam7")[0]
    assert (f.width, f.height) == (320, 240) and f.data[:3] == b"\xff\xd8\xff"


def test_stream_client_with_a_wrong_token_fails_at_once(door, footage) -> None:
    from videorag_ros.ingest.errors import AuthError
    from videorag_ros.ingest.source import parse_source
    from videorag_ros.ingest.ws_client import StreamClient

    server, _ = door()
    client = StreamClient(url=f"ws://127.0.0.1:{server.port}", client_id="cam8", token="wrong-token-000000000", source=parse_source(str(footage("vtest.avi"))))
    with pytest.raises(AuthError, match="refused the token"):
        client.run(10.0)


def test_stream_client_reconnects_after_the_door_restarts(token_file: Path, footage) -> None:
    from videorag_ros.bench.rigs.streams import free_port
    from videorag_ros.ingest.source import parse_source
    from videorag_ros.ingest.ws_client import StreamClient

    port = free_port()
    pub = Published()
    cfg = WsConfig.from_params({"token_file": str(token_file), "port": port})
    first = WsIngestServer(cfg, pub)
    first.start()
    restarted: list[WsIngestServer] = []

    def restart() -> None:
        wait_for(lambda: len(pub.of("cam9")) >= 3, 20)
        first.stop()  # the server goes away ...
        time.sleep(1.0)
        second = WsIngestServer(cfg, pub)  # ... and comes back on the same port
        second.start()
        restarted.append(second)

    t = threading.Thread(target=restart, daemon=True)
    t.start()
    client = StreamClient(url=f"ws://127.0.0.1:{port}", client_id="cam9", token=TOKEN, source=parse_source(str(footage("vtest.avi"))), fps=5, max_width=160, loop_file=True)
    try:
        stats = client.run(8.0)
    finally:
        t.join(5)
        for s in restarted:
            s.stop()
    assert stats.connects == 2
    assert restarted and restarted[0].counters.get("cam9", "frames_in") >= 3
