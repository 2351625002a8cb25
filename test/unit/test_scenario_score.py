"""Scoring a run against its annotation: detection windows, false positives, precision / recall."""

from __future__ import annotations

import json

import pytest

from videorag_ros.scenarios.annotations import Annotation, ScenarioError, build_annotation
from videorag_ros.scenarios.score import Counts, Transition, score_run, total_counts, transitions_from_report

FIRST = 1_700_000_000_000_000_000
TRIGGERS = ("person_ahead", "pallet_in_aisle", "smoke")


def _ann(
    events: list[tuple[str, str, float, float]] | None = None, negatives: list[tuple[float, float]] | None = None, name: str = "person_steps_in"
) -> Annotation:
    return build_annotation(
        scenario=name,
        source={"kind": "procedural"},
        topics=["/camera/front/image_raw"],
        fps=10.0,
        frames=100,
        first_stamp_ns=FIRST,
        duration_s=9.9,
        events=[("person_in_path", "person_ahead", 4.0, 7.0)] if events is None else events,
        negatives=[(0.0, 3.9)] if negatives is None else negatives,
    )


def _tr(trigger: str, state: str, t_s: float, camera: str = "front") -> Transition:
    return Transition(trigger, state, FIRST + round(t_s * 1e9), camera)


def test_event_fired_in_time_is_detected_with_its_time_to_trigger() -> None:
    score = score_run(_ann(), [_tr("person_ahead", "ENTER", 4.6), _tr("person_ahead", "HOLD", 4.7), _tr("person_ahead", "EXIT", 7.4)], triggers=TRIGGERS)
    assert score.passed and score.reasons == ()
    (ev,) = score.events
    assert (ev.detected, ev.enter_s, ev.time_to_trigger_s, ev.exit_s, ev.carried, ev.repeat_enters) == (True, 4.6, 0.6, 7.4, False, 0)
    assert ev.deadline_s == 8.0
    assert score.per_trigger["person_ahead"] == Counts(events=1, detected=1, false_positives=0)
    assert score.per_trigger["smoke"] == Counts()  # asked for, never fired, nothing due
    assert (score.counts.precision, score.counts.recall) == (1.0, 1.0)
    assert score.time_to_trigger_s["person_ahead"] == (0.6,)


@pytest.mark.parametrize(
    ("enter_s", "detected"),
    [
        (4.0, True),  # on the event's first frame
        (8.0, True),  # exactly at end + budget
        (8.1, False),  # one frame after the deadline: missed, and a false positive
        (3.9, False),  # the frame before the event: inside the negative segment
    ],
)
def test_detection_window_is_start_to_end_plus_budget(enter_s: float, detected: bool) -> None:
    score = score_run(_ann(), [_tr("person_ahead", "ENTER", enter_s)], budget_s=1.0)
    assert score.events[0].detected is detected
    assert score.passed is detected
    assert len(score.false_positives) == (0 if detected else 1)


def test_missed_event_gives_recall_zero_and_says_why() -> None:
    score = score_run(_ann(), [])
    assert not score.passed
    assert score.events[0].enter_s is None and score.events[0].time_to_trigger_s is None
    assert (score.counts.recall, score.counts.precision) == (0.0, None)
    assert score.reasons == ("event 'person_in_path' (4.00-7.00 s): 'person_ahead' never ENTERed within [4.00, 8.00] s",)


def test_enter_in_a_negative_segment_is_a_false_positive() -> None:
    score = score_run(_ann(), [_tr("person_ahead", "ENTER", 1.5), _tr("person_ahead", "EXIT", 2.0), _tr("person_ahead", "ENTER", 4.5)])
    (fp,) = score.false_positives
    assert (fp.trigger, fp.t_s, fp.negative) == ("person_ahead", 1.5, 0)
    assert score.events[0].detected
    assert score.counts == Counts(events=1, detected=1, false_positives=1)
    assert score.counts.precision == 0.5
    assert score.reasons == ("'person_ahead' ENTERed at 1.50 s (camera front) during negative segment 0.00-3.90 s",)


def test_other_triggers_firing_during_an_event_are_false_positives() -> None:
    score = score_run(_ann(), [_tr("person_ahead", "ENTER", 4.5), _tr("pallet_in_aisle", "ENTER", 5.0)])
    (fp,) = score.false_positives
    assert (fp.trigger, fp.negative) == ("pallet_in_aisle", None)
    assert score.per_trigger["pallet_in_aisle"] == Counts(false_positives=1)
    assert score.per_trigger["pallet_in_aisle"].precision == 0.0
    assert "no event in this scenario is annotated for it" in score.reasons[0]


def test_enter_outside_its_own_events_but_not_in_a_negative() -> None:
    ann = _ann(events=[("person_in_path", "person_ahead", 2.0, 3.0)], negatives=[(0.0, 1.9)])
    score = score_run(ann, [_tr("person_ahead", "ENTER", 2.5), _tr("person_ahead", "EXIT", 3.5), _tr("person_ahead", "ENTER", 6.0)])
    assert score.events[0].detected and score.events[0].exit_s == 3.5
    assert [f.t_s for f in score.false_positives] == [6.0]
    assert "outside its events' windows" in score.reasons[0]


def test_control_scenario_passes_when_nothing_fires() -> None:
    ann = _ann(events=[], negatives=[(0.0, 9.9)], name="empty_control")
    score = score_run(ann, [], triggers=TRIGGERS)
    assert score.passed
    assert set(score.per_trigger) == set(TRIGGERS)
    assert (score.counts.precision, score.counts.recall) == (None, None)
    bad = score_run(ann, [_tr("smoke", "ENTER", 3.0)], triggers=TRIGGERS)
    assert not bad.passed and bad.counts.precision == 0.0 and bad.false_positives[0].negative == 0


def test_flicker_inside_one_event_is_counted_but_not_a_false_positive() -> None:
    trs = [_tr("person_ahead", s, t) for s, t in (("ENTER", 4.5), ("EXIT", 5.0), ("ENTER", 5.5), ("EXIT", 7.5))]
    score = score_run(_ann(), trs)
    assert score.passed
    assert score.events[0].repeat_enters == 1 and score.events[0].exit_s == 5.0
    assert score.counts == Counts(events=1, detected=1, false_positives=0)


def test_trigger_still_active_from_the_previous_event_carries_over() -> None:
    ann = _ann(events=[("first", "person_ahead", 2.0, 3.0), ("second", "person_ahead", 4.5, 6.0)], negatives=[(0.0, 1.9)])
    score = score_run(ann, [_tr("person_ahead", "ENTER", 2.3), _tr("person_ahead", "EXIT", 6.5)])
    first, second = score.events
    assert first.enter_s == 2.3 and not first.carried
    assert second.detected and second.carried and second.time_to_trigger_s == 0.0 and second.enter_s == 2.3
    assert score.passed and score.counts == Counts(events=2, detected=2, false_positives=0)
    # Exited before the second event started: that one was missed.
    early_exit = score_run(ann, [_tr("person_ahead", "ENTER", 2.3), _tr("person_ahead", "EXIT", 4.0)])
    assert not early_exit.events[1].detected and early_exit.counts.recall == 0.5


def test_state_is_per_camera() -> None:
    ann = _ann(events=[("first", "person_ahead", 2.0, 3.0), ("second", "person_ahead", 4.5, 6.0)], negatives=[(0.0, 1.9)])
    # Camera "left" exits before the second event, camera "right" is still active: carried.
    trs = [_tr("person_ahead", "ENTER", 2.3, "left"), _tr("person_ahead", "ENTER", 2.6, "right"), _tr("person_ahead", "EXIT", 3.5, "left")]
    score = score_run(ann, trs)
    assert score.events[1].carried and score.events[1].enter_s == 2.6
    assert score.events[0].repeat_enters == 1  # the second camera's ENTER in the same window


def test_stray_enter_that_stays_active_does_not_detect_the_event() -> None:
    score = score_run(_ann(), [_tr("person_ahead", "ENTER", 3.0)])
    assert not score.events[0].detected
    assert len(score.false_positives) == 1
    assert "already active from a stray ENTER at 3.00 s" in score.reasons[0]


def test_transitions_from_a_run_report_keep_frame_stamps() -> None:
    # `videorag run --report` stamps in float seconds since the epoch (≈0.2 µs rounding).
    report = {
        "triggers": [{"name": "person_ahead", "camera": "front", "state": "ENTER", "stamp": (FIRST + 4_000_000_000) / 1e9, "score": 0.9, "latency_ms": 1.0}]
    }
    trs = transitions_from_report(report)
    assert trs[0].trigger == "person_ahead" and abs(trs[0].stamp_ns - (FIRST + 4_000_000_000)) < 1000
    score = score_run(_ann(), trs)
    assert score.passed and score.events[0].time_to_trigger_s == 0.0
    exact = transitions_from_report({"triggers": [{"name": "smoke", "state": "EXIT", "stamp_ns": FIRST + 5}]})
    assert exact == [Transition("smoke", "EXIT", FIRST + 5, "")]


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: score_run(_ann(), [], budget_s=-1.0), "budget_s must be a finite number"),
        (lambda: score_run(_ann(), [], budget_s=float("nan")), "budget_s must be a finite number"),
        (lambda: score_run(_ann(), [Transition("smoke", "ENTERED", FIRST)]), "has state 'ENTERED'"),
        (lambda: transitions_from_report({"frames": []}), "has no 'triggers' list"),
        (lambda: transitions_from_report({"triggers": [{"name": "smoke"}]}), r"triggers\[0\] needs name, state and stamp"),
    ],
)
def test_bad_input_is_refused_with_a_message(call: object, match: str) -> None:
    with pytest.raises(ScenarioError, match=match):
        call()  # type: ignore[operator]


def test_set_totals_and_json() -> None:
    person = score_run(_ann(), [_tr("person_ahead", "ENTER", 4.5)], triggers=TRIGGERS)
    control = score_run(_ann(events=[], negatives=[(0.0, 9.9)], name="empty_control"), [_tr("smoke", "ENTER", 2.0)], triggers=TRIGGERS)
    totals = total_counts([person, control])
    assert totals["person_ahead"] == Counts(1, 1, 0) and totals["smoke"] == Counts(0, 0, 1)
    assert totals["all"] == Counts(1, 1, 1) and totals["all"].precision == 0.5 and totals["all"].recall == 1.0
    doc = json.loads(json.dumps(control.to_dict()))
    assert doc["passed"] is False and doc["false_positive_enters"][0] == {"trigger": "smoke", "t_s": 2.0, "camera": "front", "negative": 0}
    assert doc["per_trigger"]["smoke"]["precision"] == 0.0 and doc["recall"] is None
