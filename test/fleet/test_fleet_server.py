"""Against a real Qdrant server or cluster: runs when QDRANT_URL is set (QDRANT_API_KEY_FILE for a key),
skips with the reason otherwise. Creates a collection of its own (removed afterwards) with the fleet's
options and checks them, exports through the exporter, queries with filters, sweeps the TTL."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator

import numpy as np
import pytest

pytest.importorskip("qdrant_client", reason="the 'fleet' extra (qdrant-client) is not installed: pip install 'videorag[fleet]'")

from videorag_ros.core.config import FleetConfig
from videorag_ros.fleet.exporter import FleetExporter
from videorag_ros.fleet.point import FleetPoint
from videorag_ros.fleet.store import FleetFilter, open_store, read_api_key

URL = os.environ.get("QDRANT_URL", "")
pytestmark = pytest.mark.skipif(not URL, reason="no Qdrant server: set QDRANT_URL=http://host:6333 (and QDRANT_API_KEY_FILE) to run the server tests")

S = 1_000_000_000


def vec(seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=32).astype(np.float32)
    return v / np.linalg.norm(v)


@pytest.fixture
def cfg() -> Iterator[FleetConfig]:
    c = FleetConfig(enabled=True, robot_id="r1", url=URL, api_key_file=os.environ.get("QDRANT_API_KEY_FILE", ""), collection=f"videorag_test_{uuid.uuid4().hex[:8]}",
                    flush_interval_s=0.05, ttl_s=3600.0, shard_number=2, replication_factor=1)  # fmt: skip
    yield c
    from qdrant_client import QdrantClient

    client = QdrantClient(url=URL, api_key=read_api_key(c.api_key_file) if c.api_key_file else None, check_compatibility=False)
    client.delete_collection(c.collection)
    client.close()


def test_collection_is_created_with_the_fleet_options(cfg: FleetConfig) -> None:
    store = open_store(cfg, dim=32)
    try:
        st = store.stats()
        assert st.extra["shard_number"] == 2 and st.extra["replication_factor"] == 1 and st.points == 0
    finally:
        store.close()
    from qdrant_client import QdrantClient

    client = QdrantClient(url=URL, api_key=read_api_key(cfg.api_key_file) if cfg.api_key_file else None, check_compatibility=False)
    info = client.get_collection(cfg.collection)
    client.close()
    assert set(info.payload_schema) >= {"robot_id", "camera_id", "stamp_ns", "model"}
    assert info.config.params.on_disk_payload is True and info.config.quantization_config is not None


def test_export_query_filter_and_ttl_on_a_server(cfg: FleetConfig) -> None:
    now = time.time_ns()
    ex = FleetExporter(cfg, dim=32).start()
    for i in range(40):
        robot = "r1" if i % 2 else "r2"
        ex.offer(FleetPoint(vec(i), robot, "front", now - (7200 if i < 10 else 5) * S + i, i, "keyframe", "motion", "m"))
    deadline = time.monotonic() + 30
    while ex.stats().sent < 40 and time.monotonic() < deadline:
        time.sleep(0.05)
    ex.close()
    assert ex.stats().sent == 40
    store = open_store(cfg, dim=32, create=False)
    try:
        hits = store.search(vec(11), FleetFilter(robots=("r1",), model="m"), 5)
        assert hits and hits[0].frame_seq == 11 and {h.robot_id for h in hits} == {"r1"}
        assert store.count(FleetFilter(since_ns=now - 60 * S)) == 30
        store.delete(FleetFilter(robots=("r1",), before_ns=now - 3600 * S))
        assert store.count(FleetFilter(robots=("r1",))) == 15 and store.count(FleetFilter(robots=("r2",))) == 20
    finally:
        store.close()
