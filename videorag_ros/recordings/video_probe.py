"""Probe a user's video file in a child process before decoding it in ours.

FFmpeg's decoders are large C code fed with whatever file a user passes; a crafted or broken
file can crash or hang them, or declare a frame size that takes gigabytes to decode. Opening the
file and decoding its first frames in a throw-away process (this file run as a script: it
imports only OpenCV), under an address-space limit, turns a crash into an error message here, a
hang into a timeout, and a memory bomb into a refusal. The declared frame size is checked
against the node's ``max_width`` / ``max_height`` before any frame is read, and a single image
file (PNG, JPEG, ...) has its header read by Pillow before FFmpeg sees it at all.
"""

from __future__ import annotations

import json
import resource
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from videorag_ros.core.errors import VideoragError
from videorag_ros.core.frames import DEFAULT_LIMITS, FrameLimits
from videorag_ros.core.safe_files import UnsafeFileError, check_regular_file

PROBE_FRAMES = 3
# Address space of the probe: the interpreter and OpenCV's libraries (~0.5 GiB mapped) plus
# room for a dozen frames of the largest accepted size (FFmpeg keeps several in flight).
_PROBE_BASE_BYTES = 768 << 20
_PROBE_FRAMES_HELD = 12


class VideoProbeError(VideoragError):
    """The file cannot be decoded safely (missing, unreadable, too large, decoder crash or hang)."""


@dataclass(frozen=True)
class VideoInfo:
    """What the probe saw: container estimates and the first frame's size."""

    fps: float
    frame_count: int
    width: int
    height: int


def probe_memory_bytes(limits: FrameLimits) -> int:
    """The address-space limit of the probe process for frames up to ``limits``."""
    return _PROBE_BASE_BYTES + _PROBE_FRAMES_HELD * limits.max_width * limits.max_height * 3


def probe_video(path: str | Path, *, timeout_s: float = 30.0, limits: FrameLimits = DEFAULT_LIMITS) -> VideoInfo:
    """Open ``path`` and decode its first frames in a child process.

    Args:
        path: The video file (a regular file: FIFOs and devices are refused).
        timeout_s: Longest the probe may take.
        limits: Largest frame size accepted (``max_width`` / ``max_height``).

    Raises:
        VideoProbeError: Missing or not a regular file, a declared or decoded frame size over
            the limits, no decodable frame, decoder crash (signal), out of memory, or hang (timeout).
    """
    try:
        p = check_regular_file(path, what="video file")
    except UnsafeFileError as err:
        raise VideoProbeError(str(err)) from err
    args = [sys.executable, __file__, str(p), str(limits.max_width), str(limits.max_height), str(probe_memory_bytes(limits))]
    try:
        out = subprocess.run(args, capture_output=True, text=True, timeout=timeout_s, check=False)
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
        tail = out.stderr.strip().splitlines()[-1:] or [f"exit {out.returncode}"]
        msg = f"probing '{p}' failed (exit {out.returncode}, the decoder may have run out of its {probe_memory_bytes(limits) >> 20} MiB): {tail[0][-200:]}"
        raise VideoProbeError(msg) from err
    if "error" in result:
        raise VideoProbeError(f"'{p}': {result['error']}")
    return VideoInfo(float(result["fps"]), int(result["frame_count"]), int(result["width"]), int(result["height"]))


def _too_large(width: float, height: float, max_width: int, max_height: int) -> str | None:
    if width > max_width or height > max_height:
        return f"frames of {int(width)}x{int(height)} exceed the limit {max_width}x{max_height} (raise max_width / max_height if they are really that large)"
    return None


def _image_header_size(path: str) -> tuple[int, int] | None:
    """(width, height) when the file is a single image Pillow recognises; None otherwise."""
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = None  # our own limits decide (the caller compares the size)
    try:
        with Image.open(path) as im:
            width, height = im.size
            return int(width), int(height)
    except Exception:  # not an image Pillow knows (a video container): FFmpeg's turn
        return None


def _probe_here(path: str, max_width: int, max_height: int) -> dict[str, object]:
    size = _image_header_size(path)
    if size is not None and (problem := _too_large(size[0], size[1], max_width, max_height)):
        return {"error": f"image file: {problem}"}
    import cv2

    cap = cv2.VideoCapture(path)
    try:
        if not cap.isOpened():
            return {"error": "OpenCV cannot open it as a video (unsupported container or codec?)"}
        if problem := _too_large(cap.get(cv2.CAP_PROP_FRAME_WIDTH) or 0, cap.get(cv2.CAP_PROP_FRAME_HEIGHT) or 0, max_width, max_height):
            return {"error": f"the container declares {problem}"}
        shape = None
        for _ in range(PROBE_FRAMES):
            ok, frame = cap.read()
            if not ok:
                break
            shape = frame.shape[1], frame.shape[0]
            if problem := _too_large(shape[0], shape[1], max_width, max_height):
                return {"error": problem}
        if shape is None:
            return {"error": "no frame could be decoded (empty, truncated, unsupported codec, or larger than the probe's memory)"}
        return {"fps": cap.get(cv2.CAP_PROP_FPS) or 0.0, "frame_count": int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0), "width": shape[0], "height": shape[1]}
    finally:
        cap.release()


if __name__ == "__main__":
    _limit = int(sys.argv[4])
    resource.setrlimit(resource.RLIMIT_AS, (_limit, _limit))
    print(json.dumps(_probe_here(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))))
