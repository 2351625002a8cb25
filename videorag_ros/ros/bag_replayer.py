"""Publish a bag's camera topics in (scaled) real time: what ``videorag replay`` runs.

Messages are published on the bag's topic names with the camera QoS the edge node
subscribes with (best effort, keep last 1), spaced by their bag timestamps divided by
``rate``. rosbag2 messages go out as the CDR bytes stored in the bag (rclpy's
``Publisher.publish`` takes serialized ``bytes``, since Foxy); ``restamp`` rewrites
``header.stamp`` to the wall clock just before each publish. With ``clock_hz`` > 0 the
bag's time is published on ``/clock`` (rosgraph_msgs/Clock) for ``use_sim_time`` nodes.
A publish that happens more than ``late_tolerance_s`` after its due time is counted as
late; the replay never drops a message to catch up.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rclpy.duration import Duration
from rclpy.node import Node
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CompressedImage, Image

from videorag_ros.recordings.bag_reader import BagMessage, ImageBagSource
from videorag_ros.recordings.bag_writer import COMPRESSED
from videorag_ros.ros import qos
from videorag_ros.ros.conversions import ns_to_stamp

# rclcpp's ClockQoS (what /clock subscribers, including rclpy's TimeSource, ask for).
CLOCK_QOS = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=1, reliability=ReliabilityPolicy.BEST_EFFORT)


@dataclass(frozen=True, slots=True)
class ReplayOptions:
    """How to replay.

    Attributes:
        rate: Speed factor (2.0 = twice as fast).
        loop: Start over at the end until interrupted.
        restamp: Set ``header.stamp`` to the wall clock at publish time.
        clock_hz: Rate of /clock messages; 0 publishes none.
        late_tolerance_s: A publish later than this after its due time counts as late.
        wait_for_subscribers: Before the first message, wait until every played topic has
            this many subscribers (0: start at once, like a camera).
        wait_timeout_s: Start anyway after waiting this long.
        settle_s: After the subscribers matched, wait this long before the first message, and
            after the last one before returning. Discovery is not simultaneous: the publisher
            sees a subscriber a moment before that subscriber accepts the publisher's data, and
            best effort resends nothing; at the end, subscribers need a moment to take the last
            message out of the publisher's shared memory.
    """

    rate: float = 1.0
    loop: bool = False
    restamp: bool = False
    clock_hz: float = 0.0
    late_tolerance_s: float = 0.01
    wait_for_subscribers: int = 0
    wait_timeout_s: float = 30.0
    settle_s: float = 0.5

    def __post_init__(self) -> None:
        """Validate.

        Raises:
            ValueError: A non-positive rate, negative clock rate, tolerance or wait.
        """
        if not (math.isfinite(self.rate) and self.rate > 0):
            msg = f"rate must be a finite number > 0 (1.0 = recorded speed), got {self.rate}"
            raise ValueError(msg)
        values = (self.clock_hz, self.late_tolerance_s, self.wait_for_subscribers, self.wait_timeout_s, self.settle_s)
        if not all(math.isfinite(v) and v >= 0 for v in values):
            msg = f"clock_hz, late_tolerance_s, wait_for_subscribers, wait_timeout_s and settle_s must be finite and >= 0; got {values}"
            raise ValueError(msg)


@dataclass(slots=True)
class ReplaySummary:
    """What a replay did.

    Attributes:
        bag: Bag path.
        published: Messages published per topic.
        skipped: Messages not published, by reason.
        passes: Passes through the bag (more than 1 with ``loop``).
        duration_s: Wall time from the start (the first message's due time) to the last publish.
        bag_span_s: Bag time from the first to the last played message (one pass).
        late: Publishes later than the tolerance.
        max_late_ms: Worst lateness.
        clock_published: /clock messages sent.
        first_stamp_ns: ``header.stamp`` of the first published message (restamped or recorded).
        last_stamp_ns: ``header.stamp`` of the last published message.
        interrupted: Stopped before the end (Ctrl-C or shutdown).
    """

    bag: str
    published: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)
    passes: int = 0
    duration_s: float = 0.0
    bag_span_s: float = 0.0
    late: int = 0
    max_late_ms: float = 0.0
    clock_published: int = 0
    first_stamp_ns: int | None = None
    last_stamp_ns: int | None = None
    interrupted: bool = False
    _first_pub: dict[str, float] = field(default_factory=dict)
    _last_pub: dict[str, float] = field(default_factory=dict)

    def record(self, topic: str, stamp_ns: int, wall_s: float) -> None:
        """Count one publish on ``topic`` with its header stamp at monotonic time ``wall_s``."""
        self.published[topic] += 1
        self._first_pub.setdefault(topic, wall_s)
        self._last_pub[topic] = wall_s
        if self.first_stamp_ns is None:
            self.first_stamp_ns = stamp_ns
        self.last_stamp_ns = stamp_ns

    def rate_hz(self, topic: str) -> float:
        """Achieved publish rate of a topic (0 with fewer than two messages)."""
        n = self.published[topic]
        span = self._last_pub.get(topic, 0.0) - self._first_pub.get(topic, 0.0)
        return (n - 1) / span if n > 1 and span > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form (``videorag replay --json``)."""
        return {
            "bag": self.bag,
            "published": dict(self.published),
            "skipped": dict(self.skipped),
            "passes": self.passes,
            "duration_s": round(self.duration_s, 4),
            "bag_span_s": round(self.bag_span_s, 4),
            "rate_hz": {t: round(self.rate_hz(t), 3) for t in self.published},
            "late": self.late,
            "max_late_ms": round(self.max_late_ms, 3),
            "clock_published": self.clock_published,
            "first_stamp_ns": self.first_stamp_ns,
            "last_stamp_ns": self.last_stamp_ns,
            "interrupted": self.interrupted,
        }


class BagReplayer:
    """Publishes an open ``ImageBagSource`` through a node."""

    def __init__(self, node: Node, source: ImageBagSource, options: ReplayOptions) -> None:
        """Create one publisher per played topic (and /clock if asked for).

        Args:
            node: Node that owns the publishers (names are remappable with ``--ros-args -r``).
            source: The bag.
            options: Rate, loop, restamp, clock, waiting.
        """
        self._node = node
        self._source = source
        self._opt = options
        types = {t.name: t.msgtype for t in source.topics if t.name in source.selected}
        self._pubs = {topic: node.create_publisher(CompressedImage if types[topic] == COMPRESSED else Image, topic, qos.CAMERA) for topic in source.selected}
        self._clock_pub = None
        if options.clock_hz > 0:
            from rosgraph_msgs.msg import Clock

            self._clock_type = Clock
            self._clock_pub = node.create_publisher(Clock, "/clock", CLOCK_QOS)
        self.summary = ReplaySummary(str(source.path))
        self._next_clock: float | None = None

    def wait_for_subscribers(self, should_stop: Callable[[], bool] = lambda: False) -> bool:
        """Wait until every played topic has ``wait_for_subscribers`` subscribers, then ``settle_s``.

        Returns:
            True when matched (or nothing to wait for), False on timeout.
        """
        want = self._opt.wait_for_subscribers
        deadline = time.monotonic() + self._opt.wait_timeout_s
        while want > 0 and not should_stop():
            if all(p.get_subscription_count() >= want for p in self._pubs.values()):
                time.sleep(self._opt.settle_s)
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.02)
        return True

    def run(self, *, on_message: Callable[[int], None] | None = None, should_stop: Callable[[], bool] = lambda: False) -> ReplaySummary:
        """Play the bag (every pass, with ``loop``) and return the summary.

        Args:
            on_message: Called after each publish with the index of the message in its pass.
            should_stop: Polled between messages; True ends the replay (counted as interrupted).

        Ctrl-C ends the replay too; the summary then says ``interrupted``.
        """
        s = self.summary
        opt = self._opt
        wall_t0: float | None = None
        start_wall: float | None = None
        last_wall = 0.0
        try:
            while True:
                s.passes += 1
                bag_t0: int | None = None
                last_due = 0.0
                i = -1
                for i, msg in enumerate(self._source.messages()):
                    if should_stop():
                        s.interrupted = True
                        return s
                    if bag_t0 is None:
                        bag_t0 = msg.log_time_ns
                        wall_t0 = time.monotonic() if wall_t0 is None else wall_t0
                        start_wall = wall_t0 if start_wall is None else start_wall
                    assert wall_t0 is not None
                    due = wall_t0 + (msg.log_time_ns - bag_t0) * 1e-9 / opt.rate
                    try:
                        if not self._sleep_until(due, (wall_t0, bag_t0, msg.log_time_ns), should_stop):
                            s.interrupted = True
                            return s
                        now = self._publish(msg)
                    except Exception:
                        # rclpy's SIGINT handler shuts the context down under us: publishing
                        # then fails, which is the end of the replay, not an error.
                        if should_stop():
                            s.interrupted = True
                            return s
                        raise
                    last_wall = now
                    late_s = now - due
                    if late_s > opt.late_tolerance_s:
                        s.late += 1
                    s.max_late_ms = max(s.max_late_ms, late_s * 1e3)
                    s.bag_span_s = max(s.bag_span_s, (msg.log_time_ns - bag_t0) * 1e-9)
                    last_due = due
                    if on_message is not None:
                        on_message(i)
                if not opt.loop or i < 0:
                    break
                # Next pass: one mean frame interval after the last message of this one.
                step = s.bag_span_s / max(i, 1) / opt.rate
                wall_t0 = last_due + step
            if not self._drain(should_stop):
                s.interrupted = True
        except KeyboardInterrupt:
            s.interrupted = True
        finally:
            s.duration_s = max(0.0, last_wall - start_wall) if start_wall is not None else 0.0
            s.skipped = Counter(self._source.skipped)
        return s

    def _drain(self, should_stop: Callable[[], bool]) -> bool:
        """After the last message, give subscribers ``settle_s`` to take it; False if told to stop.

        Exiting right after a publish can lose that message: with shared memory the sample lives in
        the publisher's segment until a subscriber reads it, and a reliable writer still owes
        retransmissions. Reliable publishers are waited on until acknowledged (``settle_s`` at most).
        """
        deadline = time.monotonic() + self._opt.settle_s
        for pub in self._pubs.values():
            pub.wait_for_all_acked(Duration(nanoseconds=max(0, round((deadline - time.monotonic()) * 1e9))))
        while (left := deadline - time.monotonic()) > 0:
            if should_stop():
                return False
            time.sleep(min(left, 0.05))
        return True

    def _publish(self, msg: BagMessage) -> float:
        if self._opt.restamp:
            stamp = time.time_ns()
            data = self._source.restamp(msg, stamp)
        else:
            stamp, data = msg.stamp_ns, msg.cdr
        self._pubs[msg.topic].publish(data)
        now = time.monotonic()
        self.summary.record(msg.topic, stamp, now)
        return now

    def _sleep_until(self, due: float, clock: tuple[float, int, int], should_stop: Callable[[], bool]) -> bool:
        """Sleep until ``due`` (monotonic), publishing /clock ticks on the way; False if told to stop.

        ``clock`` is ``(wall_t0, bag_t0, next_bag_ns)``: the pass's anchors and the bag time of
        the message being waited for, which the clock never passes before it is published.
        """
        while True:
            if should_stop():
                return False
            now = time.monotonic()
            wake = due
            if self._clock_pub is not None:
                wake = min(due, self._tick_clock(now, *clock))
            if due - now <= 0:
                return True
            time.sleep(max(0.0, min(wake - now, 0.1)))

    def _tick_clock(self, now: float, wall_t0: float, bag_t0: int, next_bag_ns: int) -> float:
        """Publish /clock if a tick is due; returns when the next one is."""
        period = 1.0 / self._opt.clock_hz
        if self._next_clock is None or now >= self._next_clock:
            bag_now = bag_t0 + round((now - wall_t0) * self._opt.rate * 1e9)
            assert self._clock_pub is not None
            self._clock_pub.publish(self._clock_type(clock=ns_to_stamp(min(max(bag_now, bag_t0), next_bag_ns))))
            self.summary.clock_published += 1
            # Fixed-rate ticks; after a stall, start again from now instead of bursting.
            nxt = (self._next_clock or now) + period
            self._next_clock = nxt if nxt > now else now + period
        return self._next_clock
