"""triggers: scoring, N-of-M debounce, hysteresis, hold, cooldown, per-camera state."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from videorag_ros.bench.rigs.patterns import pattern_frame
from videorag_ros.core.config import TriggerConfig
from videorag_ros.core.errors import TriggerError
from videorag_ros.core.triggers import Goals, TriggerEngine, build_goals

MS = 1_000_000
GOAL = np.array([1.0, 0.0], np.float32)


def _engine(**kw: object) -> TriggerEngine:
    cfg = TriggerConfig(name="t", prompts=("x",), **kw)  # type: ignore[arg-type]
    return TriggerEngine([cfg], [Goals(GOAL[None], np.zeros((0, 2), np.float32))], logit_scale=10.0)


def _vec(score: float) -> np.ndarray:
    """A unit vector whose cosine with GOAL is ``score``."""
    return np.array([score, np.sqrt(1 - score**2)], np.float32)


def _run(engine: TriggerEngine, scores: list[float], *, dt_ms: int = 100, camera: str = "front") -> list[str | None]:
    states = []
    for i, s in enumerate(scores):
        _, events = engine.evaluate(camera, _vec(s), i * dt_ms * MS, i)
        states.append(events[0].state if events else None)
    return states


def test_n_of_m_debounce_and_hysteresis() -> None:
    eng = _engine(enter_threshold=0.8, exit_threshold=0.5, debounce_n=2, debounce_m=3, min_hold_s=0.0)
    # one hit is not enough; 2 of 3 enters; 0.6 is between thresholds -> stays; 2 misses exit.
    assert _run(eng, [0.9, 0.1, 0.9, 0.6, 0.6, 0.4, 0.6, 0.4]) == [None, None, "ENTER", "HOLD", "HOLD", "HOLD", "HOLD", "EXIT"]


@pytest.mark.parametrize(
    ("scores", "pending"),
    [
        ([0.1, 0.1], False),  # idle, nothing near
        ([0.1, 0.9], True),  # one hit of the two needed: the next frames decide
        ([0.6], True),  # between the thresholds: maybe on the way in
        ([0.9, 0.9], False),  # entered: decided
        ([0.9, 0.9, 0.9, 0.2], True),  # active with one miss: maybe on the way out
        ([0.9, 0.9, 0.2, 0.2], False),  # exited: decided
        ([0.9, 0.1, 0.1, 0.1], False),  # the stray hit has left the 3-frame window
    ],
)
def test_pending_while_a_decision_is_under_way(scores: list[float], pending: bool) -> None:
    eng = _engine(enter_threshold=0.8, exit_threshold=0.5, debounce_n=2, debounce_m=3, min_hold_s=0.0)
    _run(eng, scores)
    assert eng.pending("front") is pending
    assert eng.pending("rear") is False  # per camera


def test_min_hold_keeps_trigger_active() -> None:
    eng = _engine(enter_threshold=0.8, exit_threshold=0.5, debounce_n=1, debounce_m=1, min_hold_s=0.35)
    assert _run(eng, [0.9, 0.1, 0.1, 0.1, 0.1]) == ["ENTER", "HOLD", "HOLD", "HOLD", "EXIT"]


def test_cooldown_blocks_reentry() -> None:
    eng = _engine(enter_threshold=0.8, exit_threshold=0.5, debounce_n=1, debounce_m=1, min_hold_s=0.0, cooldown_s=0.25)
    assert _run(eng, [0.9, 0.1, 0.9, 0.9, 0.9]) == ["ENTER", "EXIT", None, None, "ENTER"]


def test_state_is_per_camera_and_camera_filter() -> None:
    eng = _engine(enter_threshold=0.8, exit_threshold=0.5, debounce_n=1, debounce_m=1, cameras=("front",))
    assert _run(eng, [0.9], camera="front") == ["ENTER"]
    assert _run(eng, [0.9], camera="rear") == [None]  # not watched
    assert eng.active() == [("t", "front")]
    assert eng.active_actions() == {"estop"}


def test_softmax_scoring_against_negatives() -> None:
    cfg = TriggerConfig(name="s", prompts=("x",), negative_prompts=("y",), scoring="softmax")
    goals = Goals(np.array([[1.0, 0.0]], np.float32), np.array([[0.0, 1.0]], np.float32))
    eng = TriggerEngine([cfg], [goals], logit_scale=10.0)
    assert eng.scores(_vec(0.99))["s"] > 0.99
    assert eng.scores(np.array([0.0, 1.0], np.float32))["s"] < 0.01
    assert eng.scores(_vec(np.sqrt(0.5)))["s"] == pytest.approx(0.5, abs=1e-5)


def test_build_goals_from_text_and_reference_image(tiny_encoder, tmp_path: Path) -> None:
    ref = tmp_path / "disk.png"
    cv2.imwrite(str(ref), cv2.cvtColor(pattern_frame("disk"), cv2.COLOR_RGB2BGR))
    cfg = TriggerConfig(name="t", prompts=("a person",), negative_prompts=("a box",), reference_images=(str(ref),))
    goals = build_goals(cfg, tiny_encoder)
    assert goals.positive.shape == (2, tiny_encoder.dim)
    assert goals.negative.shape == (1, tiny_encoder.dim)
    np.testing.assert_allclose(np.linalg.norm(goals.positive, axis=1), 1.0, rtol=1e-5)
    eng = TriggerEngine([cfg], [goals], logit_scale=1.0)
    same = tiny_encoder.encode_images([pattern_frame("disk", seed=3)]).vectors[0]
    other = tiny_encoder.encode_images([pattern_frame("stripes")]).vectors[0]
    assert eng.scores(same)["t"] > 0.95 > eng.scores(other)["t"]


def test_build_goals_missing_reference_image(tiny_encoder, tmp_path: Path) -> None:
    cfg = TriggerConfig(name="t", reference_images=(str(tmp_path / "missing.png"),))
    with pytest.raises(TriggerError, match="missing or not a readable image"):
        build_goals(cfg, tiny_encoder)


def test_unknown_prompt_words_are_warned(tiny_encoder, caplog: pytest.LogCaptureFixture) -> None:
    build_goals(TriggerConfig(name="t", prompts=("a zebra in front",)), tiny_encoder)
    assert "zebra" in caplog.text
