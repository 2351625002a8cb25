"""Backgrounds: a corridor or a warehouse aisle, with its end-wall door.

Surfaces are drawn as depth bands whose shade falls off with distance, which
gives both a tiled-floor texture and a strong perspective cue. Background
details (ceiling lights, signs, shelf contents) come from ``detail_seed`` so
the same spec always draws the same room.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import numpy.typing as npt

from videorag_ros.sim.camera import Camera, Colour, mix, shade
from videorag_ros.sim.spec import COLOURS, SceneSpec

#: Half width of the walkable floor, metres.
HALF_WIDTH_M = {"corridor": 1.5, "warehouse": 2.0}
_CEILING_M = {"corridor": 2.7, "warehouse": 5.5}
_BANDS = (0.6, 1.2, 1.9, 2.7, 3.6, 4.7, 6.0, 7.5, 9.3, 11.5, 14.0, 17.0, 21.0, 26.0, 32.0, 40.0)
_RACK_DEPTH_M = 1.1
_BAY_M = 2.7
_RACK_LEVELS_M = (0.15, 1.6, 3.05)
_RACK_COLOURS: tuple[Colour, ...] = ((40, 70, 160), (215, 110, 30), (90, 95, 100))
_SHELF_LOADS: tuple[Colour, ...] = ((150, 105, 60), (170, 125, 75), (120, 85, 50), (200, 200, 195), (60, 90, 150))
_DOOR_WIDTH_M = 1.3
_DOOR_HEIGHT_M = 2.15


def _depth_shade(z: float) -> float:
    return 0.55 + 0.45 * math.exp(-z / 14.0)


def draw_environment(img: npt.NDArray[np.uint8], cam: Camera, spec: SceneSpec) -> None:
    """Draw walls, floor, ceiling, background details and the end-wall door.

    Args:
        img: ``(H, W, 3)`` uint8 RGB frame, overwritten.
        cam: Camera for this frame.
        spec: Scene description.
    """
    rng = np.random.default_rng(spec.detail_seed)
    env = spec.environment
    hw = HALF_WIDTH_M[env]
    ceil_h = _CEILING_M[env]
    end = spec.end_distance
    wall: Colour = tuple(float(c) for c in spec.wall_colour)  # type: ignore[assignment]
    floor: Colour = tuple(float(c) for c in spec.floor_colour)  # type: ignore[assignment]
    ceiling: Colour = tuple(float(c) for c in spec.ceiling_colour)  # type: ignore[assignment]
    side_x = hw + _RACK_DEPTH_M if env == "warehouse" else hw
    img[:] = (20, 20, 22)

    bands = [z for z in _BANDS if z < end] + [end]
    for i, (z0, z1) in enumerate(itertools.pairwise(bands)):
        s = _depth_shade(0.5 * (z0 + z1))
        checker = 1.0 if i % 2 == 0 else 0.93
        cam.fill_world(img, [(-side_x, 0, z0), (side_x, 0, z0), (side_x, 0, z1), (-side_x, 0, z1)], shade(floor, s * checker))
        cam.fill_world(img, [(-side_x, ceil_h, z0), (side_x, ceil_h, z0), (side_x, ceil_h, z1), (-side_x, ceil_h, z1)], shade(ceiling, s * 0.9))
        wall_s = shade(wall, s * (0.9 if env == "corridor" else 0.55))
        for sx in (-side_x, side_x):
            cam.fill_world(img, [(sx, 0, z0), (sx, 0, z1), (sx, ceil_h, z1), (sx, ceil_h, z0)], wall_s)
    end_colour = shade(wall, _depth_shade(end) * (0.82 if env == "corridor" else 0.7))
    cam.fill_world(img, [(-side_x, 0, end), (side_x, 0, end), (side_x, ceil_h, end), (-side_x, ceil_h, end)], end_colour)

    if env == "corridor":
        _corridor_details(img, cam, spec, rng, hw, ceil_h)
    else:
        _warehouse_details(img, cam, spec, rng, hw, ceil_h)
    if spec.door != "none":
        _door(img, cam, spec, hw)


def _corridor_details(
    img: npt.NDArray[np.uint8], cam: Camera, spec: SceneSpec, rng: np.random.Generator, hw: float, ceil_h: float
) -> None:
    end = spec.end_distance
    # Ceiling lights, every 3-4 m.
    z = float(rng.uniform(1.5, 3.5))
    spacing = float(rng.uniform(3.0, 4.2))
    while z + 1.0 < end:
        cam.fill_world(img, [(-0.25, ceil_h, z), (0.25, ceil_h, z), (0.25, ceil_h, z + 1.0), (-0.25, ceil_h, z + 1.0)], (250, 250, 238))
        z += spacing
    # Skirting boards and an optional wall stripe.
    skirting = shade(tuple(float(c) for c in spec.wall_colour), 0.45)  # type: ignore[arg-type]
    stripe_colour: Colour | None = None
    if rng.random() < 0.5:
        stripe_colour = tuple(float(c) for c in list(COLOURS.values())[int(rng.integers(len(COLOURS)))])  # type: ignore[assignment]
        stripe_colour = mix(stripe_colour, tuple(float(c) for c in spec.wall_colour), 0.4)  # type: ignore[arg-type]
    for sx in (-hw, hw):
        cam.fill_world(img, [(sx, 0, 0.6), (sx, 0, end), (sx, 0.12, end), (sx, 0.12, 0.6)], skirting)
        if stripe_colour is not None:
            cam.fill_world(img, [(sx, 0.95, 0.6), (sx, 0.95, end), (sx, 1.05, end), (sx, 1.05, 0.6)], stripe_colour)
    # Posters, signs and a fire extinguisher box on the walls.
    for _ in range(int(rng.integers(0, 4))):
        sx = hw if rng.random() < 0.5 else -hw
        z0 = float(rng.uniform(2.0, max(2.5, end - 2.0)))
        length = float(rng.uniform(0.5, 1.2))
        y0 = float(rng.uniform(1.1, 1.5))
        height = float(rng.uniform(0.4, 0.8))
        poster = tuple(float(c) for c in list(COLOURS.values())[int(rng.integers(len(COLOURS)))])
        poster = mix(poster, (235.0, 235.0, 230.0), float(rng.uniform(0.2, 0.6)))  # type: ignore[arg-type]
        cam.fill_world(img, [(sx, y0, z0), (sx, y0, z0 + length), (sx, y0 + height, z0 + length), (sx, y0 + height, z0)], poster)
    if rng.random() < 0.7:  # green exit sign hanging from the ceiling
        z_sign = float(rng.uniform(4.0, max(4.5, end - 1.0)))
        cam.fill_world(img, [(-0.3, ceil_h - 0.35, z_sign), (0.3, ceil_h - 0.35, z_sign), (0.3, ceil_h - 0.15, z_sign), (-0.3, ceil_h - 0.15, z_sign)], (30, 170, 80))
    if rng.random() < 0.5:  # a pipe along the ceiling edge
        sx = hw - 0.1 if rng.random() < 0.5 else -hw + 0.1
        cam.fill_world(img, [(sx, ceil_h - 0.15, 0.6), (sx, ceil_h - 0.15, end), (sx, ceil_h - 0.08, end), (sx, ceil_h - 0.08, 0.6)], (150, 150, 155))


def _warehouse_details(
    img: npt.NDArray[np.uint8], cam: Camera, spec: SceneSpec, rng: np.random.Generator, hw: float, ceil_h: float
) -> None:
    end = spec.end_distance
    rack = _RACK_COLOURS[int(rng.integers(len(_RACK_COLOURS)))]
    beam: Colour = (215, 110, 30) if rack != (215, 110, 30) else (40, 70, 160)
    # Yellow lane markings on the floor.
    for lx in (-hw + 0.25, hw - 0.25):
        cam.fill_world(img, [(lx - 0.05, 0, 0.6), (lx + 0.05, 0, 0.6), (lx + 0.05, 0, end), (lx - 0.05, 0, end)], (225, 190, 40))
    # Hanging lights.
    z = float(rng.uniform(2.0, 5.0))
    while z < end - 1.0:
        cu, cv = cam.project(0.0, ceil_h - 0.6, z)
        r = cam.scale(0.35, z)
        cam.ellipse(img, (cu, cv), (r, r * 0.35), (250, 248, 230))
        z += float(rng.uniform(4.0, 6.0))
    # Racks: shelf loads, then beams and uprights, far to near.
    bays = math.ceil(min(end, 24.0) / _BAY_M)
    loads = rng.random((2, bays, len(_RACK_LEVELS_M), 2))
    for bay in range(bays - 1, -1, -1):
        z0 = 0.6 + bay * _BAY_M
        if z0 >= end:
            continue
        for side_i, sign in enumerate((-1.0, 1.0)):
            for lvl_i, level in enumerate(_RACK_LEVELS_M):
                fill, pick = loads[side_i, bay, lvl_i]
                if fill < 0.25:
                    continue
                colour = _SHELF_LOADS[int(pick * len(_SHELF_LOADS))]
                bw = 0.9 + 0.4 * fill
                cx = sign * (hw + 0.15 + _RACK_DEPTH_M / 2)
                cam.box(img, cx, z0 + 0.3, (_RACK_DEPTH_M * 0.8, 1.05 * fill + 0.2, bw), shade(colour, _depth_shade(z0)), y0=level + 0.1)
            bx = sign * hw
            for level in _RACK_LEVELS_M:
                cam.fill_world(img, [(bx, level, z0), (bx, level, z0 + _BAY_M), (bx, level + 0.12, z0 + _BAY_M), (bx, level + 0.12, z0)], beam)
            for ux in (bx, bx + sign * _RACK_DEPTH_M):
                cam.fill_world(img, [(ux, 0, z0 - 0.05), (ux, 0, z0 + 0.05), (ux, 4.6, z0 + 0.05), (ux, 4.6, z0 - 0.05)], rack)
                cam.fill_world(img, [(ux - 0.04, 0, z0), (ux + 0.04, 0, z0), (ux + 0.04, 4.6, z0), (ux - 0.04, 4.6, z0)], shade(rack, 0.8))


def _door(img: npt.NDArray[np.uint8], cam: Camera, spec: SceneSpec, hw: float) -> None:
    z = spec.end_distance - 0.01
    centre = float(np.clip(spec.door_offset, -1.0, 1.0)) * (hw - _DOOR_WIDTH_M / 2 - 0.1)
    x0, x1 = centre - _DOOR_WIDTH_M / 2, centre + _DOOR_WIDTH_M / 2
    frame_w = 0.12
    leaf: Colour = tuple(float(c) for c in COLOURS.get(spec.door_colour, COLOURS["grey"]))  # type: ignore[assignment]
    frame_colour: Colour = (55, 55, 60)
    cam.fill_world(img, [(x0 - frame_w, 0, z), (x1 + frame_w, 0, z), (x1 + frame_w, _DOOR_HEIGHT_M + frame_w, z), (x0 - frame_w, _DOOR_HEIGHT_M + frame_w, z)], frame_colour)
    if spec.door == "closed":
        cam.fill_world(img, [(x0, 0, z), (x1, 0, z), (x1, _DOOR_HEIGHT_M, z), (x0, _DOOR_HEIGHT_M, z)], leaf)
        # Vision panel, kick plate and handle.
        cam.fill_world(img, [(x0 + 0.35, 1.35, z), (x1 - 0.35, 1.35, z), (x1 - 0.35, 1.85, z), (x0 + 0.35, 1.85, z)], (150, 175, 190))
        cam.fill_world(img, [(x0, 0, z), (x1, 0, z), (x1, 0.25, z), (x0, 0.25, z)], shade(leaf, 0.7))
        cam.fill_world(img, [(x1 - 0.22, 0.95, z), (x1 - 0.08, 0.95, z), (x1 - 0.08, 1.05, z), (x1 - 0.22, 1.05, z)], (220, 220, 210))
        return
    # Open: a dark room beyond, a lit floor patch, and the leaf swung towards the camera.
    cam.fill_world(img, [(x0, 0, z), (x1, 0, z), (x1, _DOOR_HEIGHT_M, z), (x0, _DOOR_HEIGHT_M, z)], (18, 18, 24))
    cam.fill_world(img, [(x0, 0, z), (x1, 0, z), (x1 - 0.2, 0.45, z), (x0 + 0.2, 0.45, z)], (70, 70, 78))
    hinge_left = centre > 0  # hinge on the wall side so the leaf stays visible
    hx = x0 if hinge_left else x1
    sign = 1.0 if hinge_left else -1.0
    angle = math.radians(75.0)
    ex = hx + sign * _DOOR_WIDTH_M * math.cos(angle)
    ez = z - _DOOR_WIDTH_M * math.sin(angle)
    cam.fill_world(img, [(hx, 0, z), (ex, 0, ez), (ex, _DOOR_HEIGHT_M, ez), (hx, _DOOR_HEIGHT_M, z)], shade(leaf, 0.85))
    cam.fill_world(img, [(ex, 0, ez), (ex + sign * 0.05, 0, ez), (ex + sign * 0.05, _DOOR_HEIGHT_M, ez), (ex, _DOOR_HEIGHT_M, ez)], shade(leaf, 0.5))

