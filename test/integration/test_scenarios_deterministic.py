"""Deterministic tier: the standard scenario bags through `videorag run --bag`, scored against their sidecars.

No ROS and no DDS: `videorag run --bag` feeds the recorded frames to the same core the edge
node runs (gate, encoder, trigger state machines) in exact bag order, stamped with their
recorded `header.stamp`, so the result does not depend on timing or load. The shipped
config/scenarios.yaml and videorag-tiny decide; for every bag, every annotated event must
ENTER its trigger within [start, end + budget (scenarios.score.DEFAULT_BUDGET_S)] and nothing may ENTER outside the events
annotated for it (in particular not in a negative segment); see
videorag_ros/scenarios/score.py for the rules. The live tier
(test_replay_live.py) checks the same over real DDS at 1x.

Frames are rendered at 320x240 (videorag-tiny sees 96x96; the gate's motion thumbnail is 64
wide) to keep the bags small; the scenes, seeds, frame rate and event timing are the
standard set's. Known limit, not hidden here: the smoke trigger misfires on some rooms the
thresholds were not tuned on (`videorag scenario check --seed-offset 16`); the standard set
uses its fixed seeds.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from test.conftest import REPO
from videorag_ros.cli import run as run_cli
from videorag_ros.core.config import load_params_file
from videorag_ros.scenarios.annotations import Annotation, load_annotation
from videorag_ros.scenarios.catalogue import STANDARD_SET
from videorag_ros.scenarios.maker import make_standard_set
from videorag_ros.scenarios.score import DEFAULT_BUDGET_S, score_run, transitions_from_report

PARAMS = REPO / "config" / "scenarios.yaml"
SECONDS, FPS, WIDTH, HEIGHT = 8.0, 15.0, 320, 240
FIRST_STAMP_NS = 1_700_000_000_000_000_000  # fixed, so two runs write the same bags
# An event's trigger may ENTER this long after the event's last frame (N-of-M debounce at the
# gate's admission rate); the live tier uses the same.



@pytest.fixture(scope="module")
def scenario_bags(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, tuple[Path, Annotation]]]:
    out = tmp_path_factory.mktemp("deterministic_bags")
    try:
        made = make_standard_set(out, seconds=SECONDS, fps=FPS, width=WIDTH, height=HEIGHT, start_ns=FIRST_STAMP_NS)
        yield {ann.scenario: (bag, ann) for bag, ann in made}
    finally:
        shutil.rmtree(out, ignore_errors=True)


@pytest.mark.parametrize("scenario", STANDARD_SET)
def test_scenario_bag_fires_its_events_and_nothing_else(scenario: str, scenario_bags: dict[str, tuple[Path, Annotation]], tmp_path: Path) -> None:
    bag, made = scenario_bags[scenario]
    ann = load_annotation(bag)  # what a user's bag would carry: the sidecar on disk
    assert ann == made
    report_path = tmp_path / "report.json"
    assert run_cli.main(["--bag", str(bag), "--params", str(PARAMS), "--report", str(report_path)]) == 0
    report = json.loads(report_path.read_text())

    # Every recorded frame went through the core, in recording order, with its recorded stamp.
    stamps = [f["stamp_ns"] for f in report["frames"]]
    assert len(stamps) == ann.frames and stamps == sorted(stamps)
    assert stamps[0] == ann.first_stamp_ns and not report["input_errors"]

    triggers = list(load_params_file(PARAMS)["triggers"])
    score = score_run(ann, transitions_from_report(report), budget_s=DEFAULT_BUDGET_S, triggers=triggers)
    fired = [(t["name"], t["state"], round(ann.time_s(round(t["stamp"] * 1e9)), 2)) for t in report["triggers"]]
    assert score.passed, f"{scenario}: {'; '.join(score.reasons)}; transitions (trigger, state, s): {fired}"
    assert score.counts.recall in (1.0, None) and score.counts.precision in (1.0, None)
    for ev in score.events:  # time to trigger is the frame time of the ENTER, inside the window
        assert ev.time_to_trigger_s is not None and 0.0 <= ev.time_to_trigger_s <= ev.end_s - ev.start_s + DEFAULT_BUDGET_S


def test_a_trigger_that_fires_too_early_fails_the_scenario(scenario_bags: dict[str, tuple[Path, Annotation]], tmp_path: Path) -> None:
    """The tier catches a misfire: person_ahead with an enter threshold no frame can miss ENTERs in the negative segment."""
    from videorag_ros.core.config import dump_params_file

    bag, ann = scenario_bags["person_steps_in"]
    values = load_params_file(PARAMS) | {"person_ahead.enter_threshold": 0.0, "person_ahead.exit_threshold": 0.0}
    params = dump_params_file(values, tmp_path / "eager.yaml")
    report_path = tmp_path / "report.json"
    assert run_cli.main(["--bag", str(bag), "--params", str(params), "--report", str(report_path)]) == 0
    score = score_run(ann, transitions_from_report(json.loads(report_path.read_text())), budget_s=DEFAULT_BUDGET_S)
    assert not score.passed
    assert any(f.trigger == "person_ahead" and f.negative == 0 for f in score.false_positives)
    assert score.per_trigger["person_ahead"].precision == 0.0  # it was already active when the person came: no credit
    assert "already active from a stray ENTER" in score.reasons[0]
