"""Fault-to-e-stop latency of each watchdog, measured on the wire.

For each watchdog, ``--trials`` times: cause the fault, and time until a consumer in another
process (or, for the worker, another rclpy context) receives ``std_msgs/Bool`` true on the e-stop.

- ``camera_silence``: the camera stops; fault time = last frame sent + ``timeout_s``.
- ``encoder_error``: an all-white frame makes onnxruntime raise; fault time = frame sent.
- ``encoder_deadline``: an all-black frame stalls the forward pass; fault time = frame sent + deadline.
- ``worker_death``: the worker thread is ended by an asynchronous exception (in-process node,
  frames flowing at 30 Hz); fault time = the exception is posted.

Prints JSON: per watchdog the raw latencies and p50 / max in ms. Results are reported, not
asserted. The fault-injecting encoder is exported on the fly (``bench/rigs/faulty_model.py``); the
worker-death trials run the node on a single-threaded executor, as shipped (``bench/rigs/worker_death.py``):

    flock /tmp/videorag-bench.lock videorag bench watchdog --trials 7
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

TIMEOUT_S = 0.5
DEADLINE_MS = 150.0


def _summary(values_ms: list[float]) -> dict[str, Any]:
    return {"n": len(values_ms), "p50_ms": round(statistics.median(values_ms), 1), "max_ms": round(max(values_ms), 1), "raw_ms": [round(v, 1) for v in values_ms]}


def _graph_trials(model_dir: Path, out: Path, trials: int, domain: int) -> dict[str, Any]:
    import numpy as np
    import yaml
    from sensor_msgs.msg import Image

    from videorag_ros.bench.rigs.faulty_model import BLACK, WHITE, solid_frame
    from videorag_ros.bench.rigs.patterns import pattern_frame
    from videorag_ros.ros.conversions import ns_to_stamp
    from videorag_ros.ros.graph import EdgeGraph, wait_until

    params = {
        "cameras": ["front"],
        "front": {"topic": "camera/front/image_raw", "timeout_s": TIMEOUT_S, "on_silence": "stop"},
        "model": str(model_dir),
        "gate": {"keyframe_interval_s": 0.0, "max_rate_hz": 0.0, "motion_rate_hz": 0.0},
        "watchdog": {"encoder_deadline_ms": DEADLINE_MS, "encoder_recovery_frames": 3},
        "estop_topic": "/videorag_bench/estop",
        "cmd_vel_topic": "/videorag_bench/cmd_vel_safety",
        "diagnostics_period_s": 0.5,
        "allow_no_triggers": True,  # the watchdogs alone drive the stop here
    }
    path = out / "edge.yaml"
    path.write_text(yaml.safe_dump({"videorag_edge": {"ros__parameters": params}}))
    g = EdgeGraph(path, domain_id=domain, log_path=out / "edge.log", estop_topic="/videorag_bench/estop", cmd_vel_topic="/videorag_bench/cmd_vel_safety")
    cam = g.publisher(Image, "camera/front/image_raw")
    results: dict[str, list[float]] = {"camera_silence": [], "encoder_error": [], "encoder_deadline": []}

    def send(rgb: np.ndarray) -> float:
        h, w = rgb.shape[:2]
        msg = Image(height=h, width=w, encoding="rgb8", step=w * 3, data=rgb.tobytes())
        msg.header.stamp = ns_to_stamp(time.time_ns())
        cam.publish(msg)
        return time.time()

    def estop() -> bool:
        return bool(g.monitor.log.estop) and g.monitor.log.estop[-1][1]

    def stream_until(pred: Callable[[], bool], timeout_s: float) -> bool:
        end = time.monotonic() + timeout_s
        i = 0
        while time.monotonic() < end:
            send(pattern_frame("stripes", seed=i))
            g.spin(1 / 30)
            i += 1
            if pred():
                return True
        return pred()

    def engaged_at(after: float, timeout_s: float, *, keep_streaming: bool) -> float:
        ok = stream_until(estop, timeout_s) if keep_streaming else wait_until(estop, timeout_s, spin=g.spin, step_s=0.005)
        if not ok:
            msg = f"e-stop did not engage; log: {g.log_path}"
            raise RuntimeError(msg)
        return next(t for t, v in g.monitor.log.estop if v and t >= after)

    try:
        g.wait_ready([cam])
        for _ in range(trials):
            assert stream_until(lambda: not estop(), 10.0), "e-stop did not release"
            stream_until(lambda: False, 0.5)
            last = send(pattern_frame("stripes", seed=99))
            t1 = engaged_at(last, TIMEOUT_S + 5.0, keep_streaming=False)
            results["camera_silence"].append((t1 - last - TIMEOUT_S) * 1e3)
        for _ in range(trials):
            assert stream_until(lambda: not estop(), 10.0), "e-stop did not release"
            stream_until(lambda: False, 0.3)
            t0 = send(solid_frame(WHITE))
            t1 = engaged_at(t0, 5.0, keep_streaming=False)
            results["encoder_error"].append((t1 - t0) * 1e3)
        for _ in range(trials):
            assert stream_until(lambda: not estop(), 10.0), "e-stop did not release"
            stream_until(lambda: False, 0.3)
            t0 = send(solid_frame(BLACK))
            g.spin(1 / 30)
            t1 = engaged_at(t0, 5.0, keep_streaming=True)
            results["encoder_deadline"].append((t1 - t0 - DEADLINE_MS / 1e3) * 1e3)
    finally:
        g.close()
    return {k: _summary(v) for k, v in results.items()}


def _worker_trials(model_dir: Path, trials: int, domain: int) -> dict[str, Any]:
    from videorag_ros.bench.rigs.worker_death import WorkerDeathRig
    from videorag_ros.ros.graph import wait_until

    out = []
    overrides = {"model": str(model_dir), "front.timeout_s": 60.0, "gate.keyframe_interval_s": 0.0, "gate.max_rate_hz": 0.0, "gate.motion_rate_hz": 0.0}
    for trial in range(trials):
        with WorkerDeathRig(domain, overrides, estop_topic="/videorag_bench/estop") as rig:

            def spin(s: float, rig: WorkerDeathRig = rig) -> None:
                rig.spin(s, send_frame=True)

            if not wait_until(lambda rig=rig: len(rig.estop) >= 3 and rig.camera.get_subscription_count() > 0, 30.0, spin=spin, step_s=1 / 30):
                msg = f"trial {trial}: the node's e-stop heartbeat never arrived"
                raise RuntimeError(msg)
            wait_until(lambda: False, 0.5, spin=spin, step_s=1 / 30)
            t0 = rig.kill_worker()
            if not wait_until(lambda rig=rig: rig.estop[-1][1], 5.0, spin=spin, step_s=1 / 30):
                msg = f"trial {trial}: no e-stop after the worker died"
                raise RuntimeError(msg)
            out.append((next(t for t, v in rig.estop if v and t >= t0) - t0) * 1e3)
    return _summary(out)


def main(argv: list[str] | None = None) -> int:
    """Measure each watchdog; print JSON (see the module docstring)."""
    return _main(argv)


def _main(argv: list[str] | None) -> int:
    """Measure and print JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=7)
    parser.add_argument("--domain", type=int, default=91)
    args = parser.parse_args(argv)

    from videorag_ros.bench.rigs.faulty_model import export_faulty_model
    from videorag_ros.ros.graph import local_ros_env

    for key, val in local_ros_env(args.domain).items():  # this process's participants: same transport settings
        if key.startswith(("FASTDDS", "FASTRTPS", "ROS_AUTOMATIC", "ROS_LOCALHOST")):
            os.environ[key] = val
    out = Path(tempfile.mkdtemp(prefix="videorag-watchdog-bench-"))
    model = export_faulty_model(out / "faulty", hang_size=3072)
    report: dict[str, Any] = {"what": "fault -> e-stop Bool true received by a consumer in another process/context", "timeout_s": TIMEOUT_S, "deadline_ms": DEADLINE_MS, "watchdog_period_s": 0.05}
    report |= _graph_trials(model, out, args.trials, args.domain)
    report["worker_death"] = _worker_trials(model, args.trials, args.domain)
    report["machine"] = {"cpu_count": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()}
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
