"""preprocess: sizes, normalisation, and the two-step resize staying close to the one-step one."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from videorag_ros.core.encoder.preprocess import PreprocessSpec, _integer_factor, preprocess_batch, resize_rgb
from videorag_ros.core.errors import InputShapeError

SPEC = PreprocessSpec(96, 96, (0.5, 0.5, 0.5), (0.25, 0.25, 0.25))


@pytest.mark.parametrize(("w", "h", "k"), [(640, 480, 5), (1280, 720, 5), (1920, 1080, 10), (848, 480, 4), (97, 96, 1), (160, 120, 1)])
def test_integer_factor(w: int, h: int, k: int) -> None:
    assert _integer_factor(w, h, 96, 96) == k


def _diff_to_direct(frame: np.ndarray) -> np.ndarray:
    direct = cv2.resize(frame, (96, 96), interpolation=cv2.INTER_AREA).astype(int)
    return np.abs(resize_rgb(frame, SPEC).astype(int) - direct)


@pytest.mark.parametrize(("w", "h"), [(640, 480), (1280, 720), (848, 480)])
def test_two_step_resize_close_to_direct_on_scenes(w: int, h: int) -> None:
    from videorag_ros.sim import render, sample_scene

    frame = render(sample_scene("person_in_path", np.random.default_rng(0)), width=w, height=h)
    diff = _diff_to_direct(frame)
    assert diff.max() <= 4 and diff.mean() < 0.5


@pytest.mark.parametrize(("w", "h"), [(640, 480), (1280, 720), (848, 480)])
def test_two_step_resize_close_to_direct_on_noise(w: int, h: int) -> None:
    rng = np.random.default_rng(0)
    base = cv2.resize(rng.integers(0, 256, (h // 16, w // 16, 3), dtype=np.uint8), (w, h), interpolation=cv2.INTER_CUBIC)
    frame = np.clip(base.astype(np.int16) + rng.integers(-8, 9, base.shape), 0, 255).astype(np.uint8)
    diff = _diff_to_direct(frame)
    assert diff.mean() < 3.0 and np.percentile(diff, 99) <= 8


def test_batch_layout_and_normalisation() -> None:
    frame = np.full((48, 64, 3), 255, np.uint8)
    x = preprocess_batch([frame, frame], SPEC)
    assert x.shape == (2, 3, 96, 96) and x.dtype == np.float32 and x.flags.c_contiguous
    np.testing.assert_allclose(x, 2.0)  # (1 - 0.5) / 0.25


def test_center_crop_policy() -> None:
    frame = np.zeros((100, 200, 3), np.uint8)
    frame[:, 50:150] = 255  # the central square
    out = resize_rgb(frame, PreprocessSpec(50, 50, (0, 0, 0), (1, 1, 1), "shorter_side_center_crop"))
    assert out.shape == (50, 50, 3) and out.min() == 255


def test_bad_input() -> None:
    with pytest.raises(InputShapeError, match="expected an"):
        resize_rgb(np.zeros((10, 10), np.uint8), SPEC)
