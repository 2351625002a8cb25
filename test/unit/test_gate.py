"""gate: first / motion / keyframe admissions, rate / blur / static rejections."""

from __future__ import annotations

import cv2
import numpy as np

from videorag_ros.bench.rigs.patterns import pattern_frame
from videorag_ros.core.config import GateConfig
from videorag_ros.core.gate import FrameGate

S = 1_000_000_000  # one second in ns


def test_first_then_static_then_keyframe() -> None:
    gate = FrameGate(GateConfig(keyframe_interval_s=0.5, max_rate_hz=0, motion_rate_hz=0))
    f = pattern_frame("disk")
    assert gate.decide(f, 0).reason == "first"
    d = gate.decide(f, S // 10)
    assert (d.admitted, d.reason) == (False, "static")
    assert d.motion < 0.02
    assert gate.decide(f, S // 2).reason == "keyframe"


def test_motion_admits_and_rate_caps() -> None:
    gate = FrameGate(GateConfig(keyframe_interval_s=10, max_rate_hz=1, motion_rate_hz=10))
    a, b = pattern_frame("disk"), pattern_frame("stripes")
    assert gate.decide(a, 0).admitted
    early = gate.decide(b, S // 20)  # 50 ms < 1 / motion_rate_hz
    assert (early.admitted, early.reason) == (False, "rate")
    assert early.motion > 0.5
    d = gate.decide(b, S // 5)  # 200 ms >= 100 ms
    assert (d.admitted, d.reason) == (True, "motion")


def test_blur_rejected_when_enabled() -> None:
    sharp = pattern_frame("stripes", width=320, height=240)
    blurry = cv2.GaussianBlur(sharp, (0, 0), 8)
    gate = FrameGate(GateConfig(blur_min_variance=50.0, keyframe_interval_s=0.1, max_rate_hz=0))
    first = gate.decide(sharp, 0)
    assert first.sharpness > 50.0
    d = gate.decide(blurry, S)
    assert (d.admitted, d.reason) == (False, "blur")
    assert d.sharpness < 50.0


def test_time_going_backwards_resets() -> None:
    gate = FrameGate(GateConfig(keyframe_interval_s=5, max_rate_hz=1))
    f = pattern_frame("disk")
    gate.decide(f, 10 * S)
    assert gate.decide(f, 1 * S).reason == "first"


def test_decisions_do_not_depend_on_frame_resolution_for_static_scene() -> None:
    gate = FrameGate(GateConfig(keyframe_interval_s=5, max_rate_hz=0))
    f = pattern_frame("disk", width=640, height=480)
    gate.decide(f, 0)
    noisy = np.clip(f.astype(np.int16) + np.random.default_rng(1).integers(-5, 6, f.shape), 0, 255).astype(np.uint8)
    assert gate.decide(noisy, S // 10).reason == "static"  # sensor noise is not motion
