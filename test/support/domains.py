"""One allocator of ROS domain ids for every test process on this machine.

Tests of several checkouts (and several pytest processes) run side by side here; two tests on
one domain would see each other's e-stops. Each allocation holds an exclusive ``flock`` on
``$TMPDIR/videorag-domains/<id>.lock`` until it is released (or its process exits), so no two
live tests share a domain; ids rotate within a process, so a node a previous test left
shutting down is not on the next test's domain either.
"""

from __future__ import annotations

import fcntl
import os
import tempfile
from pathlib import Path

# Fast DDS maps a domain to UDP ports 7400 + 250 * id + ...; ids up to 232 stay under 65535.
# 0 is everyone's default and is never handed out.
FIRST, LAST = 1, 232
_LOCK_DIR = Path(tempfile.gettempdir()) / "videorag-domains"
_held: dict[int, int] = {}
_rotation = [FIRST + os.getpid() % (LAST - FIRST + 1)]  # where the next search starts


def allocate() -> int:
    """A domain id no other live test on this machine holds.

    Raises:
        RuntimeError: Every id is taken.
    """
    _LOCK_DIR.mkdir(parents=True, exist_ok=True)
    span = LAST - FIRST + 1
    for i in range(span):
        domain = FIRST + (_rotation[0] - FIRST + i) % span
        if domain in _held:
            continue
        fd = os.open(_LOCK_DIR / f"{domain}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        _held[domain] = fd
        _rotation[0] = domain + 1
        return domain
    msg = f"all ROS domain ids {FIRST}..{LAST} are held by other test processes"
    raise RuntimeError(msg)


def release(domain: int) -> None:
    """Give a domain id back."""
    fd = _held.pop(domain, None)
    if fd is not None:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def child_env(domain: int) -> dict[str, str]:
    """Environment for a child process of a test: this checkout importable, DDS on loopback, on ``domain``."""
    from videorag_ros.ros.graph import local_ros_env

    repo = str(Path(__file__).resolve().parents[2])
    return local_ros_env(domain) | {"PYTHONPATH": f"{repo}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
