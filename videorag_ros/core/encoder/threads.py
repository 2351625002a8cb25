"""How many CPU threads the image tower gets: ``encoder_threads: 0`` (auto) decides here.

The edge node shares the CPUs it may use between the image tower (onnxruntime's intra-op
threads: the calling worker thread plus ``threads - 1`` pool threads) and everything else on the
hot path: the executor thread that takes camera messages from DDS (deserialising a 640x480 frame
is about a millisecond), DDS's own threads, the worker's conversion, gate, preprocessing and
trigger scoring between forward passes, and whatever else runs on the robot. A parallel forward
pass is as slow as its slowest thread: when another thread or process takes one of its cores, a
2-thread pass waits for it. Measured on this project's shared 2-core x86 machine with a
ViT-B/32-class int8 image tower (README "Measured"): one thread gave a steadier glass-to-action
than two, and two pool threads that spin-wait between parallel sections (onnxruntime's default)
doubled the node's CPU and its latency, because the spinning thread holds the core the executor
needs to receive the next frame.

Auto: one CPU is left for the rest of the node (``usable - 1`` threads, at least 1, at most
``MAX_AUTO_THREADS``), and idle pool threads always sleep. "Usable" is the process's CPU affinity,
capped by a cgroup CPU quota (containers: ``cpu.max``, or ``cpu.cfs_quota_us`` /
``cpu.cfs_period_us`` on cgroup v1). A configured count is used as given, pool threads sleeping too.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

#: Batch-1 ViT-B/32 forward passes gain little beyond this many intra-op threads.
MAX_AUTO_THREADS = 4
_CGROUP_V2 = Path("/sys/fs/cgroup/cpu.max")
_CGROUP_V1 = (Path("/sys/fs/cgroup/cpu/cpu.cfs_quota_us"), Path("/sys/fs/cgroup/cpu/cpu.cfs_period_us"))


@dataclass(frozen=True, slots=True)
class ThreadPlan:
    """Threads for the image tower.

    Attributes:
        threads: onnxruntime intra-op threads (the calling thread included).
        spin: Whether idle pool threads may spin-wait (onnxruntime's default) instead of sleeping.
        why: One line for the log: what was asked and what was found.
    """

    threads: int
    spin: bool
    why: str


def _quota_cpus(v2: Path = _CGROUP_V2, v1: tuple[Path, Path] = _CGROUP_V1) -> float | None:
    """CPUs a cgroup quota allows this process (None: no quota, or not readable)."""
    try:
        quota, period = v2.read_text().split()[:2]
        return None if quota == "max" else int(quota) / int(period)
    except (OSError, ValueError):
        pass
    try:
        q, p = int(v1[0].read_text()), int(v1[1].read_text())
        return None if q <= 0 or p <= 0 else q / p
    except (OSError, ValueError):
        return None


def usable_cpus() -> int:
    """CPUs this process may run on: its affinity, capped by a cgroup quota (at least 1)."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    quota = _quota_cpus()
    if quota is not None:
        cpus = min(cpus, max(1, math.ceil(quota)))
    return max(1, cpus)


def plan_threads(requested: int, cpus: int | None = None) -> ThreadPlan:
    """The image tower's threads for ``encoder_threads`` = ``requested`` (0 = auto).

    Args:
        requested: Threads asked for; 0 chooses from the usable CPUs.
        cpus: Usable CPUs (default: ``usable_cpus()``).

    Raises:
        ValueError: A negative request.
    """
    if requested < 0:
        msg = f"encoder_threads must be >= 0 (0 = auto), got {requested}"
        raise ValueError(msg)
    n = usable_cpus() if cpus is None else max(1, cpus)
    if requested > 0:
        return ThreadPlan(requested, False, f"{requested} thread(s) as configured ({n} usable CPUs)")
    threads = max(1, min(MAX_AUTO_THREADS, n - 1))
    return ThreadPlan(threads, False, f"auto: {threads} of {n} usable CPUs (one left for DDS, the executor and the worker)")
