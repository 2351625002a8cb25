"""Scenario annotations: the YAML sidecar that says what happens in a bag, and when.

A scenario bag (rosbag2, mcap) carries camera frames; its sidecar ``scenario.yaml``
(inside the bag directory) names the scenario, where the frames came from, the
camera topic(s) and frame rate, the **events** (each with the trigger that must fire
for it) and the **negative** segments (where no trigger may fire). Times are seconds
from the first frame; absolute stamps (``*_stamp_ns``, the frames' ``header.stamp``)
are stored too, so a replay that keeps the recorded stamps can be checked directly.

Example sidecar::

    format_version: 1
    scenario: person_steps_in
    source: {kind: procedural, sequence: person_steps_in, seed: 0}
    topics: [/camera/front/image_raw]
    fps: 15.0
    frames: 150
    first_stamp_ns: 1700000000000000000
    duration_s: 9.933333
    events:
    - {name: person_steps_in, trigger: person_ahead, start: 4.0, end: 9.933333,
       start_stamp_ns: 1700000004000000000, end_stamp_ns: 1700000009933333333}
    negatives:
    - {start: 0.0, end: 3.933333, start_stamp_ns: 1700000000000000000, end_stamp_ns: 1700000003933333333}
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from videorag_ros.core.errors import VideoragError

FORMAT_VERSION = 1
SIDECAR_NAME = "scenario.yaml"
#: Two stamps closer than this are the same instant (times are stored rounded to the µs).
_STAMP_SLACK_NS = 1_000_000

_TOP_KEYS = ("format_version", "scenario", "description", "source", "topics", "fps", "frames", "first_stamp_ns", "duration_s", "events", "negatives")
_EVENT_KEYS = ("name", "trigger", "start", "end", "start_stamp_ns", "end_stamp_ns")
_SEGMENT_KEYS = ("start", "end", "start_stamp_ns", "end_stamp_ns")
_USER_KEYS = ("events", "negatives")


class ScenarioError(VideoragError):
    """A scenario sidecar or events file is missing, malformed or inconsistent."""


@dataclass(frozen=True, slots=True)
class Segment:
    """A time span of a scenario.

    Attributes:
        start_s: Start, seconds from the first frame.
        end_s: End (inclusive), seconds from the first frame.
        start_stamp_ns: Absolute stamp of ``start_s``.
        end_stamp_ns: Absolute stamp of ``end_s``.
    """

    start_s: float
    end_s: float
    start_stamp_ns: int
    end_stamp_ns: int

    def contains(self, t_s: float, *, before_s: float = 0.0, after_s: float = 0.0) -> bool:
        """Whether ``t_s`` (seconds from the first frame) lies in ``[start - before, end + after]``."""
        return self.start_s - before_s <= t_s <= self.end_s + after_s

    def overlaps(self, other: Segment) -> bool:
        """Whether the two spans share any instant."""
        return self.start_s <= other.end_s and other.start_s <= self.end_s


@dataclass(frozen=True, slots=True)
class ScenarioEvent:
    """Something that happens in a scenario and the trigger that must fire for it.

    Attributes:
        name: Event name (unique in the scenario).
        trigger: Name of the trigger (in the edge parameter file) that must fire.
        segment: When it happens.
    """

    name: str
    trigger: str
    segment: Segment


@dataclass(frozen=True, slots=True)
class Annotation:
    """A scenario sidecar.

    Attributes:
        scenario: Scenario name.
        source: Where the frames came from; ``kind`` is ``procedural`` or ``video``.
        topics: Camera topic(s) in the bag.
        fps: Nominal frame rate.
        frames: Number of frames per topic.
        first_stamp_ns: Stamp of the first frame.
        duration_s: Time from the first to the last frame.
        events: Annotated events (may be empty: unannotated footage).
        negatives: Segments in which no trigger may fire.
        description: Free text.
    """

    scenario: str
    source: Mapping[str, Any]
    topics: tuple[str, ...]
    fps: float
    frames: int
    first_stamp_ns: int
    duration_s: float
    events: tuple[ScenarioEvent, ...] = ()
    negatives: tuple[Segment, ...] = ()
    description: str = ""
    triggers: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        """Collect the trigger names the events need."""
        object.__setattr__(self, "triggers", tuple(dict.fromkeys(e.trigger for e in self.events)))

    def time_s(self, stamp_ns: int) -> float:
        """Seconds from the first frame of an absolute stamp."""
        return (stamp_ns - self.first_stamp_ns) * 1e-9

    def stamp_ns(self, time_s: float) -> int:
        """Absolute stamp of a time in seconds from the first frame."""
        return self.first_stamp_ns + round(time_s * 1e9)


def sidecar_path(bag: str | Path) -> Path:
    """The sidecar of a bag: ``<bag dir>/scenario.yaml`` (a ``.yaml`` path is returned as is)."""
    p = Path(bag)
    return p if p.suffix in (".yaml", ".yml") else p / SIDECAR_NAME


def segment(start_s: float, end_s: float, first_stamp_ns: int) -> Segment:
    """A segment from times in seconds, with its absolute stamps.

    Raises:
        ScenarioError: ``end_s`` before ``start_s``, or a negative or non-finite time.
    """
    for name, v in (("start", start_s), ("end", end_s)):
        if not math.isfinite(v) or v < 0:
            msg = f"segment {name} {v!r} must be a finite number of seconds >= 0"
            raise ScenarioError(msg)
    if end_s < start_s:
        msg = f"segment ends ({end_s:.3f} s) before it starts ({start_s:.3f} s)"
        raise ScenarioError(msg)
    return Segment(round(start_s, 6), round(end_s, 6), first_stamp_ns + round(start_s * 1e9), first_stamp_ns + round(end_s * 1e9))


def build_annotation(
    *,
    scenario: str,
    source: Mapping[str, Any],
    topics: Sequence[str],
    fps: float,
    frames: int,
    first_stamp_ns: int,
    duration_s: float,
    events: Sequence[tuple[str, str, float, float]] = (),
    negatives: Sequence[tuple[float, float]] = (),
    description: str = "",
) -> Annotation:
    """Build and validate an annotation from times in seconds (stamps are derived).

    Args:
        scenario: Scenario name.
        source: Origin of the frames (``{"kind": "procedural" | "video", ...}``).
        topics: Camera topics.
        fps: Nominal frame rate.
        frames: Frames per topic.
        first_stamp_ns: Stamp of the first frame.
        duration_s: First to last frame, seconds.
        events: ``(name, trigger, start_s, end_s)`` per event.
        negatives: ``(start_s, end_s)`` per segment where nothing may fire.
        description: Free text.

    Raises:
        ScenarioError: Any inconsistency ``validate_annotation`` finds.
    """
    ann = Annotation(
        scenario=scenario,
        source=dict(source),
        topics=tuple(topics),
        fps=float(fps),
        frames=int(frames),
        first_stamp_ns=int(first_stamp_ns),
        duration_s=round(float(duration_s), 6),
        events=tuple(ScenarioEvent(n, t, segment(s, e, first_stamp_ns)) for n, t, s, e in events),
        negatives=tuple(segment(s, e, first_stamp_ns) for s, e in negatives),
        description=description,
    )
    validate_annotation(ann)
    return ann


def validate_annotation(ann: Annotation, where: str = "scenario") -> None:
    """Check an annotation for consistency.

    Raises:
        ScenarioError: Empty names or topics, a non-positive rate or frame count, a
            segment outside the recording, duplicate event names, or a negative
            segment that overlaps an event.
    """
    if not ann.scenario:
        msg = f"{where}: 'scenario' must be a non-empty name"
        raise ScenarioError(msg)
    if not isinstance(ann.source.get("kind"), str):
        msg = f"{where}: 'source' needs a 'kind' (procedural or video), got {dict(ann.source)!r}"
        raise ScenarioError(msg)
    if not ann.topics or any(not t.startswith("/") for t in ann.topics):
        msg = f"{where}: 'topics' must list absolute topic names, got {list(ann.topics)!r}"
        raise ScenarioError(msg)
    if not (math.isfinite(ann.fps) and ann.fps > 0) or ann.frames < 1 or ann.duration_s < 0 or ann.first_stamp_ns < 0:
        msg = f"{where}: need fps > 0, frames >= 1, duration_s >= 0 and first_stamp_ns >= 0; got fps {ann.fps}, frames {ann.frames}, duration_s {ann.duration_s}, first_stamp_ns {ann.first_stamp_ns}"
        raise ScenarioError(msg)
    # A segment may end up to one frame after the last frame (the last frame's exposure).
    limit_s = ann.duration_s + 1.0 / ann.fps
    names: set[str] = set()
    for ev in ann.events:
        if not ev.name or not ev.trigger:
            msg = f"{where}: every event needs a non-empty 'name' and 'trigger', got {ev.name!r} / {ev.trigger!r}"
            raise ScenarioError(msg)
        if ev.name in names:
            msg = f"{where}: event name '{ev.name}' is used twice; event names must be unique"
            raise ScenarioError(msg)
        names.add(ev.name)
        _check_inside(ev.segment, limit_s, ann, f"{where}: event '{ev.name}'")
    for i, neg in enumerate(ann.negatives):
        _check_inside(neg, limit_s, ann, f"{where}: negatives[{i}]")
        for ev in ann.events:
            if neg.overlaps(ev.segment):
                msg = (
                    f"{where}: negatives[{i}] ({neg.start_s:.3f}-{neg.end_s:.3f} s) overlaps event '{ev.name}' "
                    f"({ev.segment.start_s:.3f}-{ev.segment.end_s:.3f} s); a trigger may not be both required and forbidden"
                )
                raise ScenarioError(msg)


def _check_inside(seg: Segment, limit_s: float, ann: Annotation, what: str) -> None:
    if seg.end_s < seg.start_s or seg.start_s < 0:
        msg = f"{what}: span {seg.start_s:.3f}-{seg.end_s:.3f} s is empty or starts before the first frame"
        raise ScenarioError(msg)
    if seg.end_s > limit_s + 1e-6:
        msg = f"{what}: ends at {seg.end_s:.3f} s, after the recording ({ann.duration_s:.3f} s, {ann.frames} frames at {ann.fps:g} fps)"
        raise ScenarioError(msg)
    for key, t_s, stamp in (("start", seg.start_s, seg.start_stamp_ns), ("end", seg.end_s, seg.end_stamp_ns)):
        if abs(ann.stamp_ns(t_s) - stamp) > _STAMP_SLACK_NS:
            msg = (
                f"{what}: {key}_stamp_ns {stamp} does not match first_stamp_ns + {key} "
                f"({ann.stamp_ns(t_s)}); fix one of them, or drop the stamp and it is derived from the time"
            )
            raise ScenarioError(msg)


# --- YAML ------------------------------------------------------------------------------
def annotation_to_dict(ann: Annotation) -> dict[str, Any]:
    """The sidecar document of an annotation (plain YAML types)."""

    def seg(s: Segment) -> dict[str, Any]:
        return {"start": s.start_s, "end": s.end_s, "start_stamp_ns": s.start_stamp_ns, "end_stamp_ns": s.end_stamp_ns}

    return {
        "format_version": FORMAT_VERSION,
        "scenario": ann.scenario,
        "description": ann.description,
        "source": dict(ann.source),
        "topics": list(ann.topics),
        "fps": ann.fps,
        "frames": ann.frames,
        "first_stamp_ns": ann.first_stamp_ns,
        "duration_s": ann.duration_s,
        "events": [{"name": e.name, "trigger": e.trigger, **seg(e.segment)} for e in ann.events],
        "negatives": [seg(s) for s in ann.negatives],
    }


def save_annotation(ann: Annotation, path: str | Path) -> Path:
    """Write the sidecar (``path`` may be the bag directory). Returns the file written."""
    p = sidecar_path(path)
    p.write_text(yaml.safe_dump(annotation_to_dict(ann), sort_keys=False, width=200))
    return p


def load_annotation(path: str | Path) -> Annotation:
    """Read and validate a sidecar.

    Args:
        path: The sidecar file, or the bag directory that holds ``scenario.yaml``.

    Raises:
        ScenarioError: Missing file, bad YAML, missing or unknown keys, wrong types,
            inconsistent times or stamps (the message names the field).
    """
    p = sidecar_path(path)
    doc = _read_yaml(p, "scenario sidecar")
    where = str(p)
    _no_unknown(doc, _TOP_KEYS, where)
    version = _get(doc, "format_version", int, where)
    if version != FORMAT_VERSION:
        msg = f"{where}: format_version {version} is not supported (this videorag reads {FORMAT_VERSION})"
        raise ScenarioError(msg)
    source = _get(doc, "source", dict, where)
    topics = _get(doc, "topics", list, where)
    if not all(isinstance(t, str) for t in topics):
        msg = f"{where}: 'topics' must be a list of topic names, got {topics!r}"
        raise ScenarioError(msg)
    first = _get(doc, "first_stamp_ns", int, where)
    events = [_parse_event(e, i, first, where) for i, e in enumerate(_get(doc, "events", list, where))]
    negatives = [_parse_segment(s, f"negatives[{i}]", _SEGMENT_KEYS, first, where) for i, s in enumerate(_get(doc, "negatives", list, where))]
    ann = Annotation(
        scenario=_get(doc, "scenario", str, where),
        source=source,
        topics=tuple(topics),
        fps=float(_get(doc, "fps", float, where)),
        frames=_get(doc, "frames", int, where),
        first_stamp_ns=first,
        duration_s=float(_get(doc, "duration_s", float, where)),
        events=tuple(events),
        negatives=tuple(negatives),
        description=str(doc.get("description") or ""),
    )
    validate_annotation(ann, where)
    return ann


def load_user_events(path: str | Path) -> tuple[list[tuple[str, str, float, float]], list[tuple[float, float]]]:
    """Read hand-made annotations for a video: ``events`` and optional ``negatives``, in seconds.

    The file holds ``events: [{name, trigger, start, end}]`` and optionally
    ``negatives: [{start, end}]``, times in seconds from the first frame. They are
    checked against the video by ``build_annotation``.

    Returns:
        ``(events, negatives)`` as ``build_annotation`` takes them.

    Raises:
        ScenarioError: Missing file, bad YAML, missing or unknown keys, wrong types.
    """
    p = Path(path)
    doc = _read_yaml(p, "events file")
    where = str(p)
    _no_unknown(doc, _USER_KEYS, where)
    events = []
    for i, e in enumerate(_get(doc, "events", list, where)):
        ev = _parse_event(e, i, 0, where, keys=("name", "trigger", "start", "end"))
        events.append((ev.name, ev.trigger, ev.segment.start_s, ev.segment.end_s))
    negatives = []
    for i, s in enumerate(doc.get("negatives") or []):
        seg_ = _parse_segment(s, f"negatives[{i}]", ("start", "end"), 0, where)
        negatives.append((seg_.start_s, seg_.end_s))
    return events, negatives


def _read_yaml(p: Path, what: str) -> dict[str, Any]:
    try:
        doc = yaml.safe_load(p.read_text())
    except FileNotFoundError as err:
        msg = f"{what} '{p}' does not exist" + (" (was the bag made with 'videorag scenario make'?)" if p.name == SIDECAR_NAME else "")
        raise ScenarioError(msg) from err
    except yaml.YAMLError as err:
        msg = f"{what} '{p}' is not valid YAML: {err}"
        raise ScenarioError(msg) from err
    if not isinstance(doc, dict):
        msg = f"{what} '{p}' must be a YAML mapping, got {type(doc).__name__}"
        raise ScenarioError(msg)
    return doc


def _no_unknown(doc: Mapping[str, Any], allowed: Sequence[str], where: str) -> None:
    for key in doc:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), allowed, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else f"; allowed: {', '.join(allowed)}"
            msg = f"{where}: unknown key '{key}'{hint}"
            raise ScenarioError(msg)


def _get(doc: Mapping[str, Any], key: str, typ: type, where: str, *, required: bool = True) -> Any:
    if key not in doc or doc[key] is None:
        if not required:
            return None
        msg = f"{where}: missing '{key}'"
        raise ScenarioError(msg)
    val = doc[key]
    ok = isinstance(val, typ) and not isinstance(val, bool)
    if typ is float:
        ok = isinstance(val, (int, float)) and not isinstance(val, bool) and math.isfinite(val)
    if not ok:
        msg = f"{where}: '{key}' must be {typ.__name__}, got {val!r} ({type(val).__name__})"
        raise ScenarioError(msg)
    return val


def _parse_segment(doc: Any, what: str, keys: Sequence[str], first_stamp_ns: int, where: str) -> Segment:
    if not isinstance(doc, dict):
        msg = f"{where}: {what} must be a mapping with {', '.join(keys)}, got {doc!r}"
        raise ScenarioError(msg)
    _no_unknown(doc, keys, f"{where}: {what}")
    start = float(_get(doc, "start", float, f"{where}: {what}"))
    end = float(_get(doc, "end", float, f"{where}: {what}"))
    try:
        seg = segment(start, end, first_stamp_ns)
    except ScenarioError as err:
        msg = f"{where}: {what}: {err}"
        raise ScenarioError(msg) from err
    stamps = [_get(doc, k, int, f"{where}: {what}", required=False) for k in ("start_stamp_ns", "end_stamp_ns")]
    return Segment(seg.start_s, seg.end_s, stamps[0] if stamps[0] is not None else seg.start_stamp_ns, stamps[1] if stamps[1] is not None else seg.end_stamp_ns)


def _parse_event(doc: Any, i: int, first_stamp_ns: int, where: str, *, keys: Sequence[str] = _EVENT_KEYS) -> ScenarioEvent:
    what = f"events[{i}]"
    if not isinstance(doc, dict):
        msg = f"{where}: {what} must be a mapping with {', '.join(keys)}, got {doc!r}"
        raise ScenarioError(msg)
    _no_unknown(doc, keys, f"{where}: {what}")
    name = _get(doc, "name", str, f"{where}: {what}")
    trigger = _get(doc, "trigger", str, f"{where}: {what} ('{name}')")
    seg = _parse_segment({k: v for k, v in doc.items() if k in _SEGMENT_KEYS}, f"{what} ('{name}')", _SEGMENT_KEYS, first_stamp_ns, where)
    return ScenarioEvent(name, trigger, seg)
