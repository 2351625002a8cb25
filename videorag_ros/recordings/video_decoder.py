"""Decode a user's video file in a child process and stream its frames to this one.

A file that passes the probe (``video_probe``) can still corrupt the decoder's heap: a real
48x48 AVI decodes all of its frames and then aborts the process (``free(): invalid size``) when
OpenCV releases it. Decoding in-process after a successful probe would let such a file take
the node or the CLI down at any later point, so every frame is decoded here, in a throw-away
process (this file run as a script) under the probe's address-space limit, and sent over a
pipe. A child that dies by a signal becomes ``VideoDecodeError`` ("the decoder crashed on this
file (signal N)"), a silent one a timeout; the parent checks every message's size against the
frame limits before reading it.

The child honours the container's rotation metadata (OpenCV's ``CAP_PROP_ORIENTATION_AUTO``
where the backend supports it, ``cv2.rotate`` otherwise) and reads until the decoder ends,
whatever frame count the header declares.

Wire format, per message: ``HEADER`` (magic, kind, width, height, position in ms, payload
bytes), then the payload. Kinds: ``INFO`` (JSON, first), ``FRAME`` (packed RGB, ``height x
width x 3``), ``ERROR`` (JSON), ``END`` (JSON, ``{"frames": n}``).
"""

from __future__ import annotations

import collections
import contextlib
import fcntl
import json
import math
import os
import select
import signal
import struct
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

HEADER = struct.Struct("<4sBxxxIIdQ")
MAGIC = b"VRV1"
INFO, FRAME, ERROR, END = range(4)
# Rotation metadata (degrees clockwise for display) -> cv2.rotate code name.
_ROTATIONS = {90: "ROTATE_90_CLOCKWISE", 180: "ROTATE_180", 270: "ROTATE_90_COUNTERCLOCKWISE"}
_JSON_MAX_BYTES = 1 << 16
_PIPE_BYTES = 1 << 20


def signal_name(signum: int) -> str:
    """``SIGABRT`` for 6; the number as text for a signal this platform does not name."""
    return signal.Signals(signum).name if signum in signal.valid_signals() else str(signum)


# --- the child ----------------------------------------------------------------------------


def _send(out: IO[bytes], kind: int, payload: bytes | memoryview = b"", *, width: int = 0, height: int = 0, pos_ms: float = math.nan) -> None:
    out.write(HEADER.pack(MAGIC, kind, width, height, pos_ms, memoryview(payload).nbytes))
    out.write(payload)
    out.flush()


def _serve(path: str, max_width: int, max_height: int, out: IO[bytes]) -> int:
    """Decode ``path`` and write every frame to ``out``; 0 at the end of the file, 3 on an error."""
    import cv2
    import numpy as np

    cap = cv2.VideoCapture(path)
    if not cap.isOpened():
        _send(out, ERROR, json.dumps({"error": "OpenCV cannot open it as a video (unsupported container or codec?)"}).encode())
        return 3
    meta = cap.get(cv2.CAP_PROP_ORIENTATION_META)
    rotation = int(meta) % 360 if math.isfinite(meta) else 0
    auto = bool(cap.set(cv2.CAP_PROP_ORIENTATION_AUTO, 1)) and cap.get(cv2.CAP_PROP_ORIENTATION_AUTO) == 1
    rotate = None if auto or rotation not in _ROTATIONS else getattr(cv2, _ROTATIONS[rotation])
    fps = cap.get(cv2.CAP_PROP_FPS) or 0.0
    info = {
        "fps": fps if math.isfinite(fps) else 0.0,
        "frame_count": int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0),
        "rotation": rotation,
        "rotated_by": "opencv" if auto else ("cv2.rotate" if rotate is not None else "none"),
    }
    _send(out, INFO, json.dumps(info).encode())
    n = 0
    while True:
        ok, bgr = cap.read()
        if not ok or bgr is None:
            break
        if rotate is not None:
            bgr = cv2.rotate(bgr, rotate)
        if bgr.ndim != 3 or bgr.shape[2] != 3 or bgr.dtype != np.uint8:
            _send(out, ERROR, json.dumps({"error": f"frame {n} decoded as {bgr.dtype} {bgr.shape}, not 8-bit BGR"}).encode())
            return 3
        height, width = int(bgr.shape[0]), int(bgr.shape[1])
        if width > max_width or height > max_height:
            _send(out, ERROR, json.dumps({"error": f"frame {n} is {width}x{height}, over the limit {max_width}x{max_height}"}).encode())
            return 3
        rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)  # here, in parallel with the caller's work on the previous frame
        _send(out, FRAME, np.ascontiguousarray(rgb).data, width=width, height=height, pos_ms=float(cap.get(cv2.CAP_PROP_POS_MSEC)))
        n += 1
    _send(out, END, json.dumps({"frames": n}).encode())
    cap.release()  # a decoder with a corrupted heap may die here: the parent checks the exit status
    return 0


# --- the parent ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DecodedFrame:
    """One frame from the child: ``(H, W, 3)`` uint8 RGB and the container's position in ms (NaN if unknown)."""

    rgb: Any
    pos_ms: float


class VideoDecodeError(Exception):
    """Raised by ``ChildVideoDecoder``; ``offline.read_video`` turns it into its own ``VideoError``."""


class _ChildGone(Exception):
    pass


class ChildVideoDecoder:
    """Frames of one video file, decoded in a child process; iterate it, close it (or use ``with``).

    Attributes:
        fps: The container's frame rate (0 when unknown).
        frame_count: What the header declares (may be wrong; ``frames_read`` is what decoded).
        rotation: Rotation metadata in degrees (0, 90, 180, 270); frames come out rotated.
        frames_read: Frames received so far; the real count once the iteration ended.
    """

    def __init__(self, path: str | Path, *, max_width: int, max_height: int, memory_bytes: int, timeout_s: float = 30.0) -> None:
        """Start the child and read its ``INFO``.

        Args:
            path: The video file (checked by the caller: a regular file).
            max_width: Largest frame width accepted.
            max_height: Largest frame height accepted.
            memory_bytes: The child's address-space limit.
            timeout_s: Longest wait for any one message (opening, a frame, the end).

        Raises:
            VideoDecodeError: The child cannot open the file, crashes or hangs.
        """
        self.path = Path(path)
        self._max_width, self._max_height, self._timeout_s = max_width, max_height, timeout_s
        self.frames_read = 0
        self._done = False
        self._stderr: collections.deque[str] = collections.deque(maxlen=4)
        # Run as a script: the child imports only the standard library, OpenCV and numpy.
        cmd = [sys.executable, str(Path(__file__).resolve()), str(self.path), str(max_width), str(max_height), str(memory_bytes)]
        self._proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if hasattr(fcntl, "F_SETPIPE_SZ") and self._proc.stdout is not None:  # Linux: fewer wake-ups per frame
            with contextlib.suppress(OSError):
                fcntl.fcntl(self._proc.stdout.fileno(), fcntl.F_SETPIPE_SZ, _PIPE_BYTES)
        threading.Thread(target=self._drain_stderr, name="video-decoder-stderr", daemon=True).start()
        kind, _, _, _, payload = self._next_message()
        if kind != INFO:
            self._fail(kind, payload, "opening")
        info = self._json(payload)
        self.fps = float(info.get("fps", 0.0))
        self.frame_count = int(info.get("frame_count", 0))
        self.rotation = int(info.get("rotation", 0))

    def _drain_stderr(self) -> None:
        stream = self._proc.stderr
        assert stream is not None
        with stream:
            for line in stream:
                text = line.decode(errors="replace").strip()
                if text and not text.startswith("[ WARN"):
                    self._stderr.append(text[:200])

    def __iter__(self) -> ChildVideoDecoder:
        return self

    def __next__(self) -> DecodedFrame:
        """The next frame; ``StopIteration`` once the decoder ended cleanly.

        Raises:
            VideoDecodeError: The decoder reported an error, crashed (also after its last frame) or hung.
        """
        if self._done:
            raise StopIteration
        import numpy as np

        kind, width, height, pos_ms, payload = self._next_message()
        if kind == FRAME:
            self.frames_read += 1
            return DecodedFrame(np.frombuffer(payload, dtype=np.uint8).reshape(height, width, 3), pos_ms)
        if kind != END:
            self._fail(kind, payload, f"decoding frame {self.frames_read}")
        self._done = True
        rc = self._wait_exit()
        if rc < 0:
            self.close()
            raise VideoDecodeError(self._crash_message(-rc, f"after its {self.frames_read} frames"))
        self.close()
        raise StopIteration

    def _json(self, payload: bytes | bytearray) -> dict[str, Any]:
        try:
            obj = json.loads(payload)
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            self.close()
            msg = f"'{self.path}': the decoder sent an unreadable message"
            raise VideoDecodeError(msg) from err
        return obj if isinstance(obj, dict) else {}

    def _fail(self, kind: int, payload: bytes | bytearray, phase: str) -> None:
        reason = self._json(payload).get("error", f"unexpected message kind {kind}") if kind == ERROR else f"unexpected message kind {kind}"
        self.close()
        msg = f"'{self.path}': {phase}: {str(reason)[:300]}"
        raise VideoDecodeError(msg)

    def _crash_message(self, signum: int, when: str) -> str:
        tail = f" ({self._stderr[-1]})" if self._stderr else ""
        return f"'{self.path}': the decoder crashed on this file (signal {signum}, {signal_name(signum)}) {when}{tail}; the file is corrupt or hostile, not decoding it"

    def _wait_exit(self) -> int:
        try:
            return self._proc.wait(self._timeout_s)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            return self._proc.wait()

    def _next_message(self) -> tuple[int, int, int, float, bytes | bytearray]:
        try:
            head = self._read_exact(HEADER.size)
            magic, kind, width, height, pos_ms, n = HEADER.unpack(head)
            frame_bytes = width * height * 3
            valid = magic == MAGIC and (
                (kind == FRAME and 0 < width <= self._max_width and 0 < height <= self._max_height and n == frame_bytes)
                or (kind in (INFO, ERROR, END) and n <= _JSON_MAX_BYTES)
            )
            if not valid:
                self.close()
                msg = f"'{self.path}': the decoder sent a malformed message (kind {kind}, {width}x{height}, {n} bytes)"
                raise VideoDecodeError(msg)
            return kind, width, height, pos_ms, self._read_exact(n) if n else b""
        except _ChildGone:
            rc = self._wait_exit()
            self.close()
            if rc < 0:
                raise VideoDecodeError(self._crash_message(-rc, f"at frame {self.frames_read}")) from None
            tail = f": {self._stderr[-1]}" if self._stderr else ""
            msg = f"'{self.path}': the decoder exited ({rc}) at frame {self.frames_read}, maybe out of its memory{tail}"
            raise VideoDecodeError(msg) from None

    def _read_exact(self, n: int) -> bytes | bytearray:
        stdout = self._proc.stdout
        if stdout is None or stdout.closed:
            raise _ChildGone
        fd = stdout.fileno()
        deadline = time.monotonic() + self._timeout_s
        buf = bytearray(n)
        view = memoryview(buf)
        got = 0
        while got < n:
            wait = deadline - time.monotonic()
            if wait <= 0:
                self.close()
                msg = f"'{self.path}': the decoder sent nothing for {self._timeout_s:g} s at frame {self.frames_read} (it hangs on this file); not decoding it"
                raise VideoDecodeError(msg)
            ready, _, _ = select.select([fd], [], [], wait)
            if not ready:
                continue
            k = os.readv(fd, [view[got:]])
            if not k:
                raise _ChildGone
            got += k
        return bytes(buf) if n <= _JSON_MAX_BYTES else buf

    def close(self) -> None:
        """Stop the child (if it still runs) and close the pipe; safe to call twice."""
        self._done = True
        proc = getattr(self, "_proc", None)
        if proc is None:
            return
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdout is not None and not proc.stdout.closed:
            proc.stdout.close()

    def __enter__(self) -> ChildVideoDecoder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        self.close()


def main(argv: list[str]) -> int:
    """The child: ``python video_decoder.py PATH MAX_W MAX_H MEMORY_BYTES``."""
    import resource

    limit = int(argv[3])
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    return _serve(argv[0], int(argv[1]), int(argv[2]), sys.stdout.buffer)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
