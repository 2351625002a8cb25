"""Live tier: the standard scenario bags replayed at 1x into the edge node over real DDS.

`videorag scenario make` writes the standard set (person, pallet, smoke, two controls) into
a temporary directory; the edge node runs as a process with the shipped
config/scenarios.yaml; `videorag replay --restamp` plays each bag as a camera would (stamps
are the publish time). For every bag: each annotated event ENTERs its trigger within
[start, end + budget] (scenarios.score.score_run, the one rule), no trigger ENTERs during a negative segment, and no trigger
ENTERs outside the events annotated for it. Afterwards the node's /diagnostics show that
every frame it received was handled or counted as dropped (latest wins), none queued.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("rclpy", reason="ROS 2 not installed: run through `make test`")

from test.conftest import REPO
from test.support.domains import child_env
from videorag_ros.core.config import dump_params_file, load_params_file
from videorag_ros.ros.graph import EdgeGraph, start, stop, wait_until
from videorag_ros.scenarios.annotations import Annotation
from videorag_ros.scenarios.maker import make_standard_set
from videorag_ros.scenarios.score import DEFAULT_BUDGET_S, Transition, score_run

pytestmark = pytest.mark.integration

NS = "/videorag_scenarios"
SECONDS = 8.0  # per scenario; events sit at fixed fractions of it
# An event's trigger may ENTER this long after the event's last frame: N-of-M debounce at
# the gate's admission rate plus transport and processing (generous; never a latency claim).


@pytest.fixture(scope="module")
def scenario_bags(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[tuple[Path, Annotation]]]:
    out = tmp_path_factory.mktemp("scenario_bags")
    try:
        yield make_standard_set(out, seconds=SECONDS)  # 640x480 rgb8 at 15 fps: frames larger than 512 KB
    finally:
        shutil.rmtree(out, ignore_errors=True)  # ~0.5 GB of raw frames


@pytest.fixture(scope="module")
def graph(tmp_path_factory: pytest.TempPathFactory, ros_domain: int) -> Iterator[EdgeGraph]:
    tmp = tmp_path_factory.mktemp("replay_live")
    values = load_params_file(REPO / "config" / "scenarios.yaml")
    # Stop topics under a test namespace: a test must never stop a real robot on the network.
    values.update({"estop_topic": f"{NS}/estop", "cmd_vel_topic": f"{NS}/cmd_vel_safety", "diagnostics_period_s": 0.5, "front.timeout_s": 30.0})
    params = dump_params_file(values, tmp / "scenarios.yaml")
    g = EdgeGraph(
        params,
        domain_id=ros_domain,
        log_path=tmp / "edge.log",
        estop_topic=f"{NS}/estop",
        cmd_vel_topic=f"{NS}/cmd_vel_safety",
        extra_env=child_env(ros_domain),
    )
    try:
        g.wait_ready([])
        yield g
    finally:
        g.close()


def _replay(graph: EdgeGraph, bag: Path, log: Path, timeout_s: float) -> dict[str, Any]:
    """Run `videorag replay --restamp` as a process while the monitor keeps spinning; its JSON summary."""
    env = child_env(graph.domain_id)
    proc = start(["replay", str(bag), "--restamp", "--wait-for-subscribers", "1", "--json"], env, log_path=str(log))
    try:
        done = wait_until(lambda: proc.poll() is not None, timeout_s, spin=graph.spin)
    finally:
        code = stop(proc)
    text = log.read_text()
    assert done and code == 0, f"replay of {bag.name} failed (exit {code}):\n{text[-3000:]}"
    return json.loads([line for line in text.splitlines() if line.startswith("{")][-1])


def test_standard_scenarios_fire_their_triggers_and_nothing_else(scenario_bags: list[tuple[Path, Annotation]], graph: EdgeGraph, tmp_path: Path) -> None:
    published = 0
    report = []
    for bag, ann in scenario_bags:
        seen = len(graph.monitor.log.triggers)
        summary = _replay(graph, bag, tmp_path / f"replay_{bag.name}.log", timeout_s=ann.duration_s + 60.0)
        graph.spin(DEFAULT_BUDGET_S + 1.0)  # decisions on the last frames, and fresh diagnostics
        assert summary["published"] == {ann.topics[0]: ann.frames} and not summary["skipped"]
        published += ann.frames
        first = summary["first_stamp_ns"]  # restamped: the wall clock when frame 0 was published
        # Restamped frames keep their recorded spacing: map each stamp back into the bag's time base.
        transitions = [
            Transition(r.trigger, r.state, ann.first_stamp_ns + (r.stamp_ns - first), r.camera_id)
            for r in graph.monitor.log.triggers[seen:]
            if r.state in ("ENTER", "EXIT") and r.stamp_ns >= first
        ]
        score = score_run(ann, transitions, budget_s=DEFAULT_BUDGET_S)
        report.append(f"{ann.scenario}: {[(t.trigger, t.state, round(ann.time_s(t.stamp_ns), 2)) for t in transitions]}; late publishes {summary['late']} (worst {summary['max_late_ms']} ms)")
        assert score.passed, f"{ann.scenario}: {'; '.join(score.reasons)}; saw {report[-1]}"

    # Latest-wins, never a backlog: once the replays are over, every frame that reached the node
    # was handled (admitted or rejected by the gate) or replaced by a newer one and counted as
    # dropped; none is still waiting. (Best effort may lose a frame in transport; that is not
    # the node's doing and is only reported.)
    cam = graph.monitor.camera_values("front")
    received, dropped = int(cam["received"]), int(cam["dropped"])
    handled = sum(int(v) for k, v in cam.items() if k == "admitted" or k.startswith("gate_rejected."))
    print("\n".join(report), f"\npublished {published}, received {received}, dropped {dropped}; camera: {cam}")
    assert 0 < received <= published
    assert int(cam.get("rejected_input", 0)) == 0
    assert handled + dropped == received, f"frames unaccounted for (queued?): {cam}"
