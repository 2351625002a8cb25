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
        ({"front.on_silence": "ignore"}, "'front.on_silence' = 'ignore' is not one of stop, warn"),
        ({"watchdog.on_encoder_fault": "halt"}, "'watchdog.on_encoder_fault' = 'halt' is not one of stop, warn"),
        ({"watchdog.encoder_deadline_ms": -1.0}, "'watchdog.encoder_deadline_ms' = -1.0 is below its minimum"),
        ({"watchdog.encoder_recovery_frames": 0}, "'watchdog.encoder_recovery_frames' = 0 is below its minimum 1"),
        ({"t.actions": ["collision_monitor"]}, "action 'collision_monitor' in 't.actions' needs its adapter, but 'collision_monitor.topic' is empty"),
        ({"t.actions": ["twist_mux"], "cmd_vel_rate_hz": 0.0}, "action 'twist_mux' in 't.actions' needs its adapter, but 'cmd_vel_rate_hz' is 0"),
        ({"t.actions": ["slow_down"], "t.speed_limit": 30.0}, "'speed_limit.topic' is empty"),
        ({"t.actions": ["slow_down"], "speed_limit.topic": "/speed_limit"}, r"needs 't.speed_limit' > 0 \(Nav2 reads 0 as 'no limit'"),  # 0 is never a stop
        ({"t.actions": ["slow_down"], "speed_limit.topic": "/speed_limit", "t.speed_limit": 150.0}, "over 100 %"),
        ({"t.actions": ["json"], "json_topic": ""}, "'json_topic' is empty"),
        ({"collision_monitor.polygon": [0.0, 0.0, 1.0, 1.0]}, "has 4 numbers; give x1, y1, x2, y2, ... for at least 3 vertices"),
        ({"collision_monitor.polygon": [0.0, 0.0, 1.0, 1.0, 2.0]}, "has 5 numbers"),
        ({"collision_monitor.polygon": [0.0, 0.0, 1.0, "a", 2.0, 0.0]}, "'collision_monitor.polygon' must be a list of numbers"),
        ({"collision_monitor.polygon": [0.0, 0.0, 1.0, float("nan"), 2.0, 0.0]}, "collision_monitor.polygon' = .* is not a finite number"),
        ({"triggers": ["watchdog"], "watchdog.prompts": ["x"], "t.prompts": None}, "'triggers' names 'watchdog', which is a parameter group"),
        ({"cameras": ["t"]}, "'t' is both a camera id and a trigger name"),
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


def test_watchdog_and_adapter_defaults() -> None:
    cfg = build_edge_config(BASE)
    assert cfg.cameras[0].on_silence == "warn"  # opt in to stopping per camera
    wd = cfg.watchdog
    assert (wd.on_encoder_fault, wd.on_worker_fault, wd.encoder_deadline_ms, wd.encoder_recovery_frames) == ("stop", "stop", 1000.0, 3)
    a = cfg.adapters
    assert (a.collision_topic, a.speed_limit_topic, a.cmd_vel_lock_topic) == ("", "", "")  # adapters are opt-in
    assert len(a.collision_polygon) == 8


def test_adapters_parse_and_route() -> None:
    cfg = build_edge_config(
        {
            **BASE,
            "t.actions": ["estop", "twist_mux", "collision_monitor", "slow_down", "json", "log"],
            "t.speed_limit": 30,  # an int is fine for a float
            "cmd_vel_lock_topic": "/e_stop_lock",
            "collision_monitor.topic": "/videorag/obstacle",
            "collision_monitor.polygon": [0, 1, 2, 3, 4, 5],  # ints from YAML are fine too
            "speed_limit.topic": "/speed_limit",
            "speed_limit.percentage": False,
            "front.on_silence": "stop",
        }
    )
    assert cfg.triggers[0].speed_limit == 30.0 and cfg.cameras[0].on_silence == "stop"
    assert cfg.adapters.collision_polygon == (0.0, 1.0, 2.0, 3.0, 4.0, 5.0)
    assert cfg.adapters.speed_limit_percentage is False and cfg.adapters.cmd_vel_lock_topic == "/e_stop_lock"


@pytest.mark.parametrize("name", sorted(p.name for p in (REPO / "config" / "examples").glob("*.yaml")))
def test_shipped_examples_are_valid(name: str) -> None:
    flat = load_params_file(REPO / "config" / "examples" / name)
    cfg = build_edge_config(flat)
    assert cfg.triggers, f"{name} defines no trigger"
