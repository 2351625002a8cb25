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


def test_admissions_never_outpace_the_encoder(tmp_path: Path) -> None:
    """A real, slow encoder (an 800x800 matmul on black frames): the gate may use half of what it drains."""
    import numpy as np

    from videorag_ros.bench.rigs.faulty_model import BLACK, export_faulty_model
    from videorag_ros.core.admission import COST_WINDOW
    from videorag_ros.core.encoder.encoder import load_encoder

    model = export_faulty_model(tmp_path / "slow", hang_size=800)
    values = {"model": str(model), "cameras": ["a", "b"], "gate.keyframe_interval_s": 0.0, "gate.max_rate_hz": 0.0, "gate.motion_rate_hz": 0.0}
    pipe = EdgePipeline(build_edge_config(values), load_encoder(str(model), backend="cpu"))
    assert pipe.budget.cost_s > 0.0  # measured at start-up, on a mid-grey frame: the fast path
    black = np.full((120, 160, 3), BLACK, np.uint8)
    fps, seconds = 200, 2.0  # stamps far closer than any forward pass, whatever this machine's speed
    costs, admitted = [], {"a": [], "b": []}
    for i in range(round(fps * seconds)):
        for j, cam in enumerate(("a", "b")):  # two cameras, half a frame apart, both wanting every frame
            stamp = round((i + j / 2) * 1e9 / fps)
            r = pipe.process(cam, black, stamp, i)
            if r.decision.admitted:
                costs.append((r.stage_ms["preprocess"] + r.stage_ms["embed"]) * 1e-3)
                admitted[cam].append(stamp)
    total = sum(len(v) for v in admitted.values())
    assert pipe.budget.cost_s >= 0.8 * min(costs)  # the budget learnt the slow path (median of the last frames)
    rate_limit = 0.5 / min(costs)  # never faster than half the fastest measured drain ...
    learning = COST_WINDOW // 2 + 1 + 2  # ... once the median holds slow frames (and the burst of one per camera)
    assert total - learning <= seconds * rate_limit
    assert pipe.counters.get("a", "gate_rejected.budget") > 0 and pipe.counters.get("b", "gate_rejected.budget") > 0
    assert min(len(v) for v in admitted.values()) >= total // 2 - 2  # the cameras share it evenly
