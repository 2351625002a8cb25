"""Check a trigger set against annotated scenarios offline: score timelines and margins.

Feeds a scenario's frames through the same ``EdgePipeline`` the node runs (gate,
encoder, trigger state machines), scores *every* frame against every trigger (the
gate's choice of frames must not hide a high score), and compares with the
annotation by the one scoring rule (``score.score_run``): each event must ENTER its trigger
within ``[start, end + tolerance]``; no trigger may ENTER outside the events annotated for
it; negatives are where scores are expected to stay low. ``margins`` sums this up per trigger: how far the highest
score outside a trigger's events sits under its enter threshold, and how far the
settled event scores sit above it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from videorag_ros.core.pipeline import EdgePipeline
from videorag_ros.core.triggers import HOLD
from videorag_ros.scenarios.annotations import Annotation
from videorag_ros.scenarios.score import DEFAULT_BUDGET_S, Transition, event_windows, in_windows, score_run


@dataclass(frozen=True, slots=True)
class ScoredFrame:
    """One frame of a scenario as the pipeline saw it.

    Attributes:
        t_s: Seconds from the first frame.
        stamp_ns: The frame's stamp (the annotation's time base).
        label: Ground truth for the frame (scene class), or "".
        admitted: Whether the gate admitted it (only admitted frames drive triggers).
        scores: Score of every trigger (computed for every frame).
        transitions: ``(trigger, "ENTER" | "EXIT")`` this frame caused.
    """

    t_s: float
    label: str
    admitted: bool
    scores: dict[str, float]
    transitions: tuple[tuple[str, str], ...]
    stamp_ns: int = 0


@dataclass(frozen=True, slots=True)
class EventCheck:
    """How a trigger handled an annotated event.

    Attributes:
        name: Event name.
        trigger: Trigger that must fire.
        start_s: Event start.
        end_s: Event end.
        first_enter_s: First ENTER of the trigger inside the window, or None.
        settled_p10: 10th percentile of the trigger's score over the second half of the event.
        peak: Highest score in the event.
    """

    name: str
    trigger: str
    start_s: float
    end_s: float
    first_enter_s: float | None
    settled_p10: float
    peak: float


@dataclass(slots=True)
class ScenarioCheck:
    """Result of one scenario.

    Attributes:
        annotation: The scenario's annotation.
        frames: Every frame, scored.
        events: One entry per annotated event.
        stray_enters: ``(trigger, t_s)`` ENTERs outside the trigger's event windows.
        quiet_max: Per trigger, the highest score outside its event windows and where
            (``(score, t_s)``); the negatives are part of this.
    """

    annotation: Annotation
    frames: list[ScoredFrame]
    events: list[EventCheck] = field(default_factory=list)
    stray_enters: list[tuple[str, float]] = field(default_factory=list)
    quiet_max: dict[str, tuple[float, float]] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        """Every event fired in its window and nothing fired outside one."""
        return not self.stray_enters and all(e.first_enter_s is not None for e in self.events)


def score_frames(
    pipeline: EdgePipeline,
    frames: Iterable[tuple[npt.NDArray[np.uint8], int, str]],
    *,
    camera_id: str,
    first_stamp_ns: int,
) -> list[ScoredFrame]:
    """Run frames through the pipeline and score each one.

    Args:
        pipeline: A fresh pipeline (its trigger state starts empty).
        frames: ``(rgb, stamp_ns, label)`` in order.
        camera_id: A camera of the pipeline's config.
        first_stamp_ns: Stamp that counts as time 0.
    """
    out = []
    for seq, (rgb, stamp_ns, label) in enumerate(frames):
        result = pipeline.process(camera_id, rgb, stamp_ns, seq)
        vector = result.vector if result.vector is not None else pipeline.encoder.encode_images([rgb]).vectors[0]
        scores = pipeline.triggers.scores(vector)
        transitions = tuple((ev.trigger, ev.state) for ev in result.events if ev.state != HOLD)
        out.append(ScoredFrame((stamp_ns - first_stamp_ns) * 1e-9, label, result.vector is not None, scores, transitions, stamp_ns))
    return out


def check_scenario(annotation: Annotation, frames: Sequence[ScoredFrame], *, tolerance_s: float = DEFAULT_BUDGET_S) -> ScenarioCheck:
    """Compare scored frames with the annotation, by the one scoring rule (``score.score_run``).

    Args:
        annotation: The scenario's sidecar.
        frames: Output of ``score_frames``.
        tolerance_s: How long after an event's end its trigger may still ENTER.
    """
    check = ScenarioCheck(annotation, list(frames))
    transitions = [Transition(trigger, state, f.stamp_ns) for f in frames for trigger, state in f.transitions]
    score = score_run(annotation, transitions, budget_s=tolerance_s)
    for ev, scored in zip(sorted(annotation.events, key=lambda e: (e.segment.start_stamp_ns, e.name)), score.events, strict=True):
        seg = ev.segment
        during = [f.scores.get(ev.trigger, 0.0) for f in frames if seg.start_s <= f.t_s <= seg.end_s]
        settled = during[len(during) // 2 :] or [0.0]
        check.events.append(EventCheck(ev.name, ev.trigger, seg.start_s, seg.end_s, scored.enter_s, float(np.percentile(settled, 10)), max(during, default=0.0)))
    check.stray_enters = [(fp.trigger, fp.t_s) for fp in score.false_positives]
    windows = event_windows(annotation, tolerance_s)
    for f in frames:
        for trigger, value in f.scores.items():
            if not in_windows(windows, trigger, f.stamp_ns) and value > check.quiet_max.get(trigger, (-np.inf, 0.0))[0]:
                check.quiet_max[trigger] = (value, f.t_s)
    return check


@dataclass(frozen=True, slots=True)
class Margin:
    """How well a trigger separates its events from everything else.

    Attributes:
        trigger: Trigger name.
        enter_threshold: Its enter threshold.
        quiet_max: Highest score outside its events (all scenarios), and where (``scenario@t``).
        event_p10: Lowest settled 10th-percentile score over its events (None: no event).
        first_enter_delay_s: Longest delay from an event's start to its ENTER (None: none fired).
    """

    trigger: str
    enter_threshold: float
    quiet_max: tuple[float, str]
    event_p10: float | None
    first_enter_delay_s: float | None

    @property
    def below(self) -> float:
        """Enter threshold minus the highest score outside the events (> 0: no false hit)."""
        return self.enter_threshold - self.quiet_max[0]

    @property
    def above(self) -> float | None:
        """Settled event score minus the enter threshold (> 0: the event holds the trigger)."""
        return None if self.event_p10 is None else self.event_p10 - self.enter_threshold


def margins(checks: Sequence[ScenarioCheck], thresholds: dict[str, float]) -> list[Margin]:
    """Per trigger, the separation over a set of checked scenarios.

    Args:
        checks: Checked scenarios.
        thresholds: Enter threshold per trigger name.
    """
    out = []
    for trigger, threshold in thresholds.items():
        quiet = max(((c.quiet_max[trigger][0], f"{c.annotation.scenario}@{c.quiet_max[trigger][1]:.2f}s") for c in checks if trigger in c.quiet_max), default=(0.0, "-"))
        evs = [e for c in checks for e in c.events if e.trigger == trigger]
        delays = [e.first_enter_s - e.start_s for e in evs if e.first_enter_s is not None]
        out.append(
            Margin(
                trigger,
                threshold,
                quiet,
                min((e.settled_p10 for e in evs), default=None),
                max(delays) if delays and len(delays) == len(evs) else None,
            )
        )
    return out
