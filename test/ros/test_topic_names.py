"""The core's topic-name checker (used by `videorag edge --check`) agrees with rclpy's own checks.

rclpy validates the name as given, expands it in the node's namespace, and validates the full
name; a name is valid when all three pass. The core may be stricter only where the answer depends
on the namespace ('{ns}' inside a token), and is never more permissive.
"""

from __future__ import annotations

import pytest

pytest.importorskip("rclpy", reason="ROS 2 not installed: run through `make test`")

from hypothesis import given, settings
from hypothesis import strategies as st
from rclpy.expand_topic_name import expand_topic_name
from rclpy.validate_full_topic_name import validate_full_topic_name
from rclpy.validate_topic_name import validate_topic_name

from videorag_ros.core.ros_names import topic_name_problem

pytestmark = pytest.mark.ros
PIECES = st.sampled_from(["a", "b", "x1", "_", "/", "~", "{node}", "{ns}", "{namespace}", "{foo}", "1", " ", "-", "é", "{", "}"])


def rclpy_accepts(name: str) -> bool:
    try:
        validate_topic_name(name)
        validate_full_topic_name(expand_topic_name(name, "videorag_edge", "/robot1"))
    except Exception:  # rclpy raises InvalidTopicNameException or ValueError
        return False
    return True


@given(st.lists(PIECES, max_size=8).map("".join))
@settings(derandomize=True, database=None, max_examples=3000, deadline=None)
def test_core_checker_agrees_with_rclpy(name: str) -> None:
    ours = topic_name_problem(name) is None
    theirs = rclpy_accepts(name)
    if "{ns}" in name or "{namespace}" in name:
        assert not ours or theirs  # namespace-dependent: we may refuse, never accept what rclpy refuses
    else:
        assert ours == theirs, f"{name!r}: core {'accepts' if ours else 'refuses: ' + str(topic_name_problem(name))}, rclpy {'accepts' if theirs else 'refuses'}"
