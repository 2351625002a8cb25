"""A WHIP publisher (aiortc offerer): sends frames as a WebRTC video track and hears trigger events back.

What a robot runs against the WebRTC door (``videorag stream-client --url http://…/whip/<id>``),
and what the tests and ``videorag bench ingest`` use as a real peer. Frames are pushed with
``push(rgb)``; the track always sends the newest one (older ones are dropped and counted).
"""

from __future__ import annotations

import asyncio
import fractions
import json
import logging
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from videorag_ros.ingest import ice
from videorag_ros.ingest.errors import AuthError, IngestError, require

log = logging.getLogger(__name__)
VIDEO_CLOCK = 90_000  # RTP video clock rate


class WhipPublisher:
    """One WebRTC session to a WHIP endpoint, on the caller's asyncio loop."""

    def __init__(self, *, url: str, token: str, on_event: Callable[[dict[str, Any]], None] | None = None,
                 ice_servers: tuple[str, ...] = (), host_candidates: str = "loopback", timeout_s: float = 15.0) -> None:  # fmt: skip
        """Create the publisher.

        Args:
            url: ``http(s)://host:port/whip/<client>``.
            token: Bearer token.
            on_event: Called with each trigger event received on the data channel.
            ice_servers: STUN/TURN URLs (none: host candidates only).
            host_candidates: ``loopback`` keeps media on 127.0.0.1 (see ``ice.py``).
            timeout_s: HTTP timeout of the offer.
        """
        for module in ("aiortc", "aiohttp"):
            require(module)
        self.url, self._token, self._on_event, self._timeout_s = url, token, on_event, timeout_s
        self._ice_servers = ice_servers
        if host_candidates == "loopback":
            ice.loopback_host_candidates()
        self.events: list[dict[str, Any]] = []
        self.frames_pushed = 0
        self.frames_dropped = 0
        self._pc: Any = None
        self._track: Any = None
        self.channel_open = asyncio.Event()

    async def start(self) -> None:
        """Offer a video track and a data channel, and apply the answer.

        Raises:
            AuthError: 401 from the server.
            IngestError: Any other refusal.
        """
        import aiohttp
        from aiortc import RTCPeerConnection, RTCSessionDescription

        self._pc = pc = RTCPeerConnection(ice.rtc_configuration(self._ice_servers))
        self._track = _LatestFrameTrack(self)
        pc.addTrack(self._track)
        channel = pc.createDataChannel("videorag-events")

        def on_open() -> None:
            self.channel_open.set()

        def on_message(msg: Any) -> None:
            try:
                event = json.loads(msg)
            except (TypeError, json.JSONDecodeError):
                return
            self.events.append(event)
            if self._on_event is not None:
                self._on_event(event)

        channel.on("open", on_open)
        channel.on("message", on_message)
        await pc.setLocalDescription(await pc.createOffer())
        headers = {"Content-Type": "application/sdp", "Authorization": f"Bearer {self._token}"}
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self._timeout_s)) as http, http.post(self.url, data=pc.localDescription.sdp, headers=headers) as resp:
            body = await resp.text()
            if resp.status == 401:
                raise AuthError("the WebRTC door refused the token (401)")
            if resp.status != 201:
                msg = f"the WebRTC door answered {resp.status}: {body.strip()[:200]!r}"
                raise IngestError(msg)
        await pc.setRemoteDescription(RTCSessionDescription(sdp=body, type="answer"))

    def push(self, rgb: np.ndarray, stamp_ns: int | None = None) -> None:
        """Offer the newest frame (``(H, W, 3)`` uint8 RGB) to the track; call on the publisher's loop."""
        self.frames_pushed += 1
        self._track.put(rgb, time.time_ns() if stamp_ns is None else stamp_ns)

    async def close(self) -> None:
        """End the session."""
        if self._pc is not None:
            await self._pc.close()


class _LatestFrameTrack:
    """An aiortc video track that sends the newest pushed frame, stamped with its capture time."""

    kind = "video"

    def __new__(cls, owner: WhipPublisher) -> Any:
        from aiortc import VideoStreamTrack

        class Track(VideoStreamTrack):
            def __init__(self) -> None:
                super().__init__()
                self._latest: tuple[np.ndarray, int] | None = None
                self._ready = asyncio.Event()
                self._t0: int | None = None

            def put(self, rgb: np.ndarray, stamp_ns: int) -> None:
                if self._latest is not None:
                    owner.frames_dropped += 1
                self._latest = (rgb, stamp_ns)
                self._ready.set()

            async def recv(self) -> Any:
                import av

                await self._ready.wait()
                self._ready.clear()
                assert self._latest is not None
                rgb, stamp_ns = self._latest
                self._latest = None
                if self._t0 is None:
                    self._t0 = stamp_ns
                frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
                frame.pts = (stamp_ns - self._t0) * VIDEO_CLOCK // 1_000_000_000
                frame.time_base = fractions.Fraction(1, VIDEO_CLOCK)
                return frame

        return Track()


def stream_whip(*, url: str, token: str, source: Any, fps: float, max_width: int, loop_file: bool = False,
                duration_s: float | None = None, on_event: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:  # fmt: skip
    """Stream a source to a WHIP endpoint until it ends or ``duration_s`` passes.

    Returns:
        A summary (frames captured / pushed / dropped, events received).

    Raises:
        AuthError: The token was refused.
        IngestError: The offer was refused.
    """
    from videorag_ros.ingest.bridge import BridgeConfig, StreamBridge

    async def run() -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        pub = WhipPublisher(url=url, token=token, on_event=on_event)
        captured = [0]

        def on_frame(frame: Any) -> None:  # bridge thread
            captured[0] += 1
            rgb = np.frombuffer(frame.data, np.uint8).reshape(frame.height, frame.width, 3)
            loop.call_soon_threadsafe(pub.push, rgb, frame.stamp_ns)

        bridge = StreamBridge(BridgeConfig(source=source, camera="whip", output="raw", max_width=max_width, max_height=8192, max_fps=fps, loop=loop_file), on_frame)
        await pub.start()
        bridge.start()
        end = None if duration_s is None else time.monotonic() + duration_s
        try:
            while (end is None or time.monotonic() < end) and bridge.state not in ("ended", "failed"):
                await asyncio.sleep(0.1)
        finally:
            bridge.stop()
            await pub.close()
        return {"frames_captured": captured[0], "frames_pushed": pub.frames_pushed, "frames_dropped": pub.frames_dropped, "events": len(pub.events)}

    return asyncio.run(run())
