"""A real HTTP server on 127.0.0.1 that answers like a failing Qdrant REST API: 500s, 429s, or nothing in time."""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FaultServer:
    """``mode``: ``500`` (Qdrant's internal-error body), ``429`` (rate limited), ``hang`` (answers after ``hang_s``)."""

    def __init__(self, mode: str, *, hang_s: float = 5.0) -> None:
        """Start serving on a free port of 127.0.0.1."""
        self.mode, self.hang_s = mode, hang_s
        self.requests: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                outer.requests.append(f"{self.command} {self.path}")
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                if outer.mode == "hang":
                    time.sleep(outer.hang_s)
                code = 429 if outer.mode == "429" else 500
                error = "Too many requests" if code == 429 else "Service internal error: No space left on device (os error 28)"
                body = json.dumps({"status": {"error": error}, "time": 0.0001}).encode()
                try:
                    self.send_response(code)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass  # the client gave up (timeout)

            do_GET = do_PUT = do_POST = do_DELETE = _answer

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()


def closed_port_url() -> str:
    """A URL on 127.0.0.1 where nothing listens (connection refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"
