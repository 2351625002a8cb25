"""Untrusted video files are probed in a child process first (real files from opencv-doc)."""

from __future__ import annotations

from pathlib import Path

import pytest

from videorag_ros.recordings.offline import read_video
from videorag_ros.recordings.video_probe import VideoProbeError, probe_video


def test_probe_reports_a_real_clip(footage) -> None:
    info = probe_video(footage("vtest.avi"))
    assert (info.width, info.height, info.frame_count) == (768, 576, 795) and info.fps == pytest.approx(10.0)


def test_junk_truncated_and_missing_files_are_refused(footage, tmp_path: Path) -> None:
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(4000))
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(footage("box.mp4").read_bytes()[:2000])
    for bad in (junk, truncated):
        with pytest.raises(VideoProbeError, match=r"cannot open|no frame could be decoded"):
            read_video(bad)
    with pytest.raises(VideoProbeError, match="does not exist"):
        probe_video(tmp_path / "missing.avi")


def test_a_decoder_that_does_not_answer_in_time_is_a_clear_error(footage) -> None:
    # The child cannot even start Python in a millisecond: this is the path a hanging decoder takes.
    with pytest.raises(VideoProbeError, match=r"took longer than 0\.001 s"):
        probe_video(footage("vtest.avi"), timeout_s=0.001)
