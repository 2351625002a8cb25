"""The edge node's memory snapshots with real rclpy: saved at shutdown, reloaded at start,
and a corrupt snapshot logged and skipped (the node starts with an empty memory)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("rclpy", reason="ROS 2 not installed: run through `make test`")

from rclpy.parameter import Parameter

from videorag_ros.bench.rigs.patterns import pattern_frame

pytestmark = pytest.mark.ros
S = 1_000_000_000



def _node(ctx, model: Path, snapshot: Path, **extra: object):
    from videorag_ros.ros.edge_node import EdgeNode

    overrides = {"model": str(model), "index.snapshot_path": str(snapshot), "gate.keyframe_interval_s": 0.0, "gate.max_rate_hz": 0.0, "gate.motion_rate_hz": 0.0, "allow_no_triggers": True}
    overrides |= extra
    return EdgeNode(context=ctx, parameter_overrides=[Parameter(k, value=v) for k, v in overrides.items()])


def _remember(node, n: int) -> None:
    for i in range(n):
        frame = pattern_frame("disk" if i % 2 else "stripes", seed=i)
        node.pipeline.remember(node.pipeline.process("front", frame, i * S // 10, i), frame)


def test_snapshot_saved_at_shutdown_and_reloaded(ctx, tiny_model_dir: Path, tmp_path: Path) -> None:
    snap = tmp_path / "memory.vrag"
    node = _node(ctx, tiny_model_dir, snap)
    _remember(node, 12)
    assert len(node.pipeline.index) == 12
    node.destroy_node()
    assert snap.is_file()
    again = _node(ctx, tiny_model_dir, snap)
    try:
        assert len(again.pipeline.index) == 12
        query = again.pipeline.encoder.encode_images([pattern_frame("disk", seed=99)]).vectors[0]
        best = again.pipeline.index.search(query, 3)
        assert best and best[0].payload.frame_seq % 2 == 1  # a disk frame is the best match
    finally:
        again.destroy_node()


def test_corrupt_snapshot_is_skipped_and_counted(ctx, tiny_model_dir: Path, tmp_path: Path) -> None:
    snap = tmp_path / "memory.vrag"
    snap.write_bytes(b"this is not a videorag snapshot" * 10)
    node = _node(ctx, tiny_model_dir, snap)
    try:
        assert len(node.pipeline.index) == 0
        assert node.pipeline.counters.get("index", "snapshot_load_failures") == 1
    finally:
        node.destroy_node()


@pytest.mark.parametrize("kind", ["json nested 100k deep", "dim 2**62", "FIFO", "non-finite vectors"])
def test_hostile_snapshots_never_stop_the_node(ctx, tiny_model_dir: Path, tmp_path: Path, kind: str) -> None:
    """A checksum-valid snapshot whose header lies, or a FIFO where the snapshot should be: logged,
    counted, and the node starts with an empty memory (never hangs, never dies)."""
    import json
    import os
    import threading

    from videorag_ros.bench.hostile import snapshot_with_header

    if kind == "FIFO":
        snap = tmp_path / "memory.vrag"
        os.mkfifo(snap)
    elif kind == "json nested 100k deep":
        snap = snapshot_with_header(tmp_path, "memory.vrag", b"[" * 100_000 + b"]" * 100_000)
    elif kind == "dim 2**62":
        snap = snapshot_with_header(tmp_path, "memory.vrag", json.dumps({"dim": 2**62, "count": 0, "camera_names": [], "reason_names": [], "sections": {}}).encode())
    else:
        header = {"dim": 2, "count": 1, "camera_names": ["front"], "reason_names": ["first"], "meta": {},
                  "sections": {"vectors": [0, 8], "stamps": [8, 8], "cameras": [16, 4], "seqs": [20, 8], "reasons": [28, 4], "thumb_lens": [32, 8], "thumbs": [40, 0]}}  # fmt: skip
        body = np.array([np.nan, 1.0], "<f4").tobytes() + np.array([1], "<i8").tobytes() + np.array([0], "<i4").tobytes() + np.array([1], "<i8").tobytes() + np.array([0], "<i4").tobytes() + np.array([-1], "<i8").tobytes()
        snap = snapshot_with_header(tmp_path, "memory.vrag", json.dumps(header).encode(), body)
    nodes: list[object] = []
    starter = threading.Thread(target=lambda: nodes.append(_node(ctx, tiny_model_dir, snap)), daemon=True)
    starter.start()
    starter.join(30.0)
    assert not starter.is_alive(), f"the node hung at start on a snapshot that is {kind}"
    (node,) = nodes
    try:
        assert len(node.pipeline.index) == 0  # type: ignore[attr-defined]
        assert node.pipeline.counters.get("index", "snapshot_load_failures") == 1  # type: ignore[attr-defined]
    finally:
        node.destroy_node()  # type: ignore[attr-defined]


def test_paths_outside_the_allowed_dirs_stop_the_node_at_start(ctx, tiny_model_dir: Path, tmp_path: Path) -> None:
    from videorag_ros.core.errors import ConfigError

    allowed = tmp_path / "allowed"
    allowed.mkdir()
    with pytest.raises(ConfigError, match=r"memory snapshot .*outside the allowed directories"):
        _node(ctx, tiny_model_dir, tmp_path / "elsewhere" / "memory.vrag", **{"security.allowed_dirs": [str(allowed), str(tiny_model_dir)]})
    with pytest.raises(ConfigError, match=r"model directory .*outside the allowed directories"):
        _node(ctx, tiny_model_dir, allowed / "memory.vrag", **{"security.allowed_dirs": [str(allowed)]})
    link = allowed / "escape.vrag"
    link.symlink_to(tmp_path / "outside.vrag")
    with pytest.raises(ConfigError, match="resolves to"):
        _node(ctx, tiny_model_dir, link, **{"security.allowed_dirs": [str(allowed), str(tiny_model_dir)]})
    node = _node(ctx, tiny_model_dir, allowed / "memory.vrag", **{"security.allowed_dirs": [str(allowed), str(tiny_model_dir)]})
    node.destroy_node()
