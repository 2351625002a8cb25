"""index wiring: the index.* parameters, the pipeline's index and its thumbnails."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from videorag_ros.bench.rigs.patterns import pattern_frame
from videorag_ros.core.config import build_edge_config
from videorag_ros.core.errors import ConfigError
from videorag_ros.core.pipeline import EdgePipeline

MS = 1_000_000


def test_index_parameters_build_and_validate(tmp_path: Path) -> None:
    cfg = build_edge_config({})
    assert (cfg.index_snapshot_path, cfg.index_snapshot_period_s, cfg.index_load_on_start) == ("", 0.0, True)
    assert cfg.index_thumbnail_budget_bytes > 0 and 0 < cfg.index_recall_floor < 1
    path = str(tmp_path / "memory.vrag")
    cfg = build_edge_config({"index.snapshot_path": path, "index.snapshot_period_s": 30, "index.load_on_start": False, "index.recall_floor": 0.8})
    assert (cfg.index_snapshot_path, cfg.index_snapshot_period_s, cfg.index_load_on_start, cfg.index_recall_floor) == (path, 30.0, False, 0.8)


@pytest.mark.parametrize(
    ("values", "match"),
    [
        ({"index.snapshot_path": "memory.vrag"}, "'index.snapshot_path' = 'memory.vrag' must be an absolute path"),  # relative
        ({"index.snapshot_period_s": -1.0}, "'index.snapshot_period_s' = -1.0 is below its minimum"),
        ({"index.load_on_start": "yes"}, "'index.load_on_start' must be a bool"),
        ({"index.thumbnail_budget_bytes": -5}, "'index.thumbnail_budget_bytes' = -5 is below its minimum"),
        ({"index.recall_floor": 1.5}, "'index.recall_floor' = 1.5 is above its maximum"),
    ],
)
def test_bad_index_parameters_are_named(values: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        build_edge_config(values)


def test_pipeline_keeps_small_jpeg_thumbnails(tiny_encoder) -> None:
    cfg = build_edge_config({"model": str(tiny_encoder.manifest.directory), "gate.keyframe_interval_s": 0.0, "gate.max_rate_hz": 0.0, "gate.motion_rate_hz": 0.0})
    pipe = EdgePipeline(cfg, tiny_encoder)
    assert pipe.index.thumbnail_budget_bytes == cfg.index_thumbnail_budget_bytes
    frame = pattern_frame("disk", width=320, height=240)
    r = pipe.process("front", frame, 5 * MS, 1)
    pipe.remember(r, frame)
    pipe.remember(pipe.process("front", pattern_frame("stripes"), 40 * MS, 2))  # no frame given: no thumbnail
    assert r.vector is not None
    hits = {h.payload.frame_seq: h.payload for h in pipe.index.search(r.vector, 2)}
    thumb = hits[1].thumbnail
    assert thumb is not None and hits[2].thumbnail is None
    img = cv2.imdecode(np.frombuffer(thumb, np.uint8), cv2.IMREAD_COLOR)
    assert img.shape == (120, 160, 3)
    off = build_edge_config({"model": str(tiny_encoder.manifest.directory), "index.thumbnail_budget_bytes": 0, "gate.keyframe_interval_s": 0.0})
    pipe_off = EdgePipeline(off, tiny_encoder)
    r2 = pipe_off.process("front", frame, 5 * MS, 1)
    pipe_off.remember(r2, frame)
    assert pipe_off.index.search(r.vector, 1)[0].payload.thumbnail is None
