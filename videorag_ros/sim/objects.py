"""Objects on the floor: people, pallets, boxes, forklifts, cones, spills, fire.

Every object is placed by its foot point ``(x, z)`` on the floor, so its size
and height in the frame follow from the camera's perspective alone.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from videorag_ros.sim.camera import Camera, Colour, mix, shade
from videorag_ros.sim.spec import COLOURS, SceneObject

_SKIN: tuple[Colour, ...] = ((238, 200, 170), (205, 160, 120), (160, 115, 80), (110, 75, 50))
_TROUSERS: tuple[Colour, ...] = ((40, 45, 70), (35, 35, 38), (90, 90, 95), (70, 60, 45))
_HAIR: tuple[Colour, ...] = ((30, 25, 20), (90, 60, 30), (160, 130, 80), (50, 50, 50))
_SPILL: dict[str, Colour] = {"water": (95, 120, 150), "oil": (25, 22, 20)}
_WOOD: Colour = (170, 125, 70)


def colour_of(name: str) -> Colour:
    """Return the RGB value of a colour name (grey for unknown names)."""
    c = COLOURS.get(name, COLOURS["grey"])
    return (float(c[0]), float(c[1]), float(c[2]))


def draw_object(img: npt.NDArray[np.uint8], cam: Camera, obj: SceneObject, x: float, z: float) -> None:
    """Draw one object with its foot point at ``(x, z)``.

    Args:
        img: Frame to draw into.
        cam: Camera for this frame.
        obj: The object.
        x: Lateral foot position, metres.
        z: Depth of the foot point, metres.
    """
    drawers = {
        "person": draw_person,
        "pallet": _pallet,
        "box": _boxes,
        "forklift": _forklift,
        "cone": _cones,
        "spill": _spill,
        "fire": _fire,
    }
    drawers[obj.kind](img, cam, obj, x, z)


def _shadow(img: npt.NDArray[np.uint8], cam: Camera, x: float, z: float, radius: float) -> None:
    u, v = cam.project(x, 0.0, z)
    r = cam.scale(radius, z)
    cam.ellipse(img, (u, v), (r, max(0.6, r * 0.25)), (35, 35, 35))


def draw_person(img: npt.NDArray[np.uint8], cam: Camera, obj: SceneObject, x: float, z: float) -> None:
    """Draw a person: legs, torso, arms and head; ``pose`` "walking" draws a stride in profile."""
    h = 1.75 * obj.size
    skin = _SKIN[obj.variant % len(_SKIN)]
    trousers = _TROUSERS[(obj.variant // 4) % len(_TROUSERS)]
    hair = _HAIR[(obj.variant // 16) % len(_HAIR)]
    shirt = colour_of(obj.colour)
    walking = obj.pose == "walking"
    _shadow(img, cam, x, z, 0.35 * obj.size)
    hip = 0.5 * h
    shoulder = 0.82 * h
    swing = math.sin(2 * math.pi * obj.phase) if walking else 0.0

    def quad(cx0: float, y0: float, cx1: float, y1: float, w0: float, w1: float, colour: Colour) -> None:
        cam.fill_world(
            img,
            [(cx0 - w0 / 2, y0, z), (cx0 + w0 / 2, y0, z), (cx1 + w1 / 2, y1, z), (cx1 - w1 / 2, y1, z)],
            colour,
        )

    if walking:
        stride = 0.32 * h * (0.55 + 0.45 * abs(swing))
        # Back leg (darker) then front leg, both from the hip.
        quad(x - stride / 2, 0.0, x, hip, 0.13 * h / 1.75, 0.16 * h / 1.75, shade(trousers, 0.75))
        quad(x + stride / 2, 0.0, x, hip, 0.13 * h / 1.75, 0.16 * h / 1.75, trousers)
        for fx in (x - stride / 2, x + stride / 2):
            quad(fx + 0.05, 0.0, fx + 0.05, 0.07, 0.24, 0.24, (30, 30, 30))
        torso_w = 0.3 * h / 1.75
        quad(x, hip - 0.03, x, shoulder, torso_w, torso_w * 1.05, shirt)
        arm = 0.22 * h * swing
        quad(x - arm, hip + 0.02 * h, x, shoulder - 0.02, 0.09, 0.1, shade(shirt, 0.8))
        quad(x - arm * 1.2, hip - 0.02 * h, x - arm * 1.2, hip + 0.04 * h, 0.08, 0.08, skin)
    else:
        leg_w = 0.14 * h / 1.75
        gap = 0.07 * h / 1.75
        for lx in (x - gap, x + gap):
            quad(lx, 0.0, lx, hip, leg_w, leg_w * 1.1, trousers)
            quad(lx, 0.0, lx, 0.07, leg_w * 1.25, leg_w * 1.25, (30, 30, 30))
        quad(x, hip - 0.04, x, shoulder, 0.36 * h / 1.75, 0.46 * h / 1.75, shirt)
        for side in (-1.0, 1.0):
            ax = x + side * 0.27 * h / 1.75
            quad(ax + side * 0.02, hip - 0.02 * h, ax, shoulder - 0.03, 0.085 * h / 1.75, 0.1 * h / 1.75, shade(shirt, 0.85))
            quad(ax + side * 0.02, hip - 0.06 * h, ax + side * 0.02, hip - 0.02 * h, 0.08 * h / 1.75, 0.08 * h / 1.75, skin)
        if obj.colour in ("yellow", "orange"):  # safety vest reflective bands
            quad(x, 0.6 * h, x, 0.63 * h, 0.4 * h / 1.75, 0.41 * h / 1.75, (225, 225, 215))
    # Neck and head.
    quad(x, shoulder - 0.01, x, shoulder + 0.04 * h, 0.07 * h / 1.75, 0.07 * h / 1.75, skin)
    hu, hv = cam.project(x, 0.905 * h, z)
    r = cam.scale(0.12 * h / 1.75, z)
    cam.ellipse(img, (hu, hv), (r * 0.85, r), skin)
    cam.ellipse(img, (hu, hv - r * 0.35), (r * 0.88, r * 0.68), hair)


def _pallet(img: npt.NDArray[np.uint8], cam: Camera, obj: SceneObject, x: float, z: float) -> None:
    load = colour_of(obj.colour)
    s = obj.size
    w, d = 1.2 * s, 1.0 * s
    load_h = (0.7 + 0.15 * (obj.variant % 4)) * s
    lift = max(0.0, obj.elevation)
    _shadow(img, cam, x, z + d / 2, 0.8 * s)
    if obj.pose == "tipped":
        # Fallen over: load spread low and wide, pallet boards standing on edge behind it.
        cam.box(img, x + 0.1, z + 0.2, (w * 1.05, 0.9 * s, 0.15 * s), _WOOD)
        for i in range(3):
            off = (i - 1) * 0.42 * s
            cam.box(img, x + off, z - 0.1 * i, (0.4 * s, 0.35 * s, 0.4 * s), shade(load, 1.0 - 0.08 * i))
        return
    cam.box(img, x, z, (w, 0.15 * s, d), _WOOD, y0=lift)
    # Dark slots between the pallet blocks.
    for off in (-0.33, 0.33):
        cam.box(img, x + off * w, z - 0.001, (0.22 * w, 0.08 * s, 0.01), (40, 30, 20), y0=lift + 0.02)
    if obj.variant % 2 == 0:
        cam.box(img, x, z + 0.05, (w * 0.95, load_h, d * 0.9), load, y0=lift + 0.15 * s)
        # Stretch-wrap highlight band.
        cam.box(img, x, z + 0.049, (w * 0.95, 0.06 * s, 0.01), mix(load, (255.0, 255.0, 255.0), 0.4), y0=lift + 0.15 * s + load_h * 0.6)
    else:
        for row in range(2):
            for col in (-0.25, 0.25):
                cam.box(img, x + col * w, z + 0.05, (w * 0.46, load_h / 2 - 0.02, d * 0.9), shade(load, 1.0 - 0.06 * row), y0=lift + 0.15 * s + row * load_h / 2)


def _spread(obj: SceneObject, x: float, z: float, spacing: float) -> list[tuple[float, float]]:
    """Positions of ``count`` items around ``(x, z)``, far first."""
    rng = np.random.default_rng(obj.variant * 7919 + obj.count)
    pts = [(x, z)]
    for i in range(1, obj.count):
        angle = rng.uniform(0, 2 * math.pi)
        r = spacing * (0.8 + 0.25 * i)
        pts.append((x + r * math.cos(angle), max(1.5, z + 0.8 * r * math.sin(angle))))
    return sorted(pts, key=lambda p: -p[1])


def _boxes(img: npt.NDArray[np.uint8], cam: Camera, obj: SceneObject, x: float, z: float) -> None:
    base = colour_of(obj.colour)
    rng = np.random.default_rng(obj.variant)
    for bx, bz in _spread(obj, x, z, 0.65 * obj.size):
        size = obj.size * float(rng.uniform(0.4, 0.6))
        height = size * float(rng.uniform(0.7, 1.0))
        colour = shade(base, float(rng.uniform(0.85, 1.1)))
        _shadow(img, cam, bx, bz + size / 2, size * 0.8)
        cam.box(img, bx, bz, (size, height, size), colour)
        # Packing tape across the top and down the front.
        cam.box(img, bx, bz, (size * 0.14, 0.005, size), (225, 210, 170), y0=height)
        cam.box(img, bx, bz - 0.002, (size * 0.14, height * 0.3, 0.001), (225, 210, 170), y0=height * 0.7)


def _forklift(img: npt.NDArray[np.uint8], cam: Camera, obj: SceneObject, x: float, z: float) -> None:
    body = colour_of(obj.colour)
    s = obj.size
    dark: Colour = (35, 35, 38)
    _shadow(img, cam, x, z + 1.0 * s, 1.1 * s)
    # Counterweight body and seat area behind the mast.
    cam.box(img, x, z + 0.6 * s, (1.1 * s, 1.0 * s, 1.6 * s), body, y0=0.25 * s)
    # Wheels.
    for wx in (-0.5 * s, 0.5 * s):
        u, v = cam.project(x + wx, 0.28 * s, z + 0.65 * s)
        r = cam.scale(0.28 * s, z + 0.65 * s)
        cam.ellipse(img, (u, v), (r * 0.45, r), dark)
    # Overhead guard: four posts and a roof.
    for px in (-0.5 * s, 0.5 * s):
        cam.box(img, x + px, z + 0.7 * s, (0.07 * s, 1.0 * s, 0.07 * s), dark, y0=1.25 * s)
    cam.box(img, x, z + 0.7 * s, (1.1 * s, 0.06 * s, 1.2 * s), dark, y0=2.2 * s)
    # Mast (two rails) and forks in front.
    for mx in (-0.3 * s, 0.3 * s):
        cam.box(img, x + mx, z + 0.45 * s, (0.1 * s, 2.4 * s, 0.1 * s), (60, 60, 64))
    cam.box(img, x, z + 0.44 * s, (0.75 * s, 0.1 * s, 0.05 * s), (60, 60, 64), y0=0.9 * s)
    for fx in (-0.22 * s, 0.22 * s):
        cam.box(img, x + fx, z - 0.6 * s, (0.1 * s, 0.05 * s, 1.05 * s), (70, 70, 74), y0=0.08 * s)
    # Warning light on the roof.
    u, v = cam.project(x, 2.35 * s, z + 0.9 * s)
    r = cam.scale(0.09 * s, z)
    cam.ellipse(img, (u, v), (r, r), (250, 160, 30))


def _cones(img: npt.NDArray[np.uint8], cam: Camera, obj: SceneObject, x: float, z: float) -> None:
    colour = colour_of(obj.colour)
    s = obj.size * 1.1
    for cx, cz in _spread(obj, x, z, 0.7):
        _shadow(img, cam, cx, cz, 0.3 * s)
        cam.box(img, cx, cz - 0.17 * s, (0.4 * s, 0.04 * s, 0.4 * s), shade(colour, 0.8))
        cam.fill_world(img, [(cx - 0.15 * s, 0.04, cz), (cx + 0.15 * s, 0.04, cz), (cx + 0.025 * s, 0.75 * s, cz), (cx - 0.025 * s, 0.75 * s, cz)], colour)
        cam.fill_world(img, [(cx - 0.11 * s, 0.3 * s, cz), (cx + 0.11 * s, 0.3 * s, cz), (cx + 0.075 * s, 0.45 * s, cz), (cx - 0.075 * s, 0.45 * s, cz)], (240, 240, 240))


def _spill(img: npt.NDArray[np.uint8], cam: Camera, obj: SceneObject, x: float, z: float) -> None:
    colour = _SPILL.get(obj.colour) or colour_of(obj.colour)
    rng = np.random.default_rng(obj.variant)
    s = obj.size
    blobs = [(x, z, 0.75 * s, 0.55 * s)]
    for _ in range(3):
        blobs.append((x + float(rng.uniform(-0.6, 0.6)) * s, z + float(rng.uniform(-0.4, 0.5)) * s, float(rng.uniform(0.3, 0.55)) * s, float(rng.uniform(0.25, 0.45)) * s))
    for bx, bz, rx, rz in blobs:
        u, v = cam.project(bx, 0.0, bz)
        ax = cam.scale(rx, bz)
        # Depth extent rz seen from camera height h at distance z: about f * h * rz / z^2.
        ay = max(0.8, cam.f * 1.3 * rz / (bz * bz))
        cam.ellipse(img, (u, v), (ax, ay), colour)
    u, v = cam.project(x - 0.15 * s, 0.0, z)
    cam.ellipse(img, (u, v), (cam.scale(0.22 * s, z), max(0.6, cam.f * 0.25 * s / (z * z))), mix(colour, (255.0, 255.0, 255.0), 0.55))


def _fire(img: npt.NDArray[np.uint8], cam: Camera, obj: SceneObject, x: float, z: float) -> None:
    rng = np.random.default_rng(obj.variant * 31 + int(obj.phase * 997))
    s = obj.size
    # Charred base, then red, orange and yellow tongues of flame.
    cam.box(img, x, z, (0.9 * s, 0.15 * s, 0.6 * s), (45, 35, 30))
    layers: tuple[tuple[Colour, float, float], ...] = (((215, 45, 20), 1.0, 1.0), ((250, 140, 25), 0.75, 0.75), ((255, 230, 90), 0.45, 0.45))
    for colour, wf, hf in layers:
        n = 5
        pts: list[tuple[float, float, float]] = [(x - 0.5 * s * wf, 0.1, z)]
        for i in range(n):
            tx = x - 0.45 * s * wf + (i + 0.5) * 0.9 * s * wf / n
            th = (0.6 + 0.8 * float(rng.random())) * s * hf
            pts.append((tx - 0.06 * s * wf, 0.3 * s * hf, z))
            pts.append((tx, th, z))
        pts.append((x + 0.5 * s * wf, 0.1, z))
        cam.fill_world(img, pts, colour)
