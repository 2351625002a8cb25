"""DDS never leaves this machine in a test, the demo or a benchmark.

The first check is this very process (test/conftest.py confines it before rclpy can start).
The others run ``videorag demo`` and every benchmark that starts rclpy as real processes with
the discovery variables removed from their environment, under a probe
(test/support/dds_probe/sitecustomize.py) that records the settings each process has at its
first ``rclpy`` Context.init, children included, and then ends it. Every record must be
confined to localhost: a new benchmark that forgets to confine itself fails here.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

pytest.importorskip("rclpy", reason="ROS 2 not installed: run through `make test`")

from test.conftest import REPO
from videorag_ros.cli.bench import BENCHES, ROS_FREE
from videorag_ros.ros.dds import DISCOVERY_RANGE, LOCALHOST_ONLY, is_confined
from videorag_ros.ros.graph import videorag_command

PROBE = REPO / "test" / "support" / "dds_probe"
# The smallest arguments that bring each command to its first rclpy.init.
SMALL_ARGS = {
    "demo": ["--seconds", "1"],
    "pipeline": ["--frames", "5"],
    "query": ["--minutes", "0.05", "--queries", "2"],
    "soak": ["--minutes", "0.05"],
    "replay": ["--seconds", "1", "--width", "160", "--height", "120", "--scenario", "empty_control"],
    "watchdog": ["--trials", "1"],
    "hostile": ["--only", "fifo_snapshot_path"],
    "signals": ["--runs", "1", "--window", "1", "1"],
    "ingest": ["--seconds", "1", "--doors", "ws", "--load", "1x5", "--peers", ""],
    "fleet": ["--only", "pipeline", "--frames", "5", "--rounds", "1"],
    "slowloop": ["--rounds", "1", "--seconds", "1", "--asks", "1", "--delay", "0.1", "--width", "160", "--height", "120"],
}


def test_this_test_process_is_confined() -> None:
    assert is_confined()
    assert os.environ[DISCOVERY_RANGE] == "LOCALHOST"


def _probe(command: list[str], tmp_path: Path) -> list[dict[str, str | None]]:
    out = tmp_path / "probe.jsonl"
    env = {k: v for k, v in os.environ.items() if k not in (DISCOVERY_RANGE, LOCALHOST_ONLY)}
    env |= {"VIDEORAG_DDS_PROBE": str(out), "PYTHONPATH": f"{PROBE}{os.pathsep}{REPO}{os.pathsep}{env.get('PYTHONPATH', '')}"}
    proc = subprocess.run(videorag_command(*command), env=env, capture_output=True, text=True, timeout=300, check=False, cwd=tmp_path)
    assert out.exists(), f"{' '.join(command)} never initialised rclpy:\n{proc.stdout[-1500:]}\n{proc.stderr[-1500:]}"
    return [json.loads(line) for line in out.read_text().splitlines()]


@pytest.mark.parametrize("command", [["demo"], *(["bench", name] for name in sorted(BENCHES) if name not in ROS_FREE)], ids=" ".join)
def test_demo_and_benchmarks_start_rclpy_only_confined(command: list[str], tmp_path: Path) -> None:
    records = _probe([*command, *SMALL_ARGS[command[-1]]], tmp_path)
    unconfined = [r for r in records if not is_confined({k: v for k, v in r.items() if isinstance(v, str)})]
    assert not unconfined, f"{' '.join(command)} started rclpy with DDS discovery beyond localhost: {unconfined}"
