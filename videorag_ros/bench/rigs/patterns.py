"""Synthetic frames the tests and benchmarks share."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt


def pattern_frame(kind: str, *, seed: int = 0, width: int = 160, height: int = 120) -> npt.NDArray[np.uint8]:
    """A synthetic RGB frame: 'disk' (red disk on white) or 'stripes' (blue/grey stripes), with noise."""
    rng = np.random.default_rng(seed)
    img = np.full((height, width, 3), 255, np.uint8)
    if kind == "disk":
        yy, xx = np.mgrid[:height, :width]
        mask = (yy - height / 2) ** 2 + (xx - width / 2) ** 2 < (min(height, width) * 0.35) ** 2
        img[mask] = (220, 30, 30)
    else:
        img[:, :] = (90, 90, 90)
        img[:, (np.arange(width) // 10) % 2 == 0] = (30, 60, 200)
    noise = rng.integers(-6, 7, img.shape)
    out: npt.NDArray[np.uint8] = np.clip(img.astype(np.int16) + noise, 0, 255).astype(np.uint8)
    return out
