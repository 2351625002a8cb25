"""`videorag replay` over real DDS: rosbag2 (mcap, sqlite3) and ROS 1 bags into a subscriber
in another participant; recorded stamps kept or rewritten, CompressedImage, /clock, loop."""

from __future__ import annotations

import json
import os
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("rclpy", reason="ROS 2 not installed: run through `make test`")

import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
from rosbags.typesys import Stores, get_typestore
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import CompressedImage, Image

from videorag_ros.bench.rigs.patterns import pattern_frame
from videorag_ros.cli import replay as replay_cli
from videorag_ros.core.stamps import stamp_to_ns
from videorag_ros.recordings.bag_reader import ImageBagSource
from videorag_ros.recordings.bag_writer import ImageBagWriter
from videorag_ros.ros.bag_replayer import BagReplayer, ReplayOptions, ReplaySummary
from videorag_ros.ros.dds import PROFILE_VARIABLES, profiles_variable
from videorag_ros.ros.graph import large_frames_profile, wait_until

pytestmark = pytest.mark.ros

FIRST = 1_700_000_000_000_000_000
STEP = 50_000_000  # 20 fps
N = 8
TOPIC = "/cam/image_raw"
# Deeper than the camera QoS so a test sees every frame; best effort, so it matches the replay.
DEEP = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=100, reliability=ReliabilityPolicy.BEST_EFFORT)


def _frames() -> list[np.ndarray]:
    return [pattern_frame("disk" if i % 2 else "stripes", seed=i, width=64, height=48) for i in range(N)]


@pytest.fixture(scope="module")
def bags(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("replay_bags")
    out = {}
    for name, storage, encoding in (("mcap", "mcap", "rgb8"), ("sqlite3", "sqlite3", "rgb8"), ("ros1", "ros1", "rgb8"), ("jpeg", "mcap", "jpeg")):
        path = root / ("ros1.bag" if storage == "ros1" else name)
        with ImageBagWriter(path, topic=TOPIC, storage=storage, encoding=encoding, frame_id="cam_optical") as w:
            for i, f in enumerate(_frames()):
                w.write(f, FIRST + i * STEP)
        out[name] = path
    return out


class Listener:
    """Subscriptions in their own context (own DDS participant), spun on a thread."""

    def __init__(self, ctx: Any) -> None:
        self.node = rclpy.create_node("replay_listener", context=ctx)
        self.received: dict[str, list[Any]] = {}
        self._lock = threading.Lock()
        self._executor = SingleThreadedExecutor(context=ctx)
        self._executor.add_node(self.node)
        self._thread = threading.Thread(target=self._executor.spin, daemon=True)

    def listen(self, msg_type: Any, topic: str) -> Any:
        self.received[topic] = []

        def on_msg(msg: Any) -> None:
            with self._lock:
                self.received[topic].append(msg)

        return self.node.create_subscription(msg_type, topic, on_msg, DEEP)

    def start(self) -> Listener:
        self._thread.start()
        return self

    def count(self, topic: str) -> int:
        with self._lock:
            return len(self.received[topic])

    def close(self) -> None:
        self._executor.shutdown()
        self._thread.join(timeout=5)
        self.node.destroy_node()


@pytest.fixture
def listener(ctx: Any) -> Iterator[Listener]:
    lis = Listener(ctx)
    yield lis
    lis.close()


@pytest.fixture
def player_ctx(ctx: Any) -> Iterator[Any]:
    """A second context on the same domain: the replay is another DDS participant."""
    context = rclpy.Context()
    rclpy.init(context=context, domain_id=ctx.get_domain_id())
    yield context
    rclpy.shutdown(context=context)


def _replay(player_ctx: Any, bag: Path, options: ReplayOptions, **run_kw: Any) -> ReplaySummary:
    node = rclpy.create_node("replayer", context=player_ctx)
    try:
        with ImageBagSource(bag) as source:
            player = BagReplayer(node, source, options)
            assert player.wait_for_subscribers(), "the listener never matched"
            return player.run(**run_kw)
    finally:
        node.destroy_node()


def _wait_for(listener: Listener, topic: str, n: int) -> None:
    ok = wait_until(lambda: listener.count(topic) >= n, 10.0)
    assert ok, f"{listener.count(topic)} of {n} messages arrived on {topic}: {[getattr(m, 'header', m) for m in listener.received[topic]]}"


@pytest.mark.parametrize("fmt", ["mcap", "sqlite3", "ros1"])
def test_replay_keeps_recorded_stamps_and_pixels(fmt: str, bags: dict[str, Path], listener: Listener, player_ctx: Any) -> None:
    listener.listen(Image, TOPIC)
    listener.start()
    summary = _replay(player_ctx, bags[fmt], ReplayOptions(wait_for_subscribers=1, wait_timeout_s=10))
    _wait_for(listener, TOPIC, N)
    got = listener.received[TOPIC]
    assert [stamp_to_ns(m.header.stamp) for m in got] == [FIRST + i * STEP for i in range(N)]
    for msg, rgb in zip(got, _frames(), strict=True):
        assert (msg.header.frame_id, msg.encoding, msg.width, msg.height, msg.step) == ("cam_optical", "rgb8", 64, 48, 64 * 3)
        np.testing.assert_array_equal(np.frombuffer(msg.data, np.uint8).reshape(48, 64, 3), rgb)
    assert summary.published == {TOPIC: N} and not summary.skipped and summary.passes == 1
    assert (summary.first_stamp_ns, summary.last_stamp_ns) == (FIRST, FIRST + (N - 1) * STEP)
    # Nothing is published before its time: the last frame is due one bag span after the first.
    assert summary.duration_s >= (N - 1) * STEP * 1e-9 - 1e-3


def test_restamp_sets_the_publish_time(bags: dict[str, Path], listener: Listener, player_ctx: Any) -> None:
    listener.listen(Image, TOPIC)
    listener.start()
    before = time.time_ns()
    summary = _replay(player_ctx, bags["mcap"], ReplayOptions(restamp=True, rate=2.0, wait_for_subscribers=1, wait_timeout_s=10))
    after = time.time_ns()
    _wait_for(listener, TOPIC, N)
    stamps = [stamp_to_ns(m.header.stamp) for m in listener.received[TOPIC]]
    assert all(before <= s <= after for s in stamps), "stamps are the wall clock at publish time"
    assert stamps == sorted(stamps) and len(set(stamps)) == N
    assert summary.first_stamp_ns == stamps[0] and summary.last_stamp_ns == stamps[-1]
    for msg, rgb in zip(listener.received[TOPIC], _frames(), strict=True):
        np.testing.assert_array_equal(np.frombuffer(msg.data, np.uint8).reshape(48, 64, 3), rgb)
    assert summary.duration_s >= (N - 1) * STEP * 1e-9 / 2.0 - 1e-3  # rate 2: half the bag's span


def test_compressed_images_are_replayed(bags: dict[str, Path], listener: Listener, player_ctx: Any) -> None:
    listener.listen(CompressedImage, TOPIC)
    listener.start()
    _replay(player_ctx, bags["jpeg"], ReplayOptions(wait_for_subscribers=1, wait_timeout_s=10))
    _wait_for(listener, TOPIC, N)
    store = get_typestore(Stores.ROS2_HUMBLE)
    with ImageBagSource(bags["jpeg"]) as src:
        stored = [store.deserialize_cdr(m.cdr, m.msgtype) for m in src.messages()]
    for msg, rec in zip(listener.received[TOPIC], stored, strict=True):
        assert msg.format == "jpeg" and msg.header == type(msg.header)(stamp=msg.header.stamp, frame_id="cam_optical")
        assert stamp_to_ns(msg.header.stamp) == rec.header.stamp.sec * 1_000_000_000 + rec.header.stamp.nanosec
        assert bytes(msg.data) == rec.data.tobytes()


def test_clock_carries_the_bag_time(bags: dict[str, Path], listener: Listener, player_ctx: Any) -> None:
    listener.listen(Image, TOPIC)
    listener.listen(Clock, "/clock")
    listener.start()
    summary = _replay(player_ctx, bags["mcap"], ReplayOptions(clock_hz=100.0, wait_for_subscribers=1, wait_timeout_s=10))
    _wait_for(listener, TOPIC, N)
    assert wait_until(lambda: listener.count("/clock") > 0, 5.0), "no /clock message arrived"
    clock = [stamp_to_ns(m.clock) for m in listener.received["/clock"]]
    assert summary.clock_published >= len(clock) > 0
    assert clock == sorted(clock), "sim time never goes back within a pass"
    assert all(FIRST <= c <= FIRST + (N - 1) * STEP for c in clock), "the clock runs on the bag's time"


def test_loop_plays_the_bag_again(bags: dict[str, Path], listener: Listener, player_ctx: Any) -> None:
    listener.listen(Image, TOPIC)
    listener.start()
    holder: dict[str, ReplaySummary] = {}

    def enough() -> bool:
        return holder["player"].published[TOPIC] >= 2 * N + 3  # stop inside the third pass

    node = rclpy.create_node("looper", context=player_ctx)
    try:
        with ImageBagSource(bags["ros1"]) as source:
            player = BagReplayer(node, source, ReplayOptions(loop=True, rate=4.0, wait_for_subscribers=1, wait_timeout_s=10))
            holder["player"] = player.summary
            assert player.wait_for_subscribers()
            summary = player.run(should_stop=enough)
    finally:
        node.destroy_node()
    assert summary.passes == 3 and summary.interrupted and summary.published[TOPIC] == 2 * N + 3
    _wait_for(listener, TOPIC, 2 * N + 3)
    stamps = [stamp_to_ns(m.header.stamp) for m in listener.received[TOPIC]]
    recorded = [FIRST + i * STEP for i in range(N)]
    assert stamps == recorded + recorded + recorded[:3]


def test_cli_replays_and_prints_a_json_summary(bags: dict[str, Path], listener: Listener, ctx: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("ROS_DOMAIN_ID", str(ctx.get_domain_id()))
    profile = large_frames_profile()
    if profile is not None and not any(v in os.environ for v in PROFILE_VARIABLES):
        monkeypatch.setenv(profiles_variable(), str(profile))
    listener.listen(Image, TOPIC)
    listener.start()
    code = replay_cli.main([str(bags["sqlite3"]), "--wait-for-subscribers", "1", "--wait-timeout", "10", "--rate", "2", "--json"])
    out = capsys.readouterr().out
    assert code == 0, out
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["published"] == {TOPIC: N} and summary["skipped"] == {} and not summary["interrupted"]
    assert summary["first_stamp_ns"] == FIRST and summary["passes"] == 1
    assert f"{TOPIC}" in out and "late publishes" in out
    _wait_for(listener, TOPIC, N)


@pytest.mark.parametrize(
    ("args", "code", "match"),
    [
        # a wall-clock stamp and a bag-time clock contradict each other
        (["--restamp", "--clock"], 2, "--restamp stamps frames with the wall clock"),
        # a rate of zero would never publish
        (["--rate", "0"], 2, "rate must be a finite number > 0"),
        # not-a-number and infinity pass a plain range check; they are refused by name
        (["--rate", "inf"], 2, "rate must be a finite number > 0"),
        (["--settle", "nan"], 2, r"settle_s must be finite and >= 0; got .*nan"),
        (["--wait-timeout", "inf"], 2, r"must be finite and >= 0; got .*inf"),
        # a topic the bag does not have: the error lists the ones it has
        (["--topics", "/nope"], 1, r"topic '/nope' is not in .*\['/cam/image_raw'\]"),
        # an option that is neither ours nor a ROS argument
        (["--speed", "2"], 2, "unrecognized arguments: --speed"),
    ],
)
def test_cli_refuses_bad_options(bags: dict[str, Path], args: list[str], code: int, match: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert replay_cli.main([str(bags["mcap"]), *args]) == code
    assert re.search(match, capsys.readouterr().err)


def test_cli_refuses_a_missing_bag(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert replay_cli.main([str(tmp_path / "nope")]) == 1
    assert "does not exist" in capsys.readouterr().err
