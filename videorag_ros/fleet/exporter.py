"""The exporter: a bounded outbox the frame worker fills, and a sender thread that feeds the store worker.

``offer`` is all the frame path calls: an append under a short lock (``Outbox``), never a wait for
the network, the disk or the store. The sender thread takes batches of ``fleet.batch_size`` (or
what came within ``fleet.flush_interval_s``), hands each to the store worker (worker.py; a child
process by default) and waits for its answer:

- ``ok``: counted as sent (points the store refused are counted as rejected, never retried);
- ``unavailable`` (down, slow, 5xx, locked): the batch goes back to the head of the outbox and the
  sender waits an exponential, jittered backoff; meanwhile the outbox keeps the newest
  ``fleet.outbox_capacity`` points and counts the oldest it drops;
- ``failed`` (another vector size in the collection, a missing package): state ``failed`` with the
  reason; the outbox keeps dropping, counted, until the node restarts with a fixed configuration.

A store worker process that dies is restarted after the backoff (``worker_restarts``).
``stats()`` feeds ``/diagnostics``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from videorag_ros.core.config import FleetConfig
from videorag_ros.core.latency import StageStats
from videorag_ros.fleet.backoff import Backoff
from videorag_ros.fleet.outbox import Outbox
from videorag_ros.fleet.point import FleetPoint
from videorag_ros.fleet.worker import StoreWorker

log = logging.getLogger(__name__)
STATES = ("starting", "ok", "retrying", "failed", "closed")


@dataclass(frozen=True, slots=True)
class ExporterStats:
    """A snapshot of the exporter for ``/diagnostics``.

    Attributes:
        state: One of ``STATES``.
        store: The store's description (engine and place; no credentials).
        backlog: Points waiting in the outbox plus the batch in flight.
        accepted: Points offered so far.
        sent: Points the store accepted.
        dropped: Points dropped from the full outbox (oldest first).
        rejected: Points the store refused (not retried).
        retries: Failed attempts (each followed by a backoff).
        worker_restarts: Store worker processes restarted after dying.
        last_error: The last failure (empty when none yet).
        last_error_age_s: Seconds since it (None when none).
        send_ms: Per-batch round trip ``{p50, p95, p99, n}`` (empty before the first).
        worker: The store worker's own counters (TTL sweeps, deleted points, index builds).
        unsent_at_close: Points still in the outbox when ``close`` gave up (logged).
    """

    state: str
    store: str
    backlog: int
    accepted: int
    sent: int
    dropped: int
    rejected: int
    retries: int
    worker_restarts: int
    last_error: str
    last_error_age_s: float | None
    send_ms: dict[str, float]
    worker: dict[str, Any]
    unsent_at_close: int = 0


class FleetExporter:
    """Sends offered points to the fleet store from its own thread, through a store worker."""

    def __init__(self, cfg: FleetConfig, *, dim: int, backoff_seed: int | None = None) -> None:
        """Create the exporter (``start`` begins sending).

        Args:
            cfg: Validated ``fleet.*`` parameters.
            dim: The encoder's vector size (checked against the collection by the worker).
            backoff_seed: Seed of the backoff jitter (tests).
        """
        self._cfg, self._dim = cfg, dim
        self._outbox: Outbox[FleetPoint] = Outbox(cfg.outbox_capacity)
        self._backoff = Backoff(initial_s=cfg.backoff_initial_s, max_s=cfg.backoff_max_s, seed=backoff_seed)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._state = "starting"
        self._in_flight = 0
        self._sent = self._rejected = self._retries = self._restarts = self._unsent = 0
        self._last_error, self._last_error_t = "", 0.0
        self._worker_status: dict[str, Any] = {}
        self._send_stats = StageStats()
        self._conn: Connection | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._thread_worker: threading.Thread | None = None
        self._thread = threading.Thread(target=self._run, name="videorag-fleet", daemon=True)

    # --- the frame path ------------------------------------------------------------------
    def offer(self, point: FleetPoint) -> None:
        """Queue a point; never waits (a full outbox drops its oldest, counted)."""
        self._outbox.put(point)

    # --- lifecycle --------------------------------------------------------------------------
    def start(self) -> FleetExporter:
        """Start the sender thread (and the store worker)."""
        self._thread.start()
        return self

    def close(self, *, drain_s: float = 2.0) -> None:
        """Send what the outbox holds for up to ``drain_s``, then stop the sender and the worker."""
        deadline = time.monotonic() + drain_s
        while self.stats().backlog and self._thread.is_alive() and time.monotonic() < deadline and self.stats().state in ("ok", "starting"):
            time.sleep(0.05)
        self._stop.set()
        self._outbox.close()
        self._thread.join(timeout=max(1.0, self._cfg.timeout_s + 1.0))
        self._end_worker()
        left = len(self._outbox)
        with self._lock:
            self._state, self._unsent = "closed", left
        if left:
            log.warning("fleet export closed with %d point(s) not sent (store %s)", left, self._worker_status.get("store") or "never opened")

    def stats(self) -> ExporterStats:
        """Counters and state (thread-safe)."""
        with self._lock:
            age = time.monotonic() - self._last_error_t if self._last_error else None
            send = self._send_stats.summary(("send",)).get("send", {})
            return ExporterStats(
                state=self._state, store=str(self._worker_status.get("store", "")), backlog=len(self._outbox) + self._in_flight,
                accepted=self._outbox.accepted, sent=self._sent, dropped=self._outbox.dropped, rejected=self._rejected,
                retries=self._retries, worker_restarts=self._restarts, last_error=self._last_error, last_error_age_s=age,
                send_ms={k: float(v) for k, v in send.items()}, worker=dict(self._worker_status), unsent_at_close=self._unsent,
            )  # fmt: skip

    # --- the sender thread --------------------------------------------------------------------
    def _run(self) -> None:
        cfg = self._cfg
        while not self._stop.is_set():
            if self._conn is None and not self._start_worker():
                continue
            batch = self._outbox.take(cfg.batch_size, fill_wait_s=cfg.flush_interval_s, idle_wait_s=0.2)
            if not batch:
                self._drain_status()
                continue
            with self._lock:
                self._in_flight = len(batch)
            answer = self._exchange(batch)
            with self._lock:
                self._in_flight = 0
            if answer is None:  # the worker died or we are stopping: keep the batch
                self._outbox.requeue(batch)
                continue
            outcome, sent, rejected, error, ms = answer
            if outcome == "ok":
                self._backoff.reset()
                with self._lock:
                    self._state, self._sent, self._rejected = "ok", self._sent + sent, self._rejected + rejected
                    self._send_stats.record("send", ms)
                if rejected:
                    self._error(f"{rejected} point(s) refused by the store: {error}")
            elif outcome == "failed":
                self._outbox.requeue(batch)
                self._error(error, state="failed")
                log.error("fleet export stopped: %s", error)
                self._stop.wait()  # nothing will work until the configuration changes; offers keep being dropped, counted
            else:
                self._outbox.requeue(batch)
                self._error(error, state="retrying")
                with self._lock:
                    self._retries += 1
                self._stop.wait(self._backoff.next_delay())

    def _error(self, text: str, *, state: str | None = None) -> None:
        with self._lock:
            self._last_error, self._last_error_t = text, time.monotonic()
            if state is not None:
                self._state = state
        log.warning("fleet export: %s", text)

    def _exchange(self, batch: list[FleetPoint]) -> tuple[str, int, int, str, float] | None:
        """Send a batch and wait for its result (status messages on the way are recorded)."""
        conn = self._conn
        assert conn is not None
        try:
            conn.send(("batch", batch))
            while not self._stop.is_set():
                if not conn.poll(0.2):
                    if not self._worker_alive():
                        raise EOFError("the store worker died")
                    continue
                msg = conn.recv()
                if msg[0] == "status":
                    self._record_status(msg[1])
                elif msg[0] == "result":
                    return (str(msg[1]), int(msg[2]), int(msg[3]), str(msg[4]), float(msg[5]))
        except (EOFError, OSError) as err:
            self._worker_lost(f"store worker lost: {err}")
        return None

    def _drain_status(self) -> None:
        conn = self._conn
        try:
            while conn is not None and conn.poll(0):
                msg = conn.recv()
                if msg[0] == "status":
                    self._record_status(msg[1])
            if conn is not None and not self._worker_alive():
                raise EOFError("the store worker died")
        except (EOFError, OSError) as err:
            self._worker_lost(f"store worker lost: {err}")

    def _record_status(self, status: dict[str, Any]) -> None:
        with self._lock:
            self._worker_status = status
        if status.get("ttl_error"):
            log.warning("fleet TTL sweep: %s", status["ttl_error"])

    # --- the store worker ------------------------------------------------------------------------
    def _start_worker(self) -> bool:
        """Start the store worker (child process or thread); False after a failed start (backed off)."""
        parent, child = socket.socketpair()
        try:
            if self._cfg.isolation == "thread":
                conn = Connection(child.detach())
                self._thread_worker = threading.Thread(target=StoreWorker(conn).serve, name="videorag-fleet-store", daemon=True)
                self._thread_worker.start()
            else:
                fd = child.fileno()
                cmd = [sys.executable, "-m", "videorag_ros.fleet.worker", "--fd", str(fd)]
                self._proc = subprocess.Popen(cmd, pass_fds=(fd,), stdin=subprocess.DEVNULL, env=dict(os.environ))
                child.close()
            self._conn = Connection(parent.detach())
            self._conn.send(("open", self._cfg, self._dim))
            return True
        except OSError as err:
            parent.close()
            child.close()
            self._error(f"cannot start the store worker: {err}", state="retrying")
            self._stop.wait(self._backoff.next_delay())
            return False

    def _worker_alive(self) -> bool:
        if self._proc is not None:
            return self._proc.poll() is None
        return self._thread_worker is not None and self._thread_worker.is_alive()

    def _worker_lost(self, why: str) -> None:
        self._end_worker()
        if self._stop.is_set():
            return
        with self._lock:
            self._restarts += 1
        self._error(why, state="retrying")
        self._stop.wait(self._backoff.next_delay())

    def _end_worker(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(OSError):
                conn.send(("close",))
        if self._proc is not None:
            try:
                self._proc.wait(timeout=5.0)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            self._proc = None
        if self._thread_worker is not None:
            self._thread_worker.join(timeout=5.0)
            self._thread_worker = None
        if conn is not None:
            conn.close()
