"""Scripted short videos with per-frame ground truth.

Each sequence keeps one room (same walls, lights and details) and moves the
camera only a little, like a robot standing in a corridor, so consecutive
frames are temporally continuous. The ground-truth class of each frame is
:func:`scene_class` of the spec that drew it.

Scripts (``t`` is the fraction of the sequence elapsed):

- ``person_steps_in``: empty corridor until t = 0.4, then a person walks in
  from the left (``person_crossing`` while off-centre) and stands in the
  middle of the corridor (``person_in_path``) from about t = 0.55.
- ``empty_control``: an empty corridor with slow light changes, flicker and
  camera shake; always ``empty_corridor``.
- ``pallet_falls``: an empty warehouse aisle until t = 0.4, then a pallet drops
  from the right-hand rack into the aisle and tips over (``pallet_in_aisle``).
- ``smoke_appears``: an empty corridor; from t = 0.35 smoke thickens to full
  density at t = 0.75 (``smoke_or_fire`` once it is dense enough, about t = 0.5).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator

import numpy as np
import numpy.typing as npt

from videorag_ros.sim.render import render
from videorag_ros.sim.sampling import sample_scene, scene_class
from videorag_ros.sim.spec import SceneObject, SceneSpec

SEQUENCE_KINDS: tuple[str, ...] = ("person_steps_in", "empty_control", "pallet_falls", "smoke_appears")


def _base(environment: str, rng: np.random.Generator) -> SceneSpec:
    spec = sample_scene("empty_corridor", rng)
    while spec.environment != environment:
        spec = sample_scene("empty_corridor", rng)
    return dataclasses.replace(
        spec,
        brightness=float(rng.uniform(0.85, 1.15)),
        roll=0.0,
        blur=0.0,
        motion_blur=0.0,
        noise=3.0,
        end_distance=float(rng.uniform(14.0, 24.0)),
    )


def _script(kind: str, base: SceneSpec, t: float, seconds: float, variant: int) -> SceneSpec:
    """The scene at fraction ``t`` of the sequence (``seconds`` since the start)."""
    if kind == "person_steps_in":
        if t < 0.4:
            return base
        walk = min(1.0, (t - 0.4) / 0.15)
        lateral = -1.3 * (1.0 - walk)
        pose = "walking" if walk < 1.0 else "standing"
        person = SceneObject("person", lateral, 4.2, "blue", pose=pose, phase=(seconds * 1.6) % 1.0, variant=variant)
        return dataclasses.replace(base, objects=(person,))
    if kind == "empty_control":
        flicker = 0.55 if int(seconds * 4) % 13 == 5 else 1.0
        brightness = base.brightness * (1.0 + 0.3 * math.sin(2 * math.pi * seconds / 4.0)) * flicker
        return dataclasses.replace(base, brightness=brightness)
    if kind == "pallet_falls":
        if t < 0.4:
            return base
        fall = min(1.0, (t - 0.4) / 0.08)
        pose = "tipped" if fall >= 1.0 else "upright"
        pallet = SceneObject(
            "pallet", 1.15 - 0.6 * fall, 5.0, "blue", pose=pose, variant=variant * 2, elevation=1.6 * (1.0 - fall * fall)
        )
        return dataclasses.replace(base, objects=(pallet,))
    if kind == "smoke_appears":
        density = float(np.clip((t - 0.35) / 0.4, 0.0, 1.0))
        return dataclasses.replace(base, smoke=density)
    msg = f"unknown sequence kind {kind!r}; expected one of {SEQUENCE_KINDS}"
    raise ValueError(msg)


def sequence(
    kind: str,
    *,
    n_frames: int,
    fps: float,
    width: int,
    height: int,
    seed: int,
) -> Iterator[tuple[npt.NDArray[np.uint8], str]]:
    """Yield a scripted video frame by frame with its ground-truth class.

    Args:
        kind: One of :data:`SEQUENCE_KINDS`.
        n_frames: Number of frames.
        fps: Frame rate, which sets the speed of camera motion and walking.
        width: Frame width in pixels.
        height: Frame height in pixels.
        seed: Seed of the room, the camera shake and the sensor noise.

    Yields:
        ``(frame, class_name)``: ``(height, width, 3)`` uint8 RGB and its class.

    Raises:
        ValueError: For an unknown kind or a non-positive frame count or rate.
    """
    if kind not in SEQUENCE_KINDS:
        msg = f"unknown sequence kind {kind!r}; expected one of {SEQUENCE_KINDS}"
        raise ValueError(msg)
    if n_frames <= 0 or fps <= 0:
        msg = f"n_frames and fps must be positive, got {n_frames} and {fps}"
        raise ValueError(msg)
    rng = np.random.default_rng(seed)
    base = _base("warehouse" if kind == "pallet_falls" else "corridor", rng)
    variant = int(rng.integers(0, 1 << 16))
    shake = 0.012 if kind == "empty_control" else 0.003
    drift_phase = float(rng.uniform(0, 2 * math.pi))
    for i in range(n_frames):
        seconds = i / fps
        spec = _script(kind, base, i / n_frames, seconds, variant)
        spec = dataclasses.replace(
            spec,
            yaw=base.yaw + 0.01 * math.sin(0.5 * seconds + drift_phase) + float(rng.normal(0.0, shake)),
            pitch=base.pitch + 0.006 * math.sin(0.7 * seconds) + float(rng.normal(0.0, shake)),
            roll=float(rng.normal(0.0, 1.5)) if kind == "empty_control" else 0.0,
        )
        yield render(spec, width=width, height=height, rng=rng), scene_class(spec)
