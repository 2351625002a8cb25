"""ROS messages <-> core types."""

from __future__ import annotations

from typing import Any

import numpy as np
from builtin_interfaces.msg import Time

from videorag.msg import SemanticTrigger
from videorag_ros.core.frames import FrameLimits, RGBFrame, compressed_to_rgb, raw_to_rgb
from videorag_ros.core.triggers import TriggerEvent

_STATES = {"ENTER": SemanticTrigger.ENTER, "HOLD": SemanticTrigger.HOLD, "EXIT": SemanticTrigger.EXIT}


def stamp_to_ns(stamp: Time) -> int:
    """builtin_interfaces/Time → integer nanoseconds."""
    return int(stamp.sec) * 1_000_000_000 + int(stamp.nanosec)


def ns_to_stamp(ns: int) -> Time:
    """Integer nanoseconds → builtin_interfaces/Time."""
    return Time(sec=ns // 1_000_000_000, nanosec=ns % 1_000_000_000)


def _buffer(data: Any) -> Any:
    # rclpy gives uint8[] as array.array / bytes (buffer protocol: zero-copy view);
    # fall back to a copy for anything else (e.g. a list).
    try:
        return np.frombuffer(data, dtype=np.uint8)
    except TypeError:
        return np.asarray(data, dtype=np.uint8)


def image_to_rgb(msg: Any, limits: FrameLimits) -> RGBFrame:
    """sensor_msgs/Image → ``(H, W, 3)`` uint8 RGB (a view of ``msg.data`` where possible).

    Raises:
        FrameError: Bad size, encoding or buffer length.
    """
    return raw_to_rgb(encoding=msg.encoding, width=msg.width, height=msg.height, step=msg.step, data=_buffer(msg.data), limits=limits)


def compressed_to_rgb_msg(msg: Any, limits: FrameLimits) -> RGBFrame:
    """sensor_msgs/CompressedImage → ``(H, W, 3)`` uint8 RGB.

    Raises:
        FrameError: Unsupported format or undecodable bytes.
    """
    return compressed_to_rgb(fmt=msg.format, data=_buffer(msg.data), limits=limits)


def trigger_event_to_msg(ev: TriggerEvent, *, frame_id: str, latency_ms: float) -> SemanticTrigger:
    """Core trigger event → videorag/SemanticTrigger."""
    msg = SemanticTrigger()
    msg.header.stamp = ns_to_stamp(ev.stamp_ns)
    msg.header.frame_id = frame_id
    msg.trigger = ev.trigger
    msg.state = _STATES[ev.state]
    msg.score = float(ev.score)
    msg.threshold = float(ev.threshold)
    msg.camera_id = ev.camera_id
    msg.latency_ms = float(latency_ms)
    msg.frame_seq = int(ev.frame_seq)
    msg.actions = list(ev.actions)
    return msg
