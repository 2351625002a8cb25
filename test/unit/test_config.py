"""config: defaults, the shipped YAML, and errors that name the parameter."""

from __future__ import annotations

from pathlib import Path

import pytest

from test.conftest import REPO
from videorag_ros.core.config import build_edge_config, load_params_file
from videorag_ros.core.errors import ConfigError

BASE = {"triggers": ["t"], "t.prompts": ["a person"]}


def test_defaults_build() -> None:
    cfg = build_edge_config({})
    assert [c.id for c in cfg.cameras] == ["front"]
    assert cfg.cameras[0].topic == "camera/front/image_raw"
    assert cfg.triggers == ()


def test_shipped_edge_yaml_is_valid() -> None:
    cfg = build_edge_config(load_params_file(REPO / "config" / "edge.yaml"))
    assert cfg.triggers and cfg.triggers[0].actions == ("estop",)
    assert cfg.model == "videorag-tiny"


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        ({"gate.max_rate": 3.0}, "unknown parameter 'gate.max_rate'; did you mean 'gate.max_rate_hz'"),  # typo
        ({"gate.max_rate_hz": "fast"}, "parameter 'gate.max_rate_hz' must be a float"),  # wrong type
        ({"gate.max_rate_hz": True}, "parameter 'gate.max_rate_hz' must be a float"),  # bool is not a number here
        ({"gate.motion_threshold": 1.5}, "'gate.motion_threshold' = 1.5 is above its maximum"),  # range
        ({"encoder_backend": "tpu"}, "'encoder_backend' = 'tpu' is not one of"),  # choices
        ({"cameras": []}, "'cameras' is empty"),
        ({"cameras": ["a", "a"]}, "unique"),
        ({"t.prompts": []}, "neither 't.prompts' nor 't.reference_images'"),
        ({"t.prompts": ["  "]}, "empty prompt"),
        ({"t.exit_threshold": 0.9, "t.enter_threshold": 0.5}, "exit_threshold 0.9 must not exceed"),
        ({"t.debounce_n": 4}, "debounce_n 4 must not exceed debounce_m 3"),
        ({"t.actions": ["explode"]}, "unknown action 'explode'"),
        ({"t.cameras": ["rear"]}, "camera 'rear' in 't.cameras' is not in 'cameras'"),
        ({"t.scoring": "softmax"}, "softmax scoring but 't.negative_prompts' is empty"),
        ({"t.reference_images": ["rel.png"]}, "must be an absolute path"),
    ],
)
def test_bad_values_name_the_parameter(extra: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        build_edge_config({**BASE, **extra})


def test_int_accepted_for_float() -> None:
    assert build_edge_config({**BASE, "gate.max_rate_hz": 5}).gate.max_rate_hz == 5.0


def test_params_file_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_params_file(tmp_path / "none.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: [unclosed")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_params_file(bad)
    other = tmp_path / "other.yaml"
    other.write_text("some_node:\n  ros__parameters:\n    x: 1\n")
    with pytest.raises(ConfigError, match="no 'videorag_edge: ros__parameters:' section"):
        load_params_file(other)


def test_params_file_wildcard_and_namespace(tmp_path: Path) -> None:
    f = tmp_path / "p.yaml"
    f.write_text("/**:\n  ros__parameters:\n    latency_budget_ms: 50.0\n/robot1/videorag_edge:\n  ros__parameters:\n    gate:\n      max_rate_hz: 3.0\n")
    flat = load_params_file(f)
    assert flat == {"latency_budget_ms": 50.0, "gate.max_rate_hz": 3.0}


def test_dump_params_file_roundtrips(tmp_path: Path) -> None:
    from videorag_ros.core.config import dump_params_file

    flat = load_params_file(REPO / "config" / "edge.yaml")
    flat["person_ahead.actions"] = ("estop", "log")  # tuples from a built config dump as lists
    again = load_params_file(dump_params_file(flat, tmp_path / "p.yaml"))
    assert again == {**flat, "person_ahead.actions": ["estop", "log"]}
    assert build_edge_config(again).triggers[0].actions == ("estop", "log")
