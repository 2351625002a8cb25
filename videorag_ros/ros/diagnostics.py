"""Build the /diagnostics message from the pipeline's stats and counters."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue

from videorag_ros.core.actions import Outputs
from videorag_ros.core.config import EdgeConfig
from videorag_ros.core.converter import ConverterStats
from videorag_ros.core.pipeline import EdgePipeline
from videorag_ros.core.stages import NODE_STAGES
from videorag_ros.core.watchdog import CAMERA_SILENT, Fault, describe


def _kv(key: str, value: object) -> KeyValue:
    return KeyValue(key=key, value=f"{value:.3f}" if isinstance(value, float) else str(value))


def _consequence(fault: Fault) -> str:
    return "e-stop engaged" if fault.stops else "policy 'warn': not stopping"


def build_diagnostics(
    pipeline: EdgePipeline,
    dropped: Mapping[str, int],
    conversions: Mapping[str, ConverterStats],
    faults: Sequence[Fault],
    config: EdgeConfig,
    *,
    outputs: Outputs,
    extra: Mapping[str, object] | None = None,
) -> DiagnosticArray:
    """One status for the pipeline (stage p50/p95/p99, budget, watchdogs, outputs) and one per camera.

    Any active watchdog fault is an ERROR, whatever its policy (the policy decides only whether it
    stops the robot): encoder and worker faults on the pipeline status, silence on its camera's.

    Args:
        pipeline: The running pipeline.
        dropped: Frames replaced in the worker's latest-wins slot, per camera.
        conversions: Each camera's converter counters (replaced before conversion, over its
            decode CPU budget, CPU seconds, slowest conversion).
        faults: The active watchdog faults.
        config: The node configuration.
        outputs: What the action adapters are publishing.
        extra: More values for the pipeline status (live parameter changes, debug image).
    """
    counters = pipeline.counters.snapshot()
    summary = pipeline.stage_summary(NODE_STAGES)
    over = sum(v for (_, name), v in counters.items() if name == "over_budget")
    values = [
        _kv("encoder", pipeline.encoder.describe()),
        # The admission budget: what one embedded frame costs, and so how often a camera may be admitted.
        _kv("encoder.cost_ms", round(pipeline.budget.cost_s * 1e3, 3)),
        _kv("encoder.share", config.gate.encoder_share),
        _kv("estop_active", outputs.estop),
        _kv("twist_mux_engaged", outputs.twist_mux),
        _kv("collision_polygon_engaged", outputs.collision),
        _kv("speed_limit", "none" if outputs.speed_limit is None else outputs.speed_limit),
        _kv("stop_causes", "; ".join(outputs.causes) or "none"),
        _kv("watchdog.faults", "; ".join(describe(f) for f in faults) or "none"),
        _kv("watchdog.encoder_faults", counters.get(("watchdog", "encoder_faults"), 0)),
        _kv("watchdog.worker_faults", counters.get(("watchdog", "worker_faults"), 0)),
        _kv("latency_budget_ms", config.latency_budget_ms),
        _kv("over_budget", over),
    ]
    for stage, s in summary.items():
        values += [_kv(f"{stage}.p50_ms", s["p50"]), _kv(f"{stage}.p95_ms", s["p95"]), _kv(f"{stage}.p99_ms", s["p99"]), _kv(f"{stage}.n", int(s["n"]))]
    ix = pipeline.memory_stats()
    values += [
        _kv("index.size", ix.live),
        _kv("index.capacity", ix.capacity),
        _kv("index.last_recall", "n/a" if ix.last_recall is None else f"{ix.last_recall:.3f}"),
        _kv("index.mean_recall", "n/a" if ix.mean_recall is None else f"{ix.mean_recall:.3f}"),
        _kv("index.recall_samples", ix.recall_samples),
        _kv("index.runs", ix.runs),
        _kv("index.probes", ix.probes),
        _kv("index.global_mode", ix.global_mode),
        _kv("index.mode_reason", ix.mode_reason or "-"),
        _kv("index.evicted_ttl", ix.evicted_ttl),
        _kv("index.evicted_capacity", ix.evicted_capacity),
        _kv("index.thumbnail_bytes", ix.thumbnail_bytes),
        _kv("index.snapshot_saves", counters.get(("index", "snapshot_saves"), 0)),
        _kv("index.snapshot_failures", counters.get(("index", "snapshot_failures"), 0)),
        _kv("index.snapshot_load_failures", counters.get(("index", "snapshot_load_failures"), 0)),
        _kv("query.requests", counters.get(("query", "requests"), 0)),
        _kv("query.rejected", counters.get(("query", "rejected"), 0)),
        _kv("query.internal_errors", counters.get(("query", "internal_errors"), 0)),
    ]
    values += [_kv(k, v) for k, v in (extra or {}).items()]
    p99 = summary.get("glass_to_decision", {}).get("p99", 0.0)
    level, message = DiagnosticStatus.OK, "ok"
    node_faults = [f for f in faults if f.kind != CAMERA_SILENT]
    if node_faults:
        level, message = DiagnosticStatus.ERROR, "; ".join(f"{describe(f)} ({_consequence(f)})" for f in node_faults)
    elif p99 > config.latency_budget_ms:
        level, message = DiagnosticStatus.WARN, f"glass-to-decision p99 {p99:.1f} ms over budget {config.latency_budget_ms:.0f} ms"
    statuses = [DiagnosticStatus(level=level, name="videorag: pipeline", message=message, hardware_id="videorag", values=values)]
    silence = {f.key.split(":", 1)[1]: f for f in faults if f.kind == CAMERA_SILENT}
    for cam in config.cameras:
        names = sorted({n for (c, n) in counters if c == cam.id})
        conv = conversions.get(cam.id, ConverterStats())
        # Every received frame is counted once: dropped (replaced before or after conversion, or
        # over the decode budget), rejected_input, gate_rejected.<reason> or admitted.
        cam_values = [_kv(n, counters[(cam.id, n)]) for n in names] + [
            _kv("dropped", dropped.get(cam.id, 0) + conv.replaced + conv.over_budget),
            _kv("dropped_over_decode_budget", conv.over_budget),
            _kv("decode_cpu_s", conv.cpu_s),
            _kv("decode_worst_ms", conv.worst_ms),
        ]
        silent = silence.get(cam.id)
        if silent is not None:
            cam_level, cam_msg = DiagnosticStatus.ERROR, f"{silent.reason} ({_consequence(silent)})"
        elif conv.over_budget:
            cam_level = DiagnosticStatus.WARN
            cam_msg = f"decoding uses more than its CPU budget ({cam.decode_cpu_share:g} of a core): {conv.over_budget} frames dropped, slowest {conv.worst_ms:.0f} ms"
        elif counters.get((cam.id, "rejected_input"), 0):
            cam_level, cam_msg = DiagnosticStatus.WARN, f"{counters[(cam.id, 'rejected_input')]} malformed frames rejected"
        else:
            cam_level, cam_msg = DiagnosticStatus.OK, "receiving"
        statuses.append(DiagnosticStatus(level=cam_level, name=f"videorag: camera {cam.id}", message=cam_msg, hardware_id=cam.topic, values=cam_values))
    return DiagnosticArray(status=statuses)
