"""The embedded fleet store end to end: two robots' recordings ingested with `videorag fleet ingest`, one
query returning moments of both with their robot ids, filters, the TTL sweep deleting, the exporter
recovering after its store was locked, another vector size refused with a clear error, and stored text
with terminal escapes printed escaped."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("qdrant_edge", reason="the 'fleet' extra (qdrant-edge-py) is not installed: pip install 'videorag[fleet]'")
pytest.importorskip("qdrant_client", reason="the 'fleet' extra (qdrant-client) is not installed: pip install 'videorag[fleet]'")

from test.support.waiting import wait_for
from videorag_ros.cli.fleet import main as fleet_main
from videorag_ros.core.config import FleetConfig
from videorag_ros.fleet.errors import SchemaMismatch
from videorag_ros.fleet.exporter import FleetExporter
from videorag_ros.fleet.point import FleetPoint
from videorag_ros.fleet.store import FleetFilter, open_store

S = 1_000_000_000
ENGINES = ("edge", "local")


def vec(seed: int, dim: int = 16) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=dim).astype(np.float32)
    return v / np.linalg.norm(v)



def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    rc = fleet_main(list(args))
    out = capsys.readouterr()
    return rc, out.out, out.err


@pytest.fixture(scope="module")
def two_robots(tmp_path_factory: pytest.TempPathFactory, footage: Callable[[str], Path]) -> Path:
    """An embedded store holding robot r1 (vtest.avi, an hour ago) and robot r2 (a scenario bag, just now)."""
    from videorag_ros.scenarios.maker import make_scenario_bag

    root = tmp_path_factory.mktemp("fleet")
    bag, _ = make_scenario_bag("person_steps_in", root / "bags", seconds=6.0, width=320, height=240)
    store = root / "store"
    assert fleet_main(["ingest", str(footage("vtest.avi")), "--robot", "r1", "--start=-1h", "--path", str(store)]) == 0
    assert fleet_main(["ingest", str(bag), "--robot", "r2", "--path", str(store), "--json"]) == 0
    return store


def _moments(capsys: pytest.CaptureFixture[str], store: Path, *extra: str) -> list[dict[str, object]]:
    rc, out, err = run_cli(capsys, "query", "a person walking", "--path", str(store), "--k", "20", "--json", *extra)
    assert rc == 0, err
    return list(json.loads(out.splitlines()[-1])["moments"])


def test_one_query_returns_moments_of_both_robots(two_robots: Path, capsys: pytest.CaptureFixture[str]) -> None:
    moments = _moments(capsys, two_robots)
    assert {m["robot_id"] for m in moments} == {"r1", "r2"}
    scores = [m["score"] for m in moments]
    assert scores == sorted(scores, reverse=True)
    assert any(m["triggers"] == ["person_ahead"] and m["robot_id"] == "r2" for m in moments)  # the bag's trigger moment is among the hits
    assert all(m["thumbnail"] for m in moments)


def test_filters_by_robot_camera_and_time(two_robots: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert {m["robot_id"] for m in _moments(capsys, two_robots, "--robot", "r2")} == {"r2"}
    assert {m["robot_id"] for m in _moments(capsys, two_robots, "--since=-30m")} == {"r2"}  # r1's clip was an hour ago
    assert {m["robot_id"] for m in _moments(capsys, two_robots, "--until=-30m")} == {"r1"}
    assert _moments(capsys, two_robots, "--camera", "front")
    rc, out, _ = run_cli(capsys, "query", "a person walking", "--path", str(two_robots), "--camera", "nowhere")
    assert rc == 0 and "no moments" in out


def test_stats_counts_points_per_robot(two_robots: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = run_cli(capsys, "stats", "--path", str(two_robots), "--json")
    assert rc == 0
    s = json.loads(out.splitlines()[-1])
    assert set(s["robots"]) == {"r1", "r2"} and s["points"] == sum(s["robots"].values()) > 0
    assert s["models"] == {"videorag-tiny": s["points"]}


def test_a_store_in_use_by_another_process_is_named(two_robots: Path, capsys: pytest.CaptureFixture[str]) -> None:
    holder = open_store(FleetConfig(path=str(two_robots)), dim=256)
    try:
        rc, _, err = run_cli(capsys, "stats", "--path", str(two_robots))
    finally:
        holder.close()
    assert rc == 1 and "open in another process" in err


@pytest.mark.parametrize("engine", ENGINES)
def test_ttl_sweep_deletes_this_robots_old_points(engine: str, tmp_path: Path) -> None:
    now = time.time_ns()
    cfg = FleetConfig(enabled=True, robot_id="r1", path=str(tmp_path), embedded_engine=engine, ttl_s=3600.0, flush_interval_s=0.05)
    other = open_store(cfg, dim=16)
    other.upsert([FleetPoint(vec(99), "r2", "front", now - 7200 * S, 0, "keyframe", "motion", "m")])  # another robot's: not ours to sweep
    other.close()
    ex = FleetExporter(cfg, dim=16).start()
    for i in range(20):
        ex.offer(FleetPoint(vec(i), "r1", "front", now - (7200 if i < 10 else 10) * S + i, i, "keyframe", "motion", "m"))
    try:
        assert wait_for(lambda: ex.stats().worker.get("ttl_sweeps", 0) >= 1 and ex.stats().sent == 20, 30.0), ex.stats()
    finally:
        ex.close()
    assert ex.stats().worker["ttl_deleted"] == 10  # the first sweep runs 5 s after start-up, when all 20 are stored
    store = open_store(cfg, dim=16)
    try:
        assert store.count(FleetFilter(robots=("r1",))) == 10
        assert store.count(FleetFilter(robots=("r1",), before_ns=now - 3600 * S)) == 0
        assert store.count(FleetFilter(robots=("r2",))) == 1
    finally:
        store.close()


@pytest.mark.parametrize("engine", ENGINES)
def test_another_vector_size_is_a_clear_error(engine: str, tmp_path: Path) -> None:
    cfg = FleetConfig(path=str(tmp_path), embedded_engine=engine)
    open_store(cfg, dim=16).close()
    with pytest.raises(SchemaMismatch, match=r"holds 16-d vectors .* embeds 32-d"):
        open_store(cfg, dim=32)
    ex = FleetExporter(FleetConfig(enabled=True, robot_id="r1", path=str(tmp_path), embedded_engine=engine, flush_interval_s=0.05), dim=32).start()
    ex.offer(FleetPoint(vec(0, 32), "r1", "front", time.time_ns(), 0, "keyframe", "motion", "m"))
    try:
        assert wait_for(lambda: ex.stats().state == "failed", 30.0), ex.stats()
        assert "16-d" in ex.stats().last_error and ex.stats().backlog == 1
    finally:
        ex.close()


def test_exporter_retries_while_the_store_is_locked_and_recovers(tmp_path: Path) -> None:
    cfg = FleetConfig(enabled=True, robot_id="r1", path=str(tmp_path), outbox_capacity=50, batch_size=8, flush_interval_s=0.05, backoff_initial_s=0.05, backoff_max_s=0.2)
    holder = open_store(cfg, dim=16)
    ex = FleetExporter(cfg, dim=16).start()
    try:
        for i in range(200):
            ex.offer(FleetPoint(vec(i), "r1", "front", time.time_ns() + i, i, "keyframe", "motion", "m"))
        assert wait_for(lambda: ex.stats().retries >= 2, 30.0), ex.stats()
        s = ex.stats()
        assert s.state == "retrying" and "open in another process" in s.last_error
        assert s.backlog <= 50 and s.dropped == 150 and s.sent == 0  # bounded: the newest 50 kept, the rest counted
        holder.close()
        assert wait_for(lambda: ex.stats().sent == 50, 30.0), ex.stats()
        assert ex.stats().state == "ok"
    finally:
        ex.close()
    store = open_store(cfg, dim=16)
    try:
        assert store.count(FleetFilter()) == 50
        assert store.count(FleetFilter(since_ns=0)) == 50
    finally:
        store.close()


def test_stored_text_with_terminal_escapes_is_printed_escaped(two_robots: Path, capsys: pytest.CaptureFixture[str], tiny_encoder: object) -> None:
    from videorag_ros.core.encoder.encoder import load_encoder

    enc = load_encoder("videorag-tiny", backend="cpu")
    v = enc.encode_texts(["a person walking"])[0]
    cfg = FleetConfig(path=str(two_robots))
    store = open_store(cfg, dim=enc.dim)
    evil = FleetPoint(v, "r9", "front", time.time_ns(), 1, "moment", "motion", "videorag-tiny", trigger="spill\x1b[2J", description="\x1b]0;owned\x07a spill\rover")
    try:
        # A payload another writer stored: robot and camera ids with escapes too (ours are validated, theirs are not).
        from qdrant_edge import Point, UpdateOperation

        payload = evil.payload() | {"robot_id": "r9\x1b[31m", "camera_id": "cam\u202e"}
        store._shard.update(UpdateOperation.upsert_points([Point(evil.point_id, evil.vector_list(), payload)]))  # type: ignore[attr-defined]
    finally:
        store.close()
    rc, out, _ = run_cli(capsys, "query", "a person walking", "--path", str(two_robots), "--robot", "r9\x1b[31m")
    assert rc == 0
    assert "\x1b" not in out and "\r" not in out and "\u202e" not in out
    assert "r9\\x1b[31m" in out and "\\x1b]0;owned\\x07a spill\\x0dover" in out and "spill\\x1b[2J" in out and "cam\\u202e" in out
