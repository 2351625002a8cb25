"""The WebSocket door's wire protocol: a JSON hello, binary JPEG frames with a small header, JSON events back.

1. The client sends one text message within ``hello_timeout_s``:
   ``{"type": "hello", "version": 1, "client": "<id>", "token": "<token>"}``. The server answers
   ``{"type": "welcome", "client", "topic", "max_frame_bytes"}`` or closes the connection with
   one of the ``CLOSE_*`` codes and a reason.
2. Each frame is one binary message: ``FRAME_HEADER`` (magic ``VRF1``, version, flags, length of
   the client id, capture stamp in ns since the epoch, sequence number), the client id (UTF-8),
   then the JPEG bytes. The id must be the one the connection said hello with.
3. The server sends trigger events as text: ``{"type": "trigger", "trigger", "state", "camera",
   "score", "threshold", "stamp_ns", "latency_ms", "frame_seq", "actions"}``.

Why binary and not base64 in JSON: ``videorag bench ingest`` measures both (README "Measured"):
base64 makes every frame a third larger on the wire (1.33×), and packing plus parsing a 52 KB
frame took 481 µs against 5 µs for the 24-byte header, for no gain (the header is as easy to
read in a browser with a ``DataView``).
"""

from __future__ import annotations

import io
import json
import re
import struct
import warnings
from dataclasses import dataclass
from typing import Any

from videorag_ros.ingest.errors import ProtocolError
from videorag_ros.ingest.frame import is_jpeg

VERSION = 1
FRAME_MAGIC = b"VRF1"
FRAME_HEADER = struct.Struct("<4sBBHqQ")
CLIENT_ID = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
MAX_HELLO_BYTES = 4096
# Close codes (4000-4999 are the application's).
CLOSE_BAD_HELLO = 4400
CLOSE_AUTH = 4401
CLOSE_ID_IN_USE = 4409
CLOSE_TOO_MANY = 4429
CLOSE_BAD_FRAMES = 4422
CLOSE_IDLE = 4408
CLOSE_SLOW_READER = 4410


@dataclass(frozen=True, slots=True)
class WireFrame:
    """One parsed frame message."""

    client: str
    stamp_ns: int
    seq: int
    jpeg: bytes


def check_client_id(client: Any) -> str:
    """Check a client id: lower-case letters, digits and '_', starting with a letter (a valid ROS name part).

    Raises:
        ProtocolError: Not a string or not of that form.
    """
    if not isinstance(client, str) or not CLIENT_ID.match(client):
        msg = f"client id {str(client)[:70]!r} is not valid; expected [a-z][a-z0-9_]* of at most 63 characters (it becomes a ROS topic name)"
        raise ProtocolError(msg)
    return client


def hello_message(client: str, token: str) -> str:
    """The client's first message."""
    return json.dumps({"type": "hello", "version": VERSION, "client": check_client_id(client), "token": token})


def parse_hello(text: str | bytes) -> tuple[str, str]:
    """``(client, token)`` from a hello message.

    Raises:
        ProtocolError: Not a JSON hello of our version, or a bad client id.
    """
    if not isinstance(text, str) or len(text) > MAX_HELLO_BYTES:
        msg = f"the first message must be a JSON text hello of at most {MAX_HELLO_BYTES} bytes, got a {type(text).__name__} of {len(text)}"
        raise ProtocolError(msg)
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as err:
        msg = f"hello is not JSON ({err.msg} at {err.pos})"
        raise ProtocolError(msg) from err
    if not isinstance(obj, dict) or obj.get("type") != "hello" or obj.get("version") != VERSION:
        msg = f"expected {{'type': 'hello', 'version': {VERSION}, ...}}, got {str(obj)[:80]!r}"
        raise ProtocolError(msg)
    token = obj.get("token")
    if not isinstance(token, str):
        msg = "hello has no 'token' string"
        raise ProtocolError(msg)
    return check_client_id(obj.get("client")), token


def pack_frame(client: str, stamp_ns: int, seq: int, jpeg: bytes) -> bytes:
    """One binary frame message."""
    cid = client.encode()
    return FRAME_HEADER.pack(FRAME_MAGIC, VERSION, 0, len(cid), stamp_ns, seq) + cid + jpeg


def parse_frame(data: bytes, *, client: str) -> WireFrame:
    """Parse and check a binary frame message from ``client``.

    Raises:
        ProtocolError: Short, wrong magic or version, another client's id, or not a JPEG.
    """
    if not isinstance(data, (bytes, bytearray)):
        msg = "expected a binary frame message, got text"
        raise ProtocolError(msg)
    if len(data) < FRAME_HEADER.size:
        msg = f"frame message of {len(data)} bytes is shorter than its {FRAME_HEADER.size}-byte header"
        raise ProtocolError(msg)
    magic, version, _flags, id_len, stamp_ns, seq = FRAME_HEADER.unpack_from(data)
    if magic != FRAME_MAGIC or version != VERSION:
        msg = f"frame header starts {bytes(data[:5])!r}; expected magic {FRAME_MAGIC!r} version {VERSION}"
        raise ProtocolError(msg)
    start = FRAME_HEADER.size + id_len
    cid = bytes(data[FRAME_HEADER.size : start]).decode("utf-8", "replace")
    if cid != client:
        msg = f"frame says client {cid[:70]!r} but this connection is {client!r}"
        raise ProtocolError(msg)
    jpeg = bytes(data[start:])
    if not is_jpeg(jpeg):
        msg = f"frame payload of {len(jpeg)} bytes is not a JPEG (starts {jpeg[:4]!r}; expected FF D8 FF)"
        raise ProtocolError(msg)
    return WireFrame(cid, stamp_ns, seq, jpeg)


def jpeg_size(jpeg: bytes) -> tuple[int, int]:
    """``(width, height)`` from a JPEG's header, without decoding it.

    Raises:
        ProtocolError: The header cannot be read.
    """
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(jpeg), formats=["JPEG"]) as im:
                return int(im.size[0]), int(im.size[1])
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError) as err:
        msg = f"could not read the JPEG header of a {len(jpeg)}-byte frame: {str(err)[:120]}"
        raise ProtocolError(msg) from err


def event_message(event: dict[str, Any]) -> str:
    """A trigger event as the text message clients receive."""
    return json.dumps({"type": "trigger", **event})
