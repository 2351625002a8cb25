"""Forward the core's Python ``logging`` records to the node's rclpy logger."""

from __future__ import annotations

import logging
from typing import Any


class _RclpyHandler(logging.Handler):
    def __init__(self, ros_logger: Any) -> None:
        super().__init__()
        self._ros = ros_logger

    def emit(self, record: logging.LogRecord) -> None:
        text = f"[{record.name}] {record.getMessage()}"
        if record.levelno >= logging.ERROR:
            self._ros.error(text)
        elif record.levelno >= logging.WARNING:
            self._ros.warning(text)
        elif record.levelno >= logging.INFO:
            self._ros.info(text)
        else:
            self._ros.debug(text)


def forward_core_logs(ros_logger: Any, logger_name: str = "videorag_ros.core") -> None:
    """Route ``logger_name``'s log records (default: the core's) to ``ros_logger`` (once per process)."""
    core = logging.getLogger(logger_name)
    if not any(isinstance(h, _RclpyHandler) for h in core.handlers):
        core.addHandler(_RclpyHandler(ros_logger))
        core.setLevel(logging.INFO)
        core.propagate = False
