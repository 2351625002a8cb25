"""Decode camera buffers (sensor_msgs/Image and CompressedImage fields) into RGB frames.

No ROS types here: callers pass the message fields. Packed 8-bit RGB/BGR layouts come
back as zero-copy numpy views of the message buffer where the layout allows it.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from typing import Any, cast

import cv2
import numpy as np
import numpy.typing as npt

from videorag_ros.core.errors import FrameError

RGBFrame = npt.NDArray[np.uint8]


def _cvt(src: npt.NDArray[Any], code: int) -> RGBFrame:
    # OpenCV's stubs return an untyped array; uint8 in gives uint8 out.
    return cast("RGBFrame", cv2.cvtColor(src, code))


def bgr_to_rgb(bgr: npt.NDArray[Any]) -> RGBFrame:
    """An OpenCV BGR image (``imread``, ``VideoCapture``) as a contiguous RGB array."""
    return _cvt(bgr, cv2.COLOR_BGR2RGB)

# encoding -> (bytes per pixel, how to get RGB). Views need no copy.
_PACKED = {
    "rgb8": 3,
    "bgr8": 3,
    "rgba8": 4,
    "bgra8": 4,
    "mono8": 1,
    "8uc1": 1,
    "8uc3": 3,
}
_YUV422 = {
    # ROS "yuv422" is UYVY; "yuv422_yuy2" / "yuyv" are YUYV.
    "yuv422": cv2.COLOR_YUV2RGB_UYVY,
    "uyvy": cv2.COLOR_YUV2RGB_UYVY,
    "yuv422_yuy2": cv2.COLOR_YUV2RGB_YUY2,
    "yuyv": cv2.COLOR_YUV2RGB_YUY2,
}
_BAYER = {
    "bayer_rggb8": cv2.COLOR_BayerRG2RGB,
    "bayer_bggr8": cv2.COLOR_BayerBG2RGB,
    "bayer_gbrg8": cv2.COLOR_BayerGB2RGB,
    "bayer_grbg8": cv2.COLOR_BayerGR2RGB,
}
SUPPORTED_ENCODINGS = tuple(sorted([*_PACKED, *_YUV422, *_BAYER]))


@dataclass(frozen=True, slots=True)
class FrameLimits:
    """Largest frame accepted; anything bigger is rejected before decoding.

    Attributes:
        max_width: Maximum width in pixels.
        max_height: Maximum height in pixels.
        max_compressed_bytes: Maximum size of a compressed payload.
    """

    max_width: int = 4096
    max_height: int = 4096
    max_compressed_bytes: int = 16 * 1024 * 1024


def _check_dims(width: int, height: int, limits: FrameLimits) -> None:
    if width <= 0 or height <= 0:
        msg = f"image size {width}x{height} is empty; width and height must be > 0"
        raise FrameError(msg)
    if width > limits.max_width or height > limits.max_height:
        msg = (
            f"image size {width}x{height} exceeds the limit {limits.max_width}x{limits.max_height}"
            " (raise max_width / max_height if this camera is really that large)"
        )
        raise FrameError(msg)


def raw_to_rgb(
    *,
    encoding: str,
    width: int,
    height: int,
    step: int,
    data: bytes | bytearray | memoryview | npt.NDArray[np.uint8],
    limits: FrameLimits = FrameLimits(),
) -> RGBFrame:
    """Turn the fields of a sensor_msgs/Image into an ``(H, W, 3)`` uint8 RGB array.

    Args:
        encoding: ROS image encoding (``rgb8``, ``bgr8``, ``rgba8``, ``bgra8``, ``mono8``,
            ``yuv422``/``uyvy``, ``yuv422_yuy2``/``yuyv``, ``bayer_*8``).
        width: Image width in pixels.
        height: Image height in pixels.
        step: Row length in bytes (may include padding).
        data: The pixel buffer; must be exactly ``step * height`` bytes.
        limits: Size limits.

    Returns:
        ``(height, width, 3)`` uint8 RGB. For rgb8/bgr8/rgba8/bgra8 this is a view of
        ``data`` (no copy); other encodings are converted by OpenCV.

    Raises:
        FrameError: Unknown encoding, bad dimensions, or a buffer length that does not
            match ``step * height``.
    """
    enc = encoding.lower()
    _check_dims(width, height, limits)
    buf = np.frombuffer(data, dtype=np.uint8) if not isinstance(data, np.ndarray) else data.reshape(-1)
    if enc in _PACKED:
        bpp = _PACKED[enc]
    elif enc in _YUV422:
        bpp = 2
    elif enc in _BAYER:
        bpp = 1
    else:
        msg = f"unsupported image encoding '{encoding}'; supported: {', '.join(SUPPORTED_ENCODINGS)}"
        raise FrameError(msg)
    if enc in _YUV422 and width % 2:
        msg = f"'{encoding}' packs two pixels per 4 bytes, so its width must be even, got {width}"
        raise FrameError(msg)
    if enc in _BAYER and (width < 2 or height < 2):
        msg = f"'{encoding}' needs at least 2x2 pixels to demosaic, got {width}x{height}"
        raise FrameError(msg)
    if step < width * bpp:
        msg = f"step {step} is shorter than width {width} x {bpp} bytes per pixel for '{encoding}'"
        raise FrameError(msg)
    if buf.size != step * height:
        msg = f"data length {buf.size} != step {step} x height {height} = {step * height} for '{encoding}'"
        raise FrameError(msg)
    rows = np.lib.stride_tricks.as_strided(buf, shape=(height, width * bpp), strides=(step, 1))
    if enc in _YUV422:
        return _cvt(np.ascontiguousarray(rows).reshape(height, width, 2), _YUV422[enc])
    if enc in _BAYER:
        return _cvt(np.ascontiguousarray(rows), _BAYER[enc])
    pix = rows.reshape(height, width, bpp)
    if bpp == 1:
        return _cvt(np.ascontiguousarray(pix[:, :, 0]), cv2.COLOR_GRAY2RGB)
    if enc in ("bgr8", "bgra8", "8uc3"):
        return pix[:, :, 2::-1]
    return pix[:, :, :3]


def _check_header_dims(buf: npt.NDArray[np.uint8], fmt: str, limits: FrameLimits) -> None:
    """Reject an image whose header declares oversized dimensions *before* decoding it.

    A few hundred bytes of PNG or JPEG can declare a 60000 x 60000 image; decoding it first
    would allocate gigabytes on the robot. OpenCV has no header-only read for buffers, so
    Pillow's lazy ``Image.open`` (which parses the header and stops) reads the size.
    """
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # our own limits decide, just below
            with Image.open(io.BytesIO(buf.tobytes())) as im:
                width, height = im.size
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as err:
        msg = f"could not read the {buf.size}-byte '{fmt}' payload's header (corrupt or truncated image): {err}"
        raise FrameError(msg) from err
    except Image.DecompressionBombError as err:
        msg = f"'{fmt}' payload declares an oversized image: {err}"
        raise FrameError(msg) from err
    _check_dims(width, height, limits)


def compressed_to_rgb(
    *,
    fmt: str,
    data: bytes | bytearray | memoryview | npt.NDArray[np.uint8],
    limits: FrameLimits = FrameLimits(),
) -> RGBFrame:
    """Decode a sensor_msgs/CompressedImage payload (JPEG or PNG) to RGB.

    Args:
        fmt: The message's ``format`` field (``"jpeg"``, ``"png"``, ``"bgr8; jpeg compressed bgr8"``).
        data: Compressed bytes.
        limits: Size limits (payload bytes and decoded dimensions).

    Returns:
        ``(H, W, 3)`` uint8 RGB.

    Raises:
        FrameError: Unsupported format, oversized payload, or bytes that do not decode.
    """
    f = fmt.lower()
    if not any(k in f for k in ("jpeg", "jpg", "png")):
        msg = f"unsupported compressed format '{fmt}'; expected jpeg or png"
        raise FrameError(msg)
    buf = np.frombuffer(data, dtype=np.uint8) if not isinstance(data, np.ndarray) else data.reshape(-1)
    if buf.size == 0:
        msg = f"empty compressed payload (format '{fmt}')"
        raise FrameError(msg)
    if buf.size > limits.max_compressed_bytes:
        msg = f"compressed payload of {buf.size} bytes exceeds max_compressed_bytes {limits.max_compressed_bytes}"
        raise FrameError(msg)
    _check_header_dims(buf, fmt, limits)
    bgr = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    if bgr is None:
        msg = f"could not decode {buf.size} bytes as '{fmt}' (corrupt or truncated image)"
        raise FrameError(msg)
    _check_dims(bgr.shape[1], bgr.shape[0], limits)
    return bgr_to_rgb(bgr)
