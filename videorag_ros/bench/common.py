"""What the node benchmarks share: percentiles, /proc probes, the common options, the run → table → JSON tail."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from videorag_ros.core.printable import printable


def percentiles(x: Sequence[float]) -> dict[str, float]:
    """``{p50, p95, p99, max, n}`` of a sample (empty dict for no sample)."""
    if not len(x):
        return {}
    p50, p95, p99 = np.percentile(np.asarray(x, dtype=float), [50, 95, 99])
    return {"p50": float(p50), "p95": float(p95), "p99": float(p99), "max": float(max(x)), "n": len(x)}


def checkout_command(checkout: Path, env: dict[str, str], *args: str) -> tuple[list[str], dict[str, str]]:
    """``videorag <args>`` running the code of the source checkout ``checkout`` (not the installed
    ``videorag``, so a before/after comparison runs both): the command line and its environment."""
    return [sys.executable, "-m", "videorag_ros.cli.main", *args], env | {"PYTHONPATH": f"{checkout}{os.pathsep}{env.get('PYTHONPATH', '')}"}


def _status_kib(pid: int, key: str) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key):
                return float(line.split()[1])
    except OSError:
        pass
    return float("nan")


def rss_mib(pid: int) -> float:
    """Resident set size of a process (Linux /proc ``VmRSS``) in MiB; NaN where unavailable."""
    return _status_kib(pid, "VmRSS:") / 1024


def peak_rss_mib(pid: int) -> float:
    """Peak resident set size (``VmHWM``) of a process in MiB; NaN where unavailable."""
    return _status_kib(pid, "VmHWM:") / 1024


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux /proc); NaN where unavailable."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


def add_node_options(p: argparse.ArgumentParser, *, out_dir_help: str = "where logs and the parameter file go") -> None:
    """``--params --model --domain --out-dir --json``: the options of every benchmark that starts an edge node."""
    p.add_argument("--params", type=Path, help="base parameter file (default: shipped config/edge.yaml)")
    p.add_argument("--model", help="override the model")
    p.add_argument("--domain", type=int, help="ROS_DOMAIN_ID (default: derived from the pid)")
    p.add_argument("--out-dir", help=out_dir_help)
    p.add_argument("--json", action="store_true", help="print the result as one JSON object on the last line")


def run_and_report(
    args: argparse.Namespace,
    run: Callable[[argparse.Namespace], dict[str, Any]],
    table: Callable[[dict[str, Any]], None],
    *,
    after: Callable[[dict[str, Any]], None] | None = None,
) -> int:
    """Run a benchmark, print its table, then ``after`` (plots), then the JSON line with ``--json``.

    Returns:
        0, or 1 when the run raised ``RuntimeError`` (its message goes to stderr).
    """
    try:
        result = run(args)
    except RuntimeError as err:
        print(f"error: {printable(err)}", file=sys.stderr)
        return 1
    table(result)
    if after is not None:
        after(result)
    if args.json:
        print(json.dumps(result))
    return 0
