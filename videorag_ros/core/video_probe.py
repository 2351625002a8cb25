"""Probe a user's video file in a child process before decoding it in ours.

FFmpeg's decoders are large C code fed with whatever file a user passes; a crafted or broken
file can crash or hang them. Opening the file and decoding its first frames in a throw-away
process (this file run as a script: it imports only OpenCV) turns a crash into an error
message here, and a hang into a timeout.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from videorag_ros.core.errors import VideoragError

PROBE_FRAMES = 3


class VideoProbeError(VideoragError):
    """The file cannot be decoded safely (missing, unreadable, decoder crash or hang)."""


@dataclass(frozen=True)
class VideoInfo:
    """What the probe saw: container estimates and the first frame's size."""

    fps: float
    frame_count: int
    width: int
    height: int


def probe_video(path: str | Path, *, timeout_s: float = 30.0) -> VideoInfo:
    """Open ``path`` and decode its first frames in a child process.

    Raises:
        VideoProbeError: Missing file, no decodable frame, decoder crash (signal) or hang (timeout).
    """
    p = Path(path)
    if not p.is_file():
        msg = f"video file '{p}' does not exist"
        raise VideoProbeError(msg)
    try:
        out = subprocess.run([sys.executable, __file__, str(p)], capture_output=True, text=True, timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired as err:
        msg = f"probing '{p}' took longer than {timeout_s:g} s (the decoder hangs on this file); not decoding it"
        raise VideoProbeError(msg) from err
    if out.returncode < 0:
        name = signal.Signals(-out.returncode).name if -out.returncode in signal.valid_signals() else str(-out.returncode)
        msg = f"the video decoder crashed ({name}) on '{p}'; the file is corrupt or hostile, not decoding it"
        raise VideoProbeError(msg)
    try:
        result = json.loads(out.stdout.strip().splitlines()[-1])
    except (json.JSONDecodeError, IndexError) as err:
        msg = f"probing '{p}' failed (exit {out.returncode}): {out.stderr.strip()[-300:]}"
        raise VideoProbeError(msg) from err
    if "error" in result:
        raise VideoProbeError(f"'{p}': {result['error']}")
    return VideoInfo(float(result["fps"]), int(result["frame_count"]), int(result["width"]), int(result["height"]))


def _probe_here(path: str) -> dict[str, object]:
    import cv2

    cap = cv2.VideoCapture(path)
    try:
        if not cap.isOpened():
            return {"error": "OpenCV cannot open it as a video (unsupported container or codec?)"}
        size = None
        for _ in range(PROBE_FRAMES):
            ok, frame = cap.read()
            if not ok:
                break
            size = frame.shape[1], frame.shape[0]
        if size is None:
            return {"error": "no frame could be decoded (empty, truncated or unsupported codec)"}
        return {"fps": cap.get(cv2.CAP_PROP_FPS) or 0.0, "frame_count": int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0), "width": size[0], "height": size[1]}
    finally:
        cap.release()


if __name__ == "__main__":
    print(json.dumps(_probe_here(sys.argv[1])))
