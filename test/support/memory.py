"""A memory built by the real pipeline (gate → shipped videorag-tiny → index) from real clips."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

S = 1_000_000_000


def build_clip_memory(footage: Callable[[str], Path], clips: Mapping[str, str], path: Path) -> tuple[dict[str, float], Any]:
    """Index ``clips`` (camera id → opencv-doc clip name, all stamped from t = 0) and save a snapshot at ``path``.

    Returns:
        (duration of each camera's clip in seconds, the encoder used).
    """
    from videorag_ros.cli.edge import default_params
    from videorag_ros.core.config import CameraConfig, build_edge_config, load_params_file
    from videorag_ros.core.encoder.encoder import load_encoder
    from videorag_ros.core.pipeline import EdgePipeline
    from videorag_ros.recordings.offline import read_video

    config = build_edge_config(load_params_file(default_params()))
    config = replace(config, cameras=tuple(CameraConfig(id=cam, topic=f"{cam}/image") for cam in clips))
    encoder = load_encoder(config.model, backend="cpu")
    pipeline = EdgePipeline(config, encoder)
    duration = {}
    for cam, clip in clips.items():
        frames, _, _ = read_video(footage(clip))
        last = 0
        for seq, (rgb, stamp_ns) in enumerate(frames):
            pipeline.remember(pipeline.process(cam, rgb, stamp_ns, seq), rgb)
            last = stamp_ns
        duration[cam] = last / S
    pipeline.index.save(path)
    pipeline.index.close()
    return duration, encoder
