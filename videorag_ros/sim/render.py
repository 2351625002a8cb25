"""Turn a :class:`SceneSpec` into an RGB frame.

Drawing order: room, objects (far to near), smoke, light level, camera roll,
blur, sensor noise. Everything except the sensor noise is a pure function of
the spec; the noise comes from ``rng`` (or a generator seeded from the spec).
"""

from __future__ import annotations

import functools
import logging

import cv2
import numpy as np
import numpy.typing as npt

from videorag_ros.sim.camera import Camera
from videorag_ros.sim.environment import HALF_WIDTH_M, draw_environment
from videorag_ros.sim.objects import draw_object
from videorag_ros.sim.spec import SceneSpec, distance_value, lateral_value

logger = logging.getLogger(__name__)

#: Fraction of the half width a lateral position of 1.0 reaches (objects stay off the wall).
_LATERAL_REACH = 0.85
_SMOKE_COLOUR = np.array([150, 150, 154], dtype=np.uint8)


def _u8(frame: object) -> npt.NDArray[np.uint8]:
    """View an OpenCV result as a typed uint8 array (no copy)."""
    return np.asarray(frame, dtype=np.uint8)


def object_position(spec: SceneSpec, lateral: str | float, distance: str | float) -> tuple[float, float]:
    """Return the floor position ``(x, z)`` in metres of a lateral/distance pair.

    Args:
        spec: The scene (its environment sets the floor width, its end wall the depth limit).
        lateral: Word or normalised position.
        distance: Word or metres.

    Returns:
        ``(x, z)`` with ``z`` kept in front of the end wall.
    """
    x = lateral_value(lateral) * HALF_WIDTH_M[spec.environment] * _LATERAL_REACH
    z = min(distance_value(distance), spec.end_distance - 0.6)
    return x, max(1.0, z)


def render(
    spec: SceneSpec,
    *,
    width: int = 160,
    height: int = 120,
    rng: np.random.Generator | None = None,
) -> npt.NDArray[np.uint8]:
    """Draw one frame.

    Args:
        spec: What to draw.
        width: Frame width in pixels (any size; geometry scales with the width).
        height: Frame height in pixels.
        rng: Source of sensor noise; ``None`` seeds one from ``spec.detail_seed``
            so the frame is a pure function of the spec.

    Returns:
        ``(height, width, 3)`` uint8 RGB frame.

    Raises:
        ValueError: If the size is not positive.
    """
    if width <= 0 or height <= 0:
        msg = f"frame size must be positive, got {width}x{height}"
        raise ValueError(msg)
    # The room is drawn with a level camera and cached: a live stream re-uses
    # it every frame, and camera shake is applied below as an image warp.
    cam = Camera(width, height)
    img = _room(_room_key(spec), width, height).copy()

    placed = [(obj, *object_position(spec, obj.lateral, obj.distance)) for obj in spec.objects]
    for obj, x, z in sorted(placed, key=lambda item: -item[2]):
        draw_object(img, cam, obj, x, z)

    if spec.smoke > 0.0:
        img = _smoke(img, spec)
    img = _light(img, spec)
    img = _camera_motion(img, spec)
    if spec.blur > 0.0:
        sigma = 1.6 * spec.blur * width / 160.0
        img = _u8(cv2.GaussianBlur(img, (0, 0), sigmaX=sigma))
    if spec.motion_blur > 0.0:
        length = max(2, round(6.0 * spec.motion_blur * width / 160.0))
        kernel = np.full((1, length), 1.0 / length, dtype=np.float32)
        img = _u8(cv2.filter2D(img, -1, kernel, borderType=cv2.BORDER_REFLECT))
    if spec.noise > 0.0:
        img = _noise(img, spec, rng if rng is not None else np.random.default_rng(spec.detail_seed + 99991))
    return img


_RoomKey = tuple[object, ...]


def _room_key(spec: SceneSpec) -> _RoomKey:
    return (
        spec.environment, spec.wall_colour, spec.floor_colour, spec.ceiling_colour, spec.end_distance,
        spec.door, spec.door_colour, spec.door_offset, spec.detail_seed,
    )  # fmt: skip


@functools.lru_cache(maxsize=16)
def _room(key: _RoomKey, width: int, height: int) -> npt.NDArray[np.uint8]:
    env, wall, floor, ceiling, end, door, door_colour, door_offset, seed = key
    spec = SceneSpec(
        environment=env, wall_colour=wall, floor_colour=floor, ceiling_colour=ceiling, end_distance=end,  # type: ignore[arg-type]
        door=door, door_colour=door_colour, door_offset=door_offset, detail_seed=seed,  # type: ignore[arg-type]
    )  # fmt: skip
    img = np.empty((height, width, 3), dtype=np.uint8)
    draw_environment(img, Camera(width, height), spec)
    img.flags.writeable = False
    return img


def _camera_motion(img: npt.NDArray[np.uint8], spec: SceneSpec) -> npt.NDArray[np.uint8]:
    """Apply yaw and pitch (as a shift) and roll (as a rotation) in one warp."""
    h, w = img.shape[:2]
    dx, dy = spec.yaw * w, spec.pitch * h
    if abs(spec.roll) < 0.05 and abs(dx) < 0.05 and abs(dy) < 0.05:
        return img
    matrix = cv2.getRotationMatrix2D((w / 2.0, h / 2.0), spec.roll, 1.0)
    matrix[0, 2] += dx
    matrix[1, 2] += dy
    out = _u8(cv2.warpAffine(img, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT))
    return out


def _light(img: npt.NDArray[np.uint8], spec: SceneSpec) -> npt.NDArray[np.uint8]:
    if spec.brightness == 1.0 and spec.tint == (1.0, 1.0, 1.0):
        return img
    levels = np.arange(256, dtype=np.float32)
    table = np.stack([levels * spec.brightness * t for t in spec.tint], axis=-1)
    lut = np.clip(table, 0, 255).astype(np.uint8).reshape(256, 1, 3)
    out = _u8(cv2.LUT(img, lut))
    return out


def _smoke(img: npt.NDArray[np.uint8], spec: SceneSpec) -> npt.NDArray[np.uint8]:
    h, w = img.shape[:2]
    weight = _smoke_map(spec.detail_seed, h, w) * np.float32(min(1.0, spec.smoke))
    haze = np.empty_like(img)
    haze[:] = _SMOKE_COLOUR
    out = _u8(cv2.blendLinear(img, haze, 1.0 - weight, weight))
    return out


@functools.lru_cache(maxsize=8)
def _smoke_map(seed: int, h: int, w: int) -> npt.NDArray[np.float32]:
    """Smoke opacity at full density: thickest under the ceiling, in drifting billows."""
    sh, sw = 24, 32
    rng = np.random.default_rng(seed + 7)
    alpha = np.repeat(np.linspace(0.9, 0.3, sh, dtype=np.float32)[:, None], sw, axis=1)
    yy, xx = np.ogrid[:sh, :sw]
    for _ in range(7):
        cy, cx = rng.uniform(0, sh * 0.8), rng.uniform(0, sw)
        ry, rx = rng.uniform(2.5, 6), rng.uniform(3, 9)
        sign = 1.0 if rng.random() < 0.7 else -0.6
        alpha += sign * 0.35 * np.exp(-(((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2)).astype(np.float32)
    alpha = np.clip(alpha, 0.0, 0.85)
    full = np.clip(np.asarray(cv2.resize(alpha, (w, h), interpolation=cv2.INTER_CUBIC), dtype=np.float32), 0.0, 0.85)
    full.flags.writeable = False
    return full


def _noise(img: npt.NDArray[np.uint8], spec: SceneSpec, rng: np.random.Generator) -> npt.NDArray[np.uint8]:
    h, w = img.shape[:2]
    # A fixed noise texture, cropped at a random offset and flipped at random,
    # is indistinguishable from fresh noise here and costs a tenth as much at 640x480.
    texture = _noise_texture(h, w)
    oy, ox = int(rng.integers(0, _NOISE_TILE)), int(rng.integers(0, _NOISE_TILE))
    crop = texture[oy : oy + h, ox : ox + w]
    if rng.random() < 0.5:
        crop = crop[::-1]
    if rng.random() < 0.5:
        crop = crop[:, ::-1]
    out = _u8(cv2.add(img, crop * np.float32(spec.noise), dtype=cv2.CV_8U))
    return out


_NOISE_TILE = 128
_noise_cache: dict[tuple[int, int], npt.NDArray[np.float32]] = {}


def _noise_texture(h: int, w: int) -> npt.NDArray[np.float32]:
    """Standard-normal noise of at least ``(h + tile, w + tile, 3)``, built once per size."""
    key = (-(-h // _NOISE_TILE) + 1, -(-w // _NOISE_TILE) + 1)
    if key not in _noise_cache:
        tile = np.random.default_rng(20240611).standard_normal((_NOISE_TILE, _NOISE_TILE, 3), dtype=np.float32)
        _noise_cache[key] = np.tile(tile, (key[0], key[1], 1))
    return _noise_cache[key]
