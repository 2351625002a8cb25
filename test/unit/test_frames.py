"""frames: sensor_msgs encodings and CompressedImage payloads → RGB."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from test.support.images import png_declaring
from videorag_ros.core.errors import FrameError
from videorag_ros.core.frames import FrameLimits, compressed_to_rgb, raw_to_rgb

RNG = np.random.default_rng(0)
RGB = RNG.integers(0, 256, (6, 8, 3), dtype=np.uint8)


def _raw(encoding: str, arr: np.ndarray, pad: int = 0) -> dict:
    h, w = arr.shape[:2]
    rows = arr.reshape(h, -1)
    if pad:
        rows = np.concatenate([rows, np.zeros((h, pad), np.uint8)], axis=1)
    return {"encoding": encoding, "width": w, "height": h, "step": rows.shape[1], "data": rows.tobytes()}


@pytest.mark.parametrize(
    ("encoding", "arr"),
    [
        ("rgb8", RGB),  # identity
        ("bgr8", RGB[:, :, ::-1]),  # channel swap
        ("rgba8", np.dstack([RGB, np.full(RGB.shape[:2], 7, np.uint8)])),  # alpha dropped
        ("bgra8", np.dstack([RGB[:, :, ::-1], np.full(RGB.shape[:2], 7, np.uint8)])),
    ],
)
def test_packed_encodings_give_rgb(encoding: str, arr: np.ndarray) -> None:
    out = raw_to_rgb(**_raw(encoding, np.ascontiguousarray(arr)))
    assert out.shape == RGB.shape and out.dtype == np.uint8
    np.testing.assert_array_equal(out, RGB)


def test_rgb8_is_a_view_of_the_buffer_even_with_row_padding() -> None:
    fields = _raw("rgb8", RGB, pad=5)
    buf = np.frombuffer(fields.pop("data"), np.uint8)
    out = raw_to_rgb(**fields, data=buf)
    assert np.shares_memory(out, buf)
    np.testing.assert_array_equal(out, RGB)


def test_mono8_replicates_grey() -> None:
    grey = RGB[:, :, 0].copy()
    out = raw_to_rgb(**_raw("mono8", grey))
    assert out.shape == (6, 8, 3)
    for c in range(3):
        np.testing.assert_array_equal(out[:, :, c], grey)


@pytest.mark.parametrize(("encoding", "to_yuv"), [("yuv422_yuy2", cv2.COLOR_YUV2RGB_YUY2), ("yuyv", cv2.COLOR_YUV2RGB_YUY2), ("yuv422", cv2.COLOR_YUV2RGB_UYVY)])
def test_yuv422_matches_opencv(encoding: str, to_yuv: int) -> None:
    packed = RNG.integers(16, 235, (6, 8, 2), dtype=np.uint8)
    out = raw_to_rgb(**_raw(encoding, packed))
    np.testing.assert_array_equal(out, cv2.cvtColor(packed, to_yuv))


@pytest.mark.parametrize(
    ("fields", "match"),
    [
        ({"encoding": "rgb8", "width": 8, "height": 6, "step": 24, "data": b"\0" * 143}, "data length 143"),  # short buffer
        ({"encoding": "rgb8", "width": 8, "height": 6, "step": 24, "data": b"\0" * 145}, "data length 145"),  # long buffer
        ({"encoding": "rgb8", "width": 8, "height": 6, "step": 20, "data": b"\0" * 120}, "step 20 is shorter"),
        ({"encoding": "32FC1", "width": 8, "height": 6, "step": 32, "data": b"\0" * 192}, "unsupported image encoding '32FC1'"),
        ({"encoding": "rgb8", "width": 0, "height": 6, "step": 0, "data": b""}, "empty"),
        ({"encoding": "rgb8", "width": 9000, "height": 1, "step": 27000, "data": b"\0" * 27000}, "exceeds the limit"),
    ],
)
def test_bad_raw_frames_raise_frame_error(fields: dict, match: str) -> None:
    with pytest.raises(FrameError, match=match):
        raw_to_rgb(**fields)


@pytest.mark.parametrize("ext", [".jpg", ".png"])
def test_compressed_roundtrip(ext: str) -> None:
    big = cv2.resize(RGB, (64, 48), interpolation=cv2.INTER_NEAREST)
    ok, buf = cv2.imencode(ext, cv2.cvtColor(big, cv2.COLOR_RGB2BGR))
    assert ok
    out = compressed_to_rgb(fmt="jpeg" if ext == ".jpg" else "png", data=buf.tobytes())
    assert out.shape == big.shape
    tolerance = 40 if ext == ".jpg" else 0
    assert np.abs(out.astype(int) - big.astype(int)).mean() <= tolerance


@pytest.mark.parametrize(
    ("fmt", "data", "match"),
    [
        ("jpeg", b"", "empty compressed payload"),
        ("jpeg", b"\xff\xd8\xff\xe0garbage" * 10, "could not read the 110-byte 'jpeg' payload's header"),
        ("png", png_declaring(60000, 60000), "declares an oversized image"),
        ("png", png_declaring(5000, 8), "exceeds the limit 4096x4096"),
        ("tiff", b"II*\0", "unsupported compressed format"),
    ],
)
def test_bad_compressed_raise_frame_error(fmt: str, data: bytes, match: str) -> None:
    with pytest.raises(FrameError, match=match):
        compressed_to_rgb(fmt=fmt, data=data)


def test_compressed_limits() -> None:
    ok, buf = cv2.imencode(".png", np.zeros((40, 50, 3), np.uint8))
    assert ok
    with pytest.raises(FrameError, match="exceeds max_compressed_bytes"):
        compressed_to_rgb(fmt="png", data=buf.tobytes(), limits=FrameLimits(max_compressed_bytes=10))
    with pytest.raises(FrameError, match="exceeds the limit"):
        compressed_to_rgb(fmt="png", data=buf.tobytes(), limits=FrameLimits(max_width=49))


def test_bgr8_view_preprocesses_exactly_like_contiguous_rgb() -> None:
    from videorag_ros.core.encoder.preprocess import PreprocessSpec, preprocess_batch

    big = np.random.default_rng(3).integers(0, 256, (480, 640, 3), dtype=np.uint8)
    view = raw_to_rgb(**_raw("bgr8", np.ascontiguousarray(big[:, :, ::-1])))
    assert view.strides[2] < 0  # the zero-copy channel-reversed view
    # 32x24 is an exact factor; 96x96 goes through the two-step resize: both must match.
    for spec in (PreprocessSpec(24, 32, (0.5, 0.5, 0.5), (0.25, 0.25, 0.25)), PreprocessSpec(96, 96, (0.5, 0.5, 0.5), (0.25, 0.25, 0.25))):
        np.testing.assert_array_equal(preprocess_batch([view], spec), preprocess_batch([np.ascontiguousarray(big)], spec))


# --- issue 11: only the claimed codec, checked before decoding --------------------------------------
def _jpeg(rgb: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    assert ok
    return buf.tobytes()


@pytest.mark.parametrize(("ext", "name"), [(".jp2", "JPEG 2000"), (".bmp", "BMP"), (".tif", "TIFF"), (".png", "PNG")])
def test_a_payload_in_another_format_than_its_label_is_refused_undecoded(ext: str, name: str) -> None:
    ok, buf = cv2.imencode(ext, np.zeros((64, 64, 3), np.uint8))
    assert ok
    with pytest.raises(FrameError, match=f"payload is {name}, but the message says 'jpeg'"):
        compressed_to_rgb(fmt="jpeg", data=buf.tobytes())


@pytest.mark.parametrize("fmt", ["16UC1; png compressed", "16UC1; compressedDepth", "32FC1; compressedDepth png"])
def test_depth_formats_are_refused_as_not_embeddable(fmt: str) -> None:
    with pytest.raises(FrameError, match="depth / 16-bit image, not a colour frame"):
        compressed_to_rgb(fmt=fmt, data=b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)


def test_a_jpeg_with_thousands_of_scans_is_refused_before_decoding() -> None:
    good = _jpeg(np.full((16, 16, 3), 120, np.uint8))
    assert compressed_to_rgb(fmt="jpeg", data=good).shape == (16, 16, 3)
    comment = b"\xff\xda" * 100  # counted conservatively: any SOS marker bytes count as scans
    bloated = good[:2] + b"\xff\xfe" + (len(comment) + 2).to_bytes(2, "big") + comment + good[2:]
    with pytest.raises(FrameError, match=r"JPEG payload has \d+ scans \(at most 64 accepted\)"):
        compressed_to_rgb(fmt="jpeg", data=bloated)


def test_hostile_format_text_is_escaped_in_the_message() -> None:
    with pytest.raises(FrameError) as info:
        compressed_to_rgb(fmt="gif\x1b[2J", data=b"GIF89a")
    assert "\x1b" not in str(info.value) and "\\x1b[2J" in str(info.value)
