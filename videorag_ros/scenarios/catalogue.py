"""The standard scenarios: procedural camera sequences with the events they contain.

Each scenario is a scripted sequence of :mod:`videorag_ros.sim` (one room, a
robot camera standing still with a little shake) plus what a trigger must do with it.
Ground truth comes from the renderer: every frame's scene class, and the moment the
sequence's script starts its event (``onset``, the fraction of the sequence stated in
:mod:`videorag_ros.sim.sequences`: the person starts walking in, the pallet
starts falling, the smoke starts thickening). An event runs from that onset to the
last frame of its class; everything before the onset is a negative segment, as is all
of a control sequence.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from videorag_ros.scenarios.annotations import Annotation, ScenarioError, build_annotation
from videorag_ros.sim import SEQUENCE_KINDS, sequence

#: The scene class of every frame before an event's onset.
QUIET_CLASS = "empty_corridor"
DEFAULT_TOPIC = "/camera/front/image_raw"


@dataclass(frozen=True, slots=True)
class ScenarioSpec:
    """One catalogue entry.

    Attributes:
        name: Scenario (and bag) name.
        sequence: Sequence kind in :data:`SEQUENCE_KINDS`.
        seed: Seed of the room, shake and noise.
        description: One line for ``videorag scenario list``.
        event: Name of the event, None for a control (nothing may fire).
        trigger: Trigger that must fire for the event (a name in config/scenarios.yaml).
        event_class: Scene class that marks the event in the renderer's ground truth.
        onset: Fraction of the sequence at which the script starts the event.
    """

    name: str
    sequence: str
    seed: int
    description: str
    event: str | None = None
    trigger: str | None = None
    event_class: str | None = None
    onset: float | None = None


CATALOGUE: dict[str, ScenarioSpec] = {
    s.name: s
    for s in (
        ScenarioSpec(
            "person_steps_in",
            "person_steps_in",
            0,
            "empty corridor; at 40 % a person walks in from the left and stands in the robot's path",
            event="person_in_path",
            trigger="person_ahead",
            event_class="person_in_path",
            onset=0.4,
        ),
        ScenarioSpec(
            "pallet_falls",
            "pallet_falls",
            0,
            "empty warehouse aisle; at 40 % a pallet drops from the right-hand rack and tips over in the aisle",
            event="pallet_fell",
            trigger="pallet_in_aisle",
            event_class="pallet_in_aisle",
            onset=0.4,
        ),
        ScenarioSpec(
            "smoke_appears",
            "smoke_appears",
            0,
            "empty corridor; from 35 % smoke thickens to full density at 75 %",
            event="smoke",
            trigger="smoke",
            event_class="smoke_or_fire",
            onset=0.35,
        ),
        ScenarioSpec("empty_control", "empty_control", 0, "control: empty corridor with slow light changes, flicker and camera shake"),
        ScenarioSpec("empty_control_seed1", "empty_control", 1, "control: another corridor (seed 1), light changes, flicker and shake"),
    )
}
#: What ``videorag scenario make --all`` writes: one scenario per trigger and two controls.
STANDARD_SET: tuple[str, ...] = ("person_steps_in", "pallet_falls", "smoke_appears", "empty_control", "empty_control_seed1")


def get_spec(name: str) -> ScenarioSpec:
    """The catalogue entry of a scenario.

    Raises:
        ScenarioError: Unknown name (the message lists the catalogue).
    """
    if name not in CATALOGUE:
        msg = f"unknown scenario '{name}'; the catalogue has {', '.join(CATALOGUE)}"
        raise ScenarioError(msg)
    return CATALOGUE[name]


def frame_stamps(n_frames: int, fps: float, first_stamp_ns: int) -> list[int]:
    """Stamps of ``n_frames`` frames at ``fps`` from ``first_stamp_ns`` (no drift: ``i / fps``)."""
    return [first_stamp_ns + round(i * 1e9 / fps) for i in range(n_frames)]


def render(spec: ScenarioSpec, *, seconds: float, fps: float, width: int, height: int) -> Iterator[tuple[npt.NDArray[np.uint8], str]]:
    """Render a scenario's frames lazily: ``(rgb, scene class)`` per frame.

    Raises:
        ScenarioError: A non-positive length, rate or size.
    """
    if seconds <= 0 or fps <= 0 or width < 16 or height < 16:
        msg = f"scenario '{spec.name}': need seconds > 0, fps > 0 and a frame of at least 16x16; got {seconds} s, {fps} fps, {width}x{height}"
        raise ScenarioError(msg)
    if spec.sequence not in SEQUENCE_KINDS:
        msg = f"scenario '{spec.name}': sequence '{spec.sequence}' is not one of {SEQUENCE_KINDS}"
        raise ScenarioError(msg)
    n = max(2, round(seconds * fps))
    return sequence(spec.sequence, n_frames=n, fps=fps, width=width, height=height, seed=spec.seed)


def annotate(
    spec: ScenarioSpec,
    classes: Sequence[str],
    *,
    fps: float,
    first_stamp_ns: int,
    topic: str = DEFAULT_TOPIC,
    source_extra: dict[str, object] | None = None,
    stamps: Sequence[int] | None = None,
) -> Annotation:
    """The sidecar of a rendered scenario, from its per-frame ground truth.

    Args:
        spec: The scenario.
        classes: Scene class of every frame, in order.
        fps: Frame rate the frames were rendered (and are stamped) at.
        first_stamp_ns: Stamp of the first frame.
        topic: Camera topic of the bag.
        source_extra: More ``source`` fields (size, encoding).
        stamps: The frames' real stamps, for a live stream (default: ``i / fps`` from the first).

    Raises:
        ScenarioError: The frames contradict the catalogue (something other than an
            empty scene before the onset, or the event's class never shows up: the
            sequence is too short).
    """
    n = len(classes)
    times = [(s - first_stamp_ns) * 1e-9 for s in stamps] if stamps is not None else [i / fps for i in range(n)]
    events: list[tuple[str, str, float, float]] = []
    negatives: list[tuple[float, float]] = []
    if spec.onset is None or spec.event is None or spec.trigger is None or spec.event_class is None:
        quiet_until = n
    else:
        k = math.ceil(spec.onset * n - 1e-9)
        hits = [i for i in range(k, n) if classes[i] == spec.event_class]
        if not hits:
            msg = f"scenario '{spec.name}': no '{spec.event_class}' frame after the onset in {n} frames; render a longer sequence"
            raise ScenarioError(msg)
        events.append((spec.event, spec.trigger, times[k], times[hits[-1]]))
        quiet_until = k
    odd = [i for i in range(quiet_until) if classes[i] != QUIET_CLASS]
    if odd:
        msg = f"scenario '{spec.name}': frame {odd[0]} before the onset is '{classes[odd[0]]}', expected '{QUIET_CLASS}'; the catalogue and the sequence script disagree"
        raise ScenarioError(msg)
    if quiet_until > 0:
        negatives.append((0.0, times[quiet_until - 1]))
    source = {"kind": "procedural", "sequence": spec.sequence, "seed": spec.seed, **(source_extra or {})}
    return build_annotation(
        scenario=spec.name,
        description=spec.description,
        source=source,
        topics=[topic],
        fps=fps,
        frames=n,
        first_stamp_ns=first_stamp_ns,
        duration_s=times[-1],
        events=events,
        negatives=negatives,
    )
