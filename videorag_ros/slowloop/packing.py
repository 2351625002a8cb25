"""Pack a request: downscaled JPEG frames as ``image_url`` data URLs, plus the text, in the chat format."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from videorag_ros.slowloop.errors import SlowLoopError
from videorag_ros.slowloop.prompts import SYSTEM


def encode_jpeg(rgb: npt.NDArray[np.uint8], quality: int = 80) -> bytes:
    """JPEG bytes of an RGB frame.

    Raises:
        SlowLoopError: OpenCV could not encode it.
    """
    import cv2

    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        msg = f"JPEG encoding of a {rgb.shape} frame failed"
        raise SlowLoopError(msg)
    return bytes(buf.tobytes())


def data_url(jpeg: bytes) -> str:
    """``data:image/jpeg;base64,...``."""
    return "data:image/jpeg;base64," + base64.b64encode(jpeg).decode("ascii")


def chat_messages(text: str, jpegs: Sequence[bytes], *, system: str = SYSTEM) -> list[dict[str, Any]]:
    """The ``messages`` of one request: the system prompt, then one user turn with the text and images.

    Args:
        text: The user text (already framed by prompts.py).
        jpegs: JPEG frames, in the order the text refers to them.
        system: The system prompt.
    """
    content: list[dict[str, Any]] = [{"type": "text", "text": text}]
    content += [{"type": "image_url", "image_url": {"url": data_url(j)}} for j in jpegs]
    return [{"role": "system", "content": system}, {"role": "user", "content": content}]


def request_bytes(messages: Sequence[dict[str, Any]]) -> int:
    """Approximate size of the request body (the data URLs dominate)."""
    n = 0
    for m in messages:
        c = m.get("content")
        if isinstance(c, str):
            n += len(c)
        elif isinstance(c, list):
            for part in c:
                n += len(part.get("text", "")) + len(part.get("image_url", {}).get("url", ""))
    return n
