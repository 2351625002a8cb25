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
from videorag_ros.core.printable import printable

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


DEFAULT_LIMITS = FrameLimits()


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
        msg = f"unsupported image encoding '{printable(encoding, max_chars=80)}'; supported: {', '.join(SUPPORTED_ENCODINGS)}"
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


# Magic numbers of the two codecs we decode, and of the formats most often mislabelled as them.
_MAGIC = {"jpeg": (b"\xff\xd8\xff",), "png": (b"\x89PNG\r\n\x1a\n",)}
_OTHER_MAGIC = (
    (b"\x00\x00\x00\x0cjP  \r\n\x87\n", "JPEG 2000"),
    (b"\xff\x4f\xff\x51", "JPEG 2000 codestream"),
    (b"GIF8", "GIF"),
    (b"BM", "BMP"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"RIFF", "RIFF (WebP?)"),
    (b"\x00\x00\x80?", "SPIDER"),
)
# A baseline JPEG has one scan, a progressive one about ten; thousands of scans make a small
# file decode for seconds (every scan revisits every coefficient).
MAX_JPEG_SCANS = 64
# Source encodings of CompressedImage that hold depth or 16-bit data, not a colour picture.
_NOT_COLOUR = ("16uc1", "16sc1", "32fc1", "mono16", "16u", "32f", "64f")


def claimed_codec(fmt: str) -> str:
    """The codec a CompressedImage ``format`` names: ``"jpeg"`` or ``"png"``.

    Accepts image_transport's forms: ``jpeg``, ``png``, ``rgb8; jpeg compressed bgr8``,
    ``bgr8; png compressed bgr8``.

    Raises:
        FrameError: Depth (``compressedDepth``, 16-bit or float sources) or an unsupported codec.
    """
    f = fmt.lower()
    source = f.split(";", 1)[0].strip() if ";" in f else ""
    if "compresseddepth" in f or source in _NOT_COLOUR:
        msg = f"compressed format '{printable(fmt, max_chars=80)}' is a depth / 16-bit image, not a colour frame; nothing to embed"
        raise FrameError(msg)
    if "png" in f:
        return "png"
    if "jpeg" in f or "jpg" in f:
        return "jpeg"
    msg = f"unsupported compressed format '{printable(fmt, max_chars=80)}'; expected jpeg or png"
    raise FrameError(msg)


def _what_it_is(head: bytes) -> str:
    for codec, magics in _MAGIC.items():
        if head.startswith(magics):
            return codec.upper()
    for magic, name in _OTHER_MAGIC:
        if head.startswith(magic):
            return name
    return f"unknown data (first bytes {head[:8].hex(' ')})"


def _check_header(buf: npt.NDArray[np.uint8], codec: str, fmt: str, limits: FrameLimits) -> None:
    """Check magic bytes, declared dimensions and (JPEG) scan count *before* decoding.

    A few hundred bytes can declare a 60000 x 60000 image or be a JPEG 2000 file labelled
    'jpeg' that costs half a second to decode; decoding first would let one message allocate
    gigabytes or stall the robot. OpenCV picks its decoder from the bytes and has no
    header-only read, so the magic is checked here and Pillow's lazy ``Image.open``, limited to
    the claimed format, reads the size. Pillow's format plugins raise many exception types on
    hostile bytes; at this boundary every one of them means "not a valid image".
    """
    from PIL import Image

    shown = printable(fmt, max_chars=80)
    head = buf[:16].tobytes()
    if not head.startswith(_MAGIC[codec]):
        msg = f"payload is {_what_it_is(head)}, but the message says '{shown}'; only the claimed format is decoded"
        raise FrameError(msg)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # our own limits decide, just below
            with Image.open(io.BytesIO(buf.tobytes()), formats=["JPEG" if codec == "jpeg" else "PNG"]) as im:
                width, height = im.size
    except Image.DecompressionBombError as err:
        msg = f"'{shown}' payload declares an oversized image: {err}"
        raise FrameError(msg) from err
    except Exception as err:  # third-party decoder on hostile bytes: any failure is a bad image
        msg = f"could not read the {buf.size}-byte '{shown}' payload's header (corrupt or truncated image): {type(err).__name__}: {printable(str(err), max_chars=120)}"
        raise FrameError(msg) from err
    _check_dims(width, height, limits)
    if codec == "jpeg":
        scans = buf.tobytes().count(b"\xff\xda")  # SOS markers; 0xFF in entropy data is always stuffed with 0x00
        if scans > MAX_JPEG_SCANS:
            msg = f"JPEG payload has {scans} scans (at most {MAX_JPEG_SCANS} accepted): too costly to decode"
            raise FrameError(msg)


def compressed_to_rgb(
    *,
    fmt: str,
    data: bytes | bytearray | memoryview | npt.NDArray[np.uint8],
    limits: FrameLimits = FrameLimits(),
) -> RGBFrame:
    """Decode a sensor_msgs/CompressedImage payload (JPEG or PNG) to RGB.

    Only the codec the ``format`` field names is decoded, and only after its magic bytes,
    declared size and (JPEG) scan count pass (``_check_header``).

    Args:
        fmt: The message's ``format`` field (``"jpeg"``, ``"png"``, ``"bgr8; jpeg compressed bgr8"``).
        data: Compressed bytes.
        limits: Size limits (payload bytes and decoded dimensions).

    Returns:
        ``(H, W, 3)`` uint8 RGB.

    Raises:
        FrameError: Depth or unsupported format, oversized payload, bytes of another format,
            or bytes that do not decode.
    """
    codec = claimed_codec(fmt)
    buf = np.frombuffer(data, dtype=np.uint8) if not isinstance(data, np.ndarray) else data.reshape(-1)
    if buf.size == 0:
        msg = f"empty compressed payload (format '{printable(fmt, max_chars=80)}')"
        raise FrameError(msg)
    if buf.size > limits.max_compressed_bytes:
        msg = f"compressed payload of {buf.size} bytes exceeds max_compressed_bytes {limits.max_compressed_bytes}"
        raise FrameError(msg)
    _check_header(buf, codec, fmt, limits)
    try:
        bgr = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    except cv2.error as err:
        msg = f"could not decode {buf.size} bytes as {codec.upper()}: {printable(str(err), max_chars=120)}"
        raise FrameError(msg) from err
    if bgr is None:
        msg = f"could not decode {buf.size} bytes as '{printable(fmt, max_chars=80)}' (corrupt or truncated image)"
        raise FrameError(msg)
    _check_dims(bgr.shape[1], bgr.shape[0], limits)
    return bgr_to_rgb(bgr)
