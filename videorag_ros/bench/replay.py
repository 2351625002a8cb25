"""``videorag bench replay``: the scenario bags replayed at 1x into the edge node, scored and timed.

For each scenario bag (the standard set, made into a temporary directory, or ``--bags DIR``
from ``videorag scenario make``) a fresh edge node starts as its own process with
config/scenarios.yaml (``--params``, ``--model``); the bag is played into it in real time
(``BagReplayer``, in this process, with ``restamp``: each frame's ``header.stamp`` is the
wall clock at publish, as a camera driver would stamp it); a Monitor in this process
records the node's SemanticTrigger messages and /diagnostics.

Time mapping. The annotation is in bag time (the recorded stamps); the node, and so every
trigger message, sees the restamped wall-clock stamps. The replay source records, for each
published frame, restamped stamp -> recorded stamp; a trigger message carries the stamp of
the frame that caused it, so it maps back exactly to the frame's recorded stamp and its
time in the annotation. Scoring (``scenario_score``) is then in bag time, by frame,
independent of publish jitter or of frames lost in transport. Wall-clock figures use the
restamped stamps directly: glass-to-action = a SemanticTrigger's arrival at the Monitor minus
its frame's stamp; time-to-action = the ENTER's arrival minus the publish stamp of the
event's first frame.

Per scenario: events, detected, false positives, precision, recall, time-to-trigger (bag
time: ENTER frame minus event start), time-to-action (wall), glass-to-action at the
Monitor over every SemanticTrigger (ENTER, HOLD, EXIT) p50/p95/p99, the node's
glass-to-decision over every embedded frame (from /diagnostics; defined even when nothing
fires), frames published / received / dropped (latest-wins) / lost in transport, the node's
CPU over the replay (``/proc/<pid>/stat`` utime+stime, % of one core) and peak RSS (VmHWM).
"Lost" frames are published but never taken by the node's subscription: best effort with a
keep-last-1 reader, a frame is replaced in the reader's history when the node's executor
does not take it before the next one arrives (a CPU-starved node), or lost in transport.

Two cameras (``--cameras 2``): every frame of the bag is published a second time, half a
frame period later, on ``/camera/cam2/image_raw`` (a second, free-running camera at the same
rate), and the node gets a second camera ``cam2``. Trigger scores then count the first camera
only; latency, drops and CPU cover both, and the table shows each camera's glass-to-action and
the first and second half of the replay (a growing backlog shows as a later half that is slower).

With a random-init model (manifest ``source`` says so) or ``--latency-only``, trigger
decisions are meaningless: only the latency and cost columns are printed, and an
always-active probe trigger (not scored) is added so that every embedded frame publishes a
SemanticTrigger and glass-to-action has samples. Results are reported, never asserted.
``--json`` prints one JSON object last.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from videorag_ros.bench.common import cpu_s, peak_rss_mib, percentiles
from videorag_ros.core.printable import printable
from videorag_ros.scenarios.score import DEFAULT_BUDGET_S

NS = "/videorag_bench_replay"
#: The always-active trigger added with --latency-only / a random-init model (not scored).
PROBE = "bench_probe"
DEFAULT_CACHE = Path.home() / ".cache" / "videorag" / "models"


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def resolve_model(spec: str | None, cache: Path) -> str | None:
    """``--model``: a name or directory as the node takes it, or ``random:ARCH[:int8]``.

    ``random:clip-vit-b32`` is the random-init fp32 export in ``cache`` (made if missing);
    ``random:clip-vit-b32:int8`` the int8-image variant ``videorag bench model`` writes there.

    Raises:
        ConfigError: An unknown architecture, or an int8 variant that was never made.
    """
    if spec is None or not spec.startswith("random:"):
        return spec
    from videorag_ros.core.errors import ConfigError
    from videorag_ros.toolchain.random_init import RANDOM_ARCHS

    parts = spec.split(":")
    arch = parts[1]
    precision = parts[2] if len(parts) > 2 else ""
    if len(parts) > 3 or arch not in RANDOM_ARCHS or precision not in ("", "int8"):
        msg = f"--model {spec}: expected random:ARCH or random:ARCH:int8 with ARCH one of {', '.join(RANDOM_ARCHS)}"
        raise ConfigError(msg)
    if precision == "int8":
        path = cache / f"random-{arch}-int8-image"
        if not (path / "manifest.yaml").is_file():
            msg = f"--model {spec}: {path} does not exist; make it with 'videorag bench model --models random:{arch}' (exports and quantizes)"
            raise ConfigError(msg)
        return str(path)
    path = cache / f"random-{arch}"
    if not (path / "manifest.yaml").is_file():
        from videorag_ros.toolchain.random_init import export_random_init

        _say(f"exporting random-init {arch} to {path} (once; cached afterwards)")
        export_random_init(arch, path, progress=lambda s: _say(f"  export {s}"))
    return str(path)


#: Topic and camera id of the second camera (``--cameras 2``): a copy of the bag's camera.
MIRROR_CAMERA = "cam2"
MIRROR_TOPIC = f"/camera/{MIRROR_CAMERA}/image_raw"


def _bench_params(base: Path, model: str | None, out: Path, *, probe: bool, cameras: int = 1) -> Path:
    from videorag_ros.core.config import dump_params_file, load_params_file, override_model

    flat = load_params_file(base)
    override_model(flat, model)
    if cameras == 2:
        flat["cameras"] = [*flat.get("cameras", ["front"]), MIRROR_CAMERA]
        flat[f"{MIRROR_CAMERA}.topic"] = MIRROR_TOPIC
    # Never drive a real robot's stop topics from a benchmark; fresh diagnostics often; a camera
    # waiting for the replay to start is not a fault worth reporting.
    flat.update({"estop_topic": f"{NS}/estop", "cmd_vel_topic": f"{NS}/cmd_vel_safety", "diagnostics_period_s": 0.5})
    for cam in flat.get("cameras", ["front"]):
        flat[f"{cam}.timeout_s"] = 30.0
    if probe:
        # Latency only: a trigger that is always active publishes a SemanticTrigger for every
        # embedded frame, so glass-to-action has samples whatever the (meaningless) scores do.
        flat["triggers"] = [*flat.get("triggers", []), PROBE]
        flat.update({f"{PROBE}.prompts": ["a person"], f"{PROBE}.enter_threshold": -1.0, f"{PROBE}.exit_threshold": -1.0})
        flat.update({f"{PROBE}.debounce_n": 1, f"{PROBE}.debounce_m": 1, f"{PROBE}.actions": ["log"]})
    return dump_params_file(flat, out / "bench_replay_edge.yaml")


def _bags(args: argparse.Namespace, out: Path) -> list[tuple[Path, Any]]:
    from videorag_ros.scenarios.annotations import ScenarioError, load_annotation, sidecar_path
    from videorag_ros.scenarios.catalogue import STANDARD_SET
    from videorag_ros.scenarios.maker import make_standard_set

    if args.bags is None:
        names = args.scenario or list(STANDARD_SET)
        _say(f"making {len(names)} scenario bags ({args.width}x{args.height} rgb8, {args.fps:g} fps, {args.seconds:g} s) in {out / 'bags'} ...")
        return make_standard_set(out / "bags", names=names, seconds=args.seconds, fps=args.fps, width=args.width, height=args.height)
    found = {p.parent.name: p.parent for p in sorted(Path(args.bags).glob("*/" + sidecar_path("x").name))}
    names = args.scenario or list(found)
    missing = [n for n in names if n not in found]
    if not found or missing:
        msg = f"--bags {args.bags}: no scenario bag(s) {missing or ''} there (directories with scenario.yaml: {sorted(found) or 'none'}); make them with 'videorag scenario make --all DIR'"
        raise ScenarioError(msg)
    return [(found[n], load_annotation(found[n])) for n in names]


def _recording_source(bag: Path, topics: Sequence[str], *, mirror_period_ns: int = 0) -> Any:
    """An ``ImageBagSource`` that remembers, per published frame, restamped stamp -> recorded stamp.

    With ``mirror_period_ns`` > 0 every message of the (single) played topic is published again
    on ``MIRROR_TOPIC``, half that period later: a second camera at the same rate.
    """
    import dataclasses
    from collections.abc import Iterator

    from videorag_ros.recordings.bag_reader import BagMessage, BagTopic, ImageBagSource

    class RecordingSource(ImageBagSource):
        def __init__(self) -> None:
            super().__init__(bag, topics)
            self.recorded: dict[int, int] = {}  # restamped (wall) stamp -> recorded (bag) stamp
            self.published: list[tuple[int, int]] = []  # (recorded, restamped) in publish order, first camera
            self.restamp_ms: list[float] = []
            if mirror_period_ns:
                (first,) = [t for t in self.topics if t.name in self.selected]
                self.topics = [*self.topics, BagTopic(MIRROR_TOPIC, first.msgtype, first.count, True)]
                self.selected = (*self.selected, MIRROR_TOPIC)

        def messages(self) -> Iterator[BagMessage]:
            for msg in super().messages():
                yield msg
                if mirror_period_ns:
                    yield dataclasses.replace(msg, topic=MIRROR_TOPIC, log_time_ns=msg.log_time_ns + mirror_period_ns // 2)

        def restamp(self, msg: BagMessage, stamp_ns: int) -> bytes:
            t0 = time.perf_counter()
            data = super().restamp(msg, stamp_ns)
            self.restamp_ms.append((time.perf_counter() - t0) * 1e3)
            self.recorded[stamp_ns] = msg.stamp_ns
            if msg.topic != MIRROR_TOPIC:
                self.published.append((msg.stamp_ns, stamp_ns))
            return data

    return RecordingSource()


def _replay_into_graph(graph: Any, source: Any, pid: int, rate: float, frame_s: float) -> tuple[Any, float, float, float]:
    """Play the bag (thread) while this thread spins the monitor.

    Returns:
        The replay summary, the node's and this process's CPU seconds over the replay, and its wall seconds.
    """
    import rclpy

    from videorag_ros.ros.bag_replayer import BagReplayer, ReplayOptions

    node = rclpy.create_node("videorag_bench_replay", context=graph.ctx)
    stop = threading.Event()
    result: dict[str, Any] = {}
    try:
        # Discovery is not simultaneous: a second after the match, the node takes frame 0 too.
        options = ReplayOptions(rate=rate, restamp=True, wait_for_subscribers=1, wait_timeout_s=30.0, settle_s=1.0)
        replayer = BagReplayer(node, source, options)

        def play() -> None:
            try:
                if not replayer.wait_for_subscribers(stop.is_set):
                    _say("  warning: the node did not subscribe within 30 s; playing anyway")
                cpu0, own0, t0 = cpu_s(pid), cpu_s(os.getpid()), time.monotonic()
                result["summary"] = replayer.run(should_stop=stop.is_set)
                time.sleep(frame_s)  # the last frame's processing
                result["cpu"] = (cpu_s(pid) - cpu0, cpu_s(os.getpid()) - own0, time.monotonic() - t0)
            except BaseException as err:  # re-raised in the calling thread
                result["error"] = err

        thread = threading.Thread(target=play, name="videorag-bench-replay", daemon=True)
        thread.start()
        try:
            while thread.is_alive():
                graph.spin(0.05)
        finally:
            stop.set()
            thread.join()
    finally:
        node.destroy_node()
    if "error" in result:
        raise result["error"]
    node_cpu_s, own_s, wall_s = result["cpu"]
    return result["summary"], node_cpu_s, own_s, wall_s


def run_scenario(
    bag: Path, ann: Any, params: Path, *, cameras: Sequence[str], triggers: Sequence[str], args: argparse.Namespace, out: Path, domain: int
) -> tuple[dict[str, Any], Any]:
    """Start a fresh node, replay one bag into it, score and time it.

    Returns:
        The scenario's result object (JSON) and its ``ScenarioScore``.
    """
    from videorag_ros.core.triggers import ENTER, EXIT
    from videorag_ros.ros.graph import EdgeGraph, stage_table, wait_until
    from videorag_ros.scenarios.score import Transition, score_run

    log = out / f"edge_{ann.scenario}.log"
    graph = EdgeGraph(params, domain_id=domain, log_path=log, estop_topic=f"{NS}/estop", cmd_vel_topic=f"{NS}/cmd_vel_safety")
    try:
        graph.wait_ready([], timeout_s=180.0)
        mon = graph.monitor
        encoder = mon.pipeline_values().get("encoder", "?")
        mirror_ns = round(1e9 / ann.fps) if args.cameras == 2 else 0
        source = _recording_source(bag, list(ann.topics), mirror_period_ns=mirror_ns)
        with source:
            _say(f"  replaying {ann.frames} frames at {args.rate:g}x ...")
            summary, node_cpu_s, own_cpu_s, wall_s = _replay_into_graph(graph, source, graph.proc.pid, args.rate, 1.0 / ann.fps)
        graph.spin(args.budget + 0.5)  # decisions on the last frames
        n_diag = len(mon.log.diagnostics)
        wait_until(lambda: len(mon.log.diagnostics) >= n_diag + 2, 5.0, spin=graph.spin)
        records = list(mon.log.triggers)
        values = mon.pipeline_values()
        cams = {cam: mon.camera_values(cam) for cam in cameras}
        peak_rss = peak_rss_mib(graph.proc.pid)
    finally:
        graph.close()

    mapped = [(r, source.recorded.get(r.stamp_ns)) for r in records]
    unmapped = sum(1 for _, s in mapped if s is None)
    scored_camera = cameras[0]  # with --cameras 2, the second camera sees the same scene: not scored twice
    transitions = [
        Transition(r.trigger, r.state, s, r.camera_id)
        for r, s in mapped
        if s is not None and r.state in (ENTER, EXIT) and r.trigger != PROBE and r.camera_id == scored_camera
    ]
    score = score_run(ann, transitions, budget_s=args.budget, triggers=triggers)
    # Time to action (wall): the ENTER's arrival at the monitor minus the publish stamp of the event's first frame.
    to_action = []
    for ev in score.events:
        if not ev.detected or ev.carried:
            continue
        start_ns = ann.stamp_ns(ev.start_s)
        wall0 = next((w for rec, w in source.published if rec >= start_ns - 1_000_000), None)
        enter = next(
            (r for r, s in mapped if s is not None and r.state == ENTER and r.trigger == ev.trigger and abs(ann.time_s(s) - (ev.enter_s or 0.0)) < 1e-3), None
        )
        if wall0 is not None and enter is not None:
            to_action.append(round((enter.stamp_ns + enter.wire_latency_ms * 1e6 - wall0) * 1e-9, 4))
    half = (records[0].stamp_ns + records[-1].stamp_ns) // 2 if records else 0
    stages = stage_table(values)
    counts = {k: sum(int(float(c.get(k, 0))) for c in cams.values()) for k in ("received", "admitted", "embedded", "dropped", "rejected_input")}
    published = sum(summary.published.values())
    result = {
        "scenario": ann.scenario,
        "bag": str(bag),
        "encoder": encoder,
        "score": score.to_dict(),
        "time_to_trigger_s": [e.time_to_trigger_s for e in score.events if e.time_to_trigger_s is not None],
        "time_to_action_s": to_action,
        "glass_to_action_wire_ms": percentiles([r.wire_latency_ms for r in records]),
        "glass_to_action_wire_ms_per_camera": {cam: percentiles([r.wire_latency_ms for r in records if r.camera_id == cam]) for cam in cameras},
        # A backlog that grows over the replay shows as a second half slower than the first.
        "glass_to_action_wire_ms_halves": [
            percentiles([r.wire_latency_ms for r in records if r.stamp_ns < half]),
            percentiles([r.wire_latency_ms for r in records if r.stamp_ns >= half]),
        ],
        "wire_latency_samples_ms": [round(r.wire_latency_ms, 3) for r in records],
        "wire_latency_samples_by_camera_ms": {cam: [round(r.wire_latency_ms, 3) for r in records if r.camera_id == cam] for cam in cameras},
        "wire_latency_halves_samples_ms": [
            [round(r.wire_latency_ms, 3) for r in records if r.stamp_ns < half],
            [round(r.wire_latency_ms, 3) for r in records if r.stamp_ns >= half],
        ],
        "glass_to_action_node_ms": stages.get("glass_to_action", {}),
        "glass_to_decision_ms": stages.get("glass_to_decision", {}),
        "stages_ms": stages,
        "over_budget": int(float(values.get("over_budget", 0))),
        "frames": {"published": published, **counts, "lost_in_transport": published - counts["received"]},
        "replay": summary.to_dict() | {"restamp_ms": percentiles(source.restamp_ms)},
        "unmapped_trigger_stamps": unmapped,
        "cpu_s": node_cpu_s,
        "cpu_pct": 100.0 * node_cpu_s / wall_s if wall_s > 0 else float("nan"),
        "replay_wall_s": wall_s,
        "bench_process_cpu_pct": 100.0 * own_cpu_s / wall_s if wall_s > 0 else float("nan"),
        "peak_rss_mib": peak_rss,
        "edge_log": str(log),
    }
    return result, score


def _flat(params: Path) -> dict[str, Any]:
    from videorag_ros.core.config import load_params_file

    return load_params_file(params)


def run_bench(args: argparse.Namespace) -> dict[str, Any]:
    """Make or find the bags, replay each into a fresh node; the result object printed as JSON."""
    from videorag_ros.cli.scenario import scenarios_params
    from videorag_ros.core.config import build_edge_config
    from videorag_ros.core.encoder.manifest import load_manifest
    from videorag_ros.core.errors import ConfigError
    from videorag_ros.recordings.bag_reader import absolute_topic
    from videorag_ros.scenarios.score import total_counts

    out = Path(args.out_dir or tempfile.mkdtemp(prefix="videorag-bench-replay-"))
    out.mkdir(parents=True, exist_ok=True)
    model = resolve_model(args.model, args.cache_dir)
    base = args.params or scenarios_params()
    manifest = load_manifest(model or str(_flat(base).get("model", "videorag-tiny")), verify=False)
    meaningful = not (args.latency_only or str(manifest.raw.get("source", "")).startswith("random-init"))
    params = _bench_params(base, model, out, probe=not meaningful, cameras=args.cameras)
    config = build_edge_config(_flat(params))
    domain = args.domain if args.domain is not None else 150 + os.getpid() % 80
    made = args.bags is None
    bags = _bags(args, out)
    results, scores = [], []
    triggers = [t.name for t in config.triggers if t.name != PROBE]
    try:
        for i, (bag, ann) in enumerate(bags, 1):
            cameras = []
            if args.cameras == 2 and len(ann.topics) != 1:
                msg = f"{bag}: --cameras 2 copies a single-camera bag onto a second camera; this bag has topics {list(ann.topics)}"
                raise ConfigError(msg)
            for topic in [*ann.topics, *([MIRROR_TOPIC] if args.cameras == 2 else [])]:
                cam = next((c.id for c in config.cameras if absolute_topic(c.topic) == topic), None)
                if cam is None:
                    msg = f"{bag}: topic {topic} is not the topic of any camera in {params} ({', '.join(f'{c.id}={c.topic}' for c in config.cameras)})"
                    raise ConfigError(msg)
                cameras.append(cam)
            _say(f"[{i}/{len(bags)}] {ann.scenario}: starting the edge node ({manifest.name}) ...")
            r, score = run_scenario(bag, ann, params, cameras=cameras, triggers=triggers, args=args, out=out, domain=domain)
            results.append(r)
            scores.append(score)
            _say(f"  {r['score']['detected']}/{r['score']['events']} events, {r['score']['false_positives']} false positives; node CPU {r['cpu_pct']:.0f} %")
    finally:
        if made and not args.keep_bags:
            shutil.rmtree(out / "bags", ignore_errors=True)  # raw frames: ~140 MB per 10 s scenario
    totals = total_counts(scores)
    wire_all = [x for r in results for x in r["wire_latency_samples_ms"]]
    halves = [[x for r in results for x in r["wire_latency_halves_samples_ms"][h]] for h in (0, 1)]
    return {
        "bench": "replay",
        "model": manifest.name,
        "model_source": manifest.raw.get("source"),
        "encoder": results[0]["encoder"] if results else "?",
        "scores_meaningful": meaningful,
        "params": str(params),
        "budget_s": args.budget,
        "rate": args.rate,
        "bags": str(args.bags)
        if args.bags
        else {"made": True, "seconds": args.seconds, "fps": args.fps, "width": args.width, "height": args.height, "encoding": "rgb8"},
        "scenarios": results,
        "totals": {
            t: {"events": c.events, "detected": c.detected, "false_positives": c.false_positives, "precision": c.precision, "recall": c.recall}
            for t, c in totals.items()
        },
        "cameras": args.cameras,
        "glass_to_action_wire_ms_all": percentiles(wire_all),
        "glass_to_action_wire_ms_all_per_camera": {
            cam: percentiles([x for r in results for x in r["wire_latency_samples_by_camera_ms"].get(cam, [])])
            for cam in dict.fromkeys(c for r in results for c in r["wire_latency_samples_by_camera_ms"])
        },
        "glass_to_action_wire_ms_all_halves": [percentiles(h) for h in halves],
        "time_to_trigger_s_all": [x for r in results for x in r["time_to_trigger_s"]],
        "machine": {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(), "python": platform.python_version()},
        "out_dir": str(out),
    }


def _f(v: float | None, spec: str = ".2f") -> str:
    return "-" if v is None or (isinstance(v, float) and not np.isfinite(v)) else format(v, spec)


def _lat(s: dict[str, float]) -> str:
    return f"{_f(s.get('p50'), '.1f')}/{_f(s.get('p95'), '.1f')}/{_f(s.get('p99'), '.1f')} ({int(s.get('n', 0))})" if s else "- (0)"


def format_table(r: dict[str, Any]) -> str:
    """The fixed-width table ``videorag bench replay`` prints."""
    scored = r["scores_meaningful"]
    head = ["scenario"]
    if scored:
        head += ["events", "det", "FP", "prec", "recall", "t-trig s", "t-act s"]
    head += ["g2a wire ms p50/95/99 (n)", "g2d node ms p50/95/99 (n)", "pub", "recv", "drop", "lost", "CPU %", "peak MiB"]
    if scored:
        head.append("verdict")
    rows = []
    for s in r["scenarios"]:
        sc, fr = s["score"], s["frames"]
        row = [s["scenario"]]
        if scored:
            ttt = ",".join(_f(x) for x in s["time_to_trigger_s"]) or "-"
            tta = ",".join(_f(x) for x in s["time_to_action_s"]) or "-"
            row += [str(sc["events"]), str(sc["detected"]), str(sc["false_positives"]), _f(sc["precision"]), _f(sc["recall"]), ttt, tta]
        row += [
            _lat(s["glass_to_action_wire_ms"]),
            _lat(s["glass_to_decision_ms"]),
            str(fr["published"]),
            str(fr["received"]),
            str(fr["dropped"]),
            str(fr["lost_in_transport"]),
        ]
        row += [_f(s["cpu_pct"], ".0f"), _f(s["peak_rss_mib"], ".0f")]
        if scored:
            row.append("ok" if sc["passed"] else "FAIL")
        rows.append(row)
    t = r["totals"]["all"]
    total = ["all", str(t["events"]), str(t["detected"]), str(t["false_positives"]), _f(t["precision"]), _f(t["recall"]), "", ""] if scored else ["all"]
    total += [_lat(r["glass_to_action_wire_ms_all"])]
    rows.append(total + [""] * (len(head) - len(total)))
    extra = [(f"  camera {cam}", s) for cam, s in r.get("glass_to_action_wire_ms_all_per_camera", {}).items()] if r.get("cameras", 1) > 1 else []
    extra += [(f"  {name} half", s) for name, s in zip(("first", "second"), r.get("glass_to_action_wire_ms_all_halves", []), strict=False)]
    for label, stats in extra:
        row = [label] + ([""] * 7 if scored else []) + [_lat(stats)]
        rows.append(row + [""] * (len(head) - len(row)))
    widths = [max(len(c) for c in col) for col in zip(head, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    return "\n".join([line(head), line(["-" * w for w in widths]), *(line(row) for row in rows)])


def _print(r: dict[str, Any]) -> None:
    b = r["bags"]
    bags = f"{b['width']}x{b['height']} rgb8 at {b['fps']:g} fps, {b['seconds']:g} s each" if isinstance(b, dict) else b
    cams = f"; {r['cameras']} cameras (the bag's frames again on {MIRROR_TOPIC}, half a frame later)" if r.get("cameras", 1) > 1 else ""
    print(f"videorag bench replay: {len(r['scenarios'])} scenario(s), {bags}; replayed at {r['rate']:g}x, restamped; budget {r['budget_s']:g} s{cams}")
    print(f"model {r['model']} ({r['model_source']}); encoder {r['encoder']}; {r['machine']['cpu']} x{r['machine']['cores']}")
    print(format_table(r))
    print(
        "t-trig: ENTER frame minus event start (bag time); t-act: ENTER at the monitor minus the event's first frame on the wire (wall); "
        "g2a wire: every SemanticTrigger (ENTER/HOLD/EXIT) at the monitor minus its frame's stamp; g2d node: stamp -> decision, every embedded frame "
        "(node /diagnostics); drop: replaced in the node's latest-wins slot; lost: published - received (never taken by the node's subscription); "
        "CPU: node process over the replay, % of one core; peak: node VmHWM"
    )
    own = [s["bench_process_cpu_pct"] for s in r["scenarios"]]
    if own:
        print(f"this process (bag reading, restamping, publishing, monitor) used {min(own):.0f}-{max(own):.0f} % of one core during the replays")
    if not r["scores_meaningful"]:
        print(
            "random-init model (or --latency-only): trigger decisions are meaningless, precision / recall / time-to-trigger are not shown; "
            f"an always-active probe trigger '{PROBE}' publishes a SemanticTrigger per embedded frame for g2a"
        )
    for s in r["scenarios"]:
        for reason in s["score"]["reasons"] if r["scores_meaningful"] else []:
            print(f"  {s['scenario']}: {reason}")
        if s["unmapped_trigger_stamps"]:
            print(f"  {s['scenario']}: {s['unmapped_trigger_stamps']} trigger message(s) carried a stamp the replay never published (not scored)")


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments, run, print the table and (with --json) one JSON line; 1 on errors."""
    parser = argparse.ArgumentParser(prog="videorag bench replay", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bags", type=Path, metavar="DIR", help="scenario bags made by 'videorag scenario make' (default: make the standard set)")
    parser.add_argument("--scenario", action="append", metavar="NAME", help="only this scenario (repeatable; default: all)")
    parser.add_argument("--params", type=Path, help="edge parameter file (default: config/scenarios.yaml)")
    parser.add_argument("--model", help="model name or directory, or random:ARCH[:int8] (cost only; see --cache-dir)")
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE, help="random-init models (default: %(default)s, shared with 'videorag bench model')")
    parser.add_argument("--budget", type=float, default=DEFAULT_BUDGET_S, help="an event's trigger may ENTER up to this long after its end (default: %(default)s s)")
    parser.add_argument("--rate", type=float, default=1.0, help="replay speed (default: %(default)s = real time)")
    parser.add_argument("--latency-only", action="store_true", help="print latency and cost columns only (implied by a random-init model)")
    parser.add_argument("--seconds", type=float, default=10.0, help="made bags: length of each scenario (default: %(default)s)")
    parser.add_argument("--fps", type=float, default=15.0, help="made bags: frame rate (default: %(default)s)")
    parser.add_argument("--width", type=int, default=640, help="made bags: frame width (default: %(default)s)")
    parser.add_argument("--height", type=int, default=480, help="made bags: frame height (default: %(default)s)")
    parser.add_argument("--keep-bags", action="store_true", help="keep the made bags under OUT_DIR/bags")
    parser.add_argument("--cameras", type=int, choices=(1, 2), default=1, help="2: publish every frame on a second camera too (default: %(default)s)")
    parser.add_argument("--domain", type=int, help="ROS_DOMAIN_ID (default: derived from the pid)")
    parser.add_argument("--out-dir", help="where logs, the parameter file and made bags go (default: a new temporary directory)")
    parser.add_argument("--json", action="store_true", help="print the result as one JSON object on the last line")
    args = parser.parse_args(argv)
    if not (args.rate > 0 and args.budget >= 0):
        print(f"error: --rate must be > 0 and --budget >= 0; got {args.rate}, {args.budget}", file=sys.stderr)
        return 2

    from videorag_ros.core.errors import VideoragError

    try:
        result = run_bench(args)
    except (VideoragError, RuntimeError) as err:
        print(f"error: {printable(err)}", file=sys.stderr)
        return 1
    _print(result)
    if args.json:
        for s in result["scenarios"]:
            for key in ("wire_latency_samples_ms", "wire_latency_samples_by_camera_ms", "wire_latency_halves_samples_ms"):
                s.pop(key)
        print(json.dumps(result))
    return 0
