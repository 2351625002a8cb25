"""Run the edge pipeline offline on a recording: same core, no DDS, exact frame order.

Sources are a video file (``read_video``; stamps from the file's own timestamps,
``CAP_PROP_POS_MSEC``, falling back to ``index / fps`` where a container has none) or a
bag (``bag_frames.BagFrames``; stamps from ``header.stamp``), one or several cameras.
Latency in the report is processing time (decoded frame → trigger decision): a
recording has no glass to measure from. The report also carries throughput.
"""

from __future__ import annotations

import logging
import math
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, cast

import cv2
import numpy as np
import numpy.typing as npt

from videorag_ros.core.errors import VideoragError
from videorag_ros.core.frames import DEFAULT_LIMITS, FrameLimits, RGBFrame, bgr_to_rgb
from videorag_ros.core.pipeline import EdgePipeline
from videorag_ros.core.safe_files import UnsafeFileError, check_regular_file
from videorag_ros.core.stages import DECODE, OFFLINE_STAGES, PROCESSING
from videorag_ros.core.triggers import HOLD
from videorag_ros.recordings.bag_reader import InputReject
from videorag_ros.recordings.video_probe import probe_video

log = logging.getLogger(__name__)

REPORT_STAGES = OFFLINE_STAGES


class VideoError(VideoragError):
    """A video file cannot be opened or decoded."""


def read_video(path: str | Path, *, probe: bool = True, limits: FrameLimits = DEFAULT_LIMITS) -> tuple[Iterator[tuple[npt.NDArray[np.uint8], int]], int, float]:
    """Open a video file.

    Args:
        path: Any file OpenCV's FFmpeg backend reads.
        probe: First open it and decode a few frames in a child process (``video_probe``), so
            a file that crashes or hangs the decoder, or declares frames over ``limits``, is
            refused with a message instead of taking this process down.
        limits: Largest frame accepted; a frame over it later in the file ends the read with
            ``VideoError``.

    Returns:
        ``(frames, frame_count, fps)`` where ``frames`` yields ``(rgb, stamp_ns)``;
        ``frame_count`` is the container's estimate (0 when unknown).

    Raises:
        VideoError: Missing or unreadable file.
        VideoProbeError: The probe found the file undecodable, or the decoder crashed or hung on it.
    """
    try:
        p = check_regular_file(path, what="video file")
    except UnsafeFileError as err:
        raise VideoError(str(err)) from err
    if probe:
        probe_video(p, limits=limits)
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
                if bgr.shape[1] > limits.max_width or bgr.shape[0] > limits.max_height:
                    msg = f"'{p}': frame {i} is {bgr.shape[1]}x{bgr.shape[0]}, over the limit {limits.max_width}x{limits.max_height}"
                    raise VideoError(msg)
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


def with_camera(frames: Iterable[tuple[RGBFrame, int]], camera_id: str) -> Iterator[tuple[str, RGBFrame, int]]:
    """Attribute ``(rgb, stamp_ns)`` frames (``read_video``) to one camera: ``(camera_id, rgb, stamp_ns)``."""
    for rgb, stamp_ns in frames:
        yield camera_id, rgb, stamp_ns


def run_frames(
    pipeline: EdgePipeline,
    frames: Iterable[tuple[str, RGBFrame, int]] | Iterable[tuple[RGBFrame, int]],
    *,
    camera_id: str | None = None,
    on_frame: Callable[[int], None] | None = None,
    rejects: Sequence[InputReject] = (),
) -> dict[str, Any]:
    """Feed frames through the pipeline in order, remember them, and build the run report.

    Args:
        pipeline: A pipeline configured with every camera the frames name.
        frames: ``(camera_id, rgb, stamp_ns)`` in order; with ``camera_id`` given,
            ``(rgb, stamp_ns)`` pairs attributed to that camera.
        camera_id: See ``frames``.
        on_frame: Called with the number of frames done (progress display).
        rejects: Messages the source could not turn into frames, appended by the source while
            it is read (``BagFrames.rejects``); they take a frame sequence number on their
            camera, as in the edge node, and are counted in the report.

    Returns:
        ``{"encoder": str, "frames": [{camera, seq, stamp, stamp_ns, admitted, reason, scores}],
        "triggers": [{name, camera, state, stamp, score, latency_ms}], "latency_ms": {stage:
        {p50, p95, p99}}, "cameras": {id: {frames, admitted, embedded, rejected_input: {reason:
        n}}}, "input_errors": [{camera, stamp, stamp_ns, reason, error}], "throughput": {wall_s,
        frames, frames_per_s, admitted, admitted_share, embedded, embedded_per_s},
        "trigger_settings": {name: {enter_threshold, exit_threshold, scoring, cameras}}}``;
        stamps in seconds (``stamp_ns``: integer nanoseconds).

    Raises:
        VideoragError: A frame names a camera the pipeline does not have, or the encoder fails.
    """
    items = with_camera(cast("Iterable[tuple[RGBFrame, int]]", frames), camera_id) if camera_id is not None else cast("Iterable[tuple[str, RGBFrame, int]]", frames)
    report_frames: list[dict[str, Any]] = []
    triggers: list[dict[str, Any]] = []
    counts: dict[str, Counter[str]] = {c.id: Counter() for c in pipeline.config.cameras}
    next_seq: Counter[str] = Counter()
    rejects_seen = 0
    stats = pipeline.stats
    t_start = t_prev = time.perf_counter()
    for n, (cam, rgb, stamp_ns) in enumerate(items, 1):
        t0 = time.perf_counter()
        stats.record(DECODE, (t0 - t_prev) * 1e3)
        if cam not in counts:
            msg = f"frame from camera '{cam}', which the pipeline does not have; cameras: {sorted(counts)}"
            raise VideoragError(msg)
        for rej in rejects[rejects_seen:]:  # rejected messages take a sequence number, as in the node
            next_seq[rej.camera_id] += 1
        rejects_seen = len(rejects)
        seq = next_seq[cam]
        next_seq[cam] += 1
        result = pipeline.process(cam, rgb, stamp_ns, seq)
        latency_ms = (time.perf_counter() - t0) * 1e3
        stats.record(PROCESSING, latency_ms)
        pipeline.remember(result, rgb)
        admitted = result.decision.admitted
        counts[cam].update(frames=1, admitted=int(admitted), embedded=int(result.vector is not None))
        report_frames.append({"camera": cam, "seq": seq, "stamp": stamp_ns / 1e9, "stamp_ns": stamp_ns, "admitted": admitted, "reason": result.decision.reason, "scores": result.scores})
        for ev in result.events:
            if ev.state != HOLD:
                triggers.append({"name": ev.trigger, "camera": ev.camera_id, "state": ev.state, "stamp": ev.stamp_ns / 1e9, "stamp_ns": ev.stamp_ns, "score": ev.score, "latency_ms": latency_ms})
        if on_frame is not None:
            on_frame(n)
        t_prev = time.perf_counter()
    wall_s = time.perf_counter() - t_start
    summary = stats.summary(REPORT_STAGES)
    return {
        "encoder": pipeline.encoder.describe(),
        "frames": report_frames,
        "triggers": triggers,
        "latency_ms": {k: {s: v[s] for s in ("p50", "p95", "p99")} for k, v in summary.items()},
        "cameras": _camera_counts(counts, rejects),
        "input_errors": [{"camera": r.camera_id, "stamp": r.stamp_ns / 1e9, "stamp_ns": r.stamp_ns, "reason": r.reason, "error": r.error} for r in rejects],
        "throughput": throughput(wall_s, counts),
        "trigger_settings": {
            t.name: {"enter_threshold": t.enter_threshold, "exit_threshold": t.exit_threshold, "scoring": t.scoring, "cameras": list(t.cameras)}
            for t in pipeline.config.triggers
        },
    }


def _camera_counts(counts: dict[str, Counter[str]], rejects: Sequence[InputReject]) -> dict[str, dict[str, Any]]:
    rejected: dict[str, Counter[str]] = {cam: Counter() for cam in counts}
    for r in rejects:
        rejected.setdefault(r.camera_id, Counter())[r.reason] += 1
    out: dict[str, dict[str, Any]] = {}
    for cam, reasons in rejected.items():
        c = counts.get(cam, Counter())
        out[cam] = {"frames": c["frames"], "admitted": c["admitted"], "embedded": c["embedded"], "rejected_input": dict(reasons)}
    return out


def throughput(wall_s: float, counts: dict[str, Counter[str]]) -> dict[str, float]:
    """Frames, admissions and embeddings over a run's wall time.

    Args:
        wall_s: Wall seconds from the first frame request to the last frame done (reading,
            decoding, gate, encoder, triggers and memory inserts).
        counts: Per camera ``frames``, ``admitted``, ``embedded`` counters.

    Returns:
        ``{wall_s, frames, frames_per_s, admitted, admitted_share, embedded, embedded_per_s}``;
        rates are 0 for an empty run.
    """
    total: Counter[str] = Counter()
    for c in counts.values():
        total.update(c)
    frames, admitted, embedded = total["frames"], total["admitted"], total["embedded"]
    return {
        "wall_s": wall_s,
        "frames": frames,
        "frames_per_s": frames / wall_s if wall_s > 0 else 0.0,
        "admitted": admitted,
        "admitted_share": admitted / frames if frames else 0.0,
        "embedded": embedded,
        "embedded_per_s": embedded / wall_s if wall_s > 0 else 0.0,
    }
