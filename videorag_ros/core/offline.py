"""Run the edge pipeline offline on a video file: same core, no DDS, exact frame order.

Stamps come from the file's own timestamps (``CAP_PROP_POS_MSEC``), falling back to
``index / fps`` where a container has none. Latency in the report is processing time
(decoded frame → trigger decision): a file has no glass to measure from.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from videorag_ros.core.errors import VideoragError
from videorag_ros.core.frames import bgr_to_rgb
from videorag_ros.core.pipeline import EdgePipeline

log = logging.getLogger(__name__)

REPORT_STAGES = ("decode", "gate", "preprocess", "embed", "trigger", "index_insert", "processing")


class VideoError(VideoragError):
    """A video file cannot be opened or decoded."""


def read_video(path: str | Path) -> tuple[Iterator[tuple[npt.NDArray[np.uint8], int]], int, float]:
    """Open a video file.

    Args:
        path: Any file OpenCV's FFmpeg backend reads.

    Returns:
        ``(frames, frame_count, fps)`` where ``frames`` yields ``(rgb, stamp_ns)``;
        ``frame_count`` is the container's estimate (0 when unknown).

    Raises:
        VideoError: Missing or unreadable file.
    """
    p = Path(path)
    if not p.is_file():
        msg = f"video file '{p}' does not exist"
        raise VideoError(msg)
    cap = cv2.VideoCapture(str(p))
    if not cap.isOpened():
        msg = f"OpenCV cannot open '{p}' as a video (unsupported container or codec?)"
        raise VideoError(msg)
    fps = cap.get(cv2.CAP_PROP_FPS) or 0.0
    fps = fps if math.isfinite(fps) and 0 < fps < 1000 else 30.0
    count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)

    def frames() -> Iterator[tuple[npt.NDArray[np.uint8], int]]:
        i, last_ns = 0, -1
        try:
            while True:
                ok, bgr = cap.read()
                if not ok:
                    break
                ms = cap.get(cv2.CAP_PROP_POS_MSEC)
                stamp_ns = int(ms * 1e6) if ms and math.isfinite(ms) else int(i * 1e9 / fps)
                if stamp_ns <= last_ns:  # some containers repeat or omit timestamps
                    stamp_ns = last_ns + int(1e9 / fps)
                last_ns = stamp_ns
                i += 1
                yield bgr_to_rgb(bgr), stamp_ns
        finally:
            cap.release()

    return frames(), count, fps


def run_frames(
    pipeline: EdgePipeline,
    frames: Iterator[tuple[npt.NDArray[np.uint8], int]],
    *,
    camera_id: str,
    on_frame: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Feed frames through the pipeline in order and build the run report.

    Args:
        pipeline: A pipeline configured with ``camera_id`` among its cameras.
        frames: ``(rgb, stamp_ns)`` in order.
        camera_id: Camera the frames are attributed to.
        on_frame: Called with the number of frames done (progress display).

    Returns:
        ``{"frames": [{seq, stamp, admitted, reason}], "triggers": [{name, state, stamp,
        score, latency_ms}], "latency_ms": {stage: {p50, p95, p99}}, "encoder": str}``;
        stamps in seconds.
    """
    report_frames: list[dict[str, Any]] = []
    triggers: list[dict[str, Any]] = []
    stats = pipeline.stats
    t_prev = time.perf_counter()
    for seq, (rgb, stamp_ns) in enumerate(frames):
        t0 = time.perf_counter()
        stats.record("decode", (t0 - t_prev) * 1e3)
        result = pipeline.process(camera_id, rgb, stamp_ns, seq)
        latency_ms = (time.perf_counter() - t0) * 1e3
        stats.record("processing", latency_ms)
        pipeline.remember(result, rgb)
        report_frames.append({"seq": seq, "stamp": stamp_ns / 1e9, "admitted": result.decision.admitted, "reason": result.decision.reason, "scores": result.scores})
        for ev in result.events:
            if ev.state != "HOLD":
                triggers.append({"name": ev.trigger, "state": ev.state, "stamp": ev.stamp_ns / 1e9, "score": ev.score, "latency_ms": latency_ms})
        if on_frame is not None:
            on_frame(seq + 1)
        t_prev = time.perf_counter()
    summary = stats.summary(REPORT_STAGES)
    return {
        "encoder": pipeline.encoder.describe(),
        "frames": report_frames,
        "triggers": triggers,
        "latency_ms": {k: {s: v[s] for s in ("p50", "p95", "p99")} for k, v in summary.items()},
    }
