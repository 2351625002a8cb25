"""The stream bridge: a decoding child per connection, reconnects with backoff, pacing, counters.

One thread per bridge. It starts ``decode_worker`` as a child process, reads its frames with a
stall deadline, stamps them (``stamps.py``), paces files in real time, and hands each frame to
``on_frame``. Whatever goes wrong with the source — it refuses the connection, stalls, sends
garbage, or the decoder crashes — ends that child, is logged once and counted, and a new child
connects after an exponential backoff. Files end (or loop); a file that keeps failing is given up
after ``max_file_failures`` attempts.
"""

from __future__ import annotations

import json
import logging
import math
import os
import select
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from videorag_ros.ingest.backoff import Backoff
from videorag_ros.ingest.decode_worker import EOS, ERROR, HEADER, INFO, JPEG, MAGIC, RGB, WARN
from videorag_ros.ingest.frame import DoorCounters, IngestFrame
from videorag_ros.ingest.source import Source
from videorag_ros.ingest.stamps import StampMapper

log = logging.getLogger(__name__)
# A connection that delivered frames for this long resets the backoff.
STABLE_S = 10.0
# Pacing: a file frame released later than this behind schedule re-anchors the clock.
MAX_PACE_LAG_S = 1.0


@dataclass(frozen=True, slots=True)
class BridgeConfig:
    """Settings of one bridge (see ``config.BRIDGE_PARAMS`` for their documentation)."""

    source: Source
    camera: str = "bridge"
    output: str = "auto"
    max_width: int = 1280
    max_height: int = 720
    max_fps: float = 30.0
    jpeg_quality: int = 85
    realtime: bool = True
    loop: bool = False
    open_timeout_s: float = 10.0
    stall_timeout_s: float = 5.0
    backoff_initial_s: float = 0.5
    backoff_max_s: float = 10.0
    rtsp_transport: str = "tcp"
    rtsp_listen: bool = False
    memory_limit_mb: int = 2048
    max_source_pixels: int = 4096 * 4096
    max_compressed_bytes: int = 8 * 1024 * 1024
    max_file_failures: int = 3

    def worker_settings(self) -> dict[str, Any]:
        """What the decoding child needs (JSON-serialisable)."""
        return {
            "kind": self.source.kind, "url": self.source.url, "output": self.output, "max_width": self.max_width,
            "max_height": self.max_height, "max_fps": self.max_fps, "jpeg_quality": self.jpeg_quality, "loop": self.loop,
            "open_timeout_s": self.open_timeout_s, "read_timeout_s": self.stall_timeout_s, "rtsp_transport": self.rtsp_transport,
            "rtsp_listen": self.rtsp_listen,
            "memory_limit_mb": self.memory_limit_mb, "max_source_pixels": self.max_source_pixels,
            "max_compressed_bytes": self.max_compressed_bytes,
        }  # fmt: skip


class _Stalled(Exception):
    pass


class _ChildGone(Exception):
    pass


class StreamBridge:
    """Decodes one source in child processes and delivers stamped frames to ``on_frame``.

    ``on_frame`` runs on the bridge's thread; it should be quick (a ROS publish). State,
    counters and the stamp source are readable from any thread.
    """

    def __init__(self, config: BridgeConfig, on_frame: Callable[[IngestFrame], None], *, counters: DoorCounters | None = None) -> None:
        """Create the bridge (nothing starts before ``start``).

        Args:
            config: Settings.
            on_frame: Called with every frame, on the bridge thread.
            counters: Where to count (a new set by default).
        """
        self.config = config
        self._on_frame = on_frame
        self.counters = counters or DoorCounters()
        self.state = "idle"
        self.stamp_source = "none"
        self.info: dict[str, Any] = {}
        self.last_error = ""
        self.last_frame_mono: float | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._stderr_tail: deque[str] = deque(maxlen=20)
        self._seq = 0

    # --- lifecycle -----------------------------------------------------------------------
    def start(self) -> None:
        """Start the bridge thread."""
        self._thread = threading.Thread(target=self._run, name=f"bridge-{self.config.camera}", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop the thread and the decoding child."""
        self._stop.set()
        self._kill_child()
        if self._thread is not None:
            self._thread.join(timeout_s)

    def wait(self, timeout_s: float | None = None) -> bool:
        """Wait for the bridge to end by itself (a file played out); True if it did."""
        if self._thread is None:
            return True
        self._thread.join(timeout_s)
        return not self._thread.is_alive()

    @property
    def child_pid(self) -> int | None:
        """PID of the decoding child, while one runs."""
        proc = self._proc
        return proc.pid if proc is not None and proc.poll() is None else None

    def stream_age_s(self) -> float:
        """Seconds since the last frame (infinite before the first)."""
        last = self.last_frame_mono
        return math.inf if last is None else time.monotonic() - last

    # --- the loop --------------------------------------------------------------------------
    def _run(self) -> None:
        cfg, cam = self.config, self.config.camera
        backoff = Backoff(initial_s=cfg.backoff_initial_s, max_s=cfg.backoff_max_s)
        failures = 0
        attempt = 0
        while not self._stop.is_set():
            if attempt:
                self.counters.add(cam, "reconnects")
            attempt += 1
            self.state = "connecting"
            started = time.monotonic()
            outcome = self._session()
            if self._stop.is_set():
                break
            if outcome == "eos" and not cfg.source.live:
                self.state = "ended"
                log.info("bridge %s: %s ended", cam, cfg.source.describe())
                return
            if outcome == "eos":  # a live source that ends has gone away: reconnect
                self.counters.add(cam, "stream_ends")
                self.last_error = "the stream ended (the source closed it)"
            if time.monotonic() - started >= STABLE_S and self.counters.get(cam, "frames_in"):
                backoff.reset()
            failures += 1
            if not cfg.source.live and failures >= cfg.max_file_failures:
                self.state = "failed"
                log.error("bridge %s: giving up on %s after %d failed attempts: %s", cam, cfg.source.describe(), failures, self.last_error)
                return
            self.state = "backoff"
            delay = backoff.next_delay()
            log.warning("bridge %s: %s; reconnecting in %.1f s", cam, self.last_error, delay)
            self._stop.wait(delay)
        self.state = "stopped"

    def _spawn(self) -> subprocess.Popen[bytes]:
        cmd = [sys.executable, "-m", "videorag_ros.ingest.decode_worker", json.dumps(self.config.worker_settings())]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
        threading.Thread(target=self._drain_stderr, args=(proc,), daemon=True).start()
        return proc

    def _drain_stderr(self, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stderr is not None
        with proc.stderr:
            for line in proc.stderr:
                self._stderr_tail.append(line.decode(errors="replace").rstrip()[:300])

    def _kill_child(self) -> None:
        proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()

    def _session(self) -> str:
        """One child from start to end: 'eos', or 'failed' with ``last_error`` set."""
        cfg, cam = self.config, self.config.camera
        proc = self._proc = self._spawn()
        assert proc.stdout is not None
        fd = proc.stdout.fileno()
        try:
            kind, meta, payload = self._read(fd, cfg.open_timeout_s + 2.0)
            if kind != INFO:
                return self._fail(kind, payload, "open")
            self.info = json.loads(payload)
            mapper = StampMapper(realtime_start_us=self.info.get("realtime_start_us"))
            self.state = "streaming"
            log.info("bridge %s: %s open: %s %dx%d %.1f fps -> %s", cam, cfg.source.describe(), self.info["codec"], self.info["width"], self.info["height"], self.info["fps"], self.info["output"])
            pacer = _Pacer() if (not cfg.source.live and cfg.realtime) else None
            while not self._stop.is_set():
                kind, meta, payload = self._read(fd, cfg.stall_timeout_s)
                if kind in (RGB, JPEG):
                    self._deliver(kind, meta, payload, mapper, pacer)
                elif kind == INFO:  # the stream's wall clock became known (an RTCP sender report arrived)
                    self.info |= json.loads(payload)
                    mapper = StampMapper(realtime_start_us=self.info.get("realtime_start_us"))
                    log.info("bridge %s: the sender's clock is known (RTCP); stamping capture times from it", cam)
                elif kind == WARN:
                    self.counters.add(cam, "decode_errors")
                    log.warning("bridge %s: %s", cam, json.loads(payload).get("warning", "?")[:300])
                elif kind == EOS:
                    return "eos"
                else:
                    return self._fail(kind, payload, "stream")
            return "stopped"
        except _Stalled:
            self.counters.add(cam, "stalls")
            self.last_error = f"no frame for {cfg.stall_timeout_s:g} s (stream stalled)"
            return "failed"
        except _ChildGone:
            return self._child_died(proc)
        finally:
            self._kill_child()
            proc.stdout.close()

    def _fail(self, kind: int, payload: bytes, phase: str) -> str:
        cam = self.config.camera
        try:
            reason = json.loads(payload).get("error", "?") if kind == ERROR else f"unexpected message kind {kind}"
        except (json.JSONDecodeError, AttributeError):
            reason = "unreadable error message"
        self.counters.add(cam, "open_failures" if phase == "open" else "stream_errors")
        self.last_error = f"{phase} failed: {str(reason)[:300]!r}"
        return "failed"

    def _child_died(self, proc: subprocess.Popen[bytes]) -> str:
        cam = self.config.camera
        try:
            rc = proc.wait(2.0)
        except subprocess.TimeoutExpired:
            proc.kill()
            rc = proc.wait()
        if self._stop.is_set():
            return "stopped"
        if rc is not None and rc < 0:
            name = signal.Signals(-rc).name if -rc in signal.valid_signals() else str(-rc)
            self.counters.add(cam, "decoder_crashes")
            self.last_error = f"the decoder crashed ({name})"
        else:
            self.counters.add(cam, "stream_errors")
            tail = " | ".join(list(self._stderr_tail)[-2:])
            self.last_error = f"the decoder exited ({rc}) {tail[:300]!r}"
        return "failed"

    def _deliver(self, kind: int, meta: tuple[float, int, int, int], payload: bytes, mapper: StampMapper, pacer: _Pacer | None) -> None:
        cam = self.config.camera
        pts, rx_ns, width, height = meta
        self.counters.tick(cam, "frames_in")
        self.last_frame_mono = time.monotonic()
        if pacer is not None:
            if not pacer.wait(pts, self._stop):
                return
            stamp, source = time.time_ns(), "pace"
        else:
            stamp, source = mapper.stamp(pts, rx_ns)
        self.stamp_source = source
        self._seq += 1
        frame = IngestFrame(cam, "jpeg" if kind == JPEG else "rgb", payload, width, height, stamp, source, rx_ns, self._seq)
        self._on_frame(frame)
        self.counters.tick(cam, "frames_out")

    def _read(self, fd: int, timeout_s: float) -> tuple[int, tuple[float, int, int, int], bytes]:
        deadline = time.monotonic() + timeout_s
        head = _read_exact(fd, HEADER.size, deadline, self._stop)
        magic, kind, pts, rx_ns, width, height, n = HEADER.unpack(head)
        if magic != MAGIC or n > max(self.config.max_compressed_bytes, self.config.max_width * self.config.max_height * 3, 1 << 20):
            raise _ChildGone
        payload = _read_exact(fd, n, deadline + 1.0, self._stop) if n else b""
        return kind, (pts, rx_ns, width, height), payload


class _Pacer:
    """Releases file frames at their presentation times (real time)."""

    def __init__(self) -> None:
        self._anchor: tuple[float, float] | None = None  # (monotonic, pts)

    def wait(self, pts: float, stop: threading.Event) -> bool:
        """Sleep until ``pts`` is due; False if stopped meanwhile."""
        now = time.monotonic()
        if not math.isfinite(pts):
            return True
        if self._anchor is None or pts < self._anchor[1]:
            self._anchor = (now, pts)
        due = self._anchor[0] + (pts - self._anchor[1])
        if now - due > MAX_PACE_LAG_S:
            self._anchor = (now, pts)
            return True
        return not stop.wait(due - now) if due > now else True


def _read_exact(fd: int, n: int, deadline: float, stop: threading.Event) -> bytes:
    chunks: list[bytes] = []
    left = n
    while left:
        wait = deadline - time.monotonic()
        if wait <= 0:
            raise _Stalled
        ready, _, _ = select.select([fd], [], [], min(wait, 0.25))
        if stop.is_set():
            raise _ChildGone
        if not ready:
            continue
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            raise _ChildGone
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)
