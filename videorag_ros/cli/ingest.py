"""``videorag ingest ws|webrtc``: the WebSocket or WebRTC door, publishing each client as a camera.

ws:     edge clients connect to ws://HOST:PORT, say hello with their id and the token, then send
        binary JPEG frames; each becomes <namespace>/<id>/image_raw/compressed, and the edge
        node's trigger events for camera <id> come back on the same socket.
webrtc: peers POST an SDP offer to http://HOST:PORT/whip/<id> with "Authorization: Bearer
        <token>"; the video track becomes <namespace>/<id>/image_raw, and trigger events go
        back on the data channel the offer opened.
Both listen on 127.0.0.1 unless --host says otherwise and refuse clients without the token.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def _common(p: argparse.ArgumentParser, port: int) -> None:
    p.add_argument("--token-file", dest="token_file", help="file holding the shared token (chmod 600; never logged); required here or in --params")
    p.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, help=f"TCP port (default {port}; 0: any free port)")
    p.add_argument("--namespace", help="topic prefix (default ingest)")
    p.add_argument("--triggers-topic", dest="triggers_topic", help="the edge node's SemanticTrigger topic (default /videorag_edge/triggers)")
    p.add_argument("--max-width", dest="max_width", type=int, help="(default 1280)")
    p.add_argument("--max-height", dest="max_height", type=int, help="(default 1280)")
    p.add_argument("--params", type=Path, help="parameter file; flags given here override it")


def main(argv: Sequence[str] | None = None) -> int:
    """Check the flags with the door's parameter table, then spin the door node."""
    # Flags left out stay out of the overrides, so a --params file is not overridden by defaults.
    parser = argparse.ArgumentParser(prog="videorag ingest", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="door", required=True)
    ws = sub.add_parser("ws", help="WebSocket edge clients (binary JPEG frames)", argument_default=argparse.SUPPRESS)
    _common(ws, 8765)
    ws.add_argument("--max-clients", dest="max_clients", type=int, help="(default 16)")
    ws.add_argument("--max-frame-bytes", dest="max_frame_bytes", type=int, help="(default 2 MiB)")
    rtc = sub.add_parser("webrtc", help="WebRTC peers (WHIP-style offers)", argument_default=argparse.SUPPRESS)
    _common(rtc, 8889)
    rtc.add_argument("--max-peers", dest="max_peers", type=int, help="(default 8)")
    rtc.add_argument("--max-fps", dest="max_fps", type=float, help="(default 30)")
    rtc.add_argument("--ice-server", dest="ice_servers", action="append", metavar="URL", help="STUN/TURN URL (repeat); none: host candidates only")
    rtc.add_argument("--ice-username", dest="ice_username", help="TURN username")
    rtc.add_argument("--ice-credential-file", dest="ice_credential_file", help="file holding the TURN credential")
    rtc.add_argument("--host-candidates", dest="host_candidates", choices=("loopback", "all"), help="loopback (default): media on 127.0.0.1 only; all: every interface")
    args, extra = parser.parse_known_args(argv)
    from videorag_ros.core.config import load_params_file
    from videorag_ros.core.errors import VideoragError
    from videorag_ros.ingest.webrtc_server import WebRtcConfig
    from videorag_ros.ingest.ws_server import WsConfig

    node = "videorag_ws_ingest" if args.door == "ws" else "videorag_webrtc_ingest"
    values: dict[str, Any] = {k: v for k, v in vars(args).items() if k not in ("door", "params")}
    try:
        from_file = load_params_file(args.params, node) if "params" in args else {}
        # The doors' own checks (types, ranges, the memory bound, the token file) before any DDS start-up.
        (WsConfig if args.door == "ws" else WebRtcConfig).from_params(from_file | values)
    except VideoragError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    ros_args = ["--ros-args", "--params-file", str(args.params)] if "params" in args else []
    rest = [node, *ros_args, *[a for a in extra if a != "--"]]
    if args.door == "ws":
        from videorag_ros.ros.ws_ingest_node import main as ws_main

        return ws_main(rest, values=values)
    from videorag_ros.ros.webrtc_ingest_node import main as rtc_main

    return rtc_main(rest, values=values)
