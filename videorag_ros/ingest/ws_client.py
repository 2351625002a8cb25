"""The edge side of the WebSocket door: extract frames from a source, downscale, JPEG-encode, stream them.

``videorag stream-client`` runs this on a remote camera or drone. Frames come from a
``StreamBridge`` (decoding in a child process, the rate and size caps, JPEG encoding there);
the socket sends only the newest frame (a slow uplink drops frames here, counted, instead of
queueing seconds of video); trigger events from the server arrive on the same socket and go to
``on_event``. A lost connection is retried with backoff; a refused token is final.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from videorag_ros.ingest import ws_protocol as proto
from videorag_ros.ingest.backoff import Backoff
from videorag_ros.ingest.bridge import BridgeConfig, StreamBridge
from videorag_ros.ingest.errors import AuthError, IngestError, require
from videorag_ros.ingest.frame import IngestFrame
from videorag_ros.ingest.source import Source

log = logging.getLogger(__name__)
# Close codes after which reconnecting cannot help.
FINAL_CODES = {proto.CLOSE_AUTH: "the server refused the token", proto.CLOSE_BAD_HELLO: "the server refused the hello", proto.CLOSE_ID_IN_USE: "the client id is already connected"}


@dataclass(slots=True)
class ClientStats:
    """What a stream client did."""

    frames_captured: int = 0
    frames_sent: int = 0
    frames_dropped: int = 0
    events: list[dict[str, Any]] = field(default_factory=list)
    connects: int = 0
    bytes_sent: int = 0


class StreamClient:
    """Streams one source to a WebSocket door."""

    def __init__(
        self,
        *,
        url: str,
        client_id: str,
        token: str,
        source: Source,
        fps: float = 2.0,
        max_width: int = 640,
        quality: int = 80,
        loop_file: bool = False,
        on_event: Callable[[dict[str, Any]], None] | None = None,
        open_timeout_s: float = 10.0,
    ) -> None:
        """Create the client.

        Args:
            url: ``ws://host:port`` (or ``wss://``) of the door.
            client_id: This camera's id (becomes ``<namespace>/<id>/image_raw/compressed``).
            token: The shared token.
            source: What to stream.
            fps: Frames per second extracted and sent at most.
            max_width: Frames are scaled down to this width at most.
            quality: JPEG quality.
            loop_file: Files start over at their end.
            on_event: Called with each trigger event from the server.
            open_timeout_s: Connection and source open timeout.
        """
        require("websockets")
        self.url, self.client_id, self._token = url, proto.check_client_id(client_id), token
        self.stats = ClientStats()
        self._on_event = on_event
        self._open_timeout_s = open_timeout_s
        self._bridge = StreamBridge(
            BridgeConfig(source=source, camera=client_id, output="compressed", max_width=max_width, max_height=8192,
                         max_fps=fps, jpeg_quality=quality, loop=loop_file, open_timeout_s=open_timeout_s),
            self._on_frame,
        )  # fmt: skip
        self._loop: asyncio.AbstractEventLoop | None = None
        self._latest: IngestFrame | None = None
        self._wake: asyncio.Event | None = None

    def _on_frame(self, frame: IngestFrame) -> None:  # bridge thread
        self.stats.frames_captured += 1
        loop = self._loop
        if loop is not None:
            loop.call_soon_threadsafe(self._put, frame)

    def _put(self, frame: IngestFrame) -> None:
        if self._latest is not None:
            self.stats.frames_dropped += 1
        self._latest = frame
        assert self._wake is not None
        self._wake.set()

    def run(self, duration_s: float | None = None) -> ClientStats:
        """Stream until ``duration_s`` passes, the source ends, or Ctrl-C.

        Raises:
            AuthError: The server refused the token or the hello.
        """
        return asyncio.run(self._main(duration_s))

    async def _main(self, duration_s: float | None) -> ClientStats:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._bridge.start()
        end = None if duration_s is None else time.monotonic() + duration_s
        backoff = Backoff(initial_s=0.5, max_s=10.0)
        try:
            while end is None or time.monotonic() < end:
                if self._bridge.state in ("ended", "failed") and self._latest is None:
                    break
                try:
                    await self._session(end)
                    backoff.reset()
                except AuthError:
                    raise
                except (OSError, TimeoutError, IngestError) as err:
                    log.warning("stream-client %s: %s", self.client_id, str(err)[:200])
                except Exception as err:  # websockets' closed / invalid-status errors
                    log.warning("stream-client %s: connection lost (%s)", self.client_id, type(err).__name__)
                if end is not None and time.monotonic() >= end:
                    break
                await asyncio.sleep(backoff.next_delay())
        finally:
            self._bridge.stop()
        return self.stats

    async def _session(self, end: float | None) -> None:
        from websockets.asyncio.client import connect
        from websockets.exceptions import ConnectionClosed

        async with connect(self.url, open_timeout=self._open_timeout_s, max_size=1 << 20, compression=None, ping_interval=None, close_timeout=1.0) as ws:
            await ws.send(proto.hello_message(self.client_id, self._token))
            try:
                welcome = json.loads(await asyncio.wait_for(ws.recv(), self._open_timeout_s))
            except ConnectionClosed as err:
                code = err.rcvd.code if err.rcvd is not None else None
                if code in FINAL_CODES:
                    raise AuthError(f"{FINAL_CODES[code]} ({err.rcvd.reason if err.rcvd else ''})") from err
                raise
            self.stats.connects += 1
            log.info("stream-client %s: connected to %s, publishing on %s", self.client_id, self.url, welcome.get("topic"))
            receiver = asyncio.create_task(self._receive(ws))
            try:
                await self._send_loop(ws, end)
            finally:
                receiver.cancel()

    async def _send_loop(self, ws: Any, end: float | None) -> None:
        assert self._wake is not None
        while end is None or time.monotonic() < end:
            try:
                await asyncio.wait_for(self._wake.wait(), 0.5 if end is None else max(0.01, min(0.5, end - time.monotonic())))
            except TimeoutError:
                if self._bridge.state in ("ended", "failed"):
                    return
                continue
            self._wake.clear()
            frame, self._latest = self._latest, None
            if frame is None:
                continue
            data = proto.pack_frame(self.client_id, frame.stamp_ns, frame.seq, frame.data)
            await ws.send(data)
            self.stats.frames_sent += 1
            self.stats.bytes_sent += len(data)

    async def _receive(self, ws: Any) -> None:
        async for msg in ws:
            if not isinstance(msg, str):
                continue
            try:
                event = json.loads(msg)
            except json.JSONDecodeError:
                continue
            if isinstance(event, dict) and event.get("type") == "trigger":
                self.stats.events.append(event)
                if self._on_event is not None:
                    self._on_event(event)
