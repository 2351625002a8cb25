"""What the WebSocket and WebRTC doors share: an asyncio network loop and a dispatcher, each on its own thread.

The network loop accepts clients and checks their frames; checked frames wait in a latest-wins
slot per client; the dispatcher thread hands them to ``on_frame`` (which publishes them), so a
slow publish never stalls the network and a client can never queue frames without bound. Bad
input is counted per client and logged at most once a second per client and kind.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable

from videorag_ros.core.mailbox import LatestWinsMailbox
from videorag_ros.ingest.errors import IngestError
from videorag_ros.ingest.frame import DoorCounters, IngestFrame

SERVER = "_server"  # the counters' key for what happens before a client is known


class DoorServer:
    """Threads, counters and the frame slot of a door; subclasses serve the network in ``_serve``."""

    #: For thread names and log lines ("ws-ingest", "webrtc").
    name = "door"
    #: For error messages ("WebSocket door").
    label = "door"
    #: How long ``stop`` waits for each thread.
    join_s = 5.0

    def __init__(self, host: str, port: int, on_frame: Callable[[IngestFrame], None], *, on_client: Callable[[str, bool], None] | None, log: logging.Logger) -> None:
        """Set up the shared state (``start`` listens).

        Args:
            host: Address to listen on.
            port: Port to listen on (0 picks a free one; ``port`` is the bound one after ``start``).
            on_frame: Called with each frame on the dispatcher thread (never on the network loop).
            on_client: Called with ``(client, connected)`` when a client comes or goes.
            log: The door's logger.
        """
        self._host, self.port = host, port
        self._on_frame = on_frame
        self._on_client = on_client
        self._log = log
        self.counters = DoorCounters()
        self.mailbox: LatestWinsMailbox[IngestFrame] = LatestWinsMailbox()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._threads: list[threading.Thread] = []
        self._ready = threading.Event()
        self._start_error: BaseException | None = None
        self._running = False
        self._log_times: dict[tuple[str, str], float] = defaultdict(float)

    async def _serve(self) -> None:
        """Listen, set ``_stop`` and ``_ready``, serve until ``_stop`` is set, then close every client."""
        raise NotImplementedError

    def _listening(self) -> str:
        """The log line once listening."""
        return f"{self.label} listening on {self._host}:{self.port}"

    # --- lifecycle -----------------------------------------------------------------------
    def start(self, timeout_s: float = 10.0) -> None:
        """Listen (on its own thread) and start the dispatcher; returns once listening.

        Raises:
            IngestError: The port cannot be bound.
        """
        self._running = True
        self._threads = [threading.Thread(target=self._run_loop, name=f"{self.name}-loop", daemon=True),
                         threading.Thread(target=self._dispatch, name=f"{self.name}-dispatch", daemon=True)]  # fmt: skip
        for t in self._threads:
            t.start()
        if not self._ready.wait(timeout_s) or self._start_error is not None:
            self._running = False
            msg = f"{self.label} cannot listen on {self._host}:{self.port}: {self._start_error}"
            raise IngestError(msg)
        self._log.info(self._listening())

    def stop(self) -> None:
        """Close every client and stop the threads."""
        self._running = False
        self.mailbox.close()
        loop = self._loop
        if loop is not None and self._stop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._stop.set)
        for t in self._threads:
            t.join(self.join_s)

    def _run_loop(self) -> None:
        loop = self._loop = asyncio.new_event_loop()
        try:
            loop.run_until_complete(self._serve())
        except BaseException as err:  # bind errors end up here: start() reports them
            self._start_error = err
            self._ready.set()
        finally:
            loop.close()

    # --- bad input and the dispatcher --------------------------------------------------------
    def _bad_input(self, client: str, counter: str, message: str) -> None:
        """Count a bad input and log it (at most once a second per client and kind)."""
        self.counters.add(client, counter)
        now = time.monotonic()
        if now - self._log_times[(client, counter)] >= 1.0:
            self._log_times[(client, counter)] = now
            self._log.warning("%s %s: %s: %s (counted as %s)", self.name, client if client != SERVER else "-", counter, message, counter)

    def _dispatch(self) -> None:
        while self._running:
            item = self.mailbox.take(0.2)
            if item is None:
                continue
            client, frame = item
            try:
                self._on_frame(frame)
            except Exception as err:  # a publish must never end the dispatcher
                self._bad_input(client, "publish_errors", f"{type(err).__name__}: {err}")
                continue
            self.counters.tick(client, "frames_out")
