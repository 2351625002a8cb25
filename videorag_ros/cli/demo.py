"""``videorag demo``: the main job on the embedded defaults.

Starts the edge node (shipped config/edge.yaml, videorag-tiny) and a simulated camera
(a person steps into the robot's path) as separate processes talking over DDS, prints
ground truth, trigger events, e-stop changes and the slow loop's descriptions and verdicts
as they happen, then the latency summary. Without a model server the slow loop runs its
offline describer (caption ranking with the loaded image-text model, named as such), every
3 s and on the trigger's ENTER, which it also verifies. Runs in its own ROS domain on loopback, with the stop topics under /videorag_demo,
so it can never stop a real robot.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from videorag_ros.core.triggers import HOLD
from videorag_ros.scenarios.catalogue import CATALOGUE

DEMO_NS = "/videorag_demo"


def _params(out: Path, model: str | None) -> Path:
    from videorag_ros.cli.edge import default_params
    from videorag_ros.core.config import dump_params_file, load_params_file, override_model

    flat = load_params_file(default_params())
    flat.update({"estop_topic": f"{DEMO_NS}/estop", "cmd_vel_topic": f"{DEMO_NS}/cmd_vel_safety", "diagnostics_period_s": 0.5})
    # The simulated camera starts after the node: with the shipped 'stop' policy the robot would
    # (rightly) be stopped until its first frame, which the demo's verdict would count as a stop
    # before the person appeared. The silence watchdog still reports ERROR while it waits.
    flat["front.on_silence"] = "warn"
    # Show the slow loop within the demo's seconds: describe every 3 s, verify the e-stop trigger.
    flat.update({"slowloop.period_s": 3.0, "person_ahead.verify": True})
    override_model(flat, model)
    return dump_params_file(flat, out / "demo_edge.yaml")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the demo; exit 0 when the e-stop engaged after the person appeared and never before."""
    parser = argparse.ArgumentParser(prog="videorag demo", description=__doc__)
    parser.add_argument("--sequence", default="person_steps_in", choices=sorted(CATALOGUE), help="scenario from the catalogue (videorag scenario list)")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of the simulated camera stream")
    parser.add_argument("--model", help="override the shipped model")
    parser.add_argument("--domain", type=int, default=77, help="ROS_DOMAIN_ID of the demo graph")
    args = parser.parse_args(argv)

    from videorag_ros.ros.dds import confine_to_localhost

    confine_to_localhost()  # the demo's DDS never leaves this machine (before any rclpy import)
    from std_msgs.msg import String

    from videorag_ros.ros.graph import EdgeGraph, local_ros_env, start, stop, wait_until

    out = Path(tempfile.mkdtemp(prefix="videorag-demo-"))
    print(f"videorag demo: edge node + simulated camera ('{args.sequence}', {args.seconds:g} s at 30 Hz), logs in {out}")
    graph = EdgeGraph(_params(out, args.model), domain_id=args.domain, log_path=out / "edge.log", estop_topic=f"{DEMO_NS}/estop", cmd_vel_topic=f"{DEMO_NS}/cmd_vel_safety")
    camera = None
    truth: list[tuple[int, str]] = []  # (frame stamp ns, scene class), from the simulated camera
    said: list[Any] = []
    try:
        graph.node.create_subscription(String, "/camera_sim/ground_truth", lambda m: truth.append(_truth(m.data)), 100)
        from videorag.msg import Description
        from videorag_ros.ros import qos

        for topic in ("/videorag_edge/descriptions", "/videorag_edge/verdicts"):
            graph.node.create_subscription(Description, topic, said.append, qos.EVENTS)
        print("loading the encoder and encoding the trigger prompts...")
        graph.wait_ready([])
        print(f"edge node up: encoder {graph.monitor.pipeline_values().get('encoder')}")
        # Start the scene once the edge node (image topic) and this monitor (ground truth) listen.
        spec = CATALOGUE[args.sequence]
        cmd = ["camera-sim", "--sequence", spec.sequence, "--seed", str(spec.seed), "--seconds", str(args.seconds), "--wait-for-subscribers", "1"]
        camera = start(cmd, local_ros_env(args.domain), log_path=str(out / "camera.log"))
        t0, shown = _follow(graph, camera, truth, said, args.seconds)
        wait_until(lambda: False, 1.5, spin=graph.spin)  # let the last diagnostics arrive
        _print_said(said[shown:], t0)
        values = graph.monitor.pipeline_values()
        cam = graph.monitor.camera_values("front")
    finally:
        if camera is not None:
            stop(camera)
        graph.close()
    return _summary(graph.monitor.log, truth, values, cam, t0, sequence=args.sequence, triggers=_trigger_names(graph))


def _print_said(msgs: list[Any], t0: float) -> None:
    """Print slow-loop descriptions / verdicts (escaped text, with their source)."""
    from videorag_ros.core.stamps import stamp_to_ns
    from videorag_ros.slowloop.sanitize import escape_line

    for d in msgs:
        t = stamp_to_ns(d.header.stamp) / 1e9 - t0
        if d.kind == "verify":
            what = f"verdict {d.verdict} for {d.trigger} ({escape_line(d.action)}): {escape_line(d.text)}"
        else:
            what = f"description ({d.reason}): {escape_line(d.text)}"
        print(f"{t:7.2f}  slow loop {what}  [{escape_line(d.source)}, {d.latency_ms:.0f} ms]")


def _truth(data: str) -> tuple[int, str]:
    item = json.loads(data)
    return int(item["stamp_ns"]), str(item["class"])


def _trigger_names(graph: Any) -> list[str]:
    from videorag_ros.core.config import load_params_file

    return [str(t) for t in load_params_file(graph.params).get("triggers", [])]


def _follow(graph: Any, camera: Any, truth: list[tuple[int, str]], said: list[Any], seconds: float) -> tuple[float, int]:
    """Print events as they arrive until the camera finishes; returns the first frame's time (s) and the slow-loop messages shown."""
    from videorag_ros.ros.graph import wait_until

    log = graph.monitor.log
    if not wait_until(lambda: bool(truth), 60.0, spin=graph.spin):
        raise SystemExit(f"error: the simulated camera published nothing; see {graph.log_path.parent / 'camera.log'}")
    t0 = truth[0][0] * 1e-9
    print(f"{'t (s)':>7}  event")
    seen_truth = seen_trig = seen_stop = seen_said = 0
    last_class = None
    deadline = time.time() + seconds + 30
    while time.time() < deadline and (camera.poll() is None or seen_truth < len(truth)):
        graph.spin(0.05)
        for ts, cls in truth[seen_truth:]:
            if cls != last_class:
                print(f"{ts * 1e-9 - t0:7.2f}  camera sees: {cls}")
                last_class = cls
        seen_truth = len(truth)
        for t in log.triggers[seen_trig:]:
            if t.state != HOLD:
                print(f"{t.stamp_ns / 1e9 - t0:7.2f}  trigger {t.state:<5} {t.trigger} on {t.camera_id}  score {t.score:.3f}  glass-to-action {t.wire_latency_ms:.1f} ms")
        seen_trig = len(log.triggers)
        n_said = len(said)
        _print_said(said[seen_said:n_said], t0)
        seen_said = n_said
        for ts, engaged in log.estop[seen_stop:]:
            if seen_stop == 0:
                print(f"{0.0:7.2f}  e-stop {'ENGAGED' if engaged else 'clear'} (state when the stream started)")
            elif engaged != log.estop[seen_stop - 1][1]:
                print(f"{ts - t0:7.2f}  e-stop {'ENGAGED' if engaged else 'clear'}")
            seen_stop += 1
    return t0, seen_said


def _summary(log: Any, truth: list[tuple[int, str]], values: dict[str, str], cam: dict[str, str], t0: float, *, sequence: str, triggers: list[str]) -> int:
    """Print the latency table and the verdict: the scenario catalogue's annotation of what the camera
    showed, scored by the one scenario rule (``scenarios.score.score_run``) against the triggers seen."""
    from videorag_ros.ros.graph import stage_table
    from videorag_ros.scenarios.catalogue import annotate, get_spec
    from videorag_ros.scenarios.score import Transition, score_run

    print("\nlatency per stage (ms), from the node's /diagnostics:")
    print(f"  {'stage':<22}{'p50':>8}{'p95':>8}{'p99':>8}{'n':>6}")
    for stage, s in stage_table(values).items():
        print(f"  {stage:<22}{s['p50']:>8.2f}{s['p95']:>8.2f}{s['p99']:>8.2f}{int(s['n']):>6}")
    print(f"frames: received {cam.get('received', 0)}, admitted {cam.get('admitted', 0)}, embedded {cam.get('embedded', 0)}, dropped {cam.get('dropped', 0)}, rejected {cam.get('rejected_input', 0)}")
    stamps, classes = [s for s, _ in truth], [c for _, c in truth]
    ann = annotate(get_spec(sequence), classes, fps=30.0, first_stamp_ns=stamps[0], stamps=stamps)
    # Events of triggers this node does not run cannot fire here; they are left out of the verdict.
    ann = replace(ann, events=tuple(e for e in ann.events if e.trigger in triggers))
    transitions = [Transition(t.trigger, t.state, t.stamp_ns, t.camera_id) for t in log.triggers if t.state in ("ENTER", "EXIT")]
    score = score_run(ann, transitions, triggers=triggers)
    if not score.passed:
        print("verdict: FAILED: " + "; ".join(score.reasons))
        return 1
    detected = [e for e in score.events if e.detected]
    if not detected:
        print("verdict: ok: nothing to stop for, and nothing stopped the robot")
        return 0
    ev = detected[0]
    first = next(t for t in log.triggers if t.state == "ENTER" and t.trigger == ev.trigger)
    print(
        f"verdict: ok: '{ev.name}' from {ev.start_s:.2f} s; '{ev.trigger}' ENTERed at {ev.enter_s:.2f} s (frame time), "
        f"{ev.time_to_trigger_s:.2f} s after it began; glass-to-action {first.wire_latency_ms:.1f} ms"
    )
    return 0
