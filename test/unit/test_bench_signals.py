"""``videorag bench signals``: how a run's exit is sorted, and its arguments refused by name."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from videorag_ros.bench.signals import classify, main


@pytest.mark.parametrize(
    ("code", "stderr", "outcome"),
    [
        (0, "[INFO] saved\n", "clean"),
        (130, "videorag edge: interrupted\n", "clean"),
        (-signal.SIGINT, "", "clean"),
        (0, "Traceback (most recent call last):\nKeyboardInterrupt\n", "traceback"),
        (-signal.SIGABRT, "terminate called without an active exception\n", "abort"),
        (-signal.SIGSEGV, "", "crash"),
        (None, "", "hung"),
        (1, "error: bad\n", "exit 1"),
        (-signal.SIGTERM, "", "exit -15"),
    ],
)
def test_each_exit_is_sorted_by_what_a_user_would_see(code: int | None, stderr: str, outcome: str) -> None:
    assert classify(code, stderr) == outcome


def test_death_by_the_signal_sent_is_clean_only_for_that_signal() -> None:
    assert classify(-signal.SIGTERM, "", signal.SIGTERM) == "clean"
    assert classify(-signal.SIGINT, "", signal.SIGTERM) == "exit -2"


@pytest.mark.parametrize("args", [["--runs", "0"], ["--window", "2", "1"], ["--window", "0", "nan"], ["--window", "0", "inf"], ["--load", "-1"], ["--load", "100000"], ["--domain", "-1"], ["--domain", "233"]])
def test_bad_arguments_are_refused_before_anything_starts(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(args) == 2
    assert "error:" in capsys.readouterr().err


def test_a_directory_that_is_not_a_checkout_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--checkout", str(tmp_path)]) == 2
    assert "not a videorag checkout" in capsys.readouterr().err
