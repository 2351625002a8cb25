"""SIGINT / SIGTERM for a node's ``main``: recorded by a flag, acted on by the main loop, never raised.

Python turns SIGINT into a ``KeyboardInterrupt`` wherever the main thread happens to be: inside an
extension module's import (onnxruntime makes it ``ImportError: initialization failed``), half-way
through creating publishers, between starting a thread and keeping its handle, or in the middle of
saving the memory. rclpy's own handler instead shuts the context down from its signal thread while
other threads still wait on it (an ``RCLError`` from the query thread's executor, and a segfault in
1 of 80 stress runs on the 2-core machine). ``ros2 launch`` sends exactly this SIGINT whenever a
launch is stopped, and SIGTERM after it if the node is slow.

So the node's ``main`` initialises rclpy without its signal handlers, installs these, and spins in
short slices until :attr:`StopSignals.requested`; then it stops everything in order on its own
thread. While stopping, a second SIGINT is ignored (the memory save finishes); SIGTERM still ends
the process at once, as ``ros2 launch`` escalates.
"""

from __future__ import annotations

import signal
from types import FrameType, TracebackType
from typing import Any

import rclpy

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
SIGNAL_POLL_S = 0.1  # the longest a stop request waits for the main loop to look at it


def init_without_signal_handlers(args: list[str]) -> None:
    """``rclpy.init`` with rclpy's SIGINT / SIGTERM handlers off (``StopSignals`` takes them)."""
    try:
        from rclpy.signals import SignalHandlerOptions
    except ImportError:  # an rclpy without the option: its handler stays, and main also catches what it raises
        rclpy.init(args=args)
        return
    rclpy.init(args=args, signal_handler_options=SignalHandlerOptions.NO)


class StopSignals:
    """A context manager: while entered, SIGINT and SIGTERM set :attr:`requested` instead of raising.

    Python runs signal handlers on the main thread only, the thread that reads the flag: a plain
    attribute is enough.
    """

    def __init__(self) -> None:
        self.requested = False  # True once SIGINT or SIGTERM arrived
        self._previous: dict[int, Any] = {}

    def stopping(self) -> None:
        """Clean-up begins: SIGTERM gets its default action again (the process ends at once)."""
        signal.signal(signal.SIGTERM, signal.SIG_DFL)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.requested = True

    def __enter__(self) -> StopSignals:
        self._previous = {s: signal.signal(s, self._handle) for s in STOP_SIGNALS}
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        for s, handler in self._previous.items():
            signal.signal(s, handler)
