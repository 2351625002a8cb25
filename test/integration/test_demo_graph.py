"""The shipped configuration end to end: videorag-tiny, text-prompt trigger, edge node and
simulated camera as separate processes over real DDS (what `make demo` runs)."""

from __future__ import annotations

import pytest

pytest.importorskip("rclpy", reason="ROS 2 not installed: run through `make test`")

from videorag_ros.cli import demo

pytestmark = pytest.mark.integration


def test_person_stepping_in_engages_the_estop(capsys: pytest.CaptureFixture[str], own_ros_domain: int) -> None:
    code = demo.main(["--sequence", "person_steps_in", "--seconds", "6", "--domain", str(own_ros_domain)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "trigger ENTER person_ahead" in out and "e-stop ENGAGED" in out
    assert "verdict: ok" in out


def test_empty_corridor_with_light_changes_never_stops(capsys: pytest.CaptureFixture[str], own_ros_domain: int) -> None:
    code = demo.main(["--sequence", "empty_control", "--seconds", "6", "--domain", str(own_ros_domain)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "trigger ENTER" not in out and "e-stop ENGAGED" not in out
