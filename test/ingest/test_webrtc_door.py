"""The WebRTC door with a real aiortc offerer on 127.0.0.1: video in, events back on the data channel, and
refused offers (token, content type, no video, garbage SDP, too many peers) counted with a reason."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

pytest.importorskip("aiortc", reason="the 'ingest' extra (aiortc) is not installed: pip install 'videorag[ingest]'")
pytest.importorskip("aiohttp", reason="the 'ingest' extra (aiohttp) is not installed: pip install 'videorag[ingest]'")

import aiohttp

from test.support.waiting import wait_for
from videorag_ros.bench.rigs.streams import moving_frame
from videorag_ros.ingest.errors import AuthError, IngestError
from videorag_ros.ingest.frame import IngestFrame
from videorag_ros.ingest.webrtc_client import WhipPublisher
from videorag_ros.ingest.webrtc_server import SERVER, WebRtcConfig, WebRtcIngestServer

TOKEN = "webrtc-token-0123456789abcdef"



@pytest.fixture
def door(tmp_path: Path) -> Iterator[Callable[..., tuple[WebRtcIngestServer, list[IngestFrame]]]]:
    tok = tmp_path / "token"
    tok.write_text(TOKEN)
    tok.chmod(0o600)
    servers: list[WebRtcIngestServer] = []

    def make(**params: object) -> tuple[WebRtcIngestServer, list[IngestFrame]]:
        frames: list[IngestFrame] = []
        s = WebRtcIngestServer(WebRtcConfig.from_params({"token_file": str(tok), "port": 0, **params}), frames.append)
        s.start()
        servers.append(s)
        return s, frames

    yield make
    for s in servers:
        s.stop()


async def publish(pub: WhipPublisher, seconds: float, fps: float = 15.0, *, on_frame: Callable[[int], None] | None = None) -> int:
    i, end = 0, time.monotonic() + seconds
    while time.monotonic() < end:
        pub.push(moving_frame(i, 320, 240))
        if on_frame is not None:
            on_frame(i)
        i += 1
        await asyncio.sleep(1 / fps)
    return i


def test_video_becomes_frames_and_events_go_back_on_the_data_channel(door) -> None:
    server, frames = door(max_width=160, max_height=160)
    url = f"http://127.0.0.1:{server.port}/whip/robot1"

    async def run() -> list[dict]:
        pub = WhipPublisher(url=url, token=TOKEN)
        await pub.start()
        await asyncio.wait_for(pub.channel_open.wait(), 15)

        def maybe_event(i: int) -> None:
            if i == 20:
                assert server.send_event("robot1", {"trigger": "dock_blocked", "state": "ENTER", "camera": "robot1"})

        await publish(pub, 3.0, on_frame=maybe_event)
        await asyncio.sleep(0.3)
        await pub.close()
        return pub.events

    events = asyncio.run(run())
    assert events == [{"type": "trigger", "trigger": "dock_blocked", "state": "ENTER", "camera": "robot1"}]
    assert len(frames) >= 15
    f = frames[-1]
    assert (f.camera, f.kind, f.width, f.height, f.stamp_source) == ("robot1", "rgb", 160, 120, "pts")
    assert len(f.data) == 160 * 120 * 3 and f.stamp_ns <= f.rx_ns
    c = server.counters
    assert c.get("robot1", "frames_in") == c.get("robot1", "frames_out") + c.get("robot1", "dropped") + c.get("robot1", "rate_capped")
    assert wait_for(lambda: server.clients() == [], 10)


def test_refused_offers_are_counted_with_a_reason(door, caplog: pytest.LogCaptureFixture) -> None:
    server, frames = door(max_peers=1)
    base = f"http://127.0.0.1:{server.port}/whip"
    caplog.set_level(logging.WARNING, logger="videorag_ros.ingest")

    async def post(path: str, body: bytes, *, token: str | None = TOKEN, ctype: str = "application/sdp") -> int:
        headers = {"Content-Type": ctype} | ({"Authorization": f"Bearer {token}"} if token else {})
        async with aiohttp.ClientSession() as http, http.post(f"{base}/{path}", data=body, headers=headers) as resp:
            return resp.status

    async def run() -> dict[str, object]:
        out: dict[str, object] = {}
        bad_token = WhipPublisher(url=f"{base}/intruder", token="wrong-token-00000000")
        with pytest.raises(AuthError):
            await bad_token.start()
        await bad_token.close()
        out["no_token"] = await post("x", b"v=0", token=None)
        out["bad_id"] = await post("Bad-Id", b"v=0")
        out["ctype"] = await post("robot2", b"{}", ctype="application/json")
        out["no_video"] = await post("robot2", b"v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\n")
        out["garbage"] = await post("robot2", b"m=video \xff\xfe garbage \x00\r\n" * 10)
        out["too_big"] = await post("robot2", b"m=video " + b"a" * 200_000)
        first = WhipPublisher(url=f"{base}/robot1", token=TOKEN)
        await first.start()
        second = WhipPublisher(url=f"{base}/robot2", token=TOKEN)
        with pytest.raises(IngestError, match="503"):
            await second.start()
        await second.close()
        n = await publish(first, 1.5)
        await first.close()
        out["sent"] = n
        return out

    out = asyncio.run(run())
    assert (out["no_token"], out["bad_id"], out["ctype"], out["no_video"], out["garbage"], out["too_big"]) == (401, 400, 415, 400, 400, 413)
    c = server.counters.for_camera(SERVER)
    assert c["auth_failures"] == 2 and c["bad_offers"] == 5 and c["refused_too_many"] == 1
    assert {f.camera for f in frames} == {"robot1"} and len(frames) >= 5  # the accepted peer was served throughout
    assert "wrong bearer token" in caplog.text and TOKEN not in caplog.text


def test_a_peer_that_stops_sending_video_is_closed(door) -> None:
    server, _ = door(idle_timeout_s=1.0)

    async def run() -> None:
        pub = WhipPublisher(url=f"http://127.0.0.1:{server.port}/whip/quiet", token=TOKEN)
        await pub.start()
        await publish(pub, 1.0)
        assert wait_for(lambda: server.clients() == ["quiet"], 5)
        await asyncio.sleep(2.5)  # still connected, no more frames
        await pub.close()

    asyncio.run(run())
    assert server.counters.get("quiet", "idle_timeouts") == 1
    assert wait_for(lambda: server.clients() == [], 5)
