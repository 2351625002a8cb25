"""The scenario catalogue against the renderer's ground truth, and making scenario bags
(procedural and from a video file) read back with rosbags."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml
from rosbags.highlevel import AnyReader

from videorag_ros.bench.rigs.patterns import pattern_frame
from videorag_ros.recordings.bag_writer import BagError
from videorag_ros.scenarios.annotations import ScenarioError, load_annotation
from videorag_ros.scenarios.catalogue import CATALOGUE, QUIET_CLASS, STANDARD_SET, annotate, frame_stamps, get_spec, render
from videorag_ros.scenarios.maker import make_scenario_bag, make_standard_set, make_video_bag

SMALL = {"seconds": 5.0, "fps": 10.0, "width": 96, "height": 72}


@pytest.mark.parametrize("name", list(CATALOGUE))
def test_annotations_follow_the_renderers_ground_truth(name: str) -> None:
    spec = CATALOGUE[name]
    classes = [c for _, c in render(spec, **SMALL)]
    ann = annotate(spec, classes, fps=SMALL["fps"], first_stamp_ns=0)
    t = [i / SMALL["fps"] for i in range(len(classes))]
    negative = [c for ti, c in zip(t, classes, strict=True) if any(s.contains(ti) for s in ann.negatives)]
    assert negative and set(negative) == {QUIET_CLASS}
    if spec.event is None:
        assert not ann.events and ann.negatives[0].end_s == pytest.approx(t[-1])  # a control is negative throughout
        return
    (ev,) = ann.events
    assert (ev.name, ev.trigger) == (spec.event, spec.trigger)
    inside = [c for ti, c in zip(t, classes, strict=True) if ev.segment.contains(ti)]
    assert inside[-1] == spec.event_class and spec.event_class in inside
    assert QUIET_CLASS not in classes[classes.index(spec.event_class) :]  # once it happened, it stays
    assert ev.segment.start_s == pytest.approx(ann.negatives[0].end_s + 1 / SMALL["fps"])  # the event starts at the onset


def test_standard_set_has_every_trigger_and_two_controls() -> None:
    specs = [get_spec(n) for n in STANDARD_SET]
    assert {s.trigger for s in specs if s.trigger} == {"person_ahead", "pallet_in_aisle", "smoke"}
    assert sum(s.event is None for s in specs) == 2


def test_bad_catalogue_use_is_refused() -> None:
    with pytest.raises(ScenarioError, match="unknown scenario 'forklift_drives'; the catalogue has person_steps_in"):
        get_spec("forklift_drives")
    spec = get_spec("person_steps_in")
    with pytest.raises(ScenarioError, match=r"no 'person_in_path' frame after the onset.*longer sequence"):
        annotate(spec, [c for _, c in render(spec, seconds=0.2, fps=10, width=64, height=48)], fps=10, first_stamp_ns=0)
    with pytest.raises(ScenarioError, match="before the onset is 'smoke_or_fire'"):
        annotate(spec, ["smoke_or_fire"] * 10 + ["person_in_path"] * 10, fps=10, first_stamp_ns=0)
    with pytest.raises(ScenarioError, match="need seconds > 0"):
        render(spec, seconds=0, fps=10, width=64, height=48)


def test_scenario_bag_round_trip(tmp_path: Path) -> None:
    first = 1_700_000_000_000_000_000
    bag, ann = make_scenario_bag("pallet_falls", tmp_path, first_stamp_ns=first, **SMALL)
    assert bag == tmp_path / "pallet_falls" and (bag / "metadata.yaml").is_file() and list(bag.glob("*.mcap"))
    assert load_annotation(bag) == ann
    with AnyReader([bag]) as reader:
        assert [(c.topic, c.msgtype) for c in reader.connections] == [(ann.topics[0], "sensor_msgs/msg/Image")]
        msgs = [(t, reader.deserialize(raw, c.msgtype)) for c, t, raw in reader.messages()]
    assert [t for t, _ in msgs] == frame_stamps(ann.frames, ann.fps, first)
    frames = [f for f, _ in render(get_spec("pallet_falls"), **SMALL)]
    for (_, msg), rgb in zip(msgs, frames, strict=True):
        np.testing.assert_array_equal(np.asarray(msg.data).reshape(72, 96, 3), rgb)  # lossless rgb8: the rendered frames
    with pytest.raises(BagError, match="exists already"):
        make_scenario_bag("pallet_falls", tmp_path, **SMALL)


def test_standard_set_stamps_follow_one_another(tmp_path: Path) -> None:
    made = make_standard_set(tmp_path, names=["empty_control", "person_steps_in"], seconds=2.0, fps=5.0, width=64, height=48)
    (_, a), (_, b) = made
    assert b.first_stamp_ns > a.stamp_ns(a.duration_s)  # replayed in order, time only moves on


def _video(path: Path, n: int, fps: float = 10.0) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (160, 120))
    for i in range(n):
        writer.write(cv2.cvtColor(pattern_frame("disk" if i >= n // 2 else "stripes", seed=i), cv2.COLOR_RGB2BGR))
    writer.release()
    return path


def test_video_becomes_an_annotated_bag(tmp_path: Path) -> None:
    video = _video(tmp_path / "clip.avi", 30)
    events = tmp_path / "events.yaml"
    events.write_text(yaml.safe_dump({"events": [{"name": "disk_shows", "trigger": "disk", "start": 1.5, "end": 2.9}], "negatives": [{"start": 0.0, "end": 1.2}]}))
    bag, ann = make_video_bag(video, tmp_path / "bags", events_file=events, width=80, encoding="jpeg")
    assert bag.name == "clip" and ann.frames == 30 and ann.fps == pytest.approx(10.0)
    assert ann.source["kind"] == "video" and ann.events[0].trigger == "disk" and ann.negatives[0].end_s == 1.2
    assert load_annotation(bag) == ann
    with AnyReader([bag]) as reader:
        msgs = [reader.deserialize(raw, c.msgtype) for c, _, raw in reader.messages()]
    assert len(msgs) == 30 and msgs[0].format == "jpeg"
    assert cv2.imdecode(np.asarray(msgs[0].data), cv2.IMREAD_COLOR).shape == (60, 80, 3)  # resized, aspect kept
    plain_bag, plain = make_video_bag(video, tmp_path / "bags", name="plain")
    assert not plain.events and not plain.negatives and "no annotations" in plain.description and plain_bag.name == "plain"


def test_video_annotations_outside_the_video_leave_no_bag(tmp_path: Path) -> None:
    video = _video(tmp_path / "clip.avi", 20)
    events = tmp_path / "events.yaml"
    events.write_text(yaml.safe_dump({"events": [{"name": "late", "trigger": "disk", "start": 1.0, "end": 9.0}]}))
    with pytest.raises(ScenarioError, match=r"event 'late': ends at 9\.000 s, after the recording"):
        make_video_bag(video, tmp_path / "bags", events_file=events)
    assert not (tmp_path / "bags" / "clip").exists()
