"""A pinhole camera over a flat floor, plus sub-pixel polygon drawing.

World coordinates: ``x`` metres to the right, ``y`` metres up from the floor,
``z`` metres ahead of the camera. The camera looks along +z from
:data:`CAMERA_HEIGHT_M`; objects therefore shrink with ``1 / z`` and their feet
rise towards the horizon, which is all the perspective the scenes need.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
import numpy.typing as npt

CAMERA_HEIGHT_M = 1.3
#: Focal length as a fraction of the frame width (about a 75 degree horizontal field of view).
FOCAL_FRACTION = 0.85
#: Horizon row as a fraction of the frame height, before pitch.
HORIZON_FRACTION = 0.42
#: Nearest depth drawn (closer geometry is clamped to this plane).
NEAR_PLANE_M = 0.6

_SHIFT = 4
_SCALE = float(1 << _SHIFT)

Colour = tuple[float, float, float]


class Camera:
    """Projects world points to pixels and draws filled shapes.

    Args:
        width: Frame width in pixels.
        height: Frame height in pixels.
        yaw: Horizontal offset of the image centre, fraction of the width.
        pitch: Vertical offset of the horizon, fraction of the height.
    """

    def __init__(self, width: int, height: int, *, yaw: float = 0.0, pitch: float = 0.0) -> None:
        self.width = width
        self.height = height
        self.f = FOCAL_FRACTION * width
        self.cx = width / 2.0 + yaw * width
        self.cy = height * HORIZON_FRACTION + pitch * height
        # Antialiasing keeps small (training-size) frames honest; large frames do not need it.
        self.line_type = cv2.LINE_AA if width <= 320 else cv2.LINE_8

    def project(self, x: float, y: float, z: float) -> tuple[float, float]:
        """Project a world point to pixel coordinates (u right, v down)."""
        z = max(z, NEAR_PLANE_M)
        return self.cx + self.f * x / z, self.cy - self.f * (y - CAMERA_HEIGHT_M) / z

    def scale(self, metres: float, z: float) -> float:
        """Pixels spanned by ``metres`` at depth ``z``."""
        return self.f * metres / max(z, NEAR_PLANE_M)

    def px(self, metres_at_160: float) -> float:
        """Scale a pixel length designed for a 160-pixel-wide frame to this frame."""
        return metres_at_160 * self.width / 160.0

    def fill_world(self, img: npt.NDArray[np.uint8], pts: Sequence[tuple[float, float, float]], colour: Colour) -> None:
        """Fill the polygon with the given world-space corners."""
        self.fill(img, [self.project(*p) for p in pts], colour)

    def fill(self, img: npt.NDArray[np.uint8], pts: Sequence[tuple[float, float]], colour: Colour) -> None:
        """Fill a convex-or-not polygon given in (sub-)pixel coordinates."""
        # Plain Python is faster than numpy for a handful of points.
        arr = np.array([[_fix(u), _fix(v)] for u, v in pts], dtype=np.int32)
        cv2.fillPoly(img, [arr], _c(colour), self.line_type, _SHIFT)

    def ellipse(
        self,
        img: npt.NDArray[np.uint8],
        centre: tuple[float, float],
        axes: tuple[float, float],
        colour: Colour,
        angle: float = 0.0,
    ) -> None:
        """Fill an ellipse given in pixel coordinates."""
        c = (round(centre[0] * _SCALE), round(centre[1] * _SCALE))
        a = (max(1, round(axes[0] * _SCALE)), max(1, round(axes[1] * _SCALE)))
        cv2.ellipse(img, c, a, angle, 0, 360, _c(colour), -1, self.line_type, _SHIFT)

    def line(
        self,
        img: npt.NDArray[np.uint8],
        p0: tuple[float, float],
        p1: tuple[float, float],
        colour: Colour,
        thickness: float = 1.0,
    ) -> None:
        """Draw a line between pixel coordinates."""
        a = (round(p0[0] * _SCALE), round(p0[1] * _SCALE))
        b = (round(p1[0] * _SCALE), round(p1[1] * _SCALE))
        cv2.line(img, a, b, _c(colour), max(1, round(thickness)), self.line_type, _SHIFT)

    def box(
        self,
        img: npt.NDArray[np.uint8],
        x: float,
        z: float,
        size: tuple[float, float, float],
        colour: Colour,
        *,
        y0: float = 0.0,
    ) -> None:
        """Draw an axis-aligned box whose front face is centred at ``x``, depth ``z``.

        Args:
            img: Frame to draw into.
            x: Centre of the box across the floor, metres.
            z: Depth of the front face, metres.
            size: ``(width, height, depth)`` in metres.
            colour: Front-face RGB; side and top faces are shaded from it.
            y0: Height of the bottom face above the floor.
        """
        w, h, d = size
        x0, x1, y1, z1 = x - w / 2, x + w / 2, y0 + h, z + d
        if x0 > 0:  # box right of the camera: its left side is visible
            self.fill_world(img, [(x0, y0, z), (x0, y0, z1), (x0, y1, z1), (x0, y1, z)], shade(colour, 0.72))
        elif x1 < 0:
            self.fill_world(img, [(x1, y0, z), (x1, y0, z1), (x1, y1, z1), (x1, y1, z)], shade(colour, 0.72))
        if y1 < CAMERA_HEIGHT_M:
            self.fill_world(img, [(x0, y1, z), (x1, y1, z), (x1, y1, z1), (x0, y1, z1)], shade(colour, 1.18))
        elif y0 > CAMERA_HEIGHT_M:
            self.fill_world(img, [(x0, y0, z), (x1, y0, z), (x1, y0, z1), (x0, y0, z1)], shade(colour, 0.6))
        self.fill_world(img, [(x0, y0, z), (x1, y0, z), (x1, y1, z), (x0, y1, z)], colour)


def shade(colour: Colour, factor: float) -> Colour:
    """Scale an RGB colour by ``factor``, clipped to 0..255."""
    return (min(255.0, colour[0] * factor), min(255.0, colour[1] * factor), min(255.0, colour[2] * factor))


def mix(a: Colour, b: Colour, t: float) -> Colour:
    """Linear blend ``(1 - t) * a + t * b``."""
    return (a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t)


def _fix(value: float) -> int:
    return round(min(1e7, max(-1e7, value)) * _SCALE)


def _c(colour: Colour) -> tuple[int, int, int]:
    return (int(colour[0]), int(colour[1]), int(colour[2]))
