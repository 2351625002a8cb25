"""`videorag bench replay` end to end: one short scenario bag, a real edge node, real DDS.

Checks what the benchmark computes, not how fast: every trigger message maps back to a
replayed frame (the restamped -> recorded stamp map), frame counts add up, the latency-only
probe gives glass-to-action samples, the node's CPU and peak memory are read, and the bags
it made are removed.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("rclpy", reason="ROS 2 not installed: run through `make test`")

from videorag_ros.bench import replay as bench_replay

pytestmark = pytest.mark.integration


def test_bench_replay_scores_and_times_one_scenario(tmp_path: Path, capsys: pytest.CaptureFixture[str], own_ros_domain: int) -> None:
    out = tmp_path / "bench"
    args = ["--scenario", "person_steps_in", "--seconds", "4", "--width", "320", "--height", "240"]
    code = bench_replay.main([*args, "--latency-only", "--out-dir", str(out), "--domain", str(own_ros_domain), "--json"])
    text = capsys.readouterr().out
    assert code == 0, text
    result = json.loads(text.strip().splitlines()[-1])
    assert result["scores_meaningful"] is False and result["model"] == "videorag-tiny"
    header = next(line for line in text.splitlines() if line.startswith("scenario "))
    assert "g2a wire ms" in header and "prec" not in header and "verdict" not in header

    (s,) = result["scenarios"]
    assert s["scenario"] == "person_steps_in"
    assert s["unmapped_trigger_stamps"] == 0  # every SemanticTrigger names a frame the replay published
    frames = s["frames"]
    assert frames["published"] == 60 and s["replay"]["published"] == {"/camera/front/image_raw": 60}
    assert 0 < frames["received"] <= frames["published"]
    assert frames["lost_in_transport"] == frames["published"] - frames["received"]
    assert frames["embedded"] > 0 and s["glass_to_decision_ms"]["n"] == frames["embedded"]
    assert s["glass_to_action_wire_ms"]["n"] > 0  # the always-active probe: one message per embedded frame
    assert s["cpu_pct"] > 0 and s["peak_rss_mib"] > 0
    # The probe is not scored: the score covers the parameter file's triggers only.
    assert set(s["score"]["per_trigger"]) == {"person_ahead", "pallet_in_aisle", "smoke"}
    for ev in s["score"]["event_scores"]:
        if ev["detected"]:
            assert 0.0 <= ev["time_to_trigger_s"] <= ev["deadline_s"] - ev["start_s"]
    assert not (out / "bags").exists()  # made bags are removed unless --keep-bags
    assert Path(s["edge_log"]).is_file()
