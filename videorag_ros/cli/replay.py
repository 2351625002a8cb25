"""``videorag replay BAG``: publish a bag's camera topics (no ROS bag tools needed).

Plays sensor_msgs/Image and CompressedImage topics of rosbag2 (sqlite3, mcap) and ROS 1
bags, read with rosbags, at the recorded timing (scaled by --rate), with the camera QoS
the edge node subscribes with (best effort, keep last 1). Header stamps are kept as
recorded unless --restamp sets them to the wall clock at publish time; --clock publishes
the bag's time on /clock for nodes with use_sim_time. Progress goes to stderr; the
summary (published per topic, skipped, duration, achieved rate, late publishes) to stdout.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from videorag_ros.core.printable import printable

EXIT_INTERRUPTED = 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="videorag replay",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="ROS arguments follow --ros-args, e.g. --ros-args -r /camera/image_raw:=/camera/front/image_raw",
    )
    parser.add_argument("bag", help="rosbag2 directory (sqlite3 or mcap) or ROS 1 .bag file")
    parser.add_argument("--rate", type=float, default=1.0, help="speed factor (default 1.0 = as recorded)")
    parser.add_argument("--topics", nargs="+", metavar="TOPIC", help="topics to play (default: every Image / CompressedImage topic)")
    parser.add_argument("--loop", action="store_true", help="start over at the end until interrupted")
    parser.add_argument("--restamp", action="store_true", help="set header.stamp to the wall clock at publish time (default: keep the recorded stamps)")
    parser.add_argument("--clock", nargs="?", type=float, const=40.0, default=0.0, metavar="HZ", help="publish the bag's time on /clock (default 40 Hz when given)")
    parser.add_argument("--wait-for-subscribers", type=int, default=0, metavar="N", help="start once every played topic has N subscribers")
    parser.add_argument("--wait-timeout", type=float, default=30.0, metavar="S", help="start anyway after waiting this long (default 30 s)")
    parser.add_argument(
        "--settle",
        type=float,
        default=0.5,
        metavar="S",
        help="wait this long after the subscribers matched and after the last message (default 0.5 s): the publisher sees a "
        "subscriber before that subscriber accepts its data, best effort resends nothing, and the last message must be taken before exit",
    )
    parser.add_argument("--late-ms", type=float, default=10.0, help="a publish this much after its due time counts as late (default 10 ms)")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON (last line)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Replay a bag; 0 when done, 1 on a bad bag or options, 130 when interrupted."""
    args, ros_args = _parser().parse_known_args(list(sys.argv[1:] if argv is None else argv))
    unknown = [a for a in ros_args if a.startswith("-") and a not in ("--ros-args", "--")]
    if unknown and "--ros-args" not in ros_args:
        print(f"error: unrecognized arguments: {' '.join(unknown)} (ROS arguments go after --ros-args)", file=sys.stderr)
        return 2
    if args.restamp and args.clock:
        print(
            "error: --restamp stamps frames with the wall clock while --clock publishes the bag's time; "
            "a sim-time node would see stamps from another clock. Use one of them.",
            file=sys.stderr,
        )
        return 2

    from videorag_ros.core.errors import VideoragError
    from videorag_ros.recordings.bag_reader import ImageBagSource
    from videorag_ros.ros.bag_replayer import ReplayOptions

    try:
        options = ReplayOptions(
            rate=args.rate,
            loop=args.loop,
            restamp=args.restamp,
            clock_hz=args.clock,
            late_tolerance_s=args.late_ms / 1e3,
            wait_for_subscribers=args.wait_for_subscribers,
            wait_timeout_s=args.wait_timeout,
            settle_s=args.settle,
        )
    except ValueError as err:
        print(f"error: {printable(err)}", file=sys.stderr)
        return 2
    try:
        source = ImageBagSource(args.bag, args.topics)
    except VideoragError as err:
        print(f"error: {printable(err)}", file=sys.stderr)
        return 1
    with source:
        return _play(source, options, [a for a in ros_args if a != "--"], as_json=args.json)


def _use_large_frames_profile() -> None:
    """Point Fast DDS at the shipped large-frame profile unless the user chose one (raw frames > 512 KB)."""
    from videorag_ros.ros.dds import use_profiles_file
    from videorag_ros.ros.graph import large_frames_profile

    profile = large_frames_profile()
    if profile is not None:
        use_profiles_file(str(profile))


def _play(source: Any, options: Any, ros_args: list[str], *, as_json: bool) -> int:
    import rclpy
    from tqdm import tqdm

    from videorag_ros.core.errors import VideoragError
    from videorag_ros.ros.bag_replayer import BagReplayer

    _use_large_frames_profile()
    rclpy.init(args=["videorag_replay", *ros_args])
    node = rclpy.create_node("videorag_replay")
    try:
        replayer = BagReplayer(node, source, options)
        kinds = ", ".join(f"{t.name} ({t.msgtype.rsplit('/', 1)[-1]}, {t.count})" for t in source.topics if t.name in source.selected)
        print(printable(f"{source.path}: {'ROS 1' if source.is_ros1 else 'rosbag2'} bag; playing {kinds}"), file=sys.stderr)
        if options.wait_for_subscribers and not replayer.wait_for_subscribers(lambda: not rclpy.ok()):
            print(f"warning: fewer than {options.wait_for_subscribers} subscribers after {options.wait_timeout_s:g} s; starting anyway", file=sys.stderr)
        total = source.message_count
        with tqdm(total=total, unit="msg", file=sys.stderr, disable=None, desc="replay") as bar:

            def progress(i: int) -> None:
                if i == 0 and bar.n >= total:
                    bar.reset()
                bar.update(1)

            summary = replayer.run(on_message=progress, should_stop=lambda: not rclpy.ok())
    except VideoragError as err:
        print(f"error: {printable(err)}", file=sys.stderr)
        return 1
    finally:
        node.destroy_node()
        if rclpy.ok():
            rclpy.shutdown()
    _print_summary(summary, options)
    if as_json:
        print(json.dumps(summary.to_dict()))
    return EXIT_INTERRUPTED if summary.interrupted else 0


def _print_summary(summary: Any, options: Any) -> None:
    s = summary
    how = f"rate {options.rate:g}" + (", restamped" if options.restamp else ", recorded stamps") + (f", /clock at {options.clock_hz:g} Hz" if options.clock_hz else "")
    state = " (interrupted)" if s.interrupted else ""
    print(f"replayed {s.bag}{state}: {s.passes} pass(es), {s.bag_span_s:.2f} s of bag time per pass, {s.duration_s:.2f} s wall ({how})")
    width = max([len(t) for t in s.published] + [5])
    print(f"  {'topic':<{width}}  {'published':>9}  {'rate (Hz)':>9}")
    for topic, n in sorted(s.published.items()):
        print(printable(f"  {topic:<{width}}  {n:>9}  {s.rate_hz(topic):>9.2f}"))
    skipped = sum(s.skipped.values())
    print(printable(f"skipped: {skipped} message(s)" + (": " + "; ".join(f"{k}: {v}" for k, v in sorted(s.skipped.items())) if skipped else "")))
    print(f"late publishes (> {options.late_tolerance_s * 1e3:g} ms after due): {s.late} (worst {s.max_late_ms:.1f} ms)")
    if options.clock_hz:
        print(f"/clock messages: {s.clock_published}")
