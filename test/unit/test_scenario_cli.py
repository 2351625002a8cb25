"""`videorag scenario list | make | check` through main([...])."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from test.conftest import REPO
from videorag_ros.cli import main as cli
from videorag_ros.scenarios.annotations import load_annotation
from videorag_ros.scenarios.catalogue import CATALOGUE, STANDARD_SET

TINY = ["--seconds", "2", "--fps", "5", "--width", "64", "--height", "48"]


def test_list_names_the_catalogue(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["scenario", "list"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in CATALOGUE) and "person_ahead" in out and "control" in out


def test_make_all_writes_the_standard_set(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["scenario", "make", "--all", str(tmp_path), *TINY]) == 0
    out = capsys.readouterr().out
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(STANDARD_SET)
    for name in STANDARD_SET:
        ann = load_annotation(tmp_path / name)
        assert ann.scenario == name and ann.frames == 10 and f"{tmp_path / name}:" in out
    firsts = [load_annotation(tmp_path / n).first_stamp_ns for n in STANDARD_SET]
    assert firsts == sorted(firsts)


@pytest.fixture
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # relative paths in the cases below


@pytest.mark.parametrize(
    ("args", "code", "err"),
    [
        # --events only means something for a video
        (["--scenario", "person_steps_in", "--events", "ev.yaml"], 2, "--events and --name go with --from-video"),
        # an unknown scenario name lists the catalogue
        (["--scenario", "person_falls_asleep"], 1, "unknown scenario 'person_falls_asleep'; the catalogue has"),
        # a missing video file
        (["--from-video", "missing.mp4"], 1, "video file 'missing.mp4' does not exist"),
    ],
)
@pytest.mark.usefixtures("_in_tmp")
def test_make_refuses_bad_requests(tmp_path: Path, args: list[str], code: int, err: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["scenario", "make", *args, str(tmp_path / "out"), *TINY]) == code
    assert err in capsys.readouterr().err
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_check_separates_the_standard_set_with_the_shipped_triggers(capsys: pytest.CaptureFixture[str]) -> None:
    """config/scenarios.yaml with the shipped videorag-tiny: every event fires its trigger, nothing else fires."""
    params = REPO / "config" / "scenarios.yaml"
    code = cli.main(["scenario", "check", "--params", str(params), "--seconds", "6", "--fps", "10", "--width", "320", "--height", "240", "--step", "0", "--json"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "verdict: ok" in out
    margins = json.loads(out.strip().splitlines()[-1])
    assert set(margins) == {"person_ahead", "pallet_in_aisle", "smoke"}
    for trigger, m in margins.items():
        assert m["below"] > 0 and m["above"] > 0, f"{trigger}: {m}"
