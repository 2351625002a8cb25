"""``videorag bridge --source …``: an RTSP / HTTP / TCP / UDP / file / webcam source as a camera topic.

Publishes ``camera/<camera-id>/image_raw`` (Image) or, for MJPEG passed through,
``camera/<camera-id>/image_raw/compressed``; the same node as ``ros2 launch videorag
bridge.launch.py``. A file plays once in real time (``--loop`` repeats it) and the command exits
at its end; a live source is reconnected with backoff until Ctrl-C.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path


def main(argv: Sequence[str] | None = None) -> int:
    """Check the flags with the door's parameter table, then spin the bridge node."""
    # Flags left out stay out of the overrides, so a --params file is not overridden by defaults.
    parser = argparse.ArgumentParser(prog="videorag bridge", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
                                     argument_default=argparse.SUPPRESS, epilog="Extra arguments after -- go to ROS (e.g. -- -r __ns:=/robot1).")  # fmt: skip
    parser.add_argument("--source", help="(required, here or in --params) rtsp://…, http(s)://… (MJPEG, HLS), tcp://…, udp://…, a video file or /dev/videoN")
    parser.add_argument("--camera-id", dest="camera_id", help="camera id: topics camera/<id>/image_raw[/compressed] (default: bridge)")
    parser.add_argument("--output", choices=("auto", "raw", "compressed"), help="auto (default): MJPEG passed through as CompressedImage, others decoded to Image")
    parser.add_argument("--max-width", dest="max_width", type=int, help="scale frames down to fit (default 1280)")
    parser.add_argument("--max-height", dest="max_height", type=int, help="(default 720)")
    parser.add_argument("--max-fps", dest="max_fps", type=float, help="frame-rate cap; 0 = every frame (default 30)")
    parser.add_argument("--loop", action="store_true", help="files: start over at the end")
    parser.add_argument("--no-realtime", dest="realtime", action="store_false", help="files: as fast as they decode instead of at their frame rate")
    parser.add_argument("--rtsp-listen", dest="rtsp_listen", action="store_true", help="rtsp:// source: be the RTSP server a robot pushes to (ANNOUNCE/RECORD)")
    parser.add_argument("--stall-timeout", dest="stall_timeout_s", type=float, metavar="S", help="reconnect a source silent this long (default 5)")
    parser.add_argument("--params", type=Path, help="parameter file (section videorag_bridge); flags given here override it")
    parser.add_argument("--check", action="store_true", help="only check the flags and the source, then exit")
    args, extra = parser.parse_known_args(argv)
    from videorag_ros.core.config import load_params_file
    from videorag_ros.core.errors import VideoragError
    from videorag_ros.ingest.config import BRIDGE_PARAMS, check_params

    values = {k: v for k, v in vars(args).items() if k not in ("params", "check")}
    try:
        from videorag_ros.ingest.source import parse_source

        from_file = load_params_file(args.params, "videorag_bridge") if "params" in args else {}
        source = parse_source(check_params(BRIDGE_PARAMS, from_file | values)["source"])
    except VideoragError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    if "check" in args:
        print(f"ok: {source.describe()}")
        return 0
    from videorag_ros.ros.bridge_node import main as node_main

    ros_args = ["--ros-args", "--params-file", str(args.params)] if "params" in args else []
    return node_main(["videorag_bridge", *ros_args, *[a for a in extra if a != "--"]], values=values)
