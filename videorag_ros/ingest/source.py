"""What a ``--source`` names: a network stream, a file or a V4L2 device, checked before anything opens it."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from videorag_ros.ingest.errors import SourceError

# URL scheme -> source kind. rtsps is RTSP over TLS.
_SCHEMES = {"rtsp": "rtsp", "rtsps": "rtsp", "http": "http", "https": "http", "tcp": "tcp", "udp": "udp"}
KINDS = ("rtsp", "http", "tcp", "udp", "file", "device")
MAX_SOURCE_CHARS = 2048


@dataclass(frozen=True, slots=True)
class Source:
    """A checked source.

    Attributes:
        kind: One of ``KINDS``.
        url: What FFmpeg opens (a URL, or an absolute path for files and devices).
        live: True for everything but files: frames come at the source's pace, it can drop
            and come back, and it is reconnected with backoff.
    """

    kind: str
    url: str
    live: bool

    def describe(self) -> str:
        """The source for a log line: kind and URL without credentials, control characters escaped."""
        return f"{self.kind} {redact(self.url)!r}"


def redact(url: str) -> str:
    """``url`` with any ``user:password@`` replaced by ``***@`` (RTSP cameras carry credentials in URLs)."""
    parts = urlsplit(url)
    if parts.scheme and "@" in parts.netloc:
        return url.replace(parts.netloc, "***@" + parts.netloc.rsplit("@", 1)[1], 1)
    return url


def parse_source(text: str) -> Source:
    """Check a source string: ``rtsp://``, ``http(s)://`` (MJPEG, HLS), ``tcp://``, ``udp://``, a file or ``/dev/videoN``.

    Files must be regular files (not FIFOs, sockets or devices: a FIFO would block the decoder
    forever); ``/dev/video*`` must be a character device.

    Raises:
        SourceError: Empty, too long, unknown scheme, missing file, or a file of the wrong kind.
    """
    if not text or len(text) > MAX_SOURCE_CHARS or any(ord(c) < 32 for c in text):
        msg = f"source {text[:80]!r} is empty, longer than {MAX_SOURCE_CHARS} characters or has control characters; expected a URL, a file or /dev/videoN"
        raise SourceError(msg)
    scheme = urlsplit(text).scheme.lower()
    if scheme in _SCHEMES:
        parts = urlsplit(text)
        if not parts.hostname:
            msg = f"source {redact(text)[:120]!r} has no host; expected e.g. {scheme}://127.0.0.1:8554/stream"
            raise SourceError(msg)
        return Source(_SCHEMES[scheme], text, live=True)
    if scheme and len(scheme) > 1:  # "C:" style drive letters are not ours to care about
        msg = f"source scheme '{scheme}' is not supported; expected one of {', '.join(sorted(_SCHEMES))}, a file or /dev/videoN"
        raise SourceError(msg)
    path = Path(text).expanduser()
    try:
        st = os.stat(path)
    except OSError as err:
        msg = f"source file {str(path)[:200]!r} cannot be read ({err.strerror}); expected a video file, a URL or /dev/videoN"
        raise SourceError(msg) from err
    if str(path).startswith("/dev/video"):
        if not stat.S_ISCHR(st.st_mode):
            msg = f"source {str(path)!r} is not a character device (a V4L2 camera is /dev/videoN)"
            raise SourceError(msg)
        return Source("device", str(path), live=True)
    if not stat.S_ISREG(st.st_mode):
        msg = f"source {str(path)[:200]!r} is not a regular file (a FIFO, socket or device would block the decoder); pass a video file"
        raise SourceError(msg)
    return Source("file", str(path.resolve()), live=False)
