"""Recordings nobody here made (``../shared/real/``): `videorag run --bag | --video` reads every one.

Spot bags (rgb8, mono8, fisheye mono8, 16UC1 depth; the same scenes as image_transport
CompressedImage: ``rgb8; jpeg compressed bgr8``, ``mono8; jpeg compressed``, ``16UC1; png
compressed``, ``16UC1; compressedDepth``), a Raspberry Pi 1280x960 JPEG, and clips: one with 90°
rotation metadata, one whose header frame count lies, one that aborts OpenCV's decoder process.
Depth is counted as ``not_colour``, never fatal; grey frames are embedded as three channels.
Each test skips with the reason where the recordings are absent (test/support/real.py).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from test.support.real import real_file
from videorag_ros.cli import main as cli
from videorag_ros.core.frames import FrameLimits
from videorag_ros.recordings.bag_reader import REJECT_NOT_COLOUR, BagFrames
from videorag_ros.recordings.offline import VideoError, read_video
from videorag_ros.recordings.video_decoder import ChildVideoDecoder, VideoDecodeError
from videorag_ros.recordings.video_probe import VideoProbeError, probe_memory_bytes

SPOT = {"color": "/spot/camera/hand_color/image", "mono": "/spot/camera/hand_mono/image", "fish": "/spot/camera/frontleft/image", "depth": "/spot/depth/frontleft/image"}
COLOUR_CAMERAS = ("color", "mono", "fish")
SHAPES = {"color": (480, 640, 3), "mono": (171, 224, 3), "fish": (480, 640, 3)}


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, Any], str]:
    code = cli.main(["run", *argv, "--json"])
    captured = capsys.readouterr()
    lines = [line for line in captured.out.splitlines() if line.startswith("{")]
    return code, (json.loads(lines[-1]) if lines else {}), captured.err


def _bag_frames(bag: Path, topics: dict[str, str]) -> tuple[dict[str, np.ndarray], BagFrames]:
    with BagFrames(bag, topics) as frames:
        out = {cam: rgb for cam, rgb, _ in frames.frames()}
    return out, frames


def _spot_run(bag: Path, suffix: str, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    argv = ["--bag", str(bag)] + [a for cam, topic in SPOT.items() for a in ("--topic", f"{cam}={topic}{suffix}")]
    code, summary, err = _run(argv, capsys)
    assert code == 0, err
    assert "Traceback" not in err
    return dict(summary["cameras"])


# --- bags -------------------------------------------------------------------------------------


def test_spot_raw_bag_embeds_rgb8_mono8_and_fisheye_and_counts_16uc1_depth(capsys: pytest.CaptureFixture[str]) -> None:
    bag = real_file("bags/ctu_ros-utils__raw.bag")
    frames, reader = _bag_frames(bag, SPOT)
    assert {cam: f.shape for cam, f in frames.items()} == SHAPES
    for cam in ("mono", "fish"):  # grey -> three equal channels
        assert np.array_equal(frames[cam][..., 0], frames[cam][..., 2])
    assert dict(reader.rejected) == {("depth", REJECT_NOT_COLOUR): 1}
    assert "16UC1" in reader.rejects[0].error and "nothing to embed" in reader.rejects[0].error

    cams = _spot_run(bag, "", capsys)
    for cam in COLOUR_CAMERAS:
        assert cams[cam] == {"frames": 1, "admitted": 1, "embedded": 1, "rejected_input": {}}, cam
    assert cams["depth"] == {"frames": 0, "admitted": 0, "embedded": 0, "rejected_input": {REJECT_NOT_COLOUR: 1}}


def test_spot_compressed_bag_decodes_by_the_format_string_and_counts_png_depth(capsys: pytest.CaptureFixture[str]) -> None:
    bag = real_file("bags/ctu_ros-utils__compressed.bag")
    frames, reader = _bag_frames(bag, {cam: f"{topic}/compressed" for cam, topic in SPOT.items()})
    assert {cam: f.shape for cam, f in frames.items()} == SHAPES
    assert dict(reader.rejected) == {("depth", REJECT_NOT_COLOUR): 1}
    assert "16UC1; png compressed" in reader.rejects[0].error

    # 'rgb8; jpeg compressed bgr8' comes out in RGB order: closer to the raw rgb8 frame of the same scene than its channel swap.
    raw, _ = _bag_frames(real_file("bags/ctu_ros-utils__raw.bag"), {"color": SPOT["color"]})
    jpeg, ref = frames["color"].astype(np.int16), raw["color"].astype(np.int16)
    assert np.abs(jpeg - ref).mean() < 6.0 < np.abs(jpeg[..., ::-1] - ref).mean()

    cams = _spot_run(bag, "/compressed", capsys)
    for cam in COLOUR_CAMERAS:
        assert cams[cam]["embedded"] == 1 and cams[cam]["rejected_input"] == {}, cam
    assert cams["depth"] == {"frames": 0, "admitted": 0, "embedded": 0, "rejected_input": {REJECT_NOT_COLOUR: 1}}


def test_spot_compressed_depth_bag_is_counted_not_fatal(capsys: pytest.CaptureFixture[str]) -> None:
    bag = real_file("bags/ctu_ros-utils__compressedDepth.bag")
    code, summary, err = _run(["--bag", str(bag), "--topic", "depth=/spot/depth/frontleft/image/compressedDepth"], capsys)
    assert code == 0, err
    assert summary["cameras"]["depth"]["rejected_input"] == {REJECT_NOT_COLOUR: 1}
    assert summary["frames"] == 0
    assert "rejected (not_colour), e.g. /spot/depth/frontleft/image/compressedDepth: compressed format '16UC1; compressedDepth' is a depth" in err


def test_raspberry_pi_jpeg_bag_is_embedded(capsys: pytest.CaptureFixture[str]) -> None:
    bag = real_file("bags/fiducials__aruco_images.bag")
    frames, _ = _bag_frames(bag, {"front": "/raspicam_node/image/compressed"})
    assert frames["front"].shape == (960, 1280, 3)
    code, summary, err = _run(["--bag", str(bag), "--topic", "front=/raspicam_node/image/compressed"], capsys)
    assert code == 0, err
    assert summary["cameras"]["front"] == {"frames": 1, "admitted": 1, "embedded": 1, "rejected_input": {}}


# --- clips ------------------------------------------------------------------------------------


def test_rotation_metadata_is_honoured(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    clip = real_file("clips/decord__video_90.mov")
    frames, count, _ = read_video(clip)
    rgb = [f for f, _ in frames]
    assert count == 3 and frames.rotation == 90
    assert [f.shape for f in rgb] == [(568, 320, 3)] * 3  # stored 568 wide, 320 high; shown upright
    cap = cv2.VideoCapture(str(clip))  # a benign file: read here, unrotated, as the reference
    cap.set(cv2.CAP_PROP_ORIENTATION_AUTO, 0)
    ok, stored = cap.read()
    cap.release()
    assert ok and stored.shape == (320, 568, 3)
    assert np.array_equal(rgb[0], cv2.cvtColor(cv2.rotate(stored, cv2.ROTATE_90_CLOCKWISE), cv2.COLOR_BGR2RGB))

    report_path = tmp_path / "report.json"
    code, _, err = _run(["--video", str(clip), "--report", str(report_path)], capsys)
    assert code == 0, err
    assert "rotated 90 deg" in err
    assert json.loads(report_path.read_text())["decoded"] == {"declared_frames": 3, "frames": 3, "rotation_deg": 90}


def test_a_header_frame_count_that_lies_is_read_to_the_decoders_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    clip = real_file("clips/decord__flipping_a_pancake.mkv")
    frames, count, _ = read_video(clip)
    n = sum(1 for _ in frames)
    assert (count, n, frames.frames_read) == (311, 310, 310)

    report_path = tmp_path / "report.json"
    code, summary, err = _run(["--video", str(clip), "--report", str(report_path)], capsys)
    assert code == 0, err
    assert summary["throughput"]["frames"] == 310
    assert "declares 311 frames; 310 decoded" in err
    assert json.loads(report_path.read_text())["decoded"] == {"declared_frames": 311, "frames": 310, "rotation_deg": 0}


@pytest.mark.parametrize(("name", "frames", "shape"), [("bgslibrary__video.avi", 374, (360, 640, 3)), ("mmaction2__tests_data_test.mp4", 300, (256, 340, 3))])
def test_other_real_clips_read_to_the_end(name: str, frames: int, shape: tuple[int, int, int]) -> None:
    it, count, fps = read_video(real_file(f"clips/{name}"))
    shapes = {f.shape for f, _ in it}
    assert (count, it.frames_read, shapes, fps) == (frames, frames, {shape}, pytest.approx(30.0))


def test_the_clip_that_aborts_opencv_is_refused_with_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    clip = real_file("clips/bgslibrary__demo.avi")
    code = cli.main(["run", "--video", str(clip)])
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if not line.startswith("[")]  # OpenCV's own [ WARN ] lines aside
    assert code == 1
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ") and "the decoder crashed on this file (signal 6, SIGABRT)" in lines[0]
    assert "Traceback" not in err


def test_frames_are_decoded_in_a_child_so_a_crash_after_the_probe_cannot_take_us_down() -> None:
    clip = real_file("clips/bgslibrary__demo.avi")
    with pytest.raises(VideoProbeError, match=r"the decoder crashed on this file \(signal 6"):
        read_video(clip)
    # Skip the probe: the frame decoder's own child crashes, and this process carries on.
    with pytest.raises(VideoError, match=r"the decoder crashed on this file \(signal 6, SIGABRT\)"):
        frames, _, _ = read_video(clip, probe=False)
        for _ in frames:
            pass


def test_a_decoder_that_sends_nothing_in_time_is_a_clear_error() -> None:
    clip = real_file("clips/decord__video_90.mov")
    limits = FrameLimits()
    # The child cannot even start Python in a millisecond: this is the path a hanging decoder takes.
    with pytest.raises(VideoDecodeError, match=r"sent nothing for 0\.001 s at frame 0 \(it hangs on this file\)"):
        ChildVideoDecoder(clip, max_width=limits.max_width, max_height=limits.max_height, memory_bytes=probe_memory_bytes(limits), timeout_s=0.001)
