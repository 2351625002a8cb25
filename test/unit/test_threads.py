"""threads: the image tower's CPU threads, auto (encoder_threads: 0) or as configured."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from videorag_ros.core.encoder import threads
from videorag_ros.core.encoder.threads import MAX_AUTO_THREADS, plan_threads, usable_cpus


@pytest.mark.parametrize(
    ("cpus", "expected"),
    [
        (1, 1),  # one CPU: the tower takes it
        (2, 1),  # two: one for the tower, one for DDS, the executor and the worker (measured steadier)
        (3, 2),
        (8, MAX_AUTO_THREADS),  # batch-1 passes gain little beyond 4 threads
    ],
)
def test_auto_leaves_a_cpu_for_the_rest(cpus: int, expected: int) -> None:
    plan = plan_threads(0, cpus)
    assert (plan.threads, plan.spin) == (expected, False)  # idle pool threads never spin
    assert plan.why.startswith(f"auto: {expected} of {cpus} usable CPUs")


def test_configured_count_is_kept() -> None:
    assert plan_threads(3, 2).threads == 3  # more than the CPUs is the user's call, and it is logged
    assert plan_threads(1, 8) == threads.ThreadPlan(1, False, "1 thread(s) as configured (8 usable CPUs)")
    with pytest.raises(ValueError, match="encoder_threads must be >= 0"):
        plan_threads(-1, 2)


def test_usable_cpus_follow_the_affinity_of_this_process() -> None:
    n = usable_cpus()
    assert 1 <= n <= len(os.sched_getaffinity(0))


@pytest.mark.parametrize(
    ("v2", "v1", "expected"),
    [
        ("max 100000\n", None, None),  # cgroup v2 without a quota
        ("150000 100000\n", None, 1.5),  # a container limited to 1.5 CPUs
        (None, ("200000", "100000"), 2.0),  # cgroup v1
        (None, ("-1", "100000"), None),  # cgroup v1 without a quota
        ("garbage", None, None),  # unreadable: no quota assumed
        (None, None, None),  # neither file
    ],
)
def test_cgroup_quota(v2: str | None, v1: tuple[str, str] | None, expected: float | None, tmp_path: Path) -> None:
    f2, q1, p1 = tmp_path / "cpu.max", tmp_path / "cfs_quota_us", tmp_path / "cfs_period_us"
    if v2 is not None:
        f2.write_text(v2)
    if v1 is not None:
        q1.write_text(v1[0])
        p1.write_text(v1[1])
    assert threads._quota_cpus(f2, (q1, p1)) == expected


def test_encoder_describes_its_threads(tiny_model_dir: Path) -> None:
    from videorag_ros.core.encoder.encoder import load_encoder

    enc = load_encoder(str(tiny_model_dir), backend="cpu", threads=1)
    assert enc.describe().endswith("CPUExecutionProvider, 1 thread)")
    assert enc.threads is not None and enc.threads.threads == 1
    auto = load_encoder(str(tiny_model_dir), backend="cpu")
    assert auto.threads == plan_threads(0)
