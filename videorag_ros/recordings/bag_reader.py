"""The one bag reader: rosbag2 (sqlite3, mcap) and ROS 1 bags through rosbags' ``AnyReader``.

``BagReader`` opens a bag (a file or directory that is missing, unreadable or not a bag is a
``BagError``), lists its topics and yields its image messages in bag-time order, each
deserialised once, with its ``header.stamp`` (the bag's log time when a driver left the stamp
at zero) or the reason it could not be read. Two views use it:

- ``BagFrames`` (``videorag run --bag``): camera topics decoded into RGB frames with the edge
  node's own converters; a message that does not become a frame is counted per camera and reason.
- ``ImageBagSource`` (``videorag replay``): the same messages as ROS 2 CDR, ready to publish
  (rosbag2 bytes as stored; ROS 1 messages converted; the ROS 1 header's ``seq`` has no ROS 2
  counterpart and is dropped).

Bags recorded without message definitions (rosbag2 before Iron) are read with Humble's types.
Every byte string a bag holds is untrusted: each message is read inside its own error boundary.
"""

from __future__ import annotations

import dataclasses
import logging
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from rosbags.highlevel import AnyReader, AnyReaderError
from rosbags.interfaces import ConnectionExtRosbag2
from rosbags.rosbag1 import ReaderError as Ros1ReaderError
from rosbags.rosbag2 import ReaderError as Ros2ReaderError
from rosbags.typesys import Stores, get_typestore

from videorag_ros.core.errors import FrameError
from videorag_ros.core.frames import FrameLimits, RGBFrame, compressed_to_rgb, raw_to_rgb
from videorag_ros.core.printable import printable
from videorag_ros.core.stamps import ns_to_sec_nanosec, stamp_to_ns
from videorag_ros.recordings.bag_writer import COMPRESSED, IMAGE, IMAGE_TYPES, BagError

if TYPE_CHECKING:
    from types import TracebackType

    from rosbags.interfaces import Connection

log = logging.getLogger(__name__)
_Reader = TypeVar("_Reader", bound="BagReader")

__all__ = [
    "COMPRESSED",
    "IMAGE",
    "IMAGE_TYPES",
    "REJECT_CONVERT",
    "REJECT_DESERIALIZE",
    "REJECT_REASONS",
    "BagError",
    "BagFrames",
    "BagMessage",
    "BagReader",
    "BagRecord",
    "BagTopic",
    "ImageBagSource",
    "InputReject",
    "absolute_topic",
    "parse_topic_map",
    "to_rgb",
]

# Why a message was not turned into a frame (or not replayed).
REJECT_DESERIALIZE = "deserialize"  # the bytes are not a valid message of the topic's type
REJECT_CONVERT = "convert"  # a valid message whose image is unusable (FrameError: size, encoding, bytes)
REJECT_REASONS = (REJECT_DESERIALIZE, REJECT_CONVERT)

# What rosbags and the storage below it raise for an unreadable or truncated bag.
_STORAGE_ERRORS = (AnyReaderError, Ros1ReaderError, Ros2ReaderError, sqlite3.Error, OSError)


@dataclass(frozen=True, slots=True)
class BagTopic:
    """A topic in a bag: name, ``pkg/msg/Type``, messages recorded, and whether it is an image topic."""

    name: str
    msgtype: str
    count: int
    playable: bool


@dataclass(frozen=True, slots=True)
class BagRecord:
    """One image message as read: deserialised (``message``) or not (``error``).

    Attributes:
        topic: Topic it was recorded on.
        msgtype: ``sensor_msgs/msg/Image`` or ``sensor_msgs/msg/CompressedImage``.
        log_time_ns: When the recorder received it (the replay clock).
        stamp_ns: ``header.stamp``; the log time when the message has none (or did not deserialise).
        raw: The bytes as stored.
        message: The deserialised message (rosbags dataclass), or None.
        error: Why it did not deserialise, or None.
        log_time_stamped: True when ``stamp_ns`` is the log time because ``header.stamp`` was zero.
    """

    topic: str
    msgtype: str
    log_time_ns: int
    stamp_ns: int
    raw: bytes
    message: Any = None
    error: str | None = None
    log_time_stamped: bool = False


@dataclass(frozen=True, slots=True)
class BagMessage:
    """One camera message as ROS 2 CDR (encapsulation header included), ready to publish."""

    topic: str
    msgtype: str
    log_time_ns: int
    stamp_ns: int
    cdr: bytes


@dataclass(frozen=True, slots=True)
class InputReject:
    """A bag message that did not become a frame: camera, stamp, one of ``REJECT_REASONS``, what went wrong."""

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
            msg = f"topic mapping '{printable(item)}' must look like CAMERA=/topic (e.g. front=/camera/front/image_raw)"
            raise ValueError(msg)
        out[cam.strip()] = topic.strip()
    return out


def to_rgb(msg: Any, msgtype: str, limits: FrameLimits) -> RGBFrame:
    """A deserialised Image / CompressedImage (rosbags object) → ``(H, W, 3)`` uint8 RGB.

    Raises:
        FrameError: The image is unusable (see ``frames.raw_to_rgb`` / ``frames.compressed_to_rgb``).
    """
    if msgtype == COMPRESSED:
        return compressed_to_rgb(fmt=msg.format, data=msg.data, limits=limits)
    return raw_to_rgb(encoding=msg.encoding, width=msg.width, height=msg.height, step=msg.step, data=msg.data, limits=limits)


class BagReader:
    """The image topics of one bag, read in bag-time order; use as a context manager."""

    def __init__(self, path: str | Path) -> None:
        """Describe the bag; nothing is opened until ``open()`` / ``with``.

        Args:
            path: A rosbag2 directory (with ``metadata.yaml``; sqlite3 or mcap storage) or a
                ROS 1 ``.bag`` file.
        """
        self.path = Path(path)
        self.topics: list[BagTopic] = []
        self.is_ros1 = False
        self._reader: AnyReader | None = None
        self._ros2 = get_typestore(Stores.ROS2_HUMBLE)
        #: Records that did not deserialise, by ``(topic, reason)``.
        self.unreadable: Counter[tuple[str, str]] = Counter()
        #: Messages whose ``header.stamp`` was zero and that were stamped with the log time, by topic.
        self.log_time_stamps: Counter[str] = Counter()

    def open(self) -> None:
        """Open the bag and list its topics.

        Raises:
            BagError: Missing, unreadable, or not a bag.
        """
        if not self.path.exists():
            msg = f"bag '{printable(self.path)}' does not exist (a rosbag2 directory with metadata.yaml, or a ROS 1 .bag file)"
            raise BagError(msg)
        try:
            reader = AnyReader([self.path], default_typestore=self._ros2)
            reader.open()
        except (*_STORAGE_ERRORS, ValueError, KeyError) as err:
            kind = "ROS 1 bag" if self.path.suffix == ".bag" else "rosbag2 directory (metadata.yaml + .db3/.mcap)"
            msg = f"cannot read '{printable(self.path)}' as a {kind}: {printable(err)}"
            raise BagError(msg) from err
        self._reader = reader
        self.is_ros1 = not reader.is2
        counts: Counter[tuple[str, str]] = Counter()
        for c in reader.connections:
            counts[(c.topic, c.msgtype)] += c.msgcount
        self.topics = [BagTopic(t, m, n, m in IMAGE_TYPES) for (t, m), n in sorted(counts.items())]

    def close(self) -> None:
        """Close the bag (safe to call twice)."""
        reader, self._reader = self._reader, None
        if reader is not None:
            reader.close()

    def __enter__(self: _Reader) -> _Reader:
        if self._reader is None:
            self.open()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    @property
    def image_topics(self) -> list[str]:
        """Names of the bag's Image / CompressedImage topics."""
        return [t.name for t in self.topics if t.playable]

    def count_messages(self, topics: Sequence[str]) -> int:
        """Messages recorded on ``topics``."""
        return sum(t.count for t in self.topics if t.name in topics and t.playable)

    def _connections(self, topics: Sequence[str]) -> list[Connection]:
        if self._reader is None:
            msg = f"bag '{self.path}' is not open; use 'with ...' or call open()"
            raise BagError(msg)
        return [c for c in self._reader.connections if c.topic in topics and c.msgtype in IMAGE_TYPES]

    def records(self, topics: Sequence[str], *, on_message: Callable[[], None] | None = None) -> Iterator[BagRecord]:
        """Yield every image message on ``topics`` in bag-time order, deserialised once.

        Args:
            topics: Topics to read (non-image topics are never read).
            on_message: Called once per message read (progress display).

        Raises:
            BagError: The bag is not open, or its storage fails while reading.
        """
        conns = self._connections(topics)
        reader = self._reader
        assert reader is not None  # _connections raised otherwise
        try:
            for conn, log_ns, raw in reader.messages(connections=conns):
                if on_message is not None:
                    on_message()
                yield self._record(conn, log_ns, bytes(raw))
        except _STORAGE_ERRORS as err:
            msg = f"reading '{printable(self.path)}' failed: {printable(err)}"
            raise BagError(msg) from err

    def _record(self, conn: Connection, log_ns: int, raw: bytes) -> BagRecord:
        ext = conn.ext
        if isinstance(ext, ConnectionExtRosbag2) and ext.serialization_format != "cdr":
            error = f"{conn.topic}: stored as {ext.serialization_format}, not CDR"
        else:
            try:
                assert self._reader is not None
                message: Any = self._reader.deserialize(raw, conn.msgtype)
                stamp_ns = stamp_to_ns(message.header.stamp)
            except Exception as err:  # any byte string can arrive: each becomes a counted, named reject
                error = f"{conn.topic}: not a valid {conn.msgtype}: {type(err).__name__}: {printable(err, max_chars=200)}"
            else:
                unstamped = stamp_ns == 0  # a driver that never sets header.stamp: the recording time is the best we have
                if unstamped:
                    self.log_time_stamps[conn.topic] += 1
                return BagRecord(conn.topic, conn.msgtype, log_ns, log_ns if unstamped else stamp_ns, raw, message, None, unstamped)
        self.unreadable[(conn.topic, REJECT_DESERIALIZE)] += 1
        return BagRecord(conn.topic, conn.msgtype, log_ns, log_ns, raw, None, error)

    def to_ros2_cdr(self, record: BagRecord) -> bytes:
        """A deserialised record as ROS 2 CDR: rosbag2 bytes as stored, ROS 1 messages converted.

        Raises:
            BagError: The record did not deserialise.
        """
        if record.message is None:
            msg = f"cannot convert an unreadable message: {record.error}"
            raise BagError(msg)
        if not self.is_ros1:
            return record.raw
        obj, types = record.message, self._ros2.types
        stamp = types["builtin_interfaces/msg/Time"](sec=int(obj.header.stamp.sec), nanosec=int(obj.header.stamp.nanosec))
        header = types["std_msgs/msg/Header"](stamp=stamp, frame_id=obj.header.frame_id)
        if record.msgtype == COMPRESSED:
            out = types[COMPRESSED](header=header, format=obj.format, data=obj.data)
        else:
            out = types[IMAGE](header=header, height=obj.height, width=obj.width, encoding=obj.encoding, is_bigendian=obj.is_bigendian, step=obj.step, data=obj.data)
        return bytes(self._ros2.serialize_cdr(out, record.msgtype))

    def restamp(self, msg: BagMessage, stamp_ns: int) -> bytes:
        """The message's CDR with ``header.stamp`` replaced (one deserialize + serialize).

        Raises:
            BagError: The CDR cannot be decoded.
        """
        try:
            obj: Any = self._ros2.deserialize_cdr(msg.cdr, msg.msgtype)
        except Exception as err:  # the bytes came from the bag: any failure is a bad message
            text = f"cannot restamp a {msg.msgtype} on {msg.topic}: {type(err).__name__}: {err}"
            raise BagError(text) from err
        sec, nanosec = ns_to_sec_nanosec(stamp_ns)
        stamp = self._ros2.types["builtin_interfaces/msg/Time"](sec=sec, nanosec=nanosec)
        obj = dataclasses.replace(obj, header=dataclasses.replace(obj.header, stamp=stamp))
        return bytes(self._ros2.serialize_cdr(obj, msg.msgtype))


class BagFrames(BagReader):
    """The camera frames of one recording, in recording order; use as a context manager.

    ``with BagFrames(path, {"front": "camera/front/image_raw"}) as bag:`` then iterate
    ``bag.frames()`` for ``(camera_id, rgb, stamp_ns)``. ``bag.rejected`` counts the
    messages that did not become frames per ``(camera_id, reason)``; ``bag.rejects`` lists them.
    """

    def __init__(self, path: str | Path, cameras: Mapping[str, str], *, topic_map: Mapping[str, str] | None = None, limits: FrameLimits | None = None) -> None:
        """Describe what to read; nothing is opened until ``open()`` / ``with``.

        Args:
            path: A rosbag2 directory or a ROS 1 ``.bag`` file.
            cameras: Camera id → configured topic (relative names are made absolute).
            topic_map: Camera id → bag topic, overriding ``cameras`` for those ids.
            limits: Largest frame accepted (the edge node's ``max_width`` ...; default ``FrameLimits()``).

        Raises:
            BagError: ``topic_map`` names a camera that is not in ``cameras``.
        """
        super().__init__(path)
        unknown = sorted(set(topic_map or {}) - set(cameras))
        if unknown:
            msg = f"topic mapping names camera(s) {unknown} that are not configured; cameras: {sorted(cameras)}"
            raise BagError(msg)
        self.wanted = {cam: absolute_topic((topic_map or {}).get(cam, topic)) for cam, topic in cameras.items()}
        self.limits = limits or FrameLimits()
        self.camera_topics: dict[str, str] = {}  # camera id -> bag topic, for the cameras found
        self.missing: dict[str, str] = {}  # camera id -> topic the bag lacks
        self.rejected: Counter[tuple[str, str]] = Counter()
        self.rejects: list[InputReject] = []
        self._log_stamped: Counter[str] = Counter()

    def open(self) -> None:
        """Open the bag and match its topics to the cameras.

        Raises:
            BagError: Missing or unreadable bag, a matched topic that is not an image type, or
                none of the cameras' topics in the bag (the message lists the bag's image topics).
        """
        super().open()
        try:
            self._match()
        except BagError:
            self.close()
            raise

    def _match(self) -> None:
        types = {t.name: t.msgtype for t in self.topics}
        for cam, topic in self.wanted.items():
            if topic not in types:
                self.missing[cam] = topic
                continue
            if types[topic] not in IMAGE_TYPES:
                msg = f"camera '{cam}': topic {topic} in '{self.path}' has type {types[topic]}; expected {IMAGE} or {COMPRESSED}"
                raise BagError(msg)
            self.camera_topics[cam] = topic
        if not self.camera_topics:
            have = ", ".join(f"{t.name} ({t.msgtype})" for t in self.topics if t.playable) or "none"
            wanted = ", ".join(f"{c}={t}" for c, t in self.wanted.items())
            msg = (
                f"bag '{printable(self.path)}' has none of the camera topics ({wanted}); its image topics: {printable(have)}. "
                "Map a camera to a bag topic with --topic CAMERA=/topic"
            )
            raise BagError(msg)
        for cam, topic in self.missing.items():
            log.info("camera '%s': topic %s is not in bag '%s'; it gets no frames", cam, topic, self.path)

    @property
    def message_count(self) -> int:
        """Messages on the matched camera topics."""
        return self.count_messages(list(self.camera_topics.values()))

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
        by_topic = {topic: cam for cam, topic in self.camera_topics.items()}
        for rec in self.records(list(by_topic), on_message=on_message):
            cam = by_topic[rec.topic]
            if rec.message is None:
                self._reject(cam, rec.stamp_ns, REJECT_DESERIALIZE, rec.error or "unreadable")
                continue
            try:
                rgb = to_rgb(rec.message, rec.msgtype, self.limits)
            except FrameError as err:
                self._reject(cam, rec.stamp_ns, REJECT_CONVERT, f"{rec.topic}: {err}")
                continue
            if rec.log_time_stamped:
                self._log_stamped[cam] += 1
            yield cam, rgb, rec.stamp_ns

    def log_time_stamped_frames(self) -> dict[str, int]:
        """Per camera, the frames stamped with the bag's log time because ``header.stamp`` was zero."""
        return dict(self._log_stamped)


class ImageBagSource(BagReader):
    """The image topics of one bag as ROS 2 CDR messages (what ``videorag replay`` plays).

    Opened at construction (a context manager closes it).
    """

    def __init__(self, path: str | Path, topics: Sequence[str] | None = None) -> None:
        """Open a bag and choose the topics to play.

        Args:
            path: A rosbag2 directory (sqlite3 or mcap) or a ROS 1 ``.bag`` file.
            topics: Topics to play; default: every Image / CompressedImage topic.

        Raises:
            BagError: The bag cannot be opened, a requested topic is missing or not an image
                topic, or the bag holds no image topic at all.
        """
        super().__init__(path)
        self.open()
        #: Messages not played, by reason (``topic <name> (<type>)``, ``undecodable`` ...).
        self.skipped: Counter[str] = Counter()
        try:
            self.selected = tuple(self._choose(topics))
        except BagError:
            self.close()
            raise
        for topic in self.topics:
            if topic.name not in self.selected or not topic.playable:
                self.skipped[f"topic {topic.name} ({topic.msgtype})"] += topic.count

    def _choose(self, topics: Sequence[str] | None) -> list[str]:
        playable = self.image_topics
        names = {t.name for t in self.topics}
        wanted = list(dict.fromkeys(topics)) if topics else playable
        for t in wanted:
            if t not in names:
                msg = f"topic '{t}' is not in '{self.path}'; its image topics are {playable or 'none'}"
                raise BagError(msg)
            if t not in playable:
                types = sorted({x.msgtype for x in self.topics if x.name == t})
                msg = f"topic '{t}' in '{self.path}' is {', '.join(types)}; only {' and '.join(IMAGE_TYPES)} topics can be replayed"
                raise BagError(msg)
        if not wanted:
            listing = ", ".join(f"{x.name} ({x.msgtype})" for x in self.topics) or "no topics"
            msg = f"'{self.path}' has no sensor_msgs/Image or CompressedImage topic to replay (it has {printable(listing)})"
            raise BagError(msg)
        return wanted

    @property
    def message_count(self) -> int:
        """Messages on the selected topics."""
        return self.count_messages(self.selected)

    def messages(self) -> Iterator[BagMessage]:
        """Yield the selected topics' messages in bag-time order (one pass; call again to loop).

        Messages that cannot be decoded are skipped and counted in ``skipped``.
        """
        for rec in self.records(self.selected):
            if rec.message is None:
                self.skipped["undecodable"] += 1
                if self.skipped["undecodable"] == 1:
                    log.warning("%s: undecodable message skipped: %s", self.path, rec.error)
                continue
            yield BagMessage(rec.topic, rec.msgtype, rec.log_time_ns, rec.stamp_ns, self.to_ros2_cdr(rec))
