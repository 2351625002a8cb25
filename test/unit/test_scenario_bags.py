"""Bags for scenarios: the writer round trip (read back with rosbags' AnyReader) and the
replay source (image topics as ROS 2 CDR, from rosbag2 and ROS 1 bags)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from rosbags.highlevel import AnyReader
from rosbags.rosbag2 import StoragePlugin, Writer
from rosbags.typesys import Stores, get_typestore

from videorag_ros.bench.rigs.patterns import pattern_frame
from videorag_ros.recordings.bag_reader import ImageBagSource
from videorag_ros.recordings.bag_writer import BagError, ImageBagWriter

FIRST = 1_700_000_000_000_000_000
STEP = 50_000_000  # 20 fps
TOPIC = "/cam/image_raw"


def _frames(n: int = 6) -> list[np.ndarray]:
    return [pattern_frame("disk" if i % 2 else "stripes", seed=i, width=64, height=48) for i in range(n)]


def _write(path: Path, *, storage: str, encoding: str = "rgb8", n: int = 6) -> list[np.ndarray]:
    frames = _frames(n)
    with ImageBagWriter(path, topic=TOPIC, encoding=encoding, storage=storage, frame_id="cam_optical") as w:
        for i, f in enumerate(frames):
            w.write(f, FIRST + i * STEP)
    assert w.frames == n and w.first_stamp_ns == FIRST and w.last_stamp_ns == FIRST + (n - 1) * STEP
    return frames


def _bag_path(tmp_path: Path, storage: str) -> Path:
    return tmp_path / ("bag.bag" if storage == "ros1" else f"bag_{storage}")


@pytest.mark.parametrize("storage", ["mcap", "sqlite3", "ros1"])
@pytest.mark.parametrize("encoding", ["rgb8", "bgr8"])
def test_raw_frames_round_trip(tmp_path: Path, storage: str, encoding: str) -> None:
    path = _bag_path(tmp_path, storage)
    frames = _write(path, storage=storage, encoding=encoding)
    with AnyReader([path]) as reader:
        assert [(c.topic, c.msgtype) for c in reader.connections] == [(TOPIC, "sensor_msgs/msg/Image")]
        got = [(t, reader.deserialize(raw, c.msgtype)) for c, t, raw in reader.messages()]
    assert [t for t, _ in got] == [FIRST + i * STEP for i in range(len(frames))]
    for (t, msg), rgb in zip(got, frames, strict=True):
        assert msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec == t  # bag time = header stamp
        assert msg.header.frame_id == "cam_optical"
        assert (msg.width, msg.height, msg.step, msg.encoding) == (64, 48, 64 * 3, encoding)
        pixels = np.asarray(msg.data, np.uint8).reshape(48, 64, 3)
        np.testing.assert_array_equal(pixels[:, :, ::-1] if encoding == "bgr8" else pixels, rgb)


def test_jpeg_frames_round_trip(tmp_path: Path) -> None:
    frames = _write(tmp_path / "bag", storage="mcap", encoding="jpeg")
    with AnyReader([tmp_path / "bag"]) as reader:
        msgs = [reader.deserialize(raw, c.msgtype) for c, _, raw in reader.messages()]
        assert reader.connections[0].msgtype == "sensor_msgs/msg/CompressedImage"
    for msg, rgb in zip(msgs, frames, strict=True):
        assert msg.format == "jpeg"
        decoded = cv2.cvtColor(cv2.imdecode(np.asarray(msg.data, np.uint8), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
        assert np.abs(decoded.astype(int) - rgb.astype(int)).mean() < 8  # lossy, but the same picture


def test_writer_refuses_bad_input(tmp_path: Path) -> None:
    with pytest.raises(BagError, match="must be absolute"):
        ImageBagWriter(tmp_path / "b", topic="cam/image_raw")
    with pytest.raises(BagError, match="encoding 'mono16' is not supported"):
        ImageBagWriter(tmp_path / "b", topic=TOPIC, encoding="mono16")
    with pytest.raises(BagError, match="storage 'rosbag3' is not supported"):
        ImageBagWriter(tmp_path / "b", topic=TOPIC, storage="rosbag3")
    (tmp_path / "exists").mkdir()
    with pytest.raises(BagError, match="exists already; bags are never overwritten"):
        ImageBagWriter(tmp_path / "exists", topic=TOPIC)
    with pytest.raises(BagError, match=r"expected \(H, W, 3\) uint8 RGB"), ImageBagWriter(tmp_path / "grey", topic=TOPIC) as w:
        w.write(np.zeros((4, 4), np.uint8), FIRST)
    assert not (tmp_path / "grey").exists()  # a failed write leaves no partial bag
    with pytest.raises(BagError, match="goes back"), ImageBagWriter(tmp_path / "back", topic=TOPIC) as w:
        w.write(_frames(1)[0], FIRST)
        w.write(_frames(1)[0], FIRST - 1)
    with pytest.raises(BagError, match="not open"):
        ImageBagWriter(tmp_path / "closed", topic=TOPIC).write(_frames(1)[0], FIRST)


@pytest.mark.parametrize("storage", ["mcap", "sqlite3", "ros1"])
def test_source_gives_ros2_cdr_for_every_format(tmp_path: Path, storage: str) -> None:
    path = _bag_path(tmp_path, storage)
    frames = _write(path, storage=storage)
    ros2 = get_typestore(Stores.ROS2_HUMBLE)
    with ImageBagSource(path) as src:
        assert src.is_ros1 == (storage == "ros1")
        assert src.selected == (TOPIC,) and src.message_count == len(frames)
        msgs = list(src.messages())
        again = list(src.messages())  # a second pass (what --loop does)
        assert [m.stamp_ns for m in msgs] == [m.log_time_ns for m in msgs] == [FIRST + i * STEP for i in range(len(frames))]
        assert [m.cdr for m in again] == [m.cdr for m in msgs]
        for m, rgb in zip(msgs, frames, strict=True):
            assert isinstance(m.cdr, bytes)  # rclpy publishes serialized messages only as bytes
            msg = ros2.deserialize_cdr(m.cdr, m.msgtype)  # ROS 1 messages were converted
            assert msg.header.frame_id == "cam_optical" and msg.encoding == "rgb8"
            np.testing.assert_array_equal(np.asarray(msg.data).reshape(48, 64, 3), rgb)
        restamped = ros2.deserialize_cdr(src.restamp(msgs[0], 42_000_000_123), msgs[0].msgtype)
        assert (restamped.header.stamp.sec, restamped.header.stamp.nanosec) == (42, 123)
        np.testing.assert_array_equal(np.asarray(restamped.data).reshape(48, 64, 3), frames[0])
        assert not src.skipped


def _mixed_bag(path: Path) -> None:
    """An mcap bag with an image topic, a text topic and a message that does not decode."""
    store = get_typestore(Stores.ROS2_HUMBLE)
    _write(path / "_frames", storage="mcap", n=3)
    with AnyReader([path / "_frames"]) as reader:
        raws = [(t, raw) for _, t, raw in reader.messages()]
    with Writer(path / "bag", version=8, storage_plugin=StoragePlugin.MCAP) as w:
        img = w.add_connection(TOPIC, "sensor_msgs/msg/Image", typestore=store)
        txt = w.add_connection("/chatter", "std_msgs/msg/String", typestore=store)
        for t, raw in raws:
            w.write(img, t, raw)
            w.write(txt, t, bytes(store.serialize_cdr(store.types["std_msgs/msg/String"](data="hi"), "std_msgs/msg/String")))
        w.write(img, raws[-1][0] + STEP, b"\x00\x01\x00\x00\x07")  # truncated


def test_source_skips_and_counts_what_it_cannot_play(tmp_path: Path) -> None:
    _mixed_bag(tmp_path)
    with ImageBagSource(tmp_path / "bag") as src:
        assert {t.name: t.playable for t in src.topics} == {TOPIC: True, "/chatter": False}
        assert len(list(src.messages())) == 3
        assert src.skipped == {"topic /chatter (std_msgs/msg/String)": 3, "undecodable": 1}
    with pytest.raises(BagError, match=r"topic '/chatter' .* is std_msgs/msg/String; only sensor_msgs/msg/Image"):
        ImageBagSource(tmp_path / "bag", ["/chatter"])
    with pytest.raises(BagError, match=r"topic '/nope' is not in .*its image topics are \['/cam/image_raw'\]"):
        ImageBagSource(tmp_path / "bag", ["/nope"])


def test_source_refuses_what_is_not_a_bag(tmp_path: Path) -> None:
    with pytest.raises(BagError, match="does not exist"):
        ImageBagSource(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(BagError, match=r"cannot read .* as a rosbag2 directory"):
        ImageBagSource(tmp_path / "empty")
    (tmp_path / "junk.bag").write_bytes(b"not a bag")
    with pytest.raises(BagError, match="cannot read"):
        ImageBagSource(tmp_path / "junk.bag")
