"""Fixtures for in-process rclpy tests: each test gets its own Context on a private domain."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

rclpy = pytest.importorskip("rclpy", reason="ROS 2 not installed: run through `make test`")


@pytest.fixture
def ctx() -> Iterator[Any]:
    """A fresh rclpy Context on a domain no other test process uses."""
    context = rclpy.Context()
    rclpy.init(context=context, domain_id=200 + os.getpid() % 30)
    yield context
    rclpy.shutdown(context=context)
