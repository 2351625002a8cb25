"""Fixtures for in-process rclpy tests: each test gets its own Context on a private domain."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from videorag_ros.ros.dds import is_confined

rclpy = pytest.importorskip("rclpy", reason="ROS 2 not installed: run through `make test`")


@pytest.fixture
def ctx(own_ros_domain: int) -> Iterator[Any]:
    """A fresh rclpy Context on a domain no other live test uses, discovery on localhost only."""
    assert is_confined(), "test/conftest.py confines DDS to localhost before any rclpy.init"
    context = rclpy.Context()
    rclpy.init(context=context, domain_id=own_ros_domain)
    yield context
    rclpy.shutdown(context=context)
