"""``videorag stream-client``: the edge side. Extract frames from a source, downscale, JPEG-encode, stream them.

--url ws://HOST:PORT           the WebSocket door (binary JPEG frames on one socket)
--url http://HOST:PORT/whip/ID the WebRTC door (a video track; --client-id is the last path part)

Trigger events for this camera come back on the same connection and are printed, one line each
(with --json: one JSON object per line). A lost connection is retried with backoff; a refused
token ends the command with an error.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any


def _print_event(event: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(event), flush=True)
        return
    # Event text comes from the network: repr() escapes control and terminal escape sequences.
    print(f"trigger {str(event.get('trigger'))[:60]!r} {str(event.get('state'))[:8]!r} camera {str(event.get('camera'))[:60]!r} score {event.get('score')}", flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse flags, then stream until the source ends, --duration passes or Ctrl-C."""
    parser = argparse.ArgumentParser(prog="videorag stream-client", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", required=True, help="rtsp://…, http(s)://…, tcp://…, udp://…, a video file or /dev/videoN")
    parser.add_argument("--url", required=True, help="ws://host:port (WebSocket door) or http://host:port/whip/<id> (WebRTC door)")
    parser.add_argument("--client-id", help="this camera's id (WebSocket; WebRTC takes it from the URL)")
    parser.add_argument("--token-file", required=True, help="file holding the shared token")
    parser.add_argument("--fps", type=float, default=2.0, help="frames per second sent at most (default 2)")
    parser.add_argument("--max-width", type=int, default=640, help="scale frames down to this width (default 640)")
    parser.add_argument("--quality", type=int, default=80, help="JPEG quality 1-100 (default 80)")
    parser.add_argument("--loop", action="store_true", help="files: start over at the end")
    parser.add_argument("--duration", type=float, help="stop after this many seconds")
    parser.add_argument("--json", action="store_true", help="events and the summary as JSON lines")
    args = parser.parse_args(argv)
    from videorag_ros.core.errors import VideoragError
    from videorag_ros.ingest.auth import read_token
    from videorag_ros.ingest.source import parse_source

    if not (0 < args.fps <= 60 and 16 <= args.max_width <= 8192 and 1 <= args.quality <= 100):
        print(f"error: --fps {args.fps} must be in (0, 60], --max-width {args.max_width} in [16, 8192], --quality {args.quality} in [1, 100]", file=sys.stderr)
        return 2
    try:
        source = parse_source(args.source)
        token = read_token(args.token_file).decode()
        if args.url.startswith(("ws://", "wss://")):
            from videorag_ros.ingest.ws_client import StreamClient

            if not args.client_id:
                print("error: --client-id is required with a ws:// URL", file=sys.stderr)
                return 2
            client = StreamClient(url=args.url, client_id=args.client_id, token=token, source=source, fps=args.fps, max_width=args.max_width,
                                  quality=args.quality, loop_file=args.loop, on_event=lambda e: _print_event(e, args.json))  # fmt: skip
            st = client.run(args.duration)
            summary = {"frames_captured": st.frames_captured, "frames_sent": st.frames_sent, "frames_dropped": st.frames_dropped,
                       "bytes_sent": st.bytes_sent, "events": len(st.events), "connects": st.connects}  # fmt: skip
        elif args.url.startswith(("http://", "https://")):
            from videorag_ros.ingest.webrtc_client import stream_whip

            summary = stream_whip(url=args.url, token=token, source=source, fps=args.fps, max_width=args.max_width, loop_file=args.loop,
                                  duration_s=args.duration, on_event=lambda e: _print_event(e, args.json))  # fmt: skip
        else:
            print(f"error: --url {args.url[:100]!r} must start with ws://, wss://, http:// or https://", file=sys.stderr)
            return 2
    except VideoragError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    print(json.dumps(summary) if args.json else "  ".join(f"{k} {v}" for k, v in summary.items()))
    return 0
