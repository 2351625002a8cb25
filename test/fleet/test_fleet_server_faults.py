"""A Qdrant server that is down, hangs, or answers 500 / 429: the robot's side keeps taking points without
waiting, the outbox stays bounded with every drop counted, and the error is named. The servers are real HTTP
servers on 127.0.0.1 answering like Qdrant's REST API does when it fails (test/fleet/qdrant_fault_server.py)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import numpy as np
import pytest

pytest.importorskip("qdrant_client", reason="the 'fleet' extra (qdrant-client) is not installed: pip install 'videorag[fleet]'")

from test.fleet.qdrant_fault_server import FaultServer, closed_port_url
from videorag_ros.core.config import FleetConfig
from videorag_ros.fleet.errors import StoreRejected, StoreUnavailable
from videorag_ros.fleet.exporter import FleetExporter
from videorag_ros.fleet.point import FleetPoint
from videorag_ros.fleet.store import open_store

CAPACITY, BATCH = 20, 5



def point(i: int) -> FleetPoint:
    v = np.random.default_rng(i).normal(size=16).astype(np.float32)
    return FleetPoint(v / np.linalg.norm(v), "r1", "front", time.time_ns() + i, i, "keyframe", "motion", "m", thumbnail=b"\xff\xd8\xff" + bytes(5000))


@pytest.fixture(params=["down", "500", "429", "hang"])
def bad_server(request: pytest.FixtureRequest) -> Iterator[tuple[str, str, FaultServer | None]]:
    if request.param == "down":
        yield request.param, closed_port_url(), None
        return
    server = FaultServer(request.param, hang_s=4.0)
    yield request.param, server.url, server
    server.close()


EXPECTED = {"down": "Connect", "500": "HTTP 500", "429": "HTTP 429", "hang": "Timeout"}


def test_a_failing_server_never_holds_up_offers_and_the_outbox_stays_bounded(bad_server: tuple[str, str, FaultServer | None]) -> None:
    mode, url, server = bad_server
    cfg = FleetConfig(enabled=True, robot_id="r1", url=url, timeout_s=1.0, outbox_capacity=CAPACITY, batch_size=BATCH, flush_interval_s=0.05,
                      backoff_initial_s=0.05, backoff_max_s=0.2)  # fmt: skip
    ex = FleetExporter(cfg, dim=16, backoff_seed=0).start()
    try:
        n = 0
        # Offer for a while as a camera would, whatever the sender is doing: each offer returns at once.
        while n < 400 or ex.stats().retries < 2:
            ex.offer(point(n))
            n += 1
            time.sleep(0.002)
            assert n < 20_000, ex.stats()
        s = ex.stats()
        assert s.state == "retrying" and s.sent == 0
        assert EXPECTED[mode] in s.last_error, s.last_error
        assert s.accepted == n and s.backlog <= CAPACITY + BATCH
        assert s.dropped >= n - CAPACITY - BATCH  # everything not kept is counted
        if server is not None:
            assert server.requests  # it was really asked
    finally:
        t = time.monotonic()
        ex.close(drain_s=0.5)
        assert time.monotonic() - t < 15.0
    end = ex.stats()
    assert end.unsent_at_close > 0 and end.accepted == end.sent + end.dropped + end.rejected + end.unsent_at_close  # every point accounted for


@pytest.mark.parametrize(("mode", "error"), [("500", StoreUnavailable), ("429", StoreUnavailable), ("hang", StoreUnavailable)])
def test_opening_a_failing_server_raises_a_retryable_error_naming_it(mode: str, error: type[Exception]) -> None:
    server = FaultServer(mode, hang_s=3.0)
    try:
        with pytest.raises(error, match=server.url.replace(".", r"\.")):
            open_store(FleetConfig(url=server.url, timeout_s=1.0), dim=16)
    finally:
        server.close()


def test_a_4xx_answer_is_a_rejection_naming_status_and_body() -> None:
    """A 4xx (here Qdrant's answer to a wrong vector size) is not worth retrying: ``StoreRejected``."""
    from qdrant_client.http.exceptions import UnexpectedResponse

    from videorag_ros.fleet.client_store import ClientStore

    store = ClientStore(client=None, collection="c", dim=16, where="qdrant test")

    def refuse(_: object) -> None:
        raise UnexpectedResponse(400, "Bad Request", b'{"status":{"error":"Wrong input: Vector dimension error: expected dim: 16, got 8"}}', {})  # type: ignore[arg-type]

    with pytest.raises(StoreRejected, match=r"HTTP 400 Bad Request.*expected dim: 16"):
        store._call("upsert", refuse)
