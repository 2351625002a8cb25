"""Image preprocessing shared by training, export and every run-time backend.

One function turns an RGB uint8 frame into the float tensor an image encoder
expects, so the demo model is trained on exactly what the robot will feed it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import cv2
import numpy as np
import numpy.typing as npt

from videorag_ros.core.errors import InputShapeError

RESIZE_POLICIES = ("stretch", "shorter_side_center_crop")


@dataclass(frozen=True, slots=True)
class PreprocessSpec:
    """How a frame becomes an encoder input.

    Attributes:
        height: Encoder input height in pixels.
        width: Encoder input width in pixels.
        mean: Per-channel mean (RGB order) on the 0..1 scale.
        std: Per-channel standard deviation (RGB order) on the 0..1 scale.
        resize: ``"stretch"`` keeps the whole field of view (a person at the
            frame edge is never cropped away); ``"shorter_side_center_crop"``
            is the CLIP convention.
    """

    height: int
    width: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    resize: str = "stretch"


def resize_rgb(rgb: npt.NDArray[np.uint8], spec: PreprocessSpec) -> npt.NDArray[np.uint8]:
    """Resize an ``(H, W, 3)`` uint8 RGB frame to the encoder's input size.

    Args:
        rgb: ``(H, W, 3)`` uint8 frame, RGB order.
        spec: Target size and resize policy.

    Returns:
        ``(spec.height, spec.width, 3)`` uint8 RGB.

    Raises:
        InputShapeError: If the frame is not ``(H, W, 3)`` uint8 with H, W > 0.
    """
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8 or 0 in rgb.shape:
        msg = f"expected an (H, W, 3) uint8 RGB frame, got shape {rgb.shape} dtype {rgb.dtype}"
        raise InputShapeError(msg)
    h, w = rgb.shape[:2]
    if spec.resize == "shorter_side_center_crop":
        scale = max(spec.height / h, spec.width / w)
        new_h, new_w = max(spec.height, round(h * scale)), max(spec.width, round(w * scale))
        rgb = _resize(rgb, new_w, new_h)
        top, left = (new_h - spec.height) // 2, (new_w - spec.width) // 2
        return rgb[top : top + spec.height, left : left + spec.width]
    return _resize(rgb, spec.width, spec.height)


def _resize(rgb: npt.NDArray[np.uint8], width: int, height: int) -> npt.NDArray[np.uint8]:
    if rgb.shape[0] == height and rgb.shape[1] == width:
        return rgb
    if rgb.strides[2] < 0 and rgb[:, :, ::-1].flags.c_contiguous:
        # A bgr8 message arrives as a channel-reversed view; OpenCV would copy the whole
        # frame first (3x the cost). Resizing is per channel, so resize the contiguous BGR
        # buffer the same way and flip the small result: the same numbers, a third of the time.
        return np.ascontiguousarray(_resize(rgb[:, :, ::-1], width, height)[:, :, ::-1])
    # INTER_AREA is the right filter for the large downscales cameras need. OpenCV has a fast
    # path for exact integer factors; taking the largest one that fits first (640x480 -> 128x96)
    # and the remainder second costs 0.4 ms instead of 1.0 ms for 640x480 -> 96x96. On scene
    # content it is within 3 grey levels of the one-step result, on pixel noise within ~2 on
    # average; test_preprocess checks both bounds and the embedding agreement.
    k = _integer_factor(rgb.shape[1], rgb.shape[0], width, height)
    if k > 1:
        rgb = cast("npt.NDArray[np.uint8]", cv2.resize(rgb, (rgb.shape[1] // k, rgb.shape[0] // k), interpolation=cv2.INTER_AREA))
    return cast("npt.NDArray[np.uint8]", cv2.resize(rgb, (width, height), interpolation=cv2.INTER_AREA))


def _integer_factor(src_w: int, src_h: int, dst_w: int, dst_h: int) -> int:
    """Largest k dividing both source sides with the k-reduced image still >= the target."""
    limit = min(src_w // dst_w, src_h // dst_h)
    return next((k for k in range(limit, 1, -1) if src_w % k == 0 and src_h % k == 0), 1)


def preprocess_batch(frames: list[npt.NDArray[np.uint8]], spec: PreprocessSpec) -> npt.NDArray[np.float32]:
    """Turn RGB frames into one normalised NCHW float32 batch.

    Args:
        frames: ``(H, W, 3)`` uint8 RGB frames of any size.
        spec: Preprocessing recipe from the model manifest.

    Returns:
        ``(N, 3, spec.height, spec.width)`` float32, ``(x / 255 - mean) / std``.
    """
    batch = np.stack([resize_rgb(f, spec) for f in frames]).astype(np.float32)
    batch *= 1.0 / 255.0
    batch -= np.asarray(spec.mean, dtype=np.float32)
    batch /= np.asarray(spec.std, dtype=np.float32)
    return np.ascontiguousarray(batch.transpose(0, 3, 1, 2))
