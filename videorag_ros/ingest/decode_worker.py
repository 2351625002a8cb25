"""The decoding child: opens one source with PyAV (FFmpeg) and writes frames to stdout.

Untrusted streams are decoded here, in a throw-away process with an address-space limit, so
a decoder that crashes, hangs or balloons costs a reconnect, not the node (``bridge.py``
watches it). Run as ``python -m videorag_ros.ingest.decode_worker '<json settings>'``.

Wire format to the parent, per message: ``HEADER`` (magic, kind, pts seconds or NaN, receive
time ns, width, height, payload bytes), then the payload. Kinds: ``RGB`` (packed rgb24),
``JPEG`` (an MJPEG packet passed through, or a frame encoded here), ``INFO`` / ``WARN`` /
``ERROR`` / ``EOS`` (JSON).
"""

from __future__ import annotations

import json
import math
import resource
import struct
import sys
import time
from typing import IO, Any

HEADER = struct.Struct("<4sBxxxdqIII")
MAGIC = b"VRD1"
RGB, JPEG, INFO, WARN, ERROR, EOS = range(6)
# Exit codes: 0 end of stream, 3 the source failed (an ERROR message says why), 4 bad settings.
EXIT_SOURCE_FAILED, EXIT_BAD_SETTINGS = 3, 4
UNTIMED_FORMATS = ("mpjpeg", "mjpeg", "image2pipe", "jpeg_pipe")


def fit(width: int, height: int, max_width: int, max_height: int) -> tuple[int, int]:
    """The largest size within ``max_width × max_height`` with the aspect ratio of ``width × height`` (never upscaled)."""
    scale = min(1.0, max_width / width, max_height / height)
    return max(1, round(width * scale)), max(1, round(height * scale))


class _Writer:
    def __init__(self, out: IO[bytes]) -> None:
        self._out = out

    def send(self, kind: int, payload: bytes | memoryview = b"", *, pts: float = math.nan, rx_ns: int = 0, width: int = 0, height: int = 0) -> None:
        self._out.write(HEADER.pack(MAGIC, kind, pts, rx_ns, width, height, len(payload)))
        self._out.write(payload)
        self._out.flush()

    def json(self, kind: int, obj: dict[str, Any]) -> None:
        self.send(kind, json.dumps(obj).encode())


class _RateCap:
    """Keep a frame only if at least ``1 / max_fps`` has passed since the last kept one (stream time)."""

    def __init__(self, max_fps: float) -> None:
        self._min_dt = 1.0 / max_fps if max_fps > 0 else 0.0
        self._last: float | None = None

    def keep(self, t: float) -> bool:
        if self._min_dt == 0.0:
            return True
        if self._last is None or t < self._last or t - self._last >= self._min_dt - 1e-3:
            self._last = t
            return True
        return False


def _open(s: dict[str, Any]) -> Any:
    import av

    options: dict[str, str] = {}
    fmt = None
    if s["kind"] == "rtsp":
        options["rtsp_transport"] = s["rtsp_transport"]
        if s.get("rtsp_listen"):  # be the server a robot pushes to; wait as long as an open may take
            options |= {"rtsp_flags": "listen", "listen_timeout": str(max(1, round(s["open_timeout_s"])))}
    elif s["kind"] == "udp":
        options |= {"overrun_nonfatal": "1", "fifo_size": "50000"}
    elif s["kind"] == "device":
        fmt = "v4l2"
    if s["kind"] != "file":
        options["fflags"] = "nobuffer"  # live: no extra demuxer buffering between the wire and us
    return av.open(s["url"], format=fmt, options=options, timeout=(s["open_timeout_s"], s["read_timeout_s"]))


def run(s: dict[str, Any], out: _Writer) -> int:
    """Decode until the stream ends (0) or fails (``EXIT_SOURCE_FAILED``, after an ERROR message)."""
    import av
    import numpy as np

    container = _open(s)
    if not container.streams.video:
        out.json(ERROR, {"error": "the source has no video stream"})
        return EXIT_SOURCE_FAILED
    stream = container.streams.video[0]
    stream.thread_type = "SLICE"  # frame threading would hold frames back for latency's sake
    cc = stream.codec_context
    if cc.width * cc.height > s["max_source_pixels"]:
        out.json(ERROR, {"error": f"the stream declares {cc.width}x{cc.height}, more than max_source_pixels {s['max_source_pixels']}"})
        return EXIT_SOURCE_FAILED
    fits = cc.width <= s["max_width"] and cc.height <= s["max_height"]
    passthrough = cc.name == "mjpeg" and s["output"] in ("auto", "compressed") and fits
    encode_jpeg = not passthrough and s["output"] == "compressed"
    rt = container.start_time_realtime
    realtime = rt if rt is not None and rt > 0 else None
    out.json(INFO, {
        "codec": cc.name, "width": cc.width, "height": cc.height, "fps": float(stream.average_rate or 0.0),
        "format": container.format.name, "realtime_start_us": realtime,
        "start_time_s": (container.start_time or 0) / 1e6, "passthrough": passthrough,
        "output": "jpeg" if passthrough or encode_jpeg else "rgb",
    })  # fmt: skip
    # Containers without real timestamps (an MJPEG HTTP stream) get made-up PTS: stamp on receipt.
    timed = container.format.name not in UNTIMED_FORMATS
    cap = _RateCap(s["max_fps"])
    pts_offset, first_pts, last_pts = 0.0, None, None
    frame_dt = 1.0 / float(stream.average_rate) if stream.average_rate else 1.0 / 30
    while True:
        for packet in container.demux(stream):
            if packet.size == 0:
                continue
            if realtime is None and (rt := container.start_time_realtime) is not None and rt > 0:
                realtime = rt  # RTSP: the first RTCP sender report maps RTP time to the sender's wall clock
                out.json(INFO, {"realtime_start_us": realtime})
            rx = time.time_ns()
            pts = float(packet.pts * packet.time_base) + pts_offset if packet.pts is not None and timed else math.nan
            if passthrough:
                data = bytes(packet)
                t = pts if math.isfinite(pts) else rx / 1e9
                if len(data) > s["max_compressed_bytes"] or data[:3] != b"\xff\xd8\xff":
                    out.json(WARN, {"warning": f"dropped an MJPEG packet of {len(data)} bytes (not a JPEG, or over max_compressed_bytes)"})
                elif cap.keep(t):
                    out.send(JPEG, data, pts=pts, rx_ns=rx, width=cc.width, height=cc.height)
                first_pts = pts if first_pts is None else first_pts
                last_pts = pts
                continue
            try:
                frames = packet.decode()
            except av.error.FFmpegError as err:  # a corrupt packet: count it, keep going
                out.json(WARN, {"warning": f"decode error: {err}"})
                continue
            for frame in frames:
                if frame.width * frame.height > s["max_source_pixels"]:
                    out.json(ERROR, {"error": f"a frame of {frame.width}x{frame.height} exceeds max_source_pixels {s['max_source_pixels']}"})
                    return EXIT_SOURCE_FAILED
                fpts = float(frame.pts * frame.time_base) + pts_offset if frame.pts is not None and timed else pts
                first_pts = fpts if first_pts is None else first_pts
                last_pts = fpts
                if not cap.keep(fpts if math.isfinite(fpts) else rx / 1e9):
                    continue
                w, h = fit(frame.width, frame.height, s["max_width"], s["max_height"])
                if encode_jpeg:
                    import cv2

                    bgr = frame.reformat(width=w, height=h, format="bgr24").to_ndarray()
                    ok, buf = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, s["jpeg_quality"]])
                    if ok:
                        out.send(JPEG, buf.tobytes(), pts=fpts, rx_ns=rx, width=w, height=h)
                else:
                    rgb = np.ascontiguousarray(frame.reformat(width=w, height=h, format="rgb24").to_ndarray())
                    out.send(RGB, rgb.data.cast("B"), pts=fpts, rx_ns=rx, width=w, height=h)
        if not (s["loop"] and s["kind"] == "file" and first_pts is not None and last_pts is not None):
            out.json(EOS, {})
            return 0
        pts_offset = last_pts + frame_dt - (first_pts - pts_offset)  # the next pass continues the timeline
        first_pts = None
        container.seek(0)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the child."""
    args = sys.argv[1:] if argv is None else argv
    out = _Writer(sys.stdout.buffer)
    try:
        s = json.loads(args[0])
    except (IndexError, json.JSONDecodeError) as err:
        out.json(ERROR, {"error": f"bad worker settings: {err}"})
        return EXIT_BAD_SETTINGS
    if s.get("memory_limit_mb"):
        limit = int(s["memory_limit_mb"]) * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    try:
        return run(s, out)
    except BrokenPipeError:
        return 0
    except MemoryError:
        out.json(ERROR, {"error": f"the decoder ran out of its {s.get('memory_limit_mb')} MB memory limit"})
        return EXIT_SOURCE_FAILED
    except Exception as err:  # anything FFmpeg or PyAV raise: report it in one line, exit
        out.json(ERROR, {"error": f"{type(err).__name__}: {err}"})
        return EXIT_SOURCE_FAILED


if __name__ == "__main__":
    sys.exit(main())
