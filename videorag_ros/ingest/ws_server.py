"""The WebSocket door: edge clients stream JPEG frames over one socket each and hear their triggers back.

Threads: an asyncio loop (its own thread) runs one receiver task and one sender task per client;
a dispatcher thread takes frames from the per-client latest-wins slots (``core.mailbox``) and
hands them to ``on_frame`` (the node's publish). A client that floods, stalls, lies or sends
garbage only affects its own connection: its receiver is its own task, its frames replace each
other in its own slot (counted as dropped), its events wait in its own bounded queue, and a send
that does not finish within ``send_timeout_s`` closes it.

Memory is bounded by construction: at most ``max_clients`` connections, messages of at most
``max_frame_bytes`` (websockets refuses a bigger one from its header, before reading it), at most
two messages buffered per connection, one frame per slot and one being published —
``FRAMES_PER_CLIENT`` frames per client, checked against ``max_memory_bytes`` at start.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from videorag_ros.core.errors import ConfigError
from videorag_ros.ingest import ws_protocol as proto
from videorag_ros.ingest.auth import read_token, token_matches
from videorag_ros.ingest.config import WS_PARAMS, check_params
from videorag_ros.ingest.door_server import SERVER, DoorServer
from videorag_ros.ingest.errors import ProtocolError, require
from videorag_ros.ingest.frame import IngestFrame

log = logging.getLogger(__name__)
FRAMES_PER_CLIENT = 4
EVENT_QUEUE = 32
MAX_STAMP_AGE_NS = 10_000_000_000
# websockets logs every open and close at INFO; ours are the lines that matter.
logging.getLogger(__name__ + ".websockets").setLevel(logging.WARNING)


@dataclass(frozen=True, slots=True)
class WsConfig:
    """Settings of the WebSocket door (``config.WS_PARAMS`` documents each)."""

    token: bytes = field(repr=False)
    host: str = "127.0.0.1"
    port: int = 8765
    namespace: str = "ingest"
    max_clients: int = 16
    max_frame_bytes: int = 2 * 1024 * 1024
    max_memory_bytes: int = 256 * 1024 * 1024
    hello_timeout_s: float = 5.0
    idle_timeout_s: float = 10.0
    send_timeout_s: float = 2.0
    max_bad_frames: int = 20
    max_clock_skew_s: float = 1.0
    max_width: int = 1280
    max_height: int = 1280

    @classmethod
    def from_params(cls, values: Mapping[str, Any]) -> WsConfig:
        """Check parameters (``WS_PARAMS``), read the token file and check the memory bound.

        Raises:
            ConfigError: A bad parameter, or limits whose product exceeds ``max_memory_bytes``.
            AuthError: The token file is missing or unusable.
        """
        p = check_params(WS_PARAMS, values)
        need = p["max_clients"] * p["max_frame_bytes"] * FRAMES_PER_CLIENT
        if need > p["max_memory_bytes"]:
            msg = (f"max_clients {p['max_clients']} x max_frame_bytes {p['max_frame_bytes']} x {FRAMES_PER_CLIENT} = {need} bytes"
                   f" exceeds max_memory_bytes {p['max_memory_bytes']}; lower a limit or raise max_memory_bytes")  # fmt: skip
            raise ConfigError(msg)
        keep = {k: p[k] for k in cls.__dataclass_fields__ if k in p}
        return cls(token=read_token(p["token_file"]), **keep)

    def topic(self, client: str) -> str:
        """The CompressedImage topic of a client."""
        return f"{self.namespace.rstrip('/')}/{client}/image_raw/compressed"


class _Session:
    def __init__(self, client: str, ws: Any) -> None:
        self.client, self.ws = client, ws
        self.events: asyncio.Queue[str] = asyncio.Queue(maxsize=EVENT_QUEUE)
        self.bad = 0
        self.last_seq = -1
        self.skew_logged = False


class WsIngestServer(DoorServer):
    """Accepts edge clients, checks their frames and publishes them through ``on_frame``."""

    name, label = "ws-ingest", "WebSocket door"

    def __init__(self, config: WsConfig, on_frame: Callable[[IngestFrame], None], *, on_client: Callable[[str, bool], None] | None = None) -> None:
        """Create the server (``start`` listens).

        Args:
            config: Settings.
            on_frame: Called with each frame on the dispatcher thread (never on the network loop).
            on_client: Called with ``(client, connected)`` when a client comes or goes (network loop).
        """
        require("websockets")
        super().__init__(config.host, config.port, on_frame, on_client=on_client, log=log)
        self.config = config
        self._sessions: dict[str, _Session] = {}
        self._server: Any = None

    def _listening(self) -> str:
        c = self.config
        return f"WebSocket door listening on ws://{c.host}:{self.port} (max {c.max_clients} clients, frames up to {c.max_frame_bytes} bytes)"

    def clients(self) -> list[str]:
        """Connected client ids."""
        return sorted(self._sessions)

    def send_event(self, client: str, event: Mapping[str, Any]) -> bool:
        """Queue a trigger event for a client (any thread). False if it is not connected.

        The queue is bounded; when it is full the oldest event is dropped and counted.
        """
        loop = self._loop
        if loop is None or client not in self._sessions:
            return False
        text = proto.event_message(dict(event))
        loop.call_soon_threadsafe(self._enqueue, client, text)
        return True

    # --- network loop ----------------------------------------------------------------------
    async def _serve(self) -> None:
        from websockets.asyncio.server import ServerConnection, serve
        from websockets.protocol import State

        door = self

        class Connection(ServerConnection):
            """Counts connections whose opening handshake fails (garbage, not HTTP, too slow)."""

            async def handshake(self, *args: Any, **kwargs: Any) -> None:
                try:
                    await super().handshake(*args, **kwargs)
                except (asyncio.CancelledError, TimeoutError):
                    door._bad_input(SERVER, "handshake_failures", f"{self.remote_address}: no WebSocket handshake within {door.config.hello_timeout_s:g} s")
                    raise
                if self.protocol.state is not State.OPEN:
                    door._bad_input(SERVER, "handshake_failures", f"{self.remote_address}: not a WebSocket handshake ({str(self.protocol.handshake_exc)[:120]})")

        self._stop = asyncio.Event()
        c = self.config
        async with serve(self._handle, c.host, c.port, create_connection=Connection, max_size=c.max_frame_bytes, max_queue=2,
                         compression=None, open_timeout=c.hello_timeout_s, ping_interval=None, close_timeout=1.0,
                         write_limit=256 * 1024, logger=logging.getLogger(__name__ + ".websockets")) as server:  # fmt: skip
            self._server = server
            self.port = next(iter(server.sockets)).getsockname()[1]
            self._ready.set()
            await self._stop.wait()

    def _enqueue(self, client: str, text: str) -> None:
        s = self._sessions.get(client)
        if s is None:
            return
        if s.events.full():
            s.events.get_nowait()
            self.counters.add(client, "events_dropped")
        s.events.put_nowait(text)

    async def _handle(self, ws: Any) -> None:
        from websockets.exceptions import ConnectionClosed

        c = self.config
        peer = ws.remote_address
        try:
            hello = await asyncio.wait_for(ws.recv(), c.hello_timeout_s)
        except TimeoutError:
            self._bad_input(SERVER, "hello_timeouts", f"{peer}: no hello within {c.hello_timeout_s:g} s")
            await ws.close(proto.CLOSE_BAD_HELLO, "no hello in time")
            return
        except ConnectionClosed:
            return
        try:
            client, token = proto.parse_hello(hello)
        except ProtocolError as err:
            self._bad_input(SERVER, "bad_hellos", f"{peer}: {err}")
            await ws.close(proto.CLOSE_BAD_HELLO, str(err)[:120])
            return
        if not token_matches(c.token, token):
            self._bad_input(SERVER, "auth_failures", f"{peer} as {client!r}: wrong token")
            await ws.close(proto.CLOSE_AUTH, "authentication failed")
            return
        if client in self._sessions:
            self._bad_input(SERVER, "refused_id_in_use", f"{peer}: client id {client!r} is already connected")
            await ws.close(proto.CLOSE_ID_IN_USE, "client id in use")
            return
        if len(self._sessions) >= c.max_clients:
            self._bad_input(SERVER, "refused_too_many", f"{peer} as {client!r}: {c.max_clients} clients connected already")
            await ws.close(proto.CLOSE_TOO_MANY, "too many clients")
            return
        session = self._sessions[client] = _Session(client, ws)
        self.counters.add(client, "connects")
        if self._on_client is not None:
            self._on_client(client, True)
        log.info("ws client %s connected from %s -> %s", client, peer, c.topic(client))
        sender = asyncio.create_task(self._sender(session))
        try:
            await ws.send(json.dumps({"type": "welcome", "client": client, "topic": c.topic(client), "max_frame_bytes": c.max_frame_bytes}))
            await self._receive(session)
        except ConnectionClosed as err:
            if err.sent is not None and err.sent.code == 1009:
                self._bad_input(client, "oversized_frames", f"a message over max_frame_bytes {c.max_frame_bytes}; connection closed")
        finally:
            sender.cancel()
            del self._sessions[client]
            self.counters.add(client, "disconnects")
            if self._on_client is not None:
                self._on_client(client, False)
            log.info("ws client %s disconnected", client)

    async def _receive(self, s: _Session) -> None:
        c = self.config
        while True:
            try:
                msg = await asyncio.wait_for(s.ws.recv(), c.idle_timeout_s)
            except TimeoutError:
                self._bad_input(s.client, "idle_timeouts", f"nothing received for {c.idle_timeout_s:g} s; closing")
                await s.ws.close(proto.CLOSE_IDLE, "idle")
                return
            rx = time.time_ns()
            try:
                frame = self._check(s, msg, rx)
            except ProtocolError as err:
                s.bad += 1
                self._bad_input(s.client, "bad_frames", str(err))
                if s.bad >= c.max_bad_frames:
                    self._bad_input(s.client, "closed_bad_frames", f"{s.bad} malformed frames; closing")
                    await s.ws.close(proto.CLOSE_BAD_FRAMES, "too many malformed frames")
                    return
                continue
            if frame is None:
                continue
            self.counters.tick(s.client, "frames_in")
            if self.mailbox.put(s.client, frame):
                self.counters.add(s.client, "dropped")

    def _check(self, s: _Session, msg: Any, rx: int) -> IngestFrame | None:
        c = self.config
        w = proto.parse_frame(msg, client=s.client)
        width, height = proto.jpeg_size(w.jpeg)
        if width > c.max_width or height > c.max_height:
            msg_ = f"frame {width}x{height} exceeds {c.max_width}x{c.max_height} (scale it down on the client: --max-width)"
            raise ProtocolError(msg_)
        if w.seq <= s.last_seq:
            self.counters.add(s.client, "out_of_order")
            return None
        s.last_seq = w.seq
        stamp, source = w.stamp_ns, "client"
        if not (rx - MAX_STAMP_AGE_NS <= stamp <= rx + int(c.max_clock_skew_s * 1e9)):
            self.counters.add(s.client, "stamps_replaced")
            if not s.skew_logged:
                s.skew_logged = True
                log.warning("ws client %s: capture stamp %+.3f s off our clock; using receive times for such frames (synchronise its clock: NTP/PTP)", s.client, (stamp - rx) / 1e9)
            stamp, source = rx, "receive"
        return IngestFrame(s.client, "jpeg", w.jpeg, width, height, stamp, source, rx, w.seq)

    async def _sender(self, s: _Session) -> None:
        while True:
            text = await s.events.get()
            try:
                await asyncio.wait_for(s.ws.send(text), self.config.send_timeout_s)
            except TimeoutError:
                self._bad_input(s.client, "send_timeouts", f"an event was not taken within {self.config.send_timeout_s:g} s; closing")
                s.ws.transport.abort()
                return
            except Exception:  # the connection is going away; the receiver notices
                return
            self.counters.add(s.client, "events_sent")
