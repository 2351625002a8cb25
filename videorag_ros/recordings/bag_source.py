"""Camera messages of a bag as ROS 2 CDR bytes, ready to publish (what ``videorag replay`` plays).

Reads rosbag2 (sqlite3, mcap) and ROS 1 bags with rosbags' ``AnyReader``. Only
``sensor_msgs/Image`` and ``sensor_msgs/CompressedImage`` topics are played; the
others are reported as skipped. rosbag2 messages are CDR already and are passed on as
stored; ROS 1 messages are deserialized and re-serialized as ROS 2 CDR (the ROS 1
header's ``seq`` has no ROS 2 counterpart and is dropped). Decoding frames into pixels
is not done here (see ``bag_frames``).
"""

from __future__ import annotations

import dataclasses
import logging
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from rosbags.highlevel import AnyReader, AnyReaderError
from rosbags.interfaces import ConnectionExtRosbag2
from rosbags.serde import SerdeError
from rosbags.typesys import Stores, get_typestore

from videorag_ros.recordings.bag_writer import COMPRESSED, IMAGE, IMAGE_TYPES, BagError

log = logging.getLogger(__name__)
if TYPE_CHECKING:
    from rosbags.interfaces import Connection



@dataclass(frozen=True, slots=True)
class BagTopic:
    """A topic in a bag.

    Attributes:
        name: Topic name.
        msgtype: Message type (``pkg/msg/Type``).
        count: Messages recorded on it.
        playable: Whether it is an image topic this reader plays.
    """

    name: str
    msgtype: str
    count: int
    playable: bool


@dataclass(frozen=True, slots=True)
class BagMessage:
    """One camera message, ready to publish.

    Attributes:
        topic: Topic it was recorded on.
        msgtype: ``sensor_msgs/msg/Image`` or ``sensor_msgs/msg/CompressedImage``.
        log_time_ns: Bag timestamp (when the recorder received it): the replay clock.
        stamp_ns: Its ``header.stamp``.
        cdr: The message as ROS 2 CDR (encapsulation header included).
    """

    topic: str
    msgtype: str
    log_time_ns: int
    stamp_ns: int
    cdr: bytes


class ImageBagSource:
    """The image topics of one bag, read in bag-time order (use as a context manager)."""

    def __init__(self, path: str | Path, topics: Sequence[str] | None = None) -> None:
        """Open a bag and choose the topics to play.

        Args:
            path: A rosbag2 directory (sqlite3 or mcap) or a ROS 1 ``.bag`` file.
            topics: Topics to play; default: every Image / CompressedImage topic.

        Raises:
            BagError: The bag cannot be opened, a requested topic is missing or not an
                image topic, or the bag holds no image topic at all.
        """
        p = Path(path)
        if not p.exists():
            msg = f"bag '{p}' does not exist"
            raise BagError(msg)
        try:
            self._reader = AnyReader([p])
            self._reader.open()
        except (AnyReaderError, OSError) as err:
            msg = f"cannot read '{p}' as a rosbag2 directory (sqlite3 / mcap) or ROS 1 .bag file: {err}"
            raise BagError(msg) from err
        self.path = p
        self.is_ros1 = not self._reader.is2
        self._ros2 = get_typestore(Stores.ROS2_HUMBLE)
        #: Messages not played, by reason (``topic <name> (<type>)``, ``undecodable`` ...).
        self.skipped: Counter[str] = Counter()
        conns = self._reader.connections
        counts: Counter[tuple[str, str]] = Counter()
        for c in conns:
            counts[(c.topic, c.msgtype)] += c.msgcount
        self.topics = [BagTopic(t, m, n, m in IMAGE_TYPES) for (t, m), n in sorted(counts.items())]
        playable = [t.name for t in self.topics if t.playable]
        try:
            wanted = list(dict.fromkeys(topics)) if topics else playable
            for t in wanted:
                if t not in {x.name for x in self.topics}:
                    msg = f"topic '{t}' is not in '{p}'; its image topics are {playable or 'none'}"
                    raise BagError(msg)
                if t not in playable:
                    types = sorted({x.msgtype for x in self.topics if x.name == t})
                    msg = f"topic '{t}' in '{p}' is {', '.join(types)}; only {' and '.join(IMAGE_TYPES)} topics can be replayed"
                    raise BagError(msg)
            if not wanted:
                listing = ", ".join(f"{x.name} ({x.msgtype})" for x in self.topics) or "no topics"
                msg = f"'{p}' has no sensor_msgs/Image or CompressedImage topic to replay (it has {listing})"
                raise BagError(msg)
        except BagError:
            self.close()
            raise
        self.selected = tuple(wanted)
        self._conns = [c for c in conns if c.topic in self.selected and c.msgtype in IMAGE_TYPES]
        for topic in self.topics:
            if topic.name not in self.selected or not topic.playable:
                self.skipped[f"topic {topic.name} ({topic.msgtype})"] += topic.count

    @property
    def message_count(self) -> int:
        """Messages on the selected topics."""
        return sum(c.msgcount for c in self._conns)

    def messages(self) -> Iterator[BagMessage]:
        """Yield the selected topics' messages in bag-time order (one pass; call again to loop).

        Messages that cannot be decoded, or rosbag2 messages not stored as CDR, are
        skipped and counted in ``skipped``.
        """
        for conn, log_time, raw in self._reader.messages(connections=self._conns):
            msg = self._convert(conn, log_time, raw)
            if msg is not None:
                yield msg

    def _convert(self, conn: Connection, log_time: int, raw: bytes) -> BagMessage | None:
        ext = conn.ext
        if isinstance(ext, ConnectionExtRosbag2) and ext.serialization_format != "cdr":
            self.skipped[f"serialization {ext.serialization_format}"] += 1
            return None
        try:
            obj: Any = self._reader.deserialize(raw, conn.msgtype)
            stamp_ns = int(obj.header.stamp.sec) * 1_000_000_000 + int(obj.header.stamp.nanosec)
            cdr = self._to_ros2_cdr(obj, conn.msgtype) if self.is_ros1 else bytes(raw)
        except (AnyReaderError, SerdeError, AttributeError, ValueError) as err:
            self.skipped["undecodable"] += 1
            if self.skipped["undecodable"] == 1:
                log.warning("%s: undecodable %s on %s skipped: %s", self.path, conn.msgtype, conn.topic, err)
            return None
        return BagMessage(conn.topic, conn.msgtype, log_time, stamp_ns, cdr)

    def _to_ros2_cdr(self, obj: Any, msgtype: str) -> bytes:
        types = self._ros2.types
        stamp = types["builtin_interfaces/msg/Time"](sec=int(obj.header.stamp.sec), nanosec=int(obj.header.stamp.nanosec))
        header = types["std_msgs/msg/Header"](stamp=stamp, frame_id=obj.header.frame_id)
        if msgtype == COMPRESSED:
            msg = types[COMPRESSED](header=header, format=obj.format, data=obj.data)
        else:
            msg = types[IMAGE](
                header=header, height=obj.height, width=obj.width, encoding=obj.encoding, is_bigendian=obj.is_bigendian, step=obj.step, data=obj.data
            )
        return bytes(self._ros2.serialize_cdr(msg, msgtype))

    def restamp(self, msg: BagMessage, stamp_ns: int) -> bytes:
        """The message's CDR with ``header.stamp`` replaced (one deserialize + serialize).

        Args:
            msg: A message from ``messages()``.
            stamp_ns: The new stamp.

        Raises:
            BagError: The CDR cannot be decoded.
        """
        try:
            obj: Any = self._ros2.deserialize_cdr(msg.cdr, msg.msgtype)
        except SerdeError as err:
            text = f"cannot restamp a {msg.msgtype} on {msg.topic}: {err}"
            raise BagError(text) from err
        stamp = self._ros2.types["builtin_interfaces/msg/Time"](sec=stamp_ns // 1_000_000_000, nanosec=stamp_ns % 1_000_000_000)
        obj = dataclasses.replace(obj, header=dataclasses.replace(obj.header, stamp=stamp))
        return bytes(self._ros2.serialize_cdr(obj, msg.msgtype))

    def close(self) -> None:
        """Close the bag."""
        if self._reader.stack is not None:
            self._reader.close()

    def __enter__(self) -> ImageBagSource:
        """The open source."""
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        """Close the bag."""
        self.close()
