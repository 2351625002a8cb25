"""``videorag bench pipeline``: glass-to-action latency through real DDS on this machine.

The edge node runs as its own process with the shipped parameters, except that the gate
admits every frame (the worst case: every frame is embedded) and a probe trigger with
threshold -1 is added, so every embedded frame publishes a SemanticTrigger; its arrival
at a subscriber in this process, minus the frame's header stamp, is the glass-to-action
latency a downstream consumer sees. Per-stage times come from the node's /diagnostics.

``--hostile-camera jp2|costly-jpeg`` adds a second, compressed camera publishing at the same
rate what an attacker would send: a JPEG 2000 file labelled 'jpeg' (a few hundred bytes that
cost ~0.5 s to decode), or valid 4096 x 4096 progressive JPEGs (the costliest payload the
default limits accept). The table then shows what the ``front`` camera still gets.
``--node-checkout DIR`` runs the node from another source checkout (a before/after comparison).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from videorag_ros.bench.common import add_node_options, percentiles, run_and_report
from videorag_ros.core.config import NODE_NAME

PROBE = "bench_probe"
HOSTILE = "hostile"
HOSTILE_TOPIC = "camera/hostile/image_raw/compressed"


def hostile_payload(kind: str) -> bytes:
    """What the hostile camera sends: a JPEG 2000 file labelled 'jpeg', or a costly but valid JPEG."""
    import cv2

    if kind == "jp2":
        ok, buf = cv2.imencode(".jp2", np.zeros((4096, 4096, 3), np.uint8))
    else:
        smooth = cv2.resize(np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8), (4096, 4096))
        ok, buf = cv2.imencode(".jpg", smooth, [cv2.IMWRITE_JPEG_QUALITY, 95, cv2.IMWRITE_JPEG_PROGRESSIVE, 1])
    if not ok:
        msg = f"OpenCV could not encode the {kind} payload"
        raise RuntimeError(msg)
    return bytes(buf.tobytes())


def _bench_params(base: Path, model: str | None, out: Path, *, hostile: bool = False) -> Path:
    from videorag_ros.core.config import dump_params_file, load_params_file, override_model

    flat = load_params_file(base)
    if hostile:
        flat["cameras"] = [*flat.get("cameras", ["front"]), HOSTILE]
        flat.update({f"{HOSTILE}.topic": HOSTILE_TOPIC, f"{HOSTILE}.transport": "compressed", f"{HOSTILE}.timeout_s": 30.0})
    override_model(flat, model)
    flat.update({"gate.keyframe_interval_s": 0.0, "gate.max_rate_hz": 0.0, "gate.motion_rate_hz": 0.0})
    flat["triggers"] = [*flat.get("triggers", []), PROBE]
    flat.update({f"{PROBE}.prompts": ["a person"], f"{PROBE}.enter_threshold": -1.0, f"{PROBE}.exit_threshold": -1.0,
                 f"{PROBE}.debounce_n": 1, f"{PROBE}.debounce_m": 1, f"{PROBE}.actions": ["log"]})
    # Never drive a real robot's stop topics from a benchmark.
    flat.update({"estop_topic": "/videorag_bench/estop", "cmd_vel_topic": "/videorag_bench/cmd_vel_safety", "diagnostics_period_s": 0.5})
    return dump_params_file(flat, out / "bench_edge.yaml")


def run_bench(args: argparse.Namespace) -> dict[str, Any]:
    """Run the benchmark; returns the result object printed as JSON."""
    from sensor_msgs.msg import CompressedImage, Image

    from videorag_ros.cli.edge import default_params
    from videorag_ros.ros.camera_sim_node import render_frames
    from videorag_ros.ros.conversions import ns_to_stamp
    from videorag_ros.ros.graph import EdgeGraph, stage_table, wait_until

    out = Path(args.out_dir or tempfile.mkdtemp(prefix="videorag-bench-"))
    out.mkdir(parents=True, exist_ok=True)
    hostile = args.hostile_camera != "none"
    params = _bench_params(args.params or default_params(), args.model, out, hostile=hostile)
    domain = args.domain if args.domain is not None else 150 + os.getpid() % 80
    print(f"rendering {args.frames} frames {args.width}x{args.height}...", file=sys.stderr)
    frames = [f for f, _ in render_frames("person_steps_in", seconds=args.frames / args.fps, fps=args.fps, width=args.width, height=args.height, seed=0)]
    extra_env = {"PYTHONPATH": f"{Path(args.node_checkout).resolve()}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"} if args.node_checkout else None
    graph = EdgeGraph(params, domain_id=domain, log_path=out / "edge.log", estop_topic="/videorag_bench/estop", cmd_vel_topic="/videorag_bench/cmd_vel_safety", extra_env=extra_env)
    try:
        pub = graph.publisher(Image, "camera/front/image_raw")
        bad_pub = graph.publisher(CompressedImage, HOSTILE_TOPIC) if hostile else None
        bad = CompressedImage(format="jpeg", data=hostile_payload(args.hostile_camera)) if hostile else None
        print("starting the edge node...", file=sys.stderr)
        graph.wait_ready([pub] + ([bad_pub] if bad_pub is not None else []))
        monitor = graph.monitor
        encoder = monitor.pipeline_values().get("encoder", "?")
        print(f"publishing {len(frames)} frames at {args.fps:g} Hz (encoder {encoder})...", file=sys.stderr)
        h, w = frames[0].shape[:2]
        churn = _ParamChurn(graph.monitor, args.param_churn_hz) if args.param_churn_hz > 0 else None
        churn_from = len(frames) // 2  # first half without changes: the baseline of the same run
        churn_start_ns = 0
        t_next = time.monotonic()
        for i, rgb in enumerate(frames):
            graph.spin(t_next - time.monotonic())
            if churn is not None and i >= churn_from:
                churn_start_ns = churn_start_ns or time.time_ns()
                churn.tick()
            msg = Image(height=h, width=w, encoding="rgb8", step=w * 3, data=rgb.tobytes())
            msg.header.frame_id = "camera_front"
            msg.header.stamp = ns_to_stamp(time.time_ns())
            pub.publish(msg)
            if bad_pub is not None and bad is not None:
                bad.header.stamp = ns_to_stamp(time.time_ns())
                bad_pub.publish(bad)
            t_next += 1.0 / args.fps
            if (i + 1) % max(1, args.fps) == 0:
                print(f"  {i + 1}/{len(frames)}", file=sys.stderr)
        n_diag = len(monitor.log.diagnostics)
        wait_until(lambda: len(monitor.log.diagnostics) >= n_diag + 3, 5.0, spin=graph.spin)
        probe = [t for t in monitor.log.triggers if t.trigger == PROBE and t.camera_id == "front"]
        stages = stage_table(monitor.pipeline_values())
        cam = monitor.camera_values("front")
        bad_cam = monitor.camera_values(HOSTILE) if hostile else {}
    finally:
        graph.close()
    wire = [t.wire_latency_ms for t in probe]
    churned = None
    if churn is not None:
        calm = [t.wire_latency_ms for t in probe if t.stamp_ns < churn_start_ns]
        busy = [t.wire_latency_ms for t in probe if t.stamp_ns >= churn_start_ns]
        p_calm, p_busy = percentiles(calm), percentiles(busy)
        churned = {
            "param_churn_hz": args.param_churn_hz,
            "sets_sent": churn.sent,
            "sets_accepted": churn.accepted,
            "glass_to_action_no_changes_ms": p_calm,
            "glass_to_action_with_changes_ms": p_busy,
            "p99_ratio": round(p_busy["p99"] / p_calm["p99"], 3) if p_calm.get("p99") else None,
            "param_set_to_decision_ms": stages.get("param_set_to_decision"),
        }
    result = {
        "bench": "pipeline",
        "encoder": encoder,
        "frames_published": len(frames),
        "frame_size": [w, h],
        "fps": args.fps,
        "frames_received": int(cam.get("received", 0)),
        "frames_embedded": int(cam.get("embedded", 0)),
        "frames_dropped": int(cam.get("dropped", 0)),
        "actions_received": len(probe),
        "glass_to_action_ms": percentiles(wire),
        "hostile_camera": args.hostile_camera,
        "hostile": {k: bad_cam.get(k) for k in ("received", "rejected_input", "dropped", "dropped_over_decode_budget", "decode_worst_ms", "admitted", "embedded")} if hostile else None,
        "node_checkout": args.node_checkout,
        "live_parameter_changes": churned,
        "stages_ms": stages,
        "machine": {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(), "python": platform.python_version()},
        "edge_log": str(out / "edge.log"),
    }
    if args.plot:
        _plot(wire, stages, result, Path(args.plot))
        result["plot"] = str(args.plot)
    return result


class _ParamChurn:
    """Sets ``person_ahead.enter_threshold`` (0.60 / 0.62 in turn) on the edge node at a fixed rate, as ``ros2 param set`` does."""

    def __init__(self, node: Any, rate_hz: float) -> None:
        from rcl_interfaces.srv import SetParameters

        self._client = node.create_client(SetParameters, f"/{NODE_NAME}/set_parameters")
        self._period_s = 1.0 / rate_hz
        self._next = time.monotonic()
        self.sent = 0
        self.accepted = 0

    def tick(self) -> None:
        """Send the next set request if one is due (asynchronously; answers are counted as they come)."""
        from rcl_interfaces.msg import Parameter, ParameterType, ParameterValue
        from rcl_interfaces.srv import SetParameters

        if time.monotonic() < self._next or not self._client.service_is_ready():
            return
        self._next += self._period_s
        value = ParameterValue(type=ParameterType.PARAMETER_DOUBLE, double_value=0.60 if self.sent % 2 else 0.62)
        req = SetParameters.Request(parameters=[Parameter(name="person_ahead.enter_threshold", value=value)])
        self.sent += 1
        self._client.call_async(req).add_done_callback(self._done)

    def _done(self, future: Any) -> None:
        res = future.result()
        if res is not None and all(r.successful for r in res.results):
            self.accepted += 1


def _plot(wire: list[float], stages: dict[str, dict[str, float]], result: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(12, 4.5))
    a.hist(wire, bins=40, color="#3b7dd8")
    for q, c in zip((50, 95, 99), ("k", "#e08a00", "#c0392b"), strict=True):
        v = float(np.percentile(wire, q)) if wire else 0.0
        a.axvline(v, color=c, ls="--", label=f"p{q} {v:.1f} ms")
    a.set(title=f"glass-to-action (consumer side), n={len(wire)}", xlabel="ms", ylabel="frames")
    a.legend()
    names = [s for s in ("receive", "queue", "convert", "gate", "preprocess", "embed", "trigger", "publish", "overhead_excl_forward") if s in stages]
    y = np.arange(len(names))
    for off, key, c in ((-0.25, "p50", "#3b7dd8"), (0.0, "p95", "#e08a00"), (0.25, "p99", "#c0392b")):
        b.barh(y + off, [stages[n].get(key, 0.0) for n in names], height=0.25, color=c, label=key)
    b.set_yticks(y, names)
    b.invert_yaxis()
    b.set(title=f"node stages ({result['encoder']})", xlabel="ms")
    b.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _print_table(r: dict[str, Any]) -> None:
    print(f"encoder: {r['encoder']}   frames {r['frame_size'][0]}x{r['frame_size'][1]} at {r['fps']:g} Hz")
    print(f"published {r['frames_published']}  received {r['frames_received']}  embedded {r['frames_embedded']}  dropped (latest-wins) {r['frames_dropped']}  actions received {r['actions_received']}")
    if r.get("hostile"):
        print(f"hostile camera ({r['hostile_camera']}): " + "  ".join(f"{k} {v}" for k, v in r["hostile"].items()))
    print(f"{'stage':<24}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'n':>7}")
    rows = [("glass_to_action (wire)", r["glass_to_action_ms"]), *r["stages_ms"].items()]
    for name, s in rows:
        if s:
            print(f"{name:<24}{s['p50']:>9.2f}{s['p95']:>9.2f}{s['p99']:>9.2f}{int(s['n']):>7}")
    live = r.get("live_parameter_changes")
    if live:
        calm, busy = live["glass_to_action_no_changes_ms"], live["glass_to_action_with_changes_ms"]
        print(f"live tuning: {live['sets_accepted']}/{live['sets_sent']} sets accepted at {live['param_churn_hz']:g} Hz in the second half")
        for name, s in (("g2a, no changes", calm), ("g2a, with changes", busy)):
            if s:
                print(f"{name:<24}{s['p50']:>9.2f}{s['p95']:>9.2f}{s['p99']:>9.2f}{int(s['n']):>7}")
        print(f"p99 ratio (with / without changes): {live['p99_ratio']}")


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments, run, print the table and (with --json) one JSON line."""
    parser = argparse.ArgumentParser(prog="videorag bench pipeline", description=__doc__)
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--fps", type=int, default=30)
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=480)
    parser.add_argument("--plot", help="write a latency histogram PNG here")
    parser.add_argument("--hostile-camera", choices=("none", "jp2", "costly-jpeg"), default="none", help="add a second camera sending hostile payloads at the same rate")
    parser.add_argument("--param-churn-hz", type=float, default=0.0, help="in the second half of the run, set a trigger threshold on the node this often (live tuning); compares glass-to-action with the first half")
    parser.add_argument("--node-checkout", help="run the edge node from this source checkout (before/after comparisons)")
    add_node_options(parser)
    return run_and_report(parser.parse_args(argv), run_bench, _print_table)
