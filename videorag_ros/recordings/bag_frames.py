"""Camera frames from a recording: rosbag2 (sqlite3 or mcap) and ROS 1 bags, through rosbags.

Bag topics are mapped to the configured cameras (relative topic names get a leading
slash, as the node resolves them without a namespace; ``topic_map`` overrides per camera).
``sensor_msgs/msg/Image`` and ``sensor_msgs/msg/CompressedImage`` are converted with the
same core converters the edge node uses; the stamp is ``header.stamp``. A message that
cannot be turned into a frame is counted per camera and reason and the read goes on.
A missing or unreadable bag, or one without any of the cameras' topics, raises ``BagError``
(shared with ``bag_writer`` and ``bag_source``).
"""

from __future__ import annotations

import logging
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rosbags.highlevel import AnyReader, AnyReaderError
from rosbags.rosbag1 import ReaderError as Ros1ReaderError
from rosbags.rosbag2 import ReaderError as Ros2ReaderError
from rosbags.typesys import Stores, get_typestore

from videorag_ros.core.errors import FrameError
from videorag_ros.core.frames import FrameLimits, RGBFrame, compressed_to_rgb, raw_to_rgb
from videorag_ros.recordings.bag_writer import COMPRESSED, IMAGE, IMAGE_TYPES, BagError

log = logging.getLogger(__name__)

__all__ = [
    "COMPRESSED",
    "IMAGE",
    "IMAGE_TYPES",
    "REJECT_CONVERT",
    "REJECT_DESERIALIZE",
    "REJECT_REASONS",
    "BagError",
    "BagFrames",
    "InputReject",
    "absolute_topic",
    "parse_topic_map",
    "to_rgb",
]


# Why a message was not turned into a frame.
REJECT_DESERIALIZE = "deserialize"  # the bytes are not a valid message of the topic's type
REJECT_CONVERT = "convert"  # a valid message whose image is unusable (FrameError: size, encoding, bytes)
REJECT_REASONS = (REJECT_DESERIALIZE, REJECT_CONVERT)

# What rosbags and the storage below it raise for an unreadable or truncated bag.
_STORAGE_ERRORS = (AnyReaderError, Ros1ReaderError, Ros2ReaderError, sqlite3.Error, OSError)


@dataclass(frozen=True, slots=True)
class InputReject:
    """A bag message that did not become a frame.

    Attributes:
        camera_id: Camera whose topic carried it.
        stamp_ns: ``header.stamp`` when the message deserialised, else the bag's log time.
        reason: One of ``REJECT_REASONS``.
        error: What went wrong, in words.
    """

    camera_id: str
    stamp_ns: int
    reason: str
    error: str


def absolute_topic(topic: str) -> str:
    """A topic name as a bag stores it: relative names (``camera/front/image_raw``) get a leading slash."""
    return topic if topic.startswith("/") else "/" + topic


def parse_topic_map(items: Sequence[str]) -> dict[str, str]:
    """Parse ``camera=/topic`` overrides (a CLI's repeated ``--topic``).

    Raises:
        ValueError: An item without ``=``, or with an empty camera id or topic.
    """
    out: dict[str, str] = {}
    for item in items:
        cam, sep, topic = item.partition("=")
        if not sep or not cam.strip() or not topic.strip():
            msg = f"topic mapping '{item}' must look like CAMERA=/topic (e.g. front=/camera/front/image_raw)"
            raise ValueError(msg)
        out[cam.strip()] = topic.strip()
    return out


def _stamp_ns(msg: Any) -> int:
    return int(msg.header.stamp.sec) * 1_000_000_000 + int(msg.header.stamp.nanosec)


def to_rgb(msg: Any, msgtype: str, limits: FrameLimits) -> RGBFrame:
    """A deserialised Image / CompressedImage (rosbags object) → ``(H, W, 3)`` uint8 RGB.

    Raises:
        FrameError: The image is unusable (see ``frames.raw_to_rgb`` / ``frames.compressed_to_rgb``).
    """
    if msgtype == COMPRESSED:
        return compressed_to_rgb(fmt=msg.format, data=msg.data, limits=limits)
    return raw_to_rgb(encoding=msg.encoding, width=msg.width, height=msg.height, step=msg.step, data=msg.data, limits=limits)


class BagFrames:
    """The camera frames of one recording, in recording order; use as a context manager.

    ``with BagFrames(path, {"front": "camera/front/image_raw"}) as bag:`` then iterate
    ``bag.frames()`` for ``(camera_id, rgb, stamp_ns)``. ``bag.rejected`` counts the
    messages that did not become frames per ``(camera_id, reason)``; ``bag.rejects`` lists them.
    """

    def __init__(self, path: str | Path, cameras: Mapping[str, str], *, topic_map: Mapping[str, str] | None = None, limits: FrameLimits | None = None) -> None:
        """Describe what to read; nothing is opened until ``open()`` / ``with``.

        Args:
            path: A rosbag2 directory (with ``metadata.yaml``; sqlite3 or mcap storage) or a
                ROS 1 ``.bag`` file.
            cameras: Camera id → configured topic (relative names are made absolute).
            topic_map: Camera id → bag topic, overriding ``cameras`` for those ids.
            limits: Largest frame accepted (the edge node's ``max_width`` ...; default ``FrameLimits()``).

        Raises:
            BagError: ``topic_map`` names a camera that is not in ``cameras``.
        """
        self.path = Path(path)
        unknown = sorted(set(topic_map or {}) - set(cameras))
        if unknown:
            msg = f"topic mapping names camera(s) {unknown} that are not configured; cameras: {sorted(cameras)}"
            raise BagError(msg)
        self.wanted = {cam: absolute_topic((topic_map or {}).get(cam, topic)) for cam, topic in cameras.items()}
        self.limits = limits or FrameLimits()
        self.topics: dict[str, str] = {}  # camera id -> bag topic, for the cameras found
        self.missing: dict[str, str] = {}  # camera id -> topic the bag lacks
        self.message_count = 0  # messages on the matched topics (0 when the bag does not say)
        self.rejected: Counter[tuple[str, str]] = Counter()
        self.rejects: list[InputReject] = []
        self.log_time_stamps: Counter[str] = Counter()  # frames with header.stamp 0: stamped with the bag's log time
        self._reader: AnyReader | None = None
        self._types: dict[str, str] = {}  # bag topic -> msgtype

    def open(self) -> None:
        """Open the bag and match topics to cameras.

        Raises:
            BagError: Missing or unreadable bag, a matched topic that is not an image type, or
                none of the cameras' topics in the bag (the message lists the bag's image topics).
        """
        if not self.path.exists():
            msg = f"bag '{self.path}' does not exist (a rosbag2 directory with metadata.yaml, or a ROS 1 .bag file)"
            raise BagError(msg)
        try:
            # Bags recorded without message definitions (rosbag2 before Iron) decode with Humble's types.
            reader = AnyReader([self.path], default_typestore=get_typestore(Stores.ROS2_HUMBLE))
            reader.open()
        except (*_STORAGE_ERRORS, ValueError, KeyError) as err:
            kind = "ROS 1 bag" if self.path.suffix == ".bag" else "rosbag2 directory (metadata.yaml + .db3/.mcap)"
            msg = f"cannot read '{self.path}' as a {kind}: {err}"
            raise BagError(msg) from err
        try:
            self._match(reader)
        except BagError:
            reader.close()
            raise
        self._reader = reader

    def _match(self, reader: AnyReader) -> None:
        bag_topics = {name: info.msgtype or "" for name, info in reader.topics.items()}
        images = sorted(f"{t} ({ty})" for t, ty in bag_topics.items() if ty in IMAGE_TYPES)
        for cam, topic in self.wanted.items():
            if topic not in bag_topics:
                self.missing[cam] = topic
                continue
            if bag_topics[topic] not in IMAGE_TYPES:
                msg = f"camera '{cam}': topic {topic} in '{self.path}' has type {bag_topics[topic]}; expected {IMAGE} or {COMPRESSED}"
                raise BagError(msg)
            self.topics[cam] = topic
            self._types[topic] = bag_topics[topic]
        if not self.topics:
            have = ", ".join(images) if images else "none"
            wanted = ", ".join(f"{c}={t}" for c, t in self.wanted.items())
            msg = (
                f"bag '{self.path}' has none of the camera topics ({wanted}); its image topics: {have}. "
                "Map a camera to a bag topic with --topic CAMERA=/topic"
            )
            raise BagError(msg)
        for cam, topic in self.missing.items():
            log.info("camera '%s': topic %s is not in bag '%s'; it gets no frames", cam, topic, self.path)
        self.message_count = sum(reader.topics[t].msgcount for t in self.topics.values())

    def close(self) -> None:
        """Close the bag (safe to call twice)."""
        reader, self._reader = self._reader, None
        if reader is not None:
            reader.close()

    def __enter__(self) -> BagFrames:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _reject(self, cam: str, stamp_ns: int, reason: str, error: str) -> None:
        self.rejected[(cam, reason)] += 1
        self.rejects.append(InputReject(cam, stamp_ns, reason, error))
        log.debug("camera '%s': message at %d ns rejected (%s): %s", cam, stamp_ns, reason, error)

    def frames(self, *, on_message: Callable[[], None] | None = None) -> Iterator[tuple[str, RGBFrame, int]]:
        """Yield ``(camera_id, rgb, stamp_ns)`` for every convertible message, in bag order.

        Args:
            on_message: Called once per message read, converted or not (progress display).

        Raises:
            BagError: The bag is not open, or its storage fails while reading.
        """
        reader = self._reader
        if reader is None:
            msg = "BagFrames.frames() needs an open bag: use 'with BagFrames(...) as bag:'"
            raise BagError(msg)
        by_topic = {topic: cam for cam, topic in self.topics.items()}
        conns = [c for c in reader.connections if c.topic in by_topic]
        try:
            for conn, log_ns, raw in reader.messages(connections=conns):
                if on_message is not None:
                    on_message()
                cam, msgtype = by_topic[conn.topic], self._types[conn.topic]
                try:
                    message = reader.deserialize(raw, conn.msgtype)
                    stamp_ns = _stamp_ns(message)
                except Exception as err:  # any byte string can arrive; each one becomes a counted reject
                    self._reject(cam, log_ns, REJECT_DESERIALIZE, f"{conn.topic}: not a valid {conn.msgtype}: {type(err).__name__}: {err}")
                    continue
                unstamped = stamp_ns == 0  # a driver that never sets header.stamp: the recording time is the best we have
                if unstamped:
                    stamp_ns = log_ns
                try:
                    rgb = to_rgb(message, msgtype, self.limits)
                except FrameError as err:
                    self._reject(cam, stamp_ns, REJECT_CONVERT, f"{conn.topic}: {err}")
                    continue
                if unstamped:
                    self.log_time_stamps[cam] += 1
                yield cam, rgb, stamp_ns
        except _STORAGE_ERRORS as err:
            msg = f"reading '{self.path}' failed: {err}"
            raise BagError(msg) from err
