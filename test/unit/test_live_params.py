"""Live tuning in the core: changes validated by the start-up rules, trigger state carried over, swaps between frames."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from videorag_ros.core.config import TriggerConfig, build_edge_config
from videorag_ros.core.encoder.manifest import load_manifest
from videorag_ros.core.errors import ConfigError
from videorag_ros.core.live_params import param_spec, plan_live_update
from videorag_ros.core.pipeline import EdgePipeline
from videorag_ros.core.preflight import demo_model_warnings, prepare_pipeline
from videorag_ros.core.triggers import Goals, TriggerEngine

MS = 1_000_000
GOAL = np.array([1.0, 0.0], np.float32)
VALUES: dict[str, Any] = {
    "cameras": ["front"],
    "triggers": ["person"],
    "person.prompts": ["a person"],
    "person.enter_threshold": 0.6,
    "person.exit_threshold": 0.4,
}


def _plan(**requested: Any):  # type: ignore[no-untyped-def]
    cfg = build_edge_config(VALUES, strict=False)
    return plan_live_update(VALUES, {k.replace("__", "."): v for k, v in requested.items()}, cfg)


def test_a_threshold_change_is_planned_with_what_changed() -> None:
    update = _plan(person__enter_threshold=0.7, gate__max_rate_hz=4)
    assert update.config.triggers[0].enter_threshold == 0.7
    assert update.config.gate.max_rate_hz == 4.0  # an int where a float is meant is coerced, as at start-up
    assert [c.name for c in update.changes] == ["person.enter_threshold", "gate.max_rate_hz"]
    assert update.reencode == ()


@pytest.mark.parametrize(
    ("name", "value", "match"),
    [
        ("person.enter_threshold", float("nan"), "not a finite number"),
        ("person.enter_threshold", float("inf"), "not a finite number"),
        ("estop_heartbeat_hz", float("inf"), "not a finite number"),
        ("person.enter_threshold", 1.5, "above its maximum"),
        ("person.enter_threshold", "high", "must be a float"),
        ("person.enter_threshold", 0.3, "must not exceed enter_threshold"),  # exit 0.4 > enter 0.3
        ("person.debounce_n", 5, "must not exceed debounce_m"),
        ("person.prompts", [" "], "empty prompt"),
        ("gate.max_rate_hz", -1.0, "below its minimum"),
        ("model", "other", "read-only while running"),
        ("cameras", ["front", "rear"], "read-only while running"),
        ("front.topic", "/x", "read-only while running"),
        ("person.actions", ["log"], "read-only while running"),
        ("nobody.enter_threshold", 0.5, "not a parameter of this node"),
        ("person.enter_threshold", None, "cannot be unset"),
    ],
)
def test_a_change_the_start_up_rules_refuse_is_refused_with_the_reason(name: str, value: Any, match: str) -> None:
    cfg = build_edge_config(VALUES, strict=False)
    with pytest.raises(ConfigError, match=match):
        plan_live_update(VALUES, {name: value}, cfg)


def test_changed_prompts_are_marked_for_encoding_and_equal_values_are_not_changes() -> None:
    update = _plan(person__prompts=["a person", "a worker"], person__exit_threshold=0.4)
    assert update.reencode == ("person",)
    assert [c.name for c in update.changes] == ["person.prompts"]


def test_every_dynamic_parameter_is_a_known_parameter() -> None:
    cfg = build_edge_config(VALUES, strict=False)
    for name in ("person.enabled", "person.cooldown_s", "gate.onset_threshold", "latency_budget_ms", "debug_image.rate_hz"):
        spec = param_spec(name, cfg)
        assert spec is not None and not spec.read_only, name
    assert param_spec("use_sim_time", cfg) is None


# --- the trigger engine across a reconfiguration ----------------------------------------------


def _engine(**kw: Any) -> tuple[TriggerEngine, TriggerConfig]:
    cfg = TriggerConfig(name="t", prompts=("x",), enter_threshold=0.8, exit_threshold=0.5, debounce_n=2, debounce_m=3, min_hold_s=0.0, **kw)
    return TriggerEngine([cfg], [Goals(GOAL[None], np.zeros((0, 2), np.float32))], logit_scale=10.0), cfg


def _vec(score: float) -> np.ndarray:
    return np.array([score, np.sqrt(1 - score**2)], np.float32)


def _step(engine: TriggerEngine, score: float, i: int) -> str | None:
    _, events = engine.evaluate("front", _vec(score), i * 100 * MS, i)
    return events[0].state if events else None


def test_a_lower_enter_threshold_applies_from_the_next_frame_and_keeps_the_window() -> None:
    eng, cfg = _engine()
    assert _step(eng, 0.7, 0) is None  # under 0.8: a miss
    eng.reconfigure([dataclasses.replace(cfg, enter_threshold=0.65)], {})
    assert _step(eng, 0.7, 1) is None  # one hit of two
    assert _step(eng, 0.7, 2) == "ENTER"


def test_an_active_trigger_stays_active_across_a_change() -> None:
    eng, cfg = _engine()
    assert [_step(eng, 0.9, i) for i in range(2)] == [None, "ENTER"]
    eng.reconfigure([dataclasses.replace(cfg, exit_threshold=0.3, debounce_m=5)], {})
    assert _step(eng, 0.4, 2) == "HOLD"  # 0.4 was a miss under the old exit threshold, not under the new one
    assert eng.active() == [("t", "front")]


def test_disabling_an_active_trigger_ends_it_and_enabling_starts_it_afresh() -> None:
    eng, cfg = _engine()
    assert [_step(eng, 0.9, i) for i in range(2)] == [None, "ENTER"]
    eng.reconfigure([dataclasses.replace(cfg, enabled=False)], {})
    assert _step(eng, 0.9, 2) == "EXIT"  # its stop is released, not latched forever
    assert _step(eng, 0.9, 3) is None and eng.active() == []
    eng.reconfigure([cfg], {})
    assert [_step(eng, 0.9, i) for i in (4, 5)] == [None, "ENTER"]


def test_new_goals_replace_the_old_ones() -> None:
    eng, cfg = _engine()
    other = np.array([0.0, 1.0], np.float32)
    eng.reconfigure([cfg], {"t": Goals(other[None], np.zeros((0, 2), np.float32))})
    assert eng.scores(_vec(1.0))["t"] == pytest.approx(0.0, abs=1e-6)
    assert eng.scores(other)["t"] == pytest.approx(1.0)


def test_adding_a_trigger_needs_a_restart() -> None:
    eng, cfg = _engine()
    with pytest.raises(Exception, match="needs a restart"):
        eng.reconfigure([cfg, dataclasses.replace(cfg, name="u")], {})


# --- the pipeline: swaps between frames ---------------------------------------------------------


def test_the_pipeline_puts_a_queued_change_in_force_at_the_next_frame(tiny_encoder: Any) -> None:
    values = {**VALUES, "gate.keyframe_interval_s": 0.0, "gate.max_rate_hz": 0.0, "gate.motion_rate_hz": 0.0}
    cfg = build_edge_config(values, strict=False)
    pipe = EdgePipeline(cfg, tiny_encoder)
    frame = np.full((48, 64, 3), 90, np.uint8)
    assert pipe.process("front", frame, 0, 0).config_generation == 0
    update = plan_live_update(values, {"person.enter_threshold": 0.9, "person.prompts": ["a box"]}, cfg)
    gen = pipe.reconfigure(update.config, {})
    assert gen == 1 and pipe.triggers.configs[0].enter_threshold == 0.6  # queued, not yet in force
    second = pipe.reconfigure(update.config, {})
    assert second == 2  # a second change before any frame supersedes the first
    result = pipe.process("front", frame, 200 * MS, 1)
    assert result.config_generation == 2
    assert pipe.triggers.configs[0].enter_threshold == 0.9


# --- start-up rules that come with live tuning -----------------------------------------------


def test_a_node_with_no_triggers_refuses_to_start_unless_allowed(tiny_model_dir: Path) -> None:
    bare = {"cameras": ["front"], "model": str(tiny_model_dir)}
    with pytest.raises(ConfigError, match="allow_no_triggers"):
        prepare_pipeline(build_edge_config(bare))
    pipeline, _ = prepare_pipeline(build_edge_config({**bare, "allow_no_triggers": True}))
    assert pipeline.triggers.configs == ()


def test_a_demo_model_driving_a_stop_is_announced(tiny_model_dir: Path) -> None:
    manifest = dataclasses.replace(load_manifest(str(tiny_model_dir)), demo=True)
    stopping = build_edge_config(VALUES)
    logging_only = build_edge_config({**VALUES, "person.actions": ["log"]})
    assert "DEMO model" in demo_model_warnings(stopping, manifest)[0]
    assert demo_model_warnings(logging_only, manifest) == []
    assert demo_model_warnings(stopping, dataclasses.replace(manifest, demo=False)) == []


def test_the_shipped_demo_model_says_it_is_one() -> None:
    repo = Path(__file__).resolve().parents[2]
    assert load_manifest(str(repo / "models" / "videorag-tiny"), verify=False).demo
