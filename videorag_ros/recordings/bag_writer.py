"""Write camera frames to a bag with rosbags: rosbag2 (mcap or sqlite3) or ROS 1.

Frames go out as ``sensor_msgs/msg/Image`` (``rgb8`` / ``bgr8``) or
``sensor_msgs/msg/CompressedImage`` (``jpeg``). Each message's bag timestamp is its
``header.stamp``, as if recorded by a camera with no transport delay. Pure Python:
no ROS installation is needed.

Example:
    >>> with ImageBagWriter(tmp / "bag", topic="/camera/front/image_raw") as bag:
    ...     bag.write(rgb, stamp_ns=1_700_000_000_000_000_000)
"""

from __future__ import annotations

import shutil
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, Literal

import cv2
import numpy as np
import numpy.typing as npt
from rosbags.rosbag1 import Writer as Ros1Writer
from rosbags.rosbag1 import WriterError as Ros1WriterError
from rosbags.rosbag2 import StoragePlugin, WriterError
from rosbags.rosbag2 import Writer as Ros2Writer
from rosbags.typesys import Stores, get_typestore

from videorag_ros.core.errors import VideoragError
from videorag_ros.core.stamps import ns_to_sec_nanosec

if TYPE_CHECKING:
    from rosbags.interfaces import Connection

BAG_FORMATS = ("mcap", "sqlite3", "ros1")
ENCODINGS = ("rgb8", "bgr8", "jpeg")
IMAGE = "sensor_msgs/msg/Image"
COMPRESSED = "sensor_msgs/msg/CompressedImage"
#: The camera message types the bag tools read, write and replay.
IMAGE_TYPES = (IMAGE, COMPRESSED)
#: rosbag2 metadata version written. Version 8 keeps the QoS profiles as a YAML string,
#: the form older rosbag2 releases parse; version 9 writes them as a list.
ROSBAG2_VERSION: Final[Literal[8]] = 8


class BagError(VideoragError):
    """A bag cannot be written or read (exists already, bad path, unreadable, bad frame)."""


class ImageBagWriter:
    """Writes one camera topic to a new bag.

    Use as a context manager; a failure inside the ``with`` block removes the partial bag.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        topic: str,
        encoding: str = "rgb8",
        storage: str = "mcap",
        frame_id: str = "camera",
        jpeg_quality: int = 90,
    ) -> None:
        """Prepare a writer (nothing is created until ``open``).

        Args:
            path: The bag: a directory for rosbag2, a ``.bag`` file for ROS 1. Must not exist.
            topic: Absolute camera topic name.
            encoding: ``rgb8`` or ``bgr8`` (sensor_msgs/Image) or ``jpeg`` (CompressedImage).
            storage: ``mcap`` or ``sqlite3`` (rosbag2), or ``ros1``.
            frame_id: ``header.frame_id`` of every frame.
            jpeg_quality: JPEG quality 1-100 for ``jpeg``.

        Raises:
            BagError: Unknown encoding or storage, a relative topic, a bad quality, or
                a path that exists already.
        """
        if encoding not in ENCODINGS:
            msg = f"encoding '{encoding}' is not supported; expected one of {ENCODINGS}"
            raise BagError(msg)
        if storage not in BAG_FORMATS:
            msg = f"bag storage '{storage}' is not supported; expected one of {BAG_FORMATS}"
            raise BagError(msg)
        if not topic.startswith("/"):
            msg = f"bag topic '{topic}' must be absolute (start with '/')"
            raise BagError(msg)
        if not 1 <= jpeg_quality <= 100:
            msg = f"jpeg_quality {jpeg_quality} is out of range 1-100"
            raise BagError(msg)
        self.path = Path(path)
        if self.path.exists():
            msg = f"'{self.path}' exists already; bags are never overwritten (remove it or pick another name)"
            raise BagError(msg)
        self.topic = topic
        self.encoding = encoding
        self.storage = storage
        self.msgtype = COMPRESSED if encoding == "jpeg" else IMAGE
        self.frame_id = frame_id
        self.frames = 0
        self.first_stamp_ns: int | None = None
        self.last_stamp_ns: int | None = None
        self._quality = jpeg_quality
        self._ros1 = storage == "ros1"
        self._store = get_typestore(Stores.ROS1_NOETIC if self._ros1 else Stores.ROS2_HUMBLE)
        self._writer: Ros1Writer | Ros2Writer | None = None
        self._conn: Connection | None = None

    def open(self) -> None:
        """Create the bag and its connection.

        Raises:
            BagError: The bag cannot be created.
        """
        try:
            if self._ros1:
                w1 = Ros1Writer(self.path)
                w1.open()
                self._writer = w1
                self._conn = w1.add_connection(self.topic, self.msgtype, typestore=self._store)
            else:
                plugin = StoragePlugin.MCAP if self.storage == "mcap" else StoragePlugin.SQLITE3
                w2 = Ros2Writer(self.path, version=ROSBAG2_VERSION, storage_plugin=plugin)
                w2.open()
                self._writer = w2
                self._conn = w2.add_connection(self.topic, self.msgtype, typestore=self._store)
        except (WriterError, Ros1WriterError, OSError) as err:
            msg = f"cannot create bag '{self.path}': {err}"
            raise BagError(msg) from err

    def write(self, rgb: npt.NDArray[np.uint8], stamp_ns: int) -> None:
        """Append one frame.

        Args:
            rgb: ``(H, W, 3)`` uint8 RGB frame.
            stamp_ns: Its capture stamp (``header.stamp`` and the bag timestamp); frames
                must come in non-decreasing stamp order.

        Raises:
            BagError: Writer not open, a frame that is not ``(H, W, 3)`` uint8, a stamp
                going backwards, or a JPEG encoding failure.
        """
        if self._writer is None or self._conn is None:
            msg = f"bag '{self.path}' is not open; use 'with ImageBagWriter(...)' or call open()"
            raise BagError(msg)
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            msg = f"frame {self.frames} has shape {rgb.shape} dtype {rgb.dtype}; expected (H, W, 3) uint8 RGB"
            raise BagError(msg)
        if stamp_ns < 0 or (self.last_stamp_ns is not None and stamp_ns < self.last_stamp_ns):
            msg = f"frame {self.frames} stamp {stamp_ns} ns goes back from {self.last_stamp_ns} ns; stamps must be >= 0 and non-decreasing"
            raise BagError(msg)
        raw = self._serialize(self._message(rgb, stamp_ns))
        self._writer.write(self._conn, stamp_ns, raw)
        if self.first_stamp_ns is None:
            self.first_stamp_ns = stamp_ns
        self.last_stamp_ns = stamp_ns
        self.frames += 1

    def _message(self, rgb: npt.NDArray[np.uint8], stamp_ns: int) -> Any:
        types = self._store.types
        sec, nanosec = ns_to_sec_nanosec(stamp_ns)
        time = types["builtin_interfaces/msg/Time"](sec=sec, nanosec=nanosec)
        header_args: dict[str, Any] = {"stamp": time, "frame_id": self.frame_id}
        if self._ros1:
            header_args["seq"] = self.frames
        header = types["std_msgs/msg/Header"](**header_args)
        if self.encoding == "jpeg":
            ok, buf = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, self._quality])
            if not ok:
                msg = f"JPEG encoding of frame {self.frames} ({rgb.shape}) failed"
                raise BagError(msg)
            return types[COMPRESSED](header=header, format="jpeg", data=np.asarray(buf, np.uint8).reshape(-1))
        pixels = rgb[:, :, ::-1] if self.encoding == "bgr8" else rgb
        h, w = rgb.shape[:2]
        data = np.ascontiguousarray(pixels).reshape(-1)
        return types[IMAGE](header=header, height=h, width=w, encoding=self.encoding, is_bigendian=0, step=w * 3, data=data)

    def _serialize(self, msg: Any) -> memoryview:
        if self._ros1:
            return self._store.serialize_ros1(msg, self.msgtype)
        return self._store.serialize_cdr(msg, self.msgtype)

    def close(self) -> None:
        """Finish the bag (writes the index / metadata)."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def abort(self) -> None:
        """Drop the partial bag."""
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.abort()
        if self.path.is_dir():
            shutil.rmtree(self.path, ignore_errors=True)
        elif self.path.exists():
            self.path.unlink()

    def __enter__(self) -> ImageBagWriter:
        """Open the bag."""
        self.open()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        """Close the bag, or remove it when the block failed."""
        if exc_type is None:
            self.close()
        else:
            self.abort()
