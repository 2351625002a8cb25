"""Live video sources served on 127.0.0.1 for tests and ``videorag bench ingest``: MPEG-TS over TCP or UDP
(PyAV muxes it) and MJPEG over HTTP; and a frame-index pattern that survives lossy codecs, so a
benchmark can tell which sent frame a received one is.

No RTSP server for cameras to pull from: the PyPI GStreamer wheels (gstreamer-bundle 1.28)
publish their binary parts for macOS and Windows only, so nothing pip-installable here brings
gst-rtsp-server on Linux. RTSP is exercised the other way round: ``RtspPusher`` pushes to the
bridge listening as an RTSP server (``rtsp_listen``), which runs FFmpeg's RTSP/RTP/RTCP receiving
code, the same the pulling client uses.

Each server runs on its own thread, sends synthetic frames at a fixed rate, and can be told to
stall (keep the connection, send nothing) or be stopped and started again on the same port.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable
from fractions import Fraction
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import cv2
import numpy as np


def moving_frame(i: int, width: int = 640, height: int = 480) -> np.ndarray:
    """A synthetic rgb24 frame: a grey gradient with a white square moving one step per frame."""
    img = np.empty((height, width, 3), np.uint8)
    img[:] = (np.arange(width, dtype=np.uint16) * 255 // max(1, width - 1)).astype(np.uint8)[None, :, None]
    x = (i * 8) % max(1, width - 64)
    img[height // 2 - 32 : height // 2 + 32, x : x + 64] = 255
    return img


INDEX_BITS = 16
_BLOCK_ROWS = 32  # height of the index stripe at the top of a frame


def draw_index(rgb: np.ndarray, index: int) -> np.ndarray:
    """Write ``index`` (16 bits) into the top stripe of ``rgb`` as black/white blocks (in place; returns it)."""
    w = rgb.shape[1] // INDEX_BITS
    for bit in range(INDEX_BITS):
        rgb[:_BLOCK_ROWS, bit * w : (bit + 1) * w] = 255 if (index >> bit) & 1 else 0
    return rgb


def read_index(rgb: np.ndarray) -> int:
    """The index ``draw_index`` wrote, from a decoded (possibly scaled, lossy) frame."""
    h = max(1, rgb.shape[0] * _BLOCK_ROWS // 480 // 2)  # the middle rows of the stripe, at any scale
    w = rgb.shape[1] // INDEX_BITS
    value = 0
    for bit in range(INDEX_BITS):
        block = rgb[h // 2 : h, bit * w + w // 4 : (bit + 1) * w - w // 4]
        if float(block.mean()) > 127.0:
            value |= 1 << bit
    return value


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    """A port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _SocketFile:
    """A write-only file object over a socket, for PyAV's muxer."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock

    def write(self, data: bytes) -> int:
        self._sock.sendall(data)
        return len(data)

    def flush(self) -> None:
        pass


class StreamServer:
    """Serves MPEG-TS (H.264) over TCP to each connecting client, or pushes it to a UDP port.

    ``stall()`` stops sending (the connection stays open); ``resume()`` continues; ``stop()`` /
    ``start()`` close and reopen the server on the same port.
    """

    def __init__(self, *, proto: str = "tcp", port: int | None = None, fps: float = 15.0, width: int = 640, height: int = 480,
                 indexed: bool = False, on_sent: Callable[[int, int], None] | None = None) -> None:  # fmt: skip
        """Create the server (``start`` serves).

        Args:
            proto: ``tcp`` (listen; each client gets its own stream) or ``udp`` (push to ``port``).
            port: Port on 127.0.0.1 (a free one by default).
            fps: Frame rate.
            width: Frame width.
            height: Frame height.
            indexed: Draw each frame's index (``draw_index``).
            on_sent: Called with ``(index, time.time_ns())`` as each frame is handed to the encoder.
        """
        self.indexed, self.on_sent = indexed, on_sent
        self.proto, self.fps, self.width, self.height = proto, fps, width, height
        self.port = port or free_port(socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM)
        self.url = f"{proto}://127.0.0.1:{self.port}"
        self.sent = 0
        self._running = threading.Event()
        self._stalled = threading.Event()
        self._thread: threading.Thread | None = None
        self._listener: socket.socket | None = None

    def start(self) -> StreamServer:
        """Start serving."""
        self._running.set()
        if self.proto == "tcp":
            self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self._listener.bind(("127.0.0.1", self.port))
            self._listener.listen(4)
            self._listener.settimeout(0.2)
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Close the server and every connection."""
        self._running.clear()
        if self._thread is not None:
            self._thread.join(5.0)
        if self._listener is not None:
            self._listener.close()
            self._listener = None

    def stall(self) -> None:
        """Stop sending frames; connections stay open."""
        self._stalled.set()

    def resume(self) -> None:
        """Send frames again."""
        self._stalled.clear()

    def _serve(self) -> None:
        if self.proto == "udp":
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                self._stream(_DatagramFile(s, self.port))
            return
        assert self._listener is not None
        while self._running.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._client, args=(conn,), daemon=True).start()

    def _client(self, conn: socket.socket) -> None:
        with conn, contextlib.suppress(OSError):
            self._stream(_SocketFile(conn))

    def _stream(self, sink: Any) -> None:
        import av

        # Write each packet out at once (a camera does): PyAV's default 32 KiB I/O buffer would hold
        # frames back until it fills.
        out = av.open(sink, "w", format="mpegts", options={"flush_packets": "1"}, buffer_size=4096)
        try:
            st = out.add_stream("libx264", rate=Fraction(self.fps).limit_denominator(1000), options={"tune": "zerolatency", "preset": "ultrafast", "g": str(int(self.fps))})
            st.width, st.height, st.pix_fmt = self.width, self.height, "yuv420p"
            i, t_next = 0, time.monotonic()
            while self._running.is_set():
                t_next += 1 / self.fps
                time.sleep(max(0.0, t_next - time.monotonic()))
                if self._stalled.is_set():
                    continue
                rgb = moving_frame(i, self.width, self.height)
                if self.indexed:
                    draw_index(rgb, i % (1 << INDEX_BITS))
                frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
                frame.pts = i
                if self.on_sent is not None:
                    self.on_sent(i, time.time_ns())
                for packet in st.encode(frame):
                    out.mux(packet)
                i += 1
                self.sent += 1
        finally:
            with contextlib.suppress(OSError, ValueError, av.error.FFmpegError):
                out.close()


class RtspPusher:
    """Pushes H.264 over RTSP (ANNOUNCE/RECORD, interleaved TCP) to a listening RTSP server, e.g. the bridge
    with ``rtsp_listen``; FFmpeg's RTP muxer sends RTCP sender reports, so the receiver learns our clock."""

    def __init__(self, url: str, *, fps: float = 15.0, width: int = 640, height: int = 480, connect_timeout_s: float = 20.0,
                 indexed: bool = False, on_sent: Callable[[int, int], None] | None = None) -> None:  # fmt: skip
        """Create the pusher (``start`` connects, retrying until the server listens; ``indexed``/``on_sent`` as for ``StreamServer``)."""
        self.url, self.fps, self.width, self.height, self.connect_timeout_s = url, fps, width, height, connect_timeout_s
        self.indexed, self.on_sent = indexed, on_sent
        self.sent = 0
        self.error = ""
        self._running = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> RtspPusher:
        """Start pushing on a thread."""
        self._running.set()
        self._thread = threading.Thread(target=self._push, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop pushing."""
        self._running.clear()
        if self._thread is not None:
            self._thread.join(5.0)

    def _push(self) -> None:
        # Like a robot's streamer: connect (retrying while the server is not listening yet), push
        # until the connection fails, then connect again; give up only if no connection ever worked.
        end = time.monotonic() + self.connect_timeout_s
        i = 0
        while self._running.is_set() and (self.sent or time.monotonic() < end):
            try:
                i = self._session(i)
            except (OSError, ValueError) as err:  # FFmpeg's errors are OSErrors too
                self.error = str(err)
                time.sleep(0.2)

    def _session(self, i: int) -> int:
        import av

        out = av.open(self.url, "w", format="rtsp", options={"rtsp_transport": "tcp"})
        try:
            st = out.add_stream("libx264", rate=Fraction(self.fps).limit_denominator(1000), options={"tune": "zerolatency", "preset": "ultrafast", "g": str(int(self.fps))})
            st.width, st.height, st.pix_fmt = self.width, self.height, "yuv420p"
            t_next = time.monotonic()
            pts = 0
            while self._running.is_set():
                t_next += 1 / self.fps
                time.sleep(max(0.0, t_next - time.monotonic()))
                rgb = moving_frame(i, self.width, self.height)
                if self.indexed:
                    draw_index(rgb, i % (1 << INDEX_BITS))
                frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
                frame.pts = pts
                if self.on_sent is not None:
                    self.on_sent(i, time.time_ns())
                for packet in st.encode(frame):
                    out.mux(packet)
                i, pts = i + 1, pts + 1
                self.sent += 1
        finally:
            with contextlib.suppress(OSError, ValueError):
                out.close()
        return i


class _DatagramFile:
    """MPEG-TS over UDP: 7 TS packets (1316 bytes) per datagram, like FFmpeg's udp output."""

    def __init__(self, sock: socket.socket, port: int) -> None:
        self._sock, self._port, self._buf = sock, port, b""

    def write(self, data: bytes) -> int:
        self._buf += data
        while len(self._buf) >= 1316:
            with contextlib.suppress(OSError):  # nobody listening (yet): UDP drops it, as a camera's stream would be
                self._sock.sendto(self._buf[:1316], ("127.0.0.1", self._port))
            self._buf = self._buf[1316:]
        return len(data)

    def flush(self) -> None:
        pass


class MjpegServer:
    """An HTTP MJPEG camera (``multipart/x-mixed-replace``) on 127.0.0.1, like most IP cameras serve."""

    def __init__(self, *, fps: float = 15.0, width: int = 640, height: int = 480) -> None:
        """Create and start the server at ``self.url``."""
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "multipart/x-mixed-replace;boundary=frame")
                self.end_headers()
                i, t_next = 0, time.monotonic()
                try:
                    while server.running:
                        t_next += 1 / fps
                        time.sleep(max(0.0, t_next - time.monotonic()))
                        ok, jpg = cv2.imencode(".jpg", moving_frame(i, width, height)[:, :, ::-1])
                        assert ok
                        data = jpg.tobytes()
                        self.wfile.write(b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: " + str(len(data)).encode() + b"\r\n\r\n" + data + b"\r\n")
                        server.sent += 1
                        i += 1
                except OSError:
                    pass

            def log_message(self, *args: Any) -> None:
                pass

        self.running, self.sent = True, 0
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}/video.mjpg"
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()

    def stop(self) -> None:
        """Stop serving."""
        self.running = False
        self._httpd.shutdown()
        self._httpd.server_close()
