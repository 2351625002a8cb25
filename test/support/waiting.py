"""Poll a condition until it holds or a deadline passes (tests that need no ROS spin)."""

from __future__ import annotations

import time
from collections.abc import Callable


def wait_for(pred: Callable[[], bool], timeout_s: float = 10.0, *, step_s: float = 0.05) -> bool:
    """True as soon as ``pred()`` is; False if it is still false at the deadline (checked once more then)."""
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(step_s)
    return pred()
