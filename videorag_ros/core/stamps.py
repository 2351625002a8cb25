"""Time stamps: ``builtin_interfaces/Time``-shaped values (``sec``, ``nanosec``) and integer nanoseconds.

The one place the conversion is written. Any object with ``sec`` and ``nanosec`` fields works
(rclpy messages, rosbags dataclasses), so the core needs no message package.
"""

from __future__ import annotations

from typing import Any

NS_PER_S = 1_000_000_000


def stamp_to_ns(stamp: Any) -> int:
    """A ``(sec, nanosec)`` stamp as integer nanoseconds."""
    return int(stamp.sec) * NS_PER_S + int(stamp.nanosec)


def ns_to_sec_nanosec(ns: int) -> tuple[int, int]:
    """Integer nanoseconds as ``(sec, nanosec)`` with ``0 <= nanosec < 1e9`` (floor division for negatives)."""
    return ns // NS_PER_S, ns % NS_PER_S
