"""pipeline: gate → embed → triggers → memory on one thread, with counters and stage times."""

from __future__ import annotations

from pathlib import Path

import cv2

from videorag_ros.bench.rigs.patterns import pattern_frame
from videorag_ros.core.config import build_edge_config
from videorag_ros.core.pipeline import EdgePipeline

MS = 1_000_000


def test_reference_image_trigger_enters_and_exits(tiny_encoder, tmp_path: Path) -> None:
    ref = tmp_path / "disk.png"
    cv2.imwrite(str(ref), cv2.cvtColor(pattern_frame("disk"), cv2.COLOR_RGB2BGR))
    cfg = build_edge_config(
        {
            "model": str(tiny_encoder.manifest.directory),
            "triggers": ["disk"],
            "disk.reference_images": [str(ref)],
            "disk.enter_threshold": 0.95,
            "disk.exit_threshold": 0.9,
            "disk.min_hold_s": 0.0,
            "gate.keyframe_interval_s": 0.0,
            "gate.max_rate_hz": 0.0,
            "gate.motion_rate_hz": 0.0,
        }
    )
    pipe = EdgePipeline(cfg, tiny_encoder)
    frames = [pattern_frame("stripes", seed=i) for i in range(5)] + [pattern_frame("disk", seed=i) for i in range(5)] + [pattern_frame("stripes", seed=i) for i in range(5)]
    states = []
    for i, f in enumerate(frames):
        r = pipe.process("front", f, i * 33 * MS, i)
        states += [(i, e.state) for e in r.events if e.state != "HOLD"]
        pipe.remember(r)
    assert states == [(6, "ENTER"), (11, "EXIT")]  # 2-of-3 debounce: second positive frame, second negative
    assert pipe.counters.get("front", "embedded") == 15
    assert pipe.counters.get("front", "trigger.disk.enter") == 1
    assert len(pipe.index) == 15
    summary = pipe.stats.summary()
    assert {"gate", "preprocess", "embed", "trigger", "index_insert"} <= set(summary)
    assert summary["embed"]["n"] == 15


def test_gate_rejections_are_counted(tiny_encoder) -> None:
    cfg = build_edge_config({"model": str(tiny_encoder.manifest.directory), "gate.keyframe_interval_s": 10.0, "gate.max_rate_hz": 0.0})
    pipe = EdgePipeline(cfg, tiny_encoder)
    f = pattern_frame("disk")
    for i in range(4):
        pipe.process("front", f, i * 33 * MS, i)
    assert pipe.counters.get("front", "admitted") == 1
    assert pipe.counters.get("front", "gate_rejected.static") == 3
