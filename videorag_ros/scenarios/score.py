"""Score a run against a scenario's annotation: which events fired their trigger, what fired where it should not.

The input is the annotation (``scenario.yaml``) and the trigger transitions of one run
(ENTER / EXIT with the stamp of the frame that caused them), from ``videorag run --bag``'s
report (``run_frames``) or from a live Monitor after mapping the stamps back to the bag's
(see ``videorag bench replay``). Stamps must be in the annotation's time base: the
recorded ``header.stamp`` of the frames.

Rules, per trigger:

- An event is **detected** when its trigger ENTERs within ``[start, end + budget_s]``; its
  **time to trigger** is that first ENTER's frame time minus the event's start. A trigger
  still active at the event's start from an ENTER that detected an earlier event of the
  same trigger also counts (``carried``: time to trigger 0), since the robot is stopped.
- An ENTER outside every such window of its trigger is a **false positive**; one inside a
  negative segment is marked as such. A trigger with no annotated events may never ENTER.
- Recall = detected events / events; precision = detected events / (detected events +
  false positives), both counted per event, so a trigger that flickers (EXIT, ENTER again)
  inside one event's window is neither rewarded nor punished (``repeat_enters`` counts it).
- The verdict passes when every event is detected and there is no false positive;
  ``reasons`` says what failed, in words.

Times in the results are seconds from the scenario's first frame.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from videorag_ros.core.triggers import ENTER, EXIT, HOLD
from videorag_ros.scenarios.annotations import Annotation, ScenarioError

#: How long after an event's last frame its trigger may still ENTER: N-of-M debounce at the
#: gate's admission rate plus processing (the live tier's tolerance too). Not a latency claim.
DEFAULT_BUDGET_S = 1.0
_STATES = (ENTER, EXIT, HOLD)
#: Stamps closer than this are the same instant (sidecar times are rounded to the µs; a
#: report's float seconds carry ~0.2 µs of rounding at epoch-scale stamps).
_SLACK_NS = 1_000_000


@dataclass(frozen=True, slots=True)
class Transition:
    """A trigger state change as a consumer saw it.

    Attributes:
        trigger: Trigger name.
        state: ``ENTER`` or ``EXIT`` (``HOLD`` is accepted and ignored).
        stamp_ns: Stamp of the frame that caused it, in the annotation's time base.
        camera_id: Camera of that frame ("" when unknown).
    """

    trigger: str
    state: str
    stamp_ns: int
    camera_id: str = ""


@dataclass(frozen=True, slots=True)
class EventScore:
    """How one annotated event was handled.

    Attributes:
        name: Event name.
        trigger: Trigger that had to fire.
        start_s: Event start.
        end_s: Event end.
        deadline_s: Latest ENTER that counts (``end + budget``).
        enter_s: The ENTER that detected it (None: missed).
        time_to_trigger_s: ``enter_s - start_s`` (0 when carried; None: missed).
        carried: Detected because the trigger was still active from an earlier event.
        exit_s: When the span that detected it ended (None: missed, or active at the end of the run).
        repeat_enters: Further ENTERs of the trigger inside the window (flicker).
    """

    name: str
    trigger: str
    start_s: float
    end_s: float
    deadline_s: float
    enter_s: float | None
    time_to_trigger_s: float | None
    carried: bool = False
    exit_s: float | None = None
    repeat_enters: int = 0

    @property
    def detected(self) -> bool:
        """The trigger fired for this event in time."""
        return self.enter_s is not None


@dataclass(frozen=True, slots=True)
class FalsePositive:
    """An ENTER outside every event window of its trigger.

    Attributes:
        trigger: Trigger name.
        t_s: Frame time of the ENTER.
        camera_id: Camera of the frame.
        negative: Index of the negative segment it fell in, or None.
    """

    trigger: str
    t_s: float
    camera_id: str
    negative: int | None


@dataclass(frozen=True, slots=True)
class Counts:
    """Event-level counts and the precision / recall they give.

    Attributes:
        events: Annotated events.
        detected: Events whose trigger fired in time.
        false_positives: ENTERs outside every event window of their trigger.
    """

    events: int = 0
    detected: int = 0
    false_positives: int = 0

    @property
    def recall(self) -> float | None:
        """Detected / events; None without events."""
        return self.detected / self.events if self.events else None

    @property
    def precision(self) -> float | None:
        """Detected / (detected + false positives); None when nothing fired and nothing was due."""
        fired = self.detected + self.false_positives
        return self.detected / fired if fired else None

    def __add__(self, other: Counts) -> Counts:
        """Sum of two counts."""
        return Counts(self.events + other.events, self.detected + other.detected, self.false_positives + other.false_positives)


@dataclass(frozen=True, slots=True)
class ScenarioScore:
    """One run scored against its annotation.

    Attributes:
        scenario: Scenario name.
        budget_s: How long after an event's end its trigger may ENTER.
        events: One entry per annotated event, in start order.
        false_positives: Stray ENTERs, in time order.
        per_trigger: Counts per trigger (every trigger that was annotated, asked for or fired).
        time_to_trigger_s: Per trigger, the times to trigger of its detected events.
        reasons: What failed, in words (empty: passed).
    """

    scenario: str
    budget_s: float
    events: tuple[EventScore, ...]
    false_positives: tuple[FalsePositive, ...]
    per_trigger: Mapping[str, Counts]
    time_to_trigger_s: Mapping[str, tuple[float, ...]]
    reasons: tuple[str, ...] = field(default=())

    @property
    def passed(self) -> bool:
        """Every event detected and no false positive."""
        return not self.reasons

    @property
    def counts(self) -> Counts:
        """Counts over all triggers."""
        total = Counts()
        for c in self.per_trigger.values():
            total = total + c
        return total

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form."""
        total = self.counts
        return {
            "scenario": self.scenario,
            "budget_s": self.budget_s,
            "passed": self.passed,
            "reasons": list(self.reasons),
            "events": total.events,
            "detected": total.detected,
            "false_positives": total.false_positives,
            "precision": total.precision,
            "recall": total.recall,
            "event_scores": [
                {
                    "name": e.name,
                    "trigger": e.trigger,
                    "start_s": e.start_s,
                    "end_s": e.end_s,
                    "deadline_s": e.deadline_s,
                    "detected": e.detected,
                    "enter_s": e.enter_s,
                    "time_to_trigger_s": e.time_to_trigger_s,
                    "carried": e.carried,
                    "exit_s": e.exit_s,
                    "repeat_enters": e.repeat_enters,
                }
                for e in self.events
            ],
            "false_positive_enters": [{"trigger": f.trigger, "t_s": f.t_s, "camera": f.camera_id, "negative": f.negative} for f in self.false_positives],
            "per_trigger": {
                t: {
                    "events": c.events,
                    "detected": c.detected,
                    "false_positives": c.false_positives,
                    "precision": c.precision,
                    "recall": c.recall,
                    "time_to_trigger_s": list(self.time_to_trigger_s.get(t, ())),
                }
                for t, c in self.per_trigger.items()
            },
        }


@dataclass(slots=True)
class _Span:
    """One ENTER of a (trigger, camera) and the EXIT that ended it."""

    enter_ns: int
    camera_id: str
    exit_ns: int | None = None
    matched: bool = False


def _spans(transitions: Sequence[Transition]) -> dict[str, list[_Span]]:
    """Per trigger, the active spans in ENTER order (state is per trigger and camera)."""
    out: dict[str, list[_Span]] = {}
    open_: dict[tuple[str, str], _Span] = {}
    for tr in transitions:
        key = (tr.trigger, tr.camera_id)
        if tr.state == ENTER:
            span = _Span(tr.stamp_ns, tr.camera_id)
            out.setdefault(tr.trigger, []).append(span)
            open_[key] = span
        elif tr.state == EXIT and key in open_:
            open_.pop(key).exit_ns = tr.stamp_ns
    return out


def _window(start_ns: int, end_ns: int, budget_s: float) -> tuple[int, int]:
    return start_ns - _SLACK_NS, end_ns + round(budget_s * 1e9) + _SLACK_NS


def event_windows(annotation: Annotation, budget_s: float = DEFAULT_BUDGET_S) -> dict[str, list[tuple[int, int]]]:
    """Per trigger, the stamp windows ``[start, end + budget_s]`` (ns) of its events: where it may ENTER."""
    windows: dict[str, list[tuple[int, int]]] = {}
    for ev in annotation.events:
        windows.setdefault(ev.trigger, []).append(_window(ev.segment.start_stamp_ns, ev.segment.end_stamp_ns, budget_s))
    return windows


def in_windows(windows: Mapping[str, Sequence[tuple[int, int]]], trigger: str, stamp_ns: int) -> bool:
    """Whether ``trigger`` may ENTER at ``stamp_ns`` (inside one of its event windows)."""
    return any(lo <= stamp_ns <= hi for lo, hi in windows.get(trigger, ()))


def score_run(annotation: Annotation, transitions: Iterable[Transition], *, budget_s: float = DEFAULT_BUDGET_S, triggers: Sequence[str] = ()) -> ScenarioScore:
    """Score a run's trigger transitions against its annotation.

    Args:
        annotation: The scenario's sidecar.
        transitions: ENTER / EXIT (HOLD ignored) of the run, any order; stamps in the
            annotation's time base (the frames' recorded ``header.stamp``).
        budget_s: How long after an event's end its trigger may still ENTER (>= 0).
        triggers: Triggers to report even if they neither fired nor were annotated (e.g.
            every trigger of the parameter file).

    Returns:
        The score; ``passed`` when every event was detected and nothing fired outside one.

    Raises:
        ScenarioError: A negative or non-finite budget, or a state other than ENTER / EXIT / HOLD.
    """
    if not (math.isfinite(budget_s) and budget_s >= 0):
        msg = f"budget_s must be a finite number of seconds >= 0, got {budget_s!r}"
        raise ScenarioError(msg)
    items = sorted(transitions, key=lambda tr: tr.stamp_ns)
    for tr in items:
        if tr.state not in _STATES:
            msg = f"transition of '{tr.trigger}' has state {tr.state!r}; expected one of {', '.join(_STATES)}"
            raise ScenarioError(msg)
    spans = _spans(items)

    def t_s(stamp_ns: int) -> float:
        return round(annotation.time_s(stamp_ns), 6)

    def window(ev_start: int, ev_end: int) -> tuple[int, int]:
        return _window(ev_start, ev_end, budget_s)

    events = sorted(annotation.events, key=lambda e: (e.segment.start_stamp_ns, e.name))
    windows = event_windows(annotation, budget_s)
    for trig, ss in spans.items():
        for sp in ss:
            sp.matched = in_windows(windows, trig, sp.enter_ns)

    scored: list[EventScore] = []
    reasons: list[str] = []
    for ev in events:
        seg = ev.segment
        lo, hi = window(seg.start_stamp_ns, seg.end_stamp_ns)
        inside = [sp for sp in spans.get(ev.trigger, []) if lo <= sp.enter_ns <= hi]
        carried_from = [sp for sp in spans.get(ev.trigger, []) if sp.matched and sp.enter_ns < lo and (sp.exit_ns is None or sp.exit_ns > seg.start_stamp_ns)]
        deadline = round(seg.end_s + budget_s, 6)
        missed = EventScore(ev.name, ev.trigger, seg.start_s, seg.end_s, deadline, enter_s=None, time_to_trigger_s=None)
        if inside:
            first = inside[0]
            delay_s = max(0.0, round((first.enter_ns - seg.start_stamp_ns) * 1e-9, 6))
            exit_s = None if first.exit_ns is None else t_s(first.exit_ns)
            scored.append(replace(missed, enter_s=t_s(first.enter_ns), time_to_trigger_s=delay_s, exit_s=exit_s, repeat_enters=len(inside) - 1))
        elif carried_from:
            sp = carried_from[-1]
            exit_s = None if sp.exit_ns is None else t_s(sp.exit_ns)
            scored.append(replace(missed, enter_s=t_s(sp.enter_ns), time_to_trigger_s=0.0, carried=True, exit_s=exit_s))
        else:
            scored.append(missed)
            stray = [sp for sp in spans.get(ev.trigger, []) if sp.enter_ns < lo and (sp.exit_ns is None or sp.exit_ns > seg.start_stamp_ns)]
            why = f" (it was already active from a stray ENTER at {t_s(stray[-1].enter_ns):.2f} s)" if stray else ""
            reasons.append(
                f"event '{ev.name}' ({seg.start_s:.2f}-{seg.end_s:.2f} s): '{ev.trigger}' never ENTERed within [{seg.start_s:.2f}, {deadline:.2f}] s{why}"
            )

    false_pos: list[FalsePositive] = []
    for trig, ss in spans.items():
        for sp in ss:
            if sp.matched:
                continue
            neg = next((i for i, n in enumerate(annotation.negatives) if n.start_stamp_ns - _SLACK_NS <= sp.enter_ns <= n.end_stamp_ns + _SLACK_NS), None)
            false_pos.append(FalsePositive(trig, t_s(sp.enter_ns), sp.camera_id, neg))
    false_pos.sort(key=lambda f: (f.t_s, f.trigger))
    for fp in false_pos:
        cam = f" (camera {fp.camera_id})" if fp.camera_id else ""
        if fp.negative is not None:
            n = annotation.negatives[fp.negative]
            reasons.append(f"'{fp.trigger}' ENTERed at {fp.t_s:.2f} s{cam} during negative segment {n.start_s:.2f}-{n.end_s:.2f} s")
        elif fp.trigger in windows:
            reasons.append(f"'{fp.trigger}' ENTERed at {fp.t_s:.2f} s{cam}, outside its events' windows (start to end + {budget_s:g} s)")
        else:
            reasons.append(f"'{fp.trigger}' ENTERed at {fp.t_s:.2f} s{cam}; no event in this scenario is annotated for it")

    names = list(dict.fromkeys([*triggers, *(e.trigger for e in events), *spans]))
    per_trigger = {
        n: Counts(
            events=sum(1 for e in scored if e.trigger == n),
            detected=sum(1 for e in scored if e.trigger == n and e.detected),
            false_positives=sum(1 for f in false_pos if f.trigger == n),
        )
        for n in names
    }
    ttt = {n: tuple(e.time_to_trigger_s for e in scored if e.trigger == n and e.time_to_trigger_s is not None) for n in names}
    return ScenarioScore(annotation.scenario, budget_s, tuple(scored), tuple(false_pos), per_trigger, ttt, tuple(reasons))


def total_counts(scores: Iterable[ScenarioScore]) -> dict[str, Counts]:
    """Counts per trigger summed over several scored runs (a scenario set), plus ``"all"``.

    Returns:
        ``{trigger: Counts, ..., "all": Counts}``.
    """
    out: dict[str, Counts] = {}
    total = Counts()
    for s in scores:
        for trig, c in s.per_trigger.items():
            out[trig] = out.get(trig, Counts()) + c
            total = total + c
    out["all"] = total
    return out


def transitions_from_report(report: Mapping[str, Any]) -> list[Transition]:
    """The ENTER / EXIT transitions of a ``run_frames`` report (``videorag run --report``).

    Uses each entry's ``stamp_ns`` when present, else its ``stamp`` in seconds.

    Raises:
        ScenarioError: The report has no ``triggers`` list, or an entry lacks its fields.
    """
    entries = report.get("triggers")
    if not isinstance(entries, list):
        msg = "run report has no 'triggers' list; is it the output of 'videorag run --report'?"
        raise ScenarioError(msg)
    out = []
    for i, e in enumerate(entries):
        try:
            stamp_ns = int(e["stamp_ns"]) if "stamp_ns" in e else round(float(e["stamp"]) * 1e9)
            out.append(Transition(str(e["name"]), str(e["state"]), stamp_ns, str(e.get("camera", ""))))
        except (KeyError, TypeError, ValueError) as err:
            msg = f"run report triggers[{i}] needs name, state and stamp (or stamp_ns): {e!r}"
            raise ScenarioError(msg) from err
    return out
