"""`videorag bench replay` without ROS: model resolution, node parameters, /proc readings, the table."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import pytest

from test.conftest import REPO
from videorag_ros.bench import replay as bench_replay
from videorag_ros.bench.common import cpu_s, peak_rss_mib
from videorag_ros.core.config import build_edge_config, load_params_file
from videorag_ros.core.errors import ConfigError


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        ("random:resnet50", "expected random:ARCH or random:ARCH:int8"),  # unknown architecture
        ("random:clip-vit-b32:fp16", "expected random:ARCH or random:ARCH:int8"),  # only int8 has a variant
        ("random:clip-vit-b32:int8:x", "expected random:ARCH or random:ARCH:int8"),
        ("random:clip-vit-b32:int8", "videorag bench model --models random:clip-vit-b32"),  # never quantized in this cache
    ],
)
def test_random_model_specs_are_checked(spec: str, match: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=match):
        bench_replay.resolve_model(spec, tmp_path)


def test_plain_model_names_pass_through(tmp_path: Path) -> None:
    assert bench_replay.resolve_model(None, tmp_path) is None
    assert bench_replay.resolve_model("videorag-tiny", tmp_path) == "videorag-tiny"
    (tmp_path / "random-clip-vit-b32-int8-image").mkdir()
    (tmp_path / "random-clip-vit-b32-int8-image" / "manifest.yaml").write_text("{}")
    assert bench_replay.resolve_model("random:clip-vit-b32:int8", tmp_path) == str(tmp_path / "random-clip-vit-b32-int8-image")


@pytest.mark.parametrize("probe", [False, True])
def test_node_parameters_are_valid_and_never_touch_real_stop_topics(probe: bool, tmp_path: Path) -> None:
    base = REPO / "config" / "scenarios.yaml"
    params = bench_replay._bench_params(base, "some-model", tmp_path, probe=probe)
    flat = load_params_file(params)
    config = build_edge_config(flat)  # raises on anything the node would refuse
    assert config.model == "some-model"
    assert flat["estop_topic"].startswith(bench_replay.NS) and flat["cmd_vel_topic"].startswith(bench_replay.NS)
    names = [t.name for t in config.triggers]
    assert names == [*load_params_file(base)["triggers"], *([bench_replay.PROBE] if probe else [])]
    if probe:
        (t,) = [t for t in config.triggers if t.name == bench_replay.PROBE]
        assert t.enter_threshold == -1.0 and list(t.actions) == ["log"]  # always active, never a stop


def test_proc_readings_of_this_process() -> None:
    cpu = cpu_s(os.getpid())
    sum(i * i for i in range(200_000))
    assert 0.0 <= cpu <= cpu_s(os.getpid())
    assert peak_rss_mib(os.getpid()) > 1.0
    assert math.isnan(cpu_s(2**22 + 1)) and math.isnan(peak_rss_mib(2**22 + 1))  # above pid_max


def _scenario(name: str, *, passed: bool, events: int, detected: int, fp: int, g2a_n: int) -> dict[str, Any]:
    lat = {"p50": 8.0, "p95": 12.0, "p99": 15.5, "n": g2a_n} if g2a_n else {}
    precision = detected / (detected + fp) if detected + fp else None
    return {
        "scenario": name,
        "score": {
            "events": events,
            "detected": detected,
            "false_positives": fp,
            "precision": precision,
            "recall": detected / events if events else None,
            "passed": passed,
            "reasons": [] if passed else ["'smoke' ENTERed at 1.00 s"],
        },
        "time_to_trigger_s": [0.6] if detected else [],
        "time_to_action_s": [0.61] if detected else [],
        "glass_to_action_wire_ms": lat,
        "glass_to_decision_ms": {"p50": 9.0, "p95": 14.0, "p99": 20.0, "n": 90},
        "frames": {"published": 150, "received": 149, "dropped": 2, "lost_in_transport": 1},
        "cpu_pct": 17.4,
        "bench_process_cpu_pct": 40.0,
        "peak_rss_mib": 181.6,
        "unmapped_trigger_stamps": 0,
    }


def _result(meaningful: bool) -> dict[str, Any]:
    return {
        "scores_meaningful": meaningful,
        "scenarios": [
            _scenario("person_steps_in", passed=True, events=1, detected=1, fp=0, g2a_n=40),
            _scenario("empty_control", passed=False, events=0, detected=0, fp=1, g2a_n=0),
        ],
        "totals": {"all": {"events": 1, "detected": 1, "false_positives": 1, "precision": 0.5, "recall": 1.0}},
        "glass_to_action_wire_ms_all": {"p50": 8.0, "p95": 12.0, "p99": 15.5, "n": 40},
    }


def test_table_shows_scores_latency_and_cost() -> None:
    lines = bench_replay.format_table(_result(True)).splitlines()
    assert lines[0].split()[:6] == ["scenario", "events", "det", "FP", "prec", "recall"]
    person, control, total = lines[2].split(), lines[3].split(), lines[4].split()
    assert person[:8] == ["person_steps_in", "1", "1", "0", "1.00", "1.00", "0.60", "0.61"]
    assert "8.0/12.0/15.5" in person and person[-1] == "ok" and "17" in person and "182" in person
    assert control[4:6] == ["0.00", "-"] and control[-1] == "FAIL"  # a false positive: precision 0, recall undefined
    assert "- (0)" in bench_replay.format_table(_result(True))  # no trigger messages: no glass-to-action
    assert total[:6] == ["all", "1", "1", "1", "0.50", "1.00"]


def test_latency_only_table_hides_the_scores() -> None:
    text = bench_replay.format_table(_result(False))
    assert "prec" not in text and "verdict" not in text and "FAIL" not in text
    lines = text.splitlines()
    assert len(lines) == 5 and lines[-1].split() == ["all", "8.0/12.0/15.5", "(40)"]  # pooled glass-to-action only
    assert "9.0/14.0/20.0 (90)" in text


def test_two_cameras_add_a_second_camera_on_the_mirror_topic(tmp_path: Path) -> None:
    params = bench_replay._bench_params(REPO / "config" / "scenarios.yaml", None, tmp_path, probe=True, cameras=2)
    config = build_edge_config(load_params_file(params))
    assert [c.id for c in config.cameras] == ["front", bench_replay.MIRROR_CAMERA]
    assert config.cameras[1].topic == bench_replay.MIRROR_TOPIC and config.cameras[1].timeout_s == 30.0
