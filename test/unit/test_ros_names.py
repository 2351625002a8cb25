"""Topic names checked without rclpy (test/ros/test_topic_names.py compares with rclpy's own checks)."""

from __future__ import annotations

import pytest

from videorag_ros.core.errors import ConfigError
from videorag_ros.core.ros_names import check_topic_name, topic_name_problem


@pytest.mark.parametrize("name", ["estop", "/estop", "~/actions", "~", "camera/front/image_raw", "{node}/x", "{ns}/cam", "a__b", "_a"])
def test_valid_names(name: str) -> None:
    assert topic_name_problem(name) is None


@pytest.mark.parametrize(("name", "why"), [
    ("", "empty"), ("a/", "ends with '/'"), ("a//b", "empty token"), ("1a", "starts with a digit"), ("a/2b", "starts with a digit"),
    ("camera front", "holds a character"), ("a-b", "holds a character"), ("~~", "holds a character"), ("~ab", "'~' must be followed by '/'"), ("a/~", "holds a character"),
    ("{foo}", "unknown substitution"), ("x" * 300, "characters long"), ("/", "names no topic"), ("cam\x1b[2J", "holds a character"),
])  # fmt: skip
def test_invalid_names_say_why(name: str, why: str) -> None:
    problem = topic_name_problem(name)
    assert problem is not None and why in problem


def test_check_names_the_parameter_and_escapes_the_value() -> None:
    with pytest.raises(ConfigError, match=r"parameter 'front.topic' = 'cam\\x1b' is not a valid ROS topic name: .*: '\\x1b'"):
        check_topic_name("cam\x1b", param="front.topic")
