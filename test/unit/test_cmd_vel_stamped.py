"""The ``cmd_vel_stamped`` / ``cmd_vel_frame_id`` parameters of the twist_mux adapter."""

from __future__ import annotations

import pytest

from videorag_ros.core.config import build_edge_config
from videorag_ros.core.errors import ConfigError

BASE = {"triggers": ["t"], "t.prompts": ["a person"]}


def test_plain_twist_by_default() -> None:
    cfg = build_edge_config(BASE)
    assert (cfg.cmd_vel_stamped, cfg.cmd_vel_frame_id) == (False, "base_link")


def test_stamped_with_a_frame() -> None:
    cfg = build_edge_config({**BASE, "cmd_vel_stamped": True, "cmd_vel_frame_id": "base_footprint"})
    assert (cfg.cmd_vel_stamped, cfg.cmd_vel_frame_id) == (True, "base_footprint")


@pytest.mark.parametrize(
    ("values", "error"),
    [
        ({"cmd_vel_stamped": True, "cmd_vel_frame_id": " "}, "'cmd_vel_frame_id' is empty while 'cmd_vel_stamped' is true"),
        ({"cmd_vel_stamped": "yes"}, "cmd_vel_stamped"),
        ({"cmd_vel_frame_id": 3}, "cmd_vel_frame_id"),
    ],
)
def test_bad_values_are_refused_with_the_name(values: dict[str, object], error: str) -> None:
    with pytest.raises(ConfigError, match=error):
        build_edge_config({**BASE, **values})
