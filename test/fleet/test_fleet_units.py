"""The fleet room's pieces without a store: outbox bounds, backoff, selection, payloads, parameters, moment merging."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from videorag_ros.core.config import EDGE_PARAMS, build_edge_config
from videorag_ros.core.errors import ConfigError
from videorag_ros.core.triggers import TriggerEvent
from videorag_ros.fleet.backoff import Backoff
from videorag_ros.fleet.outbox import Outbox
from videorag_ros.fleet.point import FleetPoint, Pose, StoredPoint
from videorag_ros.fleet.query import FleetQuery, moments_from_hits
from videorag_ros.fleet.selector import MomentSelector

S = 1_000_000_000
T0 = 1_750_000_000 * S


def vec(seed: int, dim: int = 8) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=dim).astype(np.float32)
    return v / np.linalg.norm(v)


# --- outbox -----------------------------------------------------------------------------------
def test_outbox_drops_the_oldest_and_counts() -> None:
    box: Outbox[int] = Outbox(3)
    for i in range(10):
        box.put(i)
    assert len(box) == 3 and box.dropped == 7 and box.accepted == 10
    assert box.take(10, fill_wait_s=0, idle_wait_s=0) == [7, 8, 9]


def test_outbox_requeue_keeps_order_and_the_bound() -> None:
    box: Outbox[int] = Outbox(4)
    for i in range(4):
        box.put(i)
    batch = box.take(3, fill_wait_s=0, idle_wait_s=0)  # [0, 1, 2] in flight
    box.put(4)
    box.put(5)  # outbox now [3, 4, 5]: one place left for the failed batch
    box.requeue(batch)
    assert box.take(10, fill_wait_s=0, idle_wait_s=0) == [2, 3, 4, 5]
    assert box.dropped == 2  # 0 and 1, the oldest


def test_outbox_take_waits_for_a_batch_to_fill_then_sends_what_it_has() -> None:
    box: Outbox[int] = Outbox(100)
    box.put(1)
    t = time.monotonic()
    assert box.take(5, fill_wait_s=0.1, idle_wait_s=1.0) == [1]
    assert 0.05 <= time.monotonic() - t < 1.0
    threading.Timer(0.05, lambda: [box.put(i) for i in range(5)]).start()
    assert box.take(5, fill_wait_s=2.0, idle_wait_s=2.0) == [0, 1, 2, 3, 4]


def test_outbox_close_wakes_a_waiting_take() -> None:
    box: Outbox[int] = Outbox(1)
    threading.Timer(0.05, box.close).start()
    assert box.take(1, fill_wait_s=10, idle_wait_s=10) == []


def test_outbox_refuses_a_zero_capacity() -> None:
    with pytest.raises(ValueError, match="capacity"):
        Outbox(0)


# --- backoff ------------------------------------------------------------------------------------
def test_backoff_doubles_to_its_cap_and_resets() -> None:
    b = Backoff(initial_s=0.5, max_s=4.0, jitter=0.0)
    assert [b.next_delay() for _ in range(6)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    b.reset()
    assert b.next_delay() == 0.5
    j = Backoff(initial_s=1.0, max_s=100.0, jitter=0.2, seed=1)
    assert all(0.8 <= j.next_delay() / 2.0**i <= 1.2 for i in range(5))


# --- selector -------------------------------------------------------------------------------------
def ev(state: str, score: float, stamp: int, seq: int, trigger: str = "spill") -> TriggerEvent:
    return TriggerEvent(trigger, state, "front", stamp, seq, score, 0.3, ("log",))


def test_keyframes_at_the_interval_per_camera() -> None:
    sel = MomentSelector(robot_id="r1", model="m", keyframe_interval_s=1.0, moment_max_s=10.0)
    kept = []
    for i in range(31):  # 3 s at 10 Hz on two cameras
        for cam in ("front", "back"):
            kept += [(p.camera_id, p.stamp_ns) for p in sel.observe(cam, T0 + i * S // 10, i, "motion", vec(i), [])]
    assert [s for c, s in kept if c == "front"] == [T0, T0 + S, T0 + 2 * S, T0 + 3 * S]
    assert len([1 for c, _ in kept if c == "back"]) == 4


def test_a_clock_jump_back_gives_a_keyframe_at_once() -> None:
    sel = MomentSelector(robot_id="r1", model="m", keyframe_interval_s=10.0, moment_max_s=10.0)
    assert sel.observe("front", T0, 0, "first", vec(0), [])
    assert not sel.observe("front", T0 + S, 1, "motion", vec(1), [])
    assert sel.observe("front", T0 - 100 * S, 2, "first", vec(2), [])


def test_a_moment_sends_its_best_frame_at_exit() -> None:
    sel = MomentSelector(robot_id="r1", model="m", keyframe_interval_s=3600.0, moment_max_s=60.0)
    sel.observe("front", T0, 0, "first", vec(0), [])
    scores = [0.5, 0.9, 0.7]
    out = []
    for i, sc in enumerate(scores, 1):
        out += sel.observe("front", T0 + i * S, i, "motion", vec(i), [ev("ENTER" if i == 1 else "HOLD", sc, T0 + i * S, i)], thumbnail=b"jpg%d" % i)
    assert out == [] and sel.open_moments() == 1
    out = sel.observe("front", T0 + 4 * S, 4, "motion", vec(4), [ev("EXIT", 0.99, T0 + 4 * S, 4)])  # an EXIT frame is never the best
    (p,) = out
    assert (p.kind, p.trigger, p.frame_seq, p.score, p.thumbnail) == ("moment", "spill", 2, 0.9, b"jpg2")
    assert (p.moment_start_ns, p.moment_end_ns, p.stamp_ns) == (T0 + S, T0 + 4 * S, T0 + 2 * S)
    assert np.array_equal(p.vector, vec(2)) and sel.open_moments() == 0


def test_a_long_moment_is_sent_in_pieces_and_flushed_at_the_end() -> None:
    sel = MomentSelector(robot_id="r1", model="m", keyframe_interval_s=3600.0, moment_max_s=2.0)
    pieces = []
    for i in range(7):
        pieces += [p for p in sel.observe("front", T0 + i * S, i, "motion", vec(i), [ev("ENTER" if i == 0 else "HOLD", 0.5, T0 + i * S, i)]) if p.kind == "moment"]
    assert [(p.moment_start_ns - T0) // S for p in pieces] == [0, 3]
    rest = sel.flush()
    assert [(p.moment_start_ns - T0) // S for p in rest] == [6] and sel.open_moments() == 0


# --- points ------------------------------------------------------------------------------------
def test_point_ids_are_deterministic_and_payloads_round_trip() -> None:
    pose = Pose("map", 1.0, 2.0, 0.0, 0.0, 0.0, 0.0, 1.0, T0)
    p = FleetPoint(vec(0), "r1", "front", T0, 7, "moment", "motion", "m", trigger="spill", score=0.8, thumbnail=b"\xff\xd8\xff\xe0x", pose=pose, description="a spill")
    assert p.point_id == FleetPoint(vec(1), "r1", "front", T0, 7, "moment", "motion", "m", trigger="spill").point_id
    assert p.point_id != FleetPoint(vec(0), "r1", "front", T0, 7, "keyframe", "motion", "m").point_id
    back = StoredPoint.from_payload(p.point_id, 0.5, p.payload())
    assert back is not None
    assert (back.robot_id, back.camera_id, back.stamp_ns, back.trigger, back.trigger_score, back.thumbnail, back.pose, back.description) == (
        "r1", "front", T0, "spill", 0.8, b"\xff\xd8\xff\xe0x", pose, "a spill")  # fmt: skip


@pytest.mark.parametrize(
    "payload",
    [
        None,  # not a mapping
        {"robot_id": "r1", "camera_id": "front"},  # no stamp
        {"robot_id": 5, "camera_id": "front", "stamp_ns": 1},  # robot not text
        {"robot_id": "r1", "camera_id": "front", "stamp_ns": True},  # a bool is not a stamp
        {"robot_id": "r1", "camera_id": "front", "stamp_ns": 2**70},  # beyond int64
    ],
)
def test_stored_payloads_without_identity_are_skipped(payload: object) -> None:
    assert StoredPoint.from_payload("x", 0.1, payload) is None


def test_stored_payload_fields_that_lie_are_emptied() -> None:
    p = StoredPoint.from_payload("x", 0.1, {"robot_id": "r1", "camera_id": "c", "stamp_ns": 5, "score": float("nan"), "description": "d" * 10_000,
                                            "thumbnail_jpeg_b64": "bm90IGEganBlZw==", "pose": {"x": "1"}, "frame_seq": "7"})  # fmt: skip
    assert p is not None
    assert (p.trigger_score, len(p.description), p.thumbnail, p.pose, p.frame_seq) == (0.0, 4000, None, None, -1)


# --- parameters ------------------------------------------------------------------------------------
def _cfg(**fleet: object) -> dict[str, object]:
    return {f"fleet.{k}": v for k, v in fleet.items()}


@pytest.mark.parametrize(
    ("values", "match"),
    [
        (_cfg(enabled=True), "fleet.robot_id"),  # enabled without an id
        (_cfg(robot_id="bad id"), "fleet.robot_id"),  # a space
        (_cfg(url="ftp://x"), "fleet.url"),  # not http(s)
        (_cfg(url="http://user:pw@host:6333"), "fleet.url"),  # credentials in the URL
        (_cfg(path="relative/dir"), "fleet.path"),
        (_cfg(api_key_file="key.txt"), "fleet.api_key_file"),
        (_cfg(outbox_capacity=0), "fleet.outbox_capacity"),
        (_cfg(ttl_s=float("nan")), "fleet.ttl_s"),
        (_cfg(backoff_initial_s=10.0, backoff_max_s=1.0), "backoff"),
        (_cfg(embedded_engine="sqlite"), "fleet.embedded_engine"),
        (_cfg(collection="a/b"), "fleet.collection"),
    ],
)
def test_bad_fleet_parameters_name_themselves(values: dict[str, object], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        build_edge_config(values)


def test_fleet_parameters_are_in_the_table_with_defaults() -> None:
    names = {s.name for s in EDGE_PARAMS}
    assert {"fleet.url", "fleet.shard_number", "fleet.replication_factor", "fleet.ttl_s", "fleet.outbox_capacity"} <= names
    cfg = build_edge_config({"fleet.enabled": True, "fleet.robot_id": "r-1", "fleet.url": "http://qdrant.local:6333"}).fleet
    assert (cfg.enabled, cfg.robot_id, cfg.url, cfg.isolation) == (True, "r-1", "http://qdrant.local:6333", "process")


# --- fleet moments ------------------------------------------------------------------------------------
def _stored(robot: str, cam: str, t: float, score: float, trigger: str = "") -> StoredPoint:
    p = StoredPoint.from_payload("x", score, {"robot_id": robot, "camera_id": cam, "stamp_ns": T0 + int(t * S), "trigger": trigger, "kind": "moment" if trigger else "keyframe"})
    assert p is not None
    return p


def test_hits_merge_per_robot_and_camera_best_first() -> None:
    hits = [_stored("r1", "front", 0, 0.5), _stored("r1", "front", 2, 0.7, "spill"), _stored("r2", "front", 1, 0.6), _stored("r1", "back", 1, 0.4), _stored("r1", "front", 60, 0.3)]
    moments = moments_from_hits(hits, context_s=5.0, k=10)
    assert [(m.robot_id, m.camera_id, m.hits, round(m.score, 2)) for m in moments] == [("r1", "front", 2, 0.7), ("r2", "front", 1, 0.6), ("r1", "back", 1, 0.4), ("r1", "front", 1, 0.3)]
    assert moments[0].triggers == ("spill",) and moments[0].start_ns == T0 and moments[0].end_ns == T0 + 2 * S
    assert len(moments_from_hits(hits, context_s=5.0, k=2)) == 2


@pytest.mark.parametrize(("query", "match"), [(FleetQuery(text=" "), "needs a text"), (FleetQuery(text="x", k=0), "k = 0"), (FleetQuery(text="x", since_ns=2, until_ns=1), "empty")])
def test_bad_fleet_queries_are_refused(query: FleetQuery, match: str) -> None:
    from videorag_ros.core.query import QueryError

    with pytest.raises(QueryError, match=match):
        query.validate()
