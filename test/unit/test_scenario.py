"""Scenario sidecars: build, save/load round trip, and a clear error for every bad field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from videorag_ros.scenarios.annotations import (
    ScenarioError,
    annotation_to_dict,
    build_annotation,
    load_annotation,
    load_user_events,
    save_annotation,
    sidecar_path,
)

FIRST = 1_700_000_000_000_000_000


def _annotation() -> Any:
    return build_annotation(
        scenario="person_steps_in",
        source={"kind": "procedural", "sequence": "person_steps_in", "seed": 0},
        topics=["/camera/front/image_raw"],
        fps=10.0,
        frames=100,
        first_stamp_ns=FIRST,
        duration_s=9.9,
        events=[("person_in_path", "person_ahead", 4.0, 9.9)],
        negatives=[(0.0, 3.9)],
    )


def test_stamps_are_derived_from_times() -> None:
    ann = _annotation()
    ev = ann.events[0].segment
    assert ev.start_stamp_ns == FIRST + 4_000_000_000
    assert ann.stamp_ns(ev.end_s) == ev.end_stamp_ns
    assert ann.time_s(ev.start_stamp_ns) == pytest.approx(ev.start_s)
    assert ann.triggers == ("person_ahead",)
    assert ann.negatives[0].contains(3.9) and not ann.negatives[0].contains(4.0)
    assert ev.contains(10.5, after_s=1.0) and not ev.contains(3.5)


def test_save_load_round_trip(tmp_path: Path) -> None:
    ann = _annotation()
    path = save_annotation(ann, tmp_path)  # a bag directory: the sidecar goes inside
    assert path == sidecar_path(tmp_path) == tmp_path / "scenario.yaml"
    assert load_annotation(tmp_path) == ann
    assert load_annotation(path) == ann


def _write(tmp_path: Path, doc: Any) -> Path:
    p = tmp_path / "scenario.yaml"
    p.write_text(yaml.safe_dump(doc) if not isinstance(doc, str) else doc)
    return p


def _edit(**changes: Any) -> dict[str, Any]:
    doc = annotation_to_dict(_annotation())
    for key, val in changes.items():
        if val is _DROP:
            doc.pop(key)
        else:
            doc[key] = val
    return doc


_DROP = object()
_EV = {"name": "person_in_path", "trigger": "person_ahead", "start": 4.0, "end": 9.9}


@pytest.mark.parametrize(
    ("doc", "match"),
    [
        # not YAML at all
        ("events: [unclosed", "not valid YAML"),
        # a list instead of a mapping
        ("- 1\n- 2\n", "must be a YAML mapping"),
        # a typo in a top-level key gets a suggestion
        (_edit(negatives=_DROP, negativs=[]), "unknown key 'negativs'; did you mean 'negatives'"),
        # a required key is missing
        (_edit(fps=_DROP), "missing 'fps'"),
        # wrong type (a string for a number; a bool is not an int)
        (_edit(fps="fast"), "'fps' must be float"),
        (_edit(frames=True), "'frames' must be int"),
        # a format from the future
        (_edit(format_version=2), "format_version 2 is not supported"),
        # relative topic names cannot be replayed unambiguously
        (_edit(topics=["camera/front/image_raw"]), "absolute topic names"),
        # the source must say what it is
        (_edit(source={"seed": 0}), "'source' needs a 'kind'"),
        # an event ending before it starts
        (_edit(events=[{**_EV, "start": 5.0, "end": 4.0}]), r"ends \(4.000 s\) before it starts"),
        # an event after the end of the recording
        (_edit(events=[{**_EV, "end": 30.0}], negatives=[]), "after the recording"),
        # an event without its trigger
        (_edit(events=[{k: v for k, v in _EV.items() if k != "trigger"}]), "missing 'trigger'"),
        # an unknown key inside an event
        (_edit(events=[{**_EV, "trigger_name": "x"}]), "unknown key 'trigger_name'"),
        # the same event name twice
        (_edit(events=[_EV, {**_EV, "trigger": "other"}]), "used twice"),
        # a negative segment overlapping an event is a contradiction
        (_edit(negatives=[{"start": 0.0, "end": 4.5}]), "overlaps event 'person_in_path'"),
        # stamps that disagree with the times
        (_edit(events=[{**_EV, "start_stamp_ns": FIRST}]), "start_stamp_ns .* does not match"),
        # a negative time
        (_edit(negatives=[{"start": -1.0, "end": 1.0}]), "must be a finite number of seconds >= 0"),
    ],
)
def test_bad_sidecars_are_refused_with_the_reason(tmp_path: Path, doc: Any, match: str) -> None:
    with pytest.raises(ScenarioError, match=match):
        load_annotation(_write(tmp_path, doc))


def test_missing_sidecar_says_how_bags_get_one(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match=r"does not exist.*videorag scenario make"):
        load_annotation(tmp_path)


def test_hand_written_events_for_a_video(tmp_path: Path) -> None:
    p = tmp_path / "events.yaml"
    p.write_text(yaml.safe_dump({"events": [{"name": "walker", "trigger": "person_ahead", "start": 1.5, "end": 3}], "negatives": [{"start": 0, "end": 1}]}))
    events, negatives = load_user_events(p)
    assert events == [("walker", "person_ahead", 1.5, 3.0)]
    assert negatives == [(0.0, 1.0)]
    p.write_text(yaml.safe_dump({"events": [{"name": "walker", "start": 1.5, "end": 3}]}))
    with pytest.raises(ScenarioError, match=r"events\[0\] \('walker'\): missing 'trigger'"):
        load_user_events(p)
    p.write_text(yaml.safe_dump({"event": []}))
    with pytest.raises(ScenarioError, match="did you mean 'events'"):
        load_user_events(p)
