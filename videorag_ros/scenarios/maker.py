"""Make scenario bags: rosbag2 (mcap) camera bags with their ``scenario.yaml`` sidecar.

Two sources: the procedural scenes of the catalogue (ground truth from the renderer)
and real video files (annotations, if any, written by a person; see
:func:`videorag_ros.scenarios.annotations.load_user_events`). The bag is a directory
``<out>/<name>/`` holding ``metadata.yaml``, the ``.mcap`` file and ``scenario.yaml``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from videorag_ros.recordings.bag_writer import BagError, ImageBagWriter
from videorag_ros.scenarios.annotations import Annotation, ScenarioError, build_annotation, load_user_events, save_annotation
from videorag_ros.scenarios.catalogue import DEFAULT_TOPIC, STANDARD_SET, annotate, frame_stamps, get_spec, render

log = logging.getLogger(__name__)

ProgressFn = Callable[[int], None]


def _now_minus(span_ns: int) -> int:
    """A first stamp such that a recording of ``span_ns`` ends now (whole milliseconds)."""
    return (time.time_ns() // 1_000_000) * 1_000_000 - span_ns


def scenario_span_ns(seconds: float, fps: float) -> int:
    """First-to-last-frame span of a rendered scenario."""
    n = max(2, round(seconds * fps))
    return round((n - 1) * 1e9 / fps)


def make_scenario_bag(
    name: str,
    out_dir: str | Path,
    *,
    seconds: float = 10.0,
    fps: float = 15.0,
    width: int = 640,
    height: int = 480,
    encoding: str = "rgb8",
    topic: str = DEFAULT_TOPIC,
    first_stamp_ns: int | None = None,
    storage: str = "mcap",
    on_frame: ProgressFn | None = None,
) -> tuple[Path, Annotation]:
    """Render a catalogue scenario into ``<out_dir>/<name>`` with its sidecar.

    Args:
        name: Catalogue name (``videorag scenario list``).
        out_dir: Directory for the bag (created if missing).
        seconds: Length of the sequence; events are placed at fixed fractions of it.
        fps: Frame rate (stamps are ``first + i / fps``).
        width: Frame width.
        height: Frame height.
        encoding: ``rgb8``, ``bgr8`` or ``jpeg``.
        topic: Camera topic.
        first_stamp_ns: Stamp of the first frame; default: the recording ends now.
        storage: ``mcap`` or ``sqlite3``.
        on_frame: Called with the number of frames written so far.

    Returns:
        The bag directory and its annotation.

    Raises:
        ScenarioError: Unknown scenario or bad size / rate / length.
        BagError: The bag exists already or cannot be written.
    """
    spec = get_spec(name)
    if storage not in ("mcap", "sqlite3"):
        msg = f"scenario bags are rosbag2 directories; storage must be mcap or sqlite3, got '{storage}'"
        raise BagError(msg)
    first = _now_minus(scenario_span_ns(seconds, fps)) if first_stamp_ns is None else first_stamp_ns
    bag = Path(out_dir) / name
    bag.parent.mkdir(parents=True, exist_ok=True)
    frames = render(spec, seconds=seconds, fps=fps, width=width, height=height)
    classes: list[str] = []
    with ImageBagWriter(bag, topic=topic, encoding=encoding, storage=storage) as writer:
        n = max(2, round(seconds * fps))
        for (rgb, cls), stamp in zip(frames, frame_stamps(n, fps, first), strict=True):
            writer.write(rgb, stamp)
            classes.append(cls)
            if on_frame is not None:
                on_frame(len(classes))
        # Checked before the bag is closed, so a bad catalogue entry leaves no bag behind.
        ann = annotate(spec, classes, fps=fps, first_stamp_ns=first, topic=topic, source_extra={"width": width, "height": height, "encoding": encoding})
    save_annotation(ann, bag)
    log.info("wrote %s: %d frames, %s", bag, len(classes), ", ".join(f"{e.name} {e.segment.start_s:.2f}-{e.segment.end_s:.2f} s" for e in ann.events) or "control")
    return bag, ann


def make_standard_set(
    out_dir: str | Path,
    *,
    names: Sequence[str] = STANDARD_SET,
    seconds: float = 10.0,
    fps: float = 15.0,
    width: int = 640,
    height: int = 480,
    encoding: str = "rgb8",
    topic: str = DEFAULT_TOPIC,
    start_ns: int | None = None,
    gap_s: float = 1.0,
    on_frame: ProgressFn | None = None,
) -> list[tuple[Path, Annotation]]:
    """Make several scenarios whose stamps follow one another (replayed in order, time only moves on).

    Args:
        out_dir: Directory for the bags.
        names: Scenarios, in stamp order.
        seconds: Length of each.
        fps: Frame rate.
        width: Frame width.
        height: Frame height.
        encoding: ``rgb8``, ``bgr8`` or ``jpeg``.
        topic: Camera topic.
        start_ns: First stamp of the first scenario; default: the last one ends now.
        gap_s: Stamp gap between consecutive scenarios.
        on_frame: Progress callback (frames of the current scenario).

    Raises:
        ScenarioError: Unknown scenario or bad parameters.
        BagError: A bag exists already or cannot be written.
    """
    for n in names:
        get_spec(n)  # fail before rendering anything
    span = scenario_span_ns(seconds, fps)
    gap_ns = round(gap_s * 1e9)
    total = len(names) * span + (len(names) - 1) * gap_ns
    first = _now_minus(total) if start_ns is None else start_ns
    out = []
    for i, name in enumerate(names):
        out.append(
            make_scenario_bag(
                name,
                out_dir,
                seconds=seconds,
                fps=fps,
                width=width,
                height=height,
                encoding=encoding,
                topic=topic,
                first_stamp_ns=first + i * (span + gap_ns),
                on_frame=on_frame,
            )
        )
    return out


def _resize(rgb: npt.NDArray[np.uint8], width: int | None) -> npt.NDArray[np.uint8]:
    if width is None or rgb.shape[1] == width:
        return rgb
    height = max(2, round(rgb.shape[0] * width / rgb.shape[1]))
    return np.asarray(cv2.resize(rgb, (width, height), interpolation=cv2.INTER_AREA), dtype=np.uint8)


def make_video_bag(
    video: str | Path,
    out_dir: str | Path,
    *,
    name: str | None = None,
    events_file: str | Path | None = None,
    encoding: str = "rgb8",
    topic: str = DEFAULT_TOPIC,
    width: int | None = None,
    first_stamp_ns: int | None = None,
    on_frame: ProgressFn | None = None,
) -> tuple[Path, Annotation]:
    """Convert a video file into a scenario bag (mcap) with its sidecar.

    Args:
        video: Any file OpenCV's FFmpeg backend reads.
        out_dir: Directory for the bag.
        name: Scenario / bag name; default: the video's file stem.
        events_file: Hand-made annotations (``events`` / ``negatives`` in seconds); none
            means the sidecar lists no events.
        encoding: ``rgb8``, ``bgr8`` or ``jpeg``.
        topic: Camera topic.
        width: Resize to this width (aspect kept); default: the video's size.
        first_stamp_ns: Stamp of the first frame; default: the recording ends now. Later
            frames keep the file's own timing.
        on_frame: Called with the number of frames written so far.

    Raises:
        VideoError: The video cannot be read.
        ScenarioError: The events file is malformed or its times fall outside the video.
        BagError: The bag exists already or cannot be written.
    """
    from videorag_ros.recordings.offline import read_video

    if width is not None and width < 16:
        msg = f"width {width} is too small; give at least 16 pixels or leave it out"
        raise ScenarioError(msg)
    events, negatives = load_user_events(events_file) if events_file is not None else ([], [])
    frames, count, fps = read_video(video)
    bag_name = name or Path(video).stem
    bag = Path(out_dir) / bag_name
    bag.parent.mkdir(parents=True, exist_ok=True)
    # Frames keep the file's timing, shifted so the first one is at `origin` (by default the
    # container's frame count estimates the length, so the recording ends about now).
    origin = first_stamp_ns if first_stamp_ns is not None else _now_minus(round(max(count - 1, 0) * 1e9 / fps))
    n, last_rel = 0, 0
    rel0: int | None = None
    with ImageBagWriter(bag, topic=topic, encoding=encoding) as writer:
        for rgb, rel_ns in frames:
            rel0 = rel_ns if rel0 is None else rel0
            last_rel = rel_ns - rel0
            writer.write(_resize(rgb, width), origin + last_rel)
            n += 1
            if on_frame is not None:
                on_frame(n)
        if n == 0:
            msg = f"video '{video}' has no decodable frame"
            raise ScenarioError(msg)
        ann = build_annotation(
            scenario=bag_name,
            description=f"converted from {Path(video).name}" + ("" if events_file else " (no annotations)"),
            source={"kind": "video", "path": str(Path(video).resolve()), "annotations": str(Path(events_file).resolve()) if events_file else None},
            topics=[topic],
            fps=fps,
            frames=n,
            first_stamp_ns=origin,
            duration_s=last_rel * 1e-9,
            events=events,
            negatives=negatives,
        )
    save_annotation(ann, bag)
    return bag, ann
