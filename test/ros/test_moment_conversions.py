"""videorag/Moment <-> core Moment: what the service sends is what the client reads."""

from __future__ import annotations

import pytest

pytest.importorskip("rclpy", reason="ROS 2 not installed: run through `make test`")

from videorag_ros.core.index import Moment, Payload
from videorag_ros.ros.conversions import moment_to_msg, msg_to_moment

S = 1_000_000_000


def _moment(thumbnail: bytes | None) -> Moment:
    best = Payload("front", 1_795_000_012 * S + 250_000_000, 42, "", thumbnail)
    return Moment("front", best.stamp_ns - 2 * S, best.stamp_ns + 3 * S, best.stamp_ns, 0.8125, (40, 41, 42, 44), best, hits=3)


def test_round_trip_with_and_without_thumbnail() -> None:
    m = _moment(b"\xff\xd8jpeg-bytes\xff\xd9")
    msg = moment_to_msg(m)
    assert msg.thumbnail.format == "jpeg" and msg.thumbnail.header.stamp == msg.best
    assert msg_to_moment(msg) == m
    bare = moment_to_msg(m, thumbnail=False)
    assert len(bare.thumbnail.data) == 0 and msg_to_moment(bare) == _moment(None)
    assert msg_to_moment(moment_to_msg(_moment(None))) == _moment(None)
