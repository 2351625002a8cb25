"""The store side of the exporter: opens the store, applies batches, sweeps the TTL, lets Edge index.

It runs in a child process (``python -m videorag_ros.fleet.worker --fd N``, what the exporter
starts by default) or on a thread of the caller (``fleet.isolation: thread``), and talks to the
exporter over one ``multiprocessing.connection.Connection`` (a socket pair): it is told
``("open", FleetConfig, dim)``, then ``("batch", [FleetPoint])`` and answers each batch with
``("result", outcome, sent, rejected, error, ms)`` where outcome is ``ok``, ``unavailable`` (the
exporter requeues and backs off) or ``failed`` (nothing will ever work: a schema mismatch, a
missing dependency). ``("status", {...})`` messages report TTL sweeps and index builds.

Why a process: Qdrant Edge keeps Python's GIL while it works (measured: ``optimize`` over 50k
points held it for 44 s, an upsert of 64 points for up to 28 ms), so in the node's process it
would stall the frame worker. The child also runs at a lower CPU priority (``nice`` +10).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
import time
from collections.abc import Sequence
from multiprocessing.connection import Connection
from typing import Any

from videorag_ros.core.config import FleetConfig
from videorag_ros.core.printable import printable
from videorag_ros.fleet.errors import FleetError, MissingDependencyError, SchemaMismatch, StoreRejected, StoreUnavailable
from videorag_ros.fleet.point import FleetPoint
from videorag_ros.fleet.store import FleetFilter, FleetStore, open_store

log = logging.getLogger(__name__)
CHILD_NICE = 10  # the fleet is never more urgent than the reflex on the robot's few cores
POLL_S = 0.5


class StoreWorker:
    """Applies what the exporter sends to a store; sweeps the TTL between batches."""

    def __init__(self, conn: Connection, *, clock_ns: Any = time.time_ns) -> None:
        """Serve ``conn`` (call ``serve``)."""
        self._conn = conn
        self._clock_ns = clock_ns
        self._cfg: FleetConfig | None = None
        self._dim = 0
        self._store: FleetStore | None = None
        self._next_sweep = 0.0
        self._status: dict[str, Any] = {"ttl_sweeps": 0, "ttl_deleted": 0, "ttl_errors": 0, "optimizes": 0, "optimize_s": 0.0, "store": ""}

    def serve(self) -> None:
        """Until the exporter closes the connection or says ``close``."""
        try:
            while True:
                if not self._conn.poll(POLL_S):
                    self._maybe_sweep()
                    continue
                msg = self._conn.recv()
                if msg[0] == "close":
                    break
                if msg[0] == "open":
                    self._cfg, self._dim = msg[1], int(msg[2])
                    self._next_sweep = time.monotonic() + 5.0  # a first sweep soon after start-up
                elif msg[0] == "batch":
                    self._conn.send(("result", *self._apply(msg[1])))
                self._maybe_sweep()
        except (EOFError, OSError):
            pass  # the exporter is gone
        finally:
            if self._store is not None:
                self._store.close()

    def _open(self) -> FleetStore:
        if self._store is None:
            assert self._cfg is not None, "'open' must come first"
            self._store = open_store(self._cfg, dim=self._dim)
            self._status["store"] = self._store.describe()
            self._send_status()
        return self._store

    def _apply(self, points: Sequence[FleetPoint]) -> tuple[str, int, int, str, float]:
        t0 = time.perf_counter()
        try:
            store = self._open()
            try:
                store.upsert(points)
                return "ok", len(points), 0, "", (time.perf_counter() - t0) * 1e3
            except StoreRejected as err:  # find the points it refuses: send one by one
                if len(points) == 1:
                    return "ok", 0, 1, str(err), (time.perf_counter() - t0) * 1e3
                sent, rejected, last = 0, 0, str(err)
                for p in points:
                    try:
                        store.upsert([p])
                        sent += 1
                    except StoreRejected as one:
                        rejected, last = rejected + 1, str(one)
                return "ok", sent, rejected, last if rejected else "", (time.perf_counter() - t0) * 1e3
        except (SchemaMismatch, MissingDependencyError) as err:
            return "failed", 0, 0, str(err), (time.perf_counter() - t0) * 1e3
        except StoreUnavailable as err:
            return "unavailable", 0, 0, str(err), (time.perf_counter() - t0) * 1e3
        except FleetError as err:  # cannot open now (locked, unwritable): try again later
            self._drop_store()
            return "unavailable", 0, 0, str(err), (time.perf_counter() - t0) * 1e3

    def _drop_store(self) -> None:
        if self._store is not None:
            with contextlib.suppress(FleetError):
                self._store.close()
            self._store = None

    def _maybe_sweep(self) -> None:
        cfg = self._cfg
        if cfg is None or time.monotonic() < self._next_sweep:
            return
        self._next_sweep = time.monotonic() + cfg.ttl_sweep_period_s
        try:
            store = self._open()
            if cfg.ttl_s > 0:
                flt = FleetFilter(robots=(cfg.robot_id,), before_ns=self._clock_ns() - int(cfg.ttl_s * 1e9))
                n = store.count(flt)
                if n:
                    store.delete(flt)
                self._status["ttl_sweeps"] += 1
                self._status["ttl_deleted"] += n
            t0 = time.perf_counter()
            store.optimize()
            self._status["optimizes"] += 1
            self._status["optimize_s"] = time.perf_counter() - t0
        except FleetError as err:
            self._status["ttl_errors"] += 1
            self._status["ttl_error"] = str(err)
        self._send_status()

    def _send_status(self) -> None:
        with contextlib.suppress(OSError, EOFError):
            self._conn.send(("status", dict(self._status)))


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m videorag_ros.fleet.worker --fd N``: serve the exporter on inherited socket N."""
    p = argparse.ArgumentParser(prog="videorag_ros.fleet.worker", description="the fleet exporter's store process (started by the edge node)")
    p.add_argument("--fd", type=int, required=True, help="inherited socket to the exporter")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="[fleet worker] %(levelname)s %(message)s")
    try:
        os.nice(CHILD_NICE)
    except OSError as err:
        log.warning("cannot lower this process's priority: %s", printable(err))
    StoreWorker(Connection(args.fd)).serve()
    return 0


if __name__ == "__main__":
    sys.exit(main())
