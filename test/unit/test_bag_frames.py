"""Camera frames from bags (rosbag2 mcap / sqlite3, ROS 1) and `videorag run --bag`, on real footage.

The bags are written with rosbags' own writers from frames of box.mp4 (raw rgb8 Image) and
cup.mp4 (JPEG CompressedImage), plus malformed messages the reader must count, not drop.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import pytest
from rosbags.rosbag1 import Writer as Writer1
from rosbags.rosbag2 import StoragePlugin
from rosbags.rosbag2 import Writer as Writer2
from rosbags.typesys import Stores, get_typestore

from videorag_ros.cli import main as cli
from videorag_ros.core.encoder.encoder import load_encoder
from videorag_ros.core.index import TemporalIndex, read_snapshot
from videorag_ros.recordings.bag_reader import REJECT_CONVERT, REJECT_DESERIALIZE, BagError, BagFrames, parse_topic_map

FRONT = "/camera/front/image_raw"  # where the shipped config's relative 'camera/front/image_raw' resolves
REAR = "/camera/rear/image_raw/compressed"
KINDS = ("mcap", "sqlite3", "ros1")
BASE_NS = 1_700_000_000_000_000_000
LOG_DELAY_NS = 7_000_000  # the bag's log time lags the header stamp: the reader must use the header


@dataclass
class Recording:
    """A bag written by the test and what it holds."""

    path: Path
    stamps: dict[str, list[int]]  # camera -> header stamps of the good frames
    frames: dict[str, list[np.ndarray]]  # camera -> RGB frames sent
    rejected: dict[tuple[str, str], int] = field(default_factory=dict)


def _clip_frames(path: Path, n: int, step: int) -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(path))
    out, i = [], 0
    while len(out) < n:
        ok, bgr = cap.read()
        assert ok, f"{path} ended after {i} frames"
        if i % step == 0:
            out.append(cv2.cvtColor(cv2.resize(bgr, (320, 240), interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2RGB))
        i += 1
    cap.release()
    return out


def write_camera_bag(path: Path, kind: str, front: list[np.ndarray], rear: list[np.ndarray], *, zero_stamps: bool = False) -> Recording:
    """Front frames as rgb8 Image on FRONT, rear frames as JPEG CompressedImage on REAR, one extra String topic,
    and four malformed messages (3 unconvertible images, 1 undeserialisable byte string)."""
    ros1 = kind == "ros1"
    store = get_typestore(Stores.ROS1_NOETIC if ros1 else Stores.ROS2_HUMBLE)
    T = store.types
    Time, Image, Compressed, String = T["builtin_interfaces/msg/Time"], T["sensor_msgs/msg/Image"], T["sensor_msgs/msg/CompressedImage"], T["std_msgs/msg/String"]

    def header(ns: int) -> object:
        stamp = Time(sec=0, nanosec=0) if zero_stamps else Time(sec=ns // 10**9, nanosec=ns % 10**9)
        return T["std_msgs/msg/Header"](seq=0, stamp=stamp, frame_id="cam") if ros1 else T["std_msgs/msg/Header"](stamp=stamp, frame_id="cam")

    def image(ns: int, rgb: np.ndarray, *, encoding: str = "rgb8", cut: int = 0) -> object:
        h, w = rgb.shape[:2]
        data = rgb.reshape(-1)[: rgb.size - cut].copy()
        return Image(header=header(ns), height=h, width=w, encoding=encoding, is_bigendian=0, step=w * 3, data=data)

    def jpeg(ns: int, payload: bytes) -> object:
        return Compressed(header=header(ns), format="rgb8; jpeg compressed bgr8", data=np.frombuffer(payload, np.uint8).copy())

    serialize = store.serialize_ros1 if ros1 else store.serialize_cdr
    rec = Recording(path, {"front": [], "rear": []}, {"front": [], "rear": []})
    # (log time, topic, serialized bytes)
    out: list[tuple[int, str, bytes]] = []
    for i, rgb in enumerate(front):
        ns = BASE_NS + i * 100_000_000
        out.append((ns + LOG_DELAY_NS, FRONT, bytes(serialize(image(ns, rgb), Image.__msgtype__))))
        rec.stamps["front"].append(ns)
        rec.frames["front"].append(rgb)
    for i, rgb in enumerate(rear):
        ns = BASE_NS + 50_000_000 + i * 100_000_000
        ok, buf = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 90])
        assert ok
        out.append((ns + LOG_DELAY_NS, REAR, bytes(serialize(jpeg(ns, buf.tobytes()), Compressed.__msgtype__))))
        rec.stamps["rear"].append(ns)
        rec.frames["rear"].append(rgb)
    bad_ns = BASE_NS + 1_025_000_000  # in the middle of the recording
    out.append((bad_ns, FRONT, bytes(serialize(image(bad_ns, front[0], cut=100), Image.__msgtype__))))  # buffer shorter than step x height
    out.append((bad_ns + 1, FRONT, bytes(serialize(image(bad_ns + 1, front[0], encoding="32FC1"), Image.__msgtype__))))  # unsupported encoding
    out.append((bad_ns + 2, FRONT, b"\x00\x01\x00\x00\x07"))  # not an Image at all
    out.append((bad_ns + 3, REAR, bytes(serialize(jpeg(bad_ns + 3, b"this is not a jpeg"), Compressed.__msgtype__))))
    out.append((bad_ns + 4, "/status", bytes(serialize(String(data="ok"), String.__msgtype__))))
    rec.rejected = {("front", REJECT_CONVERT): 2, ("front", REJECT_DESERIALIZE): 1, ("rear", REJECT_CONVERT): 1}
    out.sort(key=lambda m: m[0])
    if ros1:
        with Writer1(path) as w1:
            conns1 = {t: w1.add_connection(t, ty.__msgtype__, typestore=store) for t, ty in ((FRONT, Image), (REAR, Compressed), ("/status", String))}
            for log_ns, topic, data in out:
                w1.write(conns1[topic], log_ns, data)
    else:
        plugin = StoragePlugin.MCAP if kind == "mcap" else StoragePlugin.SQLITE3
        with Writer2(path, version=9, storage_plugin=plugin) as w2:
            conns2 = {t: w2.add_connection(t, ty.__msgtype__, typestore=store) for t, ty in ((FRONT, Image), (REAR, Compressed), ("/status", String))}
            for log_ns, topic, data in out:
                w2.write(conns2[topic], log_ns, data)
    return rec


@pytest.fixture(scope="module")
def clips(footage: Callable[[str], Path]) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """30 frames of box.mp4 (every 3rd: the camera moves) and 24 of cup.mp4, at 320x240."""
    return _clip_frames(footage("box.mp4"), 30, 3), _clip_frames(footage("cup.mp4"), 24, 2)


@pytest.fixture(scope="module", params=KINDS)
def recording(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, clips: tuple[list[np.ndarray], list[np.ndarray]]) -> Recording:
    kind = request.param
    path = tmp_path_factory.mktemp(f"bag-{kind}") / ("cams.bag" if kind == "ros1" else "cams")
    return write_camera_bag(path, kind, *clips)


CAMERAS = {"front": "camera/front/image_raw", "rear": "camera/rear/image_raw/compressed"}  # relative, as in a parameter file


def test_reads_both_cameras_with_header_stamps(recording: Recording) -> None:
    with BagFrames(recording.path, CAMERAS) as bag:
        assert bag.camera_topics == {"front": FRONT, "rear": REAR}
        assert bag.message_count == sum(map(len, recording.stamps.values())) + sum(recording.rejected.values())
        got: dict[str, list[tuple[int, np.ndarray]]] = {"front": [], "rear": []}
        for cam, rgb, stamp_ns in bag.frames():
            got[cam].append((stamp_ns, rgb))
    for cam in CAMERAS:
        assert [s for s, _ in got[cam]] == recording.stamps[cam]
    # raw rgb8 comes back bit-exact; JPEG within compression noise
    for (_, rgb), sent in zip(got["front"], recording.frames["front"], strict=True):
        assert rgb.shape == sent.shape and np.array_equal(rgb, sent)
    for (_, rgb), sent in zip(got["rear"], recording.frames["rear"], strict=True):
        assert rgb.shape == sent.shape
        assert np.abs(rgb.astype(np.int16) - sent).mean() < 4.0


def test_malformed_messages_are_counted_per_camera_and_reason(recording: Recording) -> None:
    with BagFrames(recording.path, CAMERAS) as bag:
        n = sum(1 for _ in bag.frames())
    assert n == sum(map(len, recording.stamps.values()))
    assert dict(bag.rejected) == recording.rejected
    assert len(bag.rejects) == sum(recording.rejected.values())
    by_reason = {(r.camera_id, r.reason) for r in bag.rejects}
    assert by_reason == set(recording.rejected)
    errors = " | ".join(r.error for r in bag.rejects)
    assert "32FC1" in errors and "data length" in errors and "not a valid sensor_msgs/msg/Image" in errors


def test_topic_map_overrides_and_progress_counts_every_message(recording: Recording) -> None:
    seen = []
    with BagFrames(recording.path, {"left": "nowhere", "right": "camera/right"}, topic_map={"left": FRONT, "right": REAR[1:]}) as bag:
        assert bag.camera_topics == {"left": FRONT, "right": REAR}
        cams = [cam for cam, _, _ in bag.frames(on_message=lambda: seen.append(1))]
    assert cams.count("left") == len(recording.stamps["front"]) and cams.count("right") == len(recording.stamps["rear"])
    assert len(seen) == bag.message_count


def test_partial_match_reads_what_exists(recording: Recording) -> None:
    with BagFrames(recording.path, {"front": FRONT, "side": "/camera/side/image_raw"}) as bag:
        assert bag.missing == {"side": "/camera/side/image_raw"}
        assert {cam for cam, _, _ in bag.frames()} == {"front"}


def test_no_configured_topic_lists_the_bags_image_topics(recording: Recording) -> None:
    with pytest.raises(BagError) as err:
        BagFrames(recording.path, {"front": "/usb_cam/image_raw"}).open()
    text = str(err.value)
    assert "/usb_cam/image_raw" in text and FRONT in text and REAR in text and "--topic" in text
    assert "/status" not in text  # only image topics are offered


def test_non_image_topic_is_refused(recording: Recording) -> None:
    with pytest.raises(BagError, match="std_msgs/msg/String"):
        BagFrames(recording.path, {"front": "/status"}).open()


def test_missing_and_corrupt_bags(tmp_path: Path) -> None:
    with pytest.raises(BagError, match="does not exist"):
        BagFrames(tmp_path / "nothing", CAMERAS).open()
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "metadata.yaml").write_text("rosbag2_bagfile_information: [this is: not, a bag")
    with pytest.raises(BagError, match="cannot read"):
        BagFrames(tmp_path / "junk", CAMERAS).open()
    (tmp_path / "empty").mkdir()
    with pytest.raises(BagError, match="metadata"):
        BagFrames(tmp_path / "empty", CAMERAS).open()
    bad1 = tmp_path / "truncated.bag"
    bad1.write_bytes(b"#ROSBAG V2.0\n" + b"\x00" * 64)
    with pytest.raises(BagError, match="ROS 1"):
        BagFrames(bad1, CAMERAS).open()
    with pytest.raises(BagError, match="not configured"):
        BagFrames(tmp_path / "nothing", CAMERAS, topic_map={"side": "/x"})


def test_zero_header_stamps_fall_back_to_log_time_and_are_counted(tmp_path: Path, clips: tuple[list[np.ndarray], list[np.ndarray]]) -> None:
    front, rear = clips
    rec = write_camera_bag(tmp_path / "zero", "mcap", front[:5], rear[:3], zero_stamps=True)
    with BagFrames(rec.path, CAMERAS) as bag:
        stamps = [s for cam, _, s in bag.frames() if cam == "front"]
    assert stamps == [s + LOG_DELAY_NS for s in rec.stamps["front"]]
    assert bag.log_time_stamped_frames() == {"front": 5, "rear": 3}


def test_parse_topic_map() -> None:
    assert parse_topic_map(["front=/a/b", " rear = /c "]) == {"front": "/a/b", "rear": "/c"}
    for bad in ("front", "=/a", "front="):
        with pytest.raises(ValueError, match="CAMERA=/topic"):
            parse_topic_map([bad])


# --- videorag run --bag ------------------------------------------------------------------------


def test_run_bag_two_cameras_index_and_plot(recording: Recording, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The shipped configuration (camera 'front' on relative camera/front/image_raw) plus a camera added by --topic."""
    index_path, plot_path, report_path = tmp_path / "mem.vrag", tmp_path / "timeline.png", tmp_path / "report.json"
    argv = ["run", "--bag", str(recording.path), "--topic", f"rear={REAR}", "--index", str(index_path), "--plot", str(plot_path), "--report", str(report_path), "--json"]
    assert cli.main(argv) == 0
    captured = capsys.readouterr()
    summary = json.loads(captured.out.strip().splitlines()[-1])
    report = json.loads(report_path.read_text())
    for cam in ("front", "rear"):
        assert summary["cameras"][cam]["frames"] == len(recording.stamps[cam])
        frames = [f for f in report["frames"] if f["camera"] == cam]
        assert [f["stamp_ns"] for f in frames] == recording.stamps[cam]  # header stamps, not the bag's log time
        assert [f["stamp"] for f in frames] == pytest.approx([s / 1e9 for s in recording.stamps[cam]], abs=1e-6)
        seqs = [f["seq"] for f in frames]
        assert seqs == sorted(set(seqs))
        rejected = {(cam, reason): n for reason, n in summary["cameras"][cam]["rejected_input"].items()}
        assert rejected == {k: v for k, v in recording.rejected.items() if k[0] == cam}
        # rejected messages take a sequence number, as in the edge node
        assert seqs[-1] + 1 == len(frames) + sum(rejected.values())
    assert len(report["input_errors"]) == sum(recording.rejected.values())
    assert "rejected (convert)" in captured.err and "rejected (deserialize)" in captured.err
    assert "camera 'rear' is not in the parameter file; added" in captured.err
    # the memory snapshot: one entry per embedded frame, both cameras, header stamps
    embedded = sum(c["embedded"] for c in summary["cameras"].values())
    assert summary["index"]["entries"] == embedded > 0
    snap = read_snapshot(index_path)
    assert len(snap) == embedded
    assert {snap.camera_names[c] for c in snap.cameras} == {"front", "rear"}
    assert set(snap.stamps.tolist()) <= set(recording.stamps["front"]) | set(recording.stamps["rear"])
    encoder = load_encoder("videorag-tiny", backend="cpu")
    with TemporalIndex(dim=encoder.dim, capacity=1000, ttl_s=0.0) as index:
        assert index.load(index_path) == embedded
    img = cv2.imread(str(plot_path))
    assert img is not None and img.shape[0] > 200 and img.shape[1] > 400


def test_run_bag_errors(recording: Recording, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["run", "--bag", str(tmp_path / "none")]) == 1
    assert "does not exist" in capsys.readouterr().err
    assert cli.main(["run", "--bag", str(recording.path), "--topic", "front=/usb_cam/image_raw"]) == 1
    err = capsys.readouterr().err
    assert "has none of the camera topics" in err and FRONT in err and REAR in err
    assert cli.main(["run", "--bag", str(recording.path), "--topic", "front"]) == 2
    assert "CAMERA=/topic" in capsys.readouterr().err
    assert cli.main(["run", "--bag", str(recording.path), "--camera", "front"]) == 2
    assert "--camera applies to --video only" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:
        cli.main(["run", "--bag", str(recording.path), "--video", "x.mp4"])
    assert exit_.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err
