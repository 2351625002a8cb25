"""The edge node with real rclpy: parameters from overrides, start-up validation, conversions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("rclpy", reason="ROS 2 not installed: run through `make test`")

from rclpy.parameter import Parameter
from sensor_msgs.msg import CompressedImage, Image

from videorag_ros.bench.rigs.patterns import pattern_frame
from videorag_ros.core.errors import ConfigError, FrameError, ModelLoadError
from videorag_ros.core.frames import FrameLimits
from videorag_ros.core.stamps import stamp_to_ns
from videorag_ros.ros.conversions import compressed_to_rgb_msg, image_to_rgb, ns_to_stamp

pytestmark = pytest.mark.ros



def _node(ctx, overrides: dict):
    from videorag_ros.ros.edge_node import EdgeNode

    overrides = {"allow_no_triggers": not overrides.get("triggers"), **overrides}  # memory-only nodes say so
    return EdgeNode(context=ctx, parameter_overrides=[Parameter(k, value=v) for k, v in overrides.items()])


def test_node_reads_parameters_and_starts(ctx, tiny_model_dir: Path) -> None:
    node = _node(ctx, {"model": str(tiny_model_dir), "cameras": ["a", "b"], "b.transport": "compressed", "triggers": ["t"], "t.prompts": ["a person"], "gate.max_rate_hz": 4})
    try:
        cfg = node.config
        assert [c.id for c in cfg.cameras] == ["a", "b"] and cfg.cameras[1].transport == "compressed"
        assert cfg.gate.max_rate_hz == 4.0  # an int override is accepted for a float parameter
        assert node.get_parameter("t.enter_threshold").value == 0.3  # declared with its default
        assert node.describe_parameter("gate.max_rate_hz").description.startswith("Maximum admission rate")
        names = {t[0] for t in node.get_topic_names_and_types()}
        assert "/videorag_edge/triggers" in names and "/estop" in names
    finally:
        node.destroy_node()


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        ({"gate.motion_threshold": 2.0}, "gate.motion_threshold"),
        ({"front.transport": "h264"}, "front.transport"),
        ({"triggers": ["t"]}, "neither 't.prompts' nor 't.reference_images'"),
    ],
)
def test_bad_parameters_fail_at_startup_naming_the_parameter(ctx, tiny_model_dir: Path, overrides: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        _node(ctx, {"model": str(tiny_model_dir), **overrides})


def test_missing_model_fails_at_startup(ctx) -> None:
    with pytest.raises(ModelLoadError, match="model 'not-a-model' not found"):
        _node(ctx, {"model": "not-a-model"})


def test_image_message_conversion_is_zero_copy_for_rgb8() -> None:
    rgb = pattern_frame("disk")
    h, w = rgb.shape[:2]
    msg = Image(height=h, width=w, encoding="rgb8", step=w * 3, data=rgb.tobytes())
    out = image_to_rgb(msg, FrameLimits())
    np.testing.assert_array_equal(out, rgb)
    assert np.shares_memory(out, np.frombuffer(msg.data, np.uint8))
    bad = Image(height=h, width=w, encoding="rgb8", step=w * 3, data=rgb.tobytes()[:-1])
    with pytest.raises(FrameError, match="data length"):
        image_to_rgb(bad, FrameLimits())
    with pytest.raises(FrameError, match=r"payload is unknown data .*, but the message says 'jpeg'"):
        compressed_to_rgb_msg(CompressedImage(format="jpeg", data=b"\xff\xd8junk"), FrameLimits())


def test_stamp_roundtrip() -> None:
    ns = 1_700_000_000_123_456_789
    assert stamp_to_ns(ns_to_stamp(ns)) == ns
