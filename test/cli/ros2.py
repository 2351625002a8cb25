"""Run the real ``ros2`` command line (ros2cli, ros2launch) from a test, bounded and cleaned up.

``ros2(...)`` runs one command to completion under a timeout; ``launched(...)`` starts
``ros2 launch`` in its own process group and tears the whole group down on exit. Both run in
``child_env(domain)`` (this checkout importable, DDS on loopback, the test's own domain) with
ROS logs under the test's temporary directory.

Where the tools are absent (a user's machine without ../shared/ros2-tools, or a shell without
``. tools/env.sh``), ``missing()`` says what is missing and the tests skip with that reason.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from test.support.domains import child_env

# One CLI call (a Python start-up, discovery, the request) takes 1-3 s here; the machine is shared.
CALL_TIMEOUT_S = 30.0
READY_TIMEOUT_S = 60.0


def missing() -> str | None:
    """Why the ``ros2`` CLI / ``ros2 launch`` / the colcon-built package cannot run here, or None."""
    for module in ("ros2cli", "ros2launch", "launch_ros", "ros2topic", "ros2service", "ros2param", "ros2node", "composition_interfaces"):
        if importlib.util.find_spec(module) is None:
            return (f"the ros2 CLI is not installed ({module} is not importable): `make setup` installs it from "
                    "../shared/ros2-tools where that exists; on a robot, source /opt/ros/<distro>/setup.bash")
    if shutil.which("ros2") is None:
        return "no `ros2` executable on PATH: source tools/env.sh (make setup installs it from ../shared/ros2-tools)"
    from ament_index_python.packages import PackageNotFoundError, get_package_share_directory

    try:
        get_package_share_directory("videorag")
    except PackageNotFoundError:
        return "package 'videorag' not in AMENT_PREFIX_PATH: run `make setup` and `. tools/env.sh`"
    return None


def ros2_env(domain: int, log_dir: Path) -> dict[str, str]:
    """``child_env(domain)`` with ROS logs written under ``log_dir``."""
    log_dir.mkdir(parents=True, exist_ok=True)
    return child_env(domain) | {"ROS_LOG_DIR": str(log_dir)}


def ros2(args: list[str], env: dict[str, str], *, timeout_s: float = CALL_TIMEOUT_S) -> subprocess.CompletedProcess[str]:
    """Run ``ros2 <args>`` to completion; raises ``subprocess.TimeoutExpired`` (child killed) past ``timeout_s``."""
    exe = shutil.which("ros2", path=env.get("PATH"))
    assert exe is not None, missing()
    return subprocess.run([exe, *args], env=env, capture_output=True, text=True, timeout=timeout_s, check=False)


def retry(args: list[str], env: dict[str, str], ok: Callable[[subprocess.CompletedProcess[str]], bool], *, deadline_s: float = READY_TIMEOUT_S) -> subprocess.CompletedProcess[str]:
    """Repeat ``ros2 <args>`` until ``ok(result)`` or the deadline; returns the last result."""
    end = time.monotonic() + deadline_s
    while True:
        left = end - time.monotonic()
        try:
            result = ros2(args, env, timeout_s=max(1.0, min(CALL_TIMEOUT_S, left)))
        except subprocess.TimeoutExpired as exc:
            result = subprocess.CompletedProcess(exc.cmd, -9, _text(exc.stdout), _text(exc.stderr))
        if ok(result) or time.monotonic() >= end:
            return result
        time.sleep(0.5)


def _text(data: bytes | str | None) -> str:
    if data is None:
        return ""
    return data.decode(errors="replace") if isinstance(data, bytes) else data


@dataclass
class Launched:
    """A running ``ros2 launch``: its process, environment and log."""

    proc: subprocess.Popen[bytes]
    env: dict[str, str]
    log_path: Path

    def log_tail(self, chars: int = 3000) -> str:
        """The end of the launch output, for assertion messages."""
        return self.log_path.read_text(errors="replace")[-chars:]


@contextmanager
def launched(args: list[str], env: dict[str, str], log_path: Path, *, stop_timeout_s: float = 15.0) -> Iterator[Launched]:
    """``ros2 launch <args>`` in its own process group; SIGINT (like Ctrl-C), then SIGKILL, on exit."""
    exe = shutil.which("ros2", path=env.get("PATH"))
    assert exe is not None, missing()
    with open(log_path, "wb") as out:  # the child keeps its own descriptor
        proc = subprocess.Popen([exe, "launch", "--noninteractive", *args], env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield Launched(proc, env, log_path)
    finally:
        _stop_group(proc, stop_timeout_s)


def _stop_group(proc: subprocess.Popen[bytes], timeout_s: float) -> None:
    """SIGINT the launch's process group and wait; then SIGKILL whatever is left of the group."""
    _signal_group(proc.pid, signal.SIGINT)
    with suppress(subprocess.TimeoutExpired):
        proc.wait(timeout_s)
    _signal_group(proc.pid, signal.SIGKILL)  # also a node that outlived its launch process
    proc.wait(5.0)


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with suppress(ProcessLookupError):  # the group is gone
        os.killpg(pgid, sig)
