"""The WebRTC door: a WHIP-style answerer. A robot or a browser POSTs an SDP offer with a video track.

``POST /whip/<client>`` with ``Content-Type: application/sdp`` and ``Authorization: Bearer
<token>`` → ``201 Created`` with the SDP answer (ICE candidates gathered, no trickle) and a
``Location`` to ``DELETE`` when done. Video frames become ``IngestFrame`` (rgb, scaled to fit
``max_width × max_height``, rate-capped), stamped by mapping the track's RTP timestamps onto our
clock (``stamps.py``: browsers do not expose capture times to the receiver). If the offer opens
a data channel, trigger events of that client go back on it as JSON.

Threads: aiohttp and aiortc run on one asyncio loop on their own thread; frames go through the
per-client latest-wins slots to a dispatcher thread that calls ``on_frame``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from videorag_ros.ingest import ice
from videorag_ros.ingest.auth import read_token, token_matches
from videorag_ros.ingest.config import WEBRTC_PARAMS, check_params
from videorag_ros.ingest.decode_worker import fit
from videorag_ros.ingest.door_server import SERVER, DoorServer
from videorag_ros.ingest.errors import ProtocolError, require
from videorag_ros.ingest.frame import IngestFrame
from videorag_ros.ingest.stamps import StampMapper
from videorag_ros.ingest.ws_protocol import check_client_id, event_message

log = logging.getLogger(__name__)
MAX_CHANNEL_BUFFER = 256 * 1024  # event bytes waiting on a data channel before events are dropped
BODY_TIMEOUT_S = 5.0


@dataclass(frozen=True, slots=True)
class WebRtcConfig:
    """Settings of the WebRTC door (``config.WEBRTC_PARAMS`` documents each)."""

    token: bytes = field(repr=False)
    host: str = "127.0.0.1"
    port: int = 8889
    namespace: str = "ingest"
    max_peers: int = 8
    max_offer_bytes: int = 65536
    max_fps: float = 30.0
    idle_timeout_s: float = 10.0
    ice_servers: tuple[str, ...] = ()
    ice_username: str = ""
    ice_credential: str = field(default="", repr=False)
    host_candidates: str = "loopback"
    max_width: int = 1280
    max_height: int = 1280

    @classmethod
    def from_params(cls, values: Mapping[str, Any]) -> WebRtcConfig:
        """Check parameters (``WEBRTC_PARAMS``) and read the token (and TURN credential) files.

        Raises:
            ConfigError: A bad parameter.
            AuthError: The token file is missing or unusable.
        """
        p = check_params(WEBRTC_PARAMS, values)
        cred = read_token(p["ice_credential_file"]).decode() if p["ice_credential_file"] else ""
        keep = {k: p[k] for k in cls.__dataclass_fields__ if k in p}
        return cls(token=read_token(p["token_file"]), ice_credential=cred, **keep)

    def topic(self, client: str) -> str:
        """The Image topic of a peer."""
        return f"{self.namespace.rstrip('/')}/{client}/image_raw"


class _Peer:
    def __init__(self, client: str, pc: Any) -> None:
        self.client, self.pc = client, pc
        self.channel: Any = None
        self.tasks: list[asyncio.Task[None]] = []
        self.mapper = StampMapper()
        self.seq = 0
        self.last_kept: float | None = None


class WebRtcIngestServer(DoorServer):
    """Answers WHIP offers and publishes the video of each peer through ``on_frame``."""

    name, label, join_s = "webrtc", "WebRTC door", 10.0

    def __init__(self, config: WebRtcConfig, on_frame: Callable[[IngestFrame], None], *, on_client: Callable[[str, bool], None] | None = None) -> None:
        """Create the server (``start`` listens).

        Args:
            config: Settings.
            on_frame: Called with each frame on the dispatcher thread.
            on_client: Called with ``(client, connected)`` when a peer comes or goes.
        """
        for module in ("aiortc", "aiohttp", "av"):
            require(module)
        super().__init__(config.host, config.port, on_frame, on_client=on_client, log=log)
        self.config = config
        self._peers: dict[str, _Peer] = {}
        self._closing: set[asyncio.Future[None]] = set()
        if config.host_candidates == "loopback":
            ice.loopback_host_candidates()

    def _listening(self) -> str:
        c = self.config
        return f"WebRTC door: POST offers to http://{c.host}:{self.port}/whip/<client> (max {c.max_peers} peers, ICE servers: {', '.join(c.ice_servers) or 'none'})"

    def clients(self) -> list[str]:
        """Connected peers."""
        return sorted(self._peers)

    def send_event(self, client: str, event: Mapping[str, Any]) -> bool:
        """Send a trigger event on the peer's data channel (any thread). False if it has none."""
        loop, peer = self._loop, self._peers.get(client)
        if loop is None or peer is None or peer.channel is None:
            return False
        loop.call_soon_threadsafe(self._send, peer, event_message(dict(event)))
        return True

    def _send(self, peer: _Peer, text: str) -> None:
        ch = peer.channel
        if ch is None or ch.readyState != "open":
            return
        if ch.bufferedAmount > MAX_CHANNEL_BUFFER:
            self.counters.add(peer.client, "events_dropped")
            return
        ch.send(text)
        self.counters.add(peer.client, "events_sent")

    # --- HTTP --------------------------------------------------------------------------------
    async def _serve(self) -> None:
        from aiohttp import web

        app = web.Application(client_max_size=self.config.max_offer_bytes)
        app.router.add_post("/whip/{client}", self._offer)
        app.router.add_delete("/whip/{client}", self._delete)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, self.config.host, self.config.port)
        await site.start()
        server = getattr(site, "_server", None)
        if server is not None and server.sockets:
            self.port = server.sockets[0].getsockname()[1]
        self._stop = asyncio.Event()
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            for peer in list(self._peers.values()):
                await self._close(peer)
            await runner.cleanup()

    def _authorised(self, request: Any) -> bool:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        return scheme.lower() == "bearer" and token_matches(self.config.token, token.strip())

    async def _offer(self, request: Any) -> Any:
        from aiohttp import web
        from aiortc import RTCPeerConnection, RTCSessionDescription

        c = self.config
        peer_addr = request.remote
        if not self._authorised(request):
            self._bad_input(SERVER, "auth_failures", f"{peer_addr}: missing or wrong bearer token")
            return web.Response(status=401, text="authentication failed\n")
        try:
            client = check_client_id(request.match_info["client"])
        except ProtocolError as err:
            self._bad_input(SERVER, "bad_offers", f"{peer_addr}: {err}")
            return web.Response(status=400, text=f"{err}\n")
        if request.content_type != "application/sdp":
            self._bad_input(SERVER, "bad_offers", f"{peer_addr}: content type {request.content_type[:60]!r}, expected application/sdp")
            return web.Response(status=415, text="expected Content-Type: application/sdp\n")
        if client in self._peers:
            self._bad_input(SERVER, "refused_id_in_use", f"{peer_addr}: {client!r} is connected already")
            return web.Response(status=409, text="client id in use; DELETE the old session first\n")
        if len(self._peers) >= c.max_peers:
            self._bad_input(SERVER, "refused_too_many", f"{peer_addr}: {c.max_peers} peers connected already")
            return web.Response(status=503, text="too many peers\n")
        try:
            sdp = (await asyncio.wait_for(request.read(), BODY_TIMEOUT_S)).decode("utf-8")
        except (TimeoutError, UnicodeDecodeError, web.HTTPRequestEntityTooLarge) as err:
            self._bad_input(SERVER, "bad_offers", f"{peer_addr}: offer body unreadable, too slow or over {c.max_offer_bytes} bytes ({type(err).__name__})")
            return web.Response(status=400 if not isinstance(err, web.HTTPRequestEntityTooLarge) else 413, text="bad offer body\n")
        if "m=video" not in sdp:
            self._bad_input(SERVER, "bad_offers", f"{peer_addr}: the offer has no video m-line")
            return web.Response(status=400, text="the offer must send video\n")
        pc = RTCPeerConnection(ice.rtc_configuration(c.ice_servers, username=c.ice_username, credential=c.ice_credential))
        peer = self._peers[client] = _Peer(client, pc)
        self._wire(peer)
        try:
            await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
            answer = await pc.createAnswer()
            await pc.setLocalDescription(answer)
        except Exception as err:  # aiortc raises ValueError and others for SDP it cannot take
            self._bad_input(SERVER, "bad_offers", f"{peer_addr}: offer refused by aiortc: {type(err).__name__}: {str(err)[:160]}")
            await self._close(peer)
            return web.Response(status=400, text="offer could not be negotiated\n")
        self.counters.add(client, "connects")
        if self._on_client is not None:
            self._on_client(client, True)
        log.info("webrtc peer %s connected from %s -> %s", client, peer_addr, c.topic(client))
        return web.Response(status=201, text=pc.localDescription.sdp, content_type="application/sdp", headers={"Location": f"/whip/{client}"})

    async def _delete(self, request: Any) -> Any:
        from aiohttp import web

        if not self._authorised(request):
            self._bad_input(SERVER, "auth_failures", f"{request.remote}: DELETE without the right token")
            return web.Response(status=401)
        peer = self._peers.get(request.match_info["client"])
        if peer is None:
            return web.Response(status=404)
        await self._close(peer)
        return web.Response(status=200)

    # --- peers --------------------------------------------------------------------------------
    def _wire(self, peer: _Peer) -> None:
        pc = peer.pc

        def on_track(track: Any) -> None:
            if track.kind == "video":
                peer.tasks.append(asyncio.ensure_future(self._consume(peer, track)))

        def on_datachannel(channel: Any) -> None:
            peer.channel = channel

        async def on_state() -> None:
            if pc.connectionState in ("failed", "closed"):
                await self._close(peer)

        pc.on("track", on_track)
        pc.on("datachannel", on_datachannel)
        pc.on("connectionstatechange", on_state)

    async def _consume(self, peer: _Peer, track: Any) -> None:
        from aiortc.mediastreams import MediaStreamError

        c = self.config
        min_dt = 1.0 / c.max_fps if c.max_fps > 0 else 0.0
        while True:
            try:
                frame = await asyncio.wait_for(track.recv(), c.idle_timeout_s)
            except TimeoutError:
                self._bad_input(peer.client, "idle_timeouts", f"no video for {c.idle_timeout_s:g} s; closing the peer")
                await self._close_later(peer)
                return
            except MediaStreamError:
                return
            rx = time.time_ns()
            self.counters.tick(peer.client, "frames_in")
            t = float(frame.time) if frame.time is not None else rx / 1e9
            if min_dt and peer.last_kept is not None and 0 <= t - peer.last_kept < min_dt - 1e-3:
                self.counters.add(peer.client, "rate_capped")
                continue
            peer.last_kept = t
            w, h = fit(frame.width, frame.height, c.max_width, c.max_height)
            rgb = frame.reformat(width=w, height=h, format="rgb24").to_ndarray()
            stamp, source = peer.mapper.stamp(float(frame.time) if frame.time is not None else None, rx)
            peer.seq += 1
            item = IngestFrame(peer.client, "rgb", rgb.tobytes(), w, h, stamp, source, rx, peer.seq)
            if self.mailbox.put(peer.client, item):
                self.counters.add(peer.client, "dropped")

    async def _close_later(self, peer: _Peer) -> None:
        # _close cancels this very task (it is one of the peer's), so close from a task of its own.
        closing = asyncio.ensure_future(self._close(peer))
        self._closing.add(closing)
        closing.add_done_callback(self._closing.discard)

    async def _close(self, peer: _Peer) -> None:
        if self._peers.get(peer.client) is not peer:
            return
        del self._peers[peer.client]
        for t in peer.tasks:
            t.cancel()
        await peer.pc.close()
        self.counters.add(peer.client, "disconnects")
        if self._on_client is not None:
            self._on_client(peer.client, False)
        log.info("webrtc peer %s closed", peer.client)
