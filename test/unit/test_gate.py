"""gate: first / onset / motion / lighting / keyframe admissions; rate / budget / blur / static rejections.

Frames are a textured scene (smoothed noise) at 15 fps; the shipped defaults decide unless a
test says otherwise. Real footage is in test_gate_footage.py.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable, Iterable

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from videorag_ros.bench.rigs.patterns import pattern_frame
from videorag_ros.core.config import GateConfig
from videorag_ros.core.gate import ADMIT_REASONS, FrameGate, GateDecision

S = 1_000_000_000  # one second in ns
FPS = 15
Frame = npt.NDArray[np.uint8]


def scene(seed: int = 0, width: int = 640, height: int = 480) -> Frame:
    """A textured RGB scene: smoothed noise spread over grey levels 40..220."""
    rng = np.random.default_rng(seed)
    img = cv2.GaussianBlur(rng.uniform(0, 255, (height // 4, width // 4, 3)).astype(np.float32), (0, 0), 2.0)
    img = cv2.resize(img, (width, height), interpolation=cv2.INTER_CUBIC)
    lo, hi = img.min(), img.max()
    return (40 + (img - lo) * (180 / (hi - lo))).astype(np.uint8)


_NOISE: dict[tuple[int, ...], list[npt.NDArray[np.float32]]] = {}


def noisy(f: Frame, rng: np.random.Generator, sigma: float = 3.0) -> Frame:
    """``f`` plus Gaussian noise (one of 24 pre-drawn noise images per frame size, chosen at random: fast)."""
    bank = _NOISE.setdefault(f.shape, [np.random.default_rng(k).standard_normal(f.shape, dtype=np.float32) for k in range(24)])
    return np.clip(f + sigma * bank[int(rng.integers(len(bank)))], 0, 255).astype(np.uint8)


def run(frames: Iterable[Frame], config: GateConfig | None = None, *, fps: float = FPS) -> list[GateDecision]:
    gate = FrameGate(config or GateConfig())
    return [gate.decide(f, round(i * S / fps)) for i, f in enumerate(frames)]


def admitted(decisions: list[GateDecision]) -> list[tuple[int, str]]:
    return [(i, d.reason) for i, d in enumerate(decisions) if d.admitted]


def with_disk(base: Frame, x: int, y: int = 240, r: int = 50) -> Frame:
    f = base.copy()
    cv2.circle(f, (x, y), r, (200, 30, 30), -1)
    return f


def test_first_then_static_then_keyframe() -> None:
    rng = np.random.default_rng(0)
    base = scene()
    d = run((noisy(base, rng) for _ in range(8 * FPS)), GateConfig(keyframe_interval_s=5.0))
    assert admitted(d) == [(0, "first"), (5 * FPS, "keyframe")]
    assert {x.reason for x in d if not x.admitted} == {"static"}
    assert max(x.motion for x in d[1:]) < 0.005  # sensor noise is not change


@pytest.mark.parametrize(
    ("name", "make"),
    [
        # Gaussian sensor noise far above the pixel threshold's floor.
        ("noise sigma 8", lambda base, rng, i: noisy(base, rng, 8.0)),
        # Compression flicker: every frame re-encoded at a different JPEG quality.
        ("jpeg flicker", lambda base, rng, i: cv2.imdecode(cv2.imencode(".jpg", base, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(20, 90))])[1], 1)),
        # A camera on a vibrating mount: up to 2 px of shake in each frame.
        ("shake 2 px", lambda base, rng, i: cv2.warpAffine(base, np.float32([[1, 0, rng.uniform(-2, 2)], [0, 1, rng.uniform(-2, 2)]]), (640, 480), borderMode=cv2.BORDER_REFLECT)),
    ],
)
def test_noise_flicker_and_shake_cost_no_more_than_keyframes(name: str, make: Callable[[Frame, np.random.Generator, int], Frame]) -> None:
    rng = np.random.default_rng(1)
    base = scene(1)
    d = run(make(base, rng, i) for i in range(10 * FPS))
    extra = [a for a in admitted(d) if a[1] not in ("first", "keyframe")]
    assert len(extra) <= 1, f"{name}: {admitted(d)}"  # at most one while the gate learns the noise


def test_a_lighting_change_is_one_admission() -> None:
    base = scene(2).astype(np.float32)
    gains = [1.0] * 15 + list(np.linspace(1.0, 0.4, 30)) + [0.4] * 30  # lights dim over 2 s, then stay dim
    d = run(np.clip(base * g, 0, 255).astype(np.uint8) for g in gains)
    assert admitted(d) == [(0, "first"), (45, "lighting")]  # once the light has settled, not per frame of the ramp
    step = run(np.clip(base * g, 0, 255).astype(np.uint8) for g in [1.0] * 15 + [0.4] * 30)
    assert [r for _, r in admitted(step)] == ["first", "lighting"]


def test_an_object_entering_is_an_onset_then_motion_at_the_motion_rate() -> None:
    rng = np.random.default_rng(3)
    base = scene(3)
    frames = [noisy(base if i < 30 else with_disk(base, -40 + 12 * (i - 30)), rng) for i in range(60)]
    cfg = GateConfig(max_rate_hz=10.0, motion_rate_hz=5.0, onset_frames=3)
    d = run(frames, cfg)
    adm = admitted(d)
    assert adm[:2] == [(0, "first"), (30, "onset")]  # the first frame it shows in
    assert [r for _, r in adm[2:4]] == ["onset", "onset"]  # the burst: two more changing frames ...
    assert adm[3][0] - adm[2][0] >= 2 and adm[2][0] - 30 >= 2  # ... at up to max_rate_hz (15 fps -> every 2nd)
    motion = [i for i, r in adm if r == "motion"]
    assert motion and all(b - a >= 3 for a, b in zip([adm[3][0], *motion], motion, strict=False))  # then <= 5 Hz
    assert any(x.reason == "rate" for x in d[31:])


def test_a_cut_is_admitted_at_once() -> None:
    a, b = scene(4), scene(5)
    d = run([a] * 20 + [b] * 10)
    assert admitted(d) == [(0, "first"), (20, "onset")]
    assert d[20].onset == 1.0


def test_rates_cap_ongoing_motion() -> None:
    base = scene(6)
    frames = [with_disk(base, 20 * i, r=80) for i in range(45)]  # a large object crossing fast, from the start
    d = run(frames, GateConfig(motion_rate_hz=5.0, max_rate_hz=10.0, onset_frames=1))
    stamps = [i / FPS for i, r in admitted(d) if r == "motion"]
    assert all(b - a >= 0.2 - 1e-9 for a, b in itertools.pairwise(stamps))  # <= 5 Hz ...
    assert len(stamps) >= 10  # ... and close to it while the object crosses (frames 5-35: 2 s)
    assert any(x.reason == "rate" for x in d)


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


def test_size_change_resets() -> None:
    gate = FrameGate(GateConfig())
    gate.decide(scene(7), 0)
    assert gate.decide(scene(7, width=320, height=180), S // FPS).reason == "first"  # another aspect ratio


def test_budget_vetoes_without_moving_the_reference() -> None:
    base = scene(8)
    gate = FrameGate(GateConfig(keyframe_interval_s=0.0, max_rate_hz=0.0, motion_rate_hz=0.0))
    assert gate.decide(base, 0).reason == "first"
    assert gate.decide(base, S // 10, min_interval_s=0.5).reason == "budget"  # the encoder sustains one per 0.5 s
    assert gate.decide(base, 2 * S // 10, budget_ok=False).reason == "budget"  # the shared budget is empty
    moved = with_disk(base, 320)
    veto = gate.decide(moved, 3 * S // 10, budget_ok=False)
    assert (veto.admitted, veto.reason) == (False, "budget") and veto.motion > 0.005
    later = gate.decide(moved, 6 * S // 10, min_interval_s=0.5)
    assert later.admitted and later.motion > 0.005  # the vetoed change still counts against the old reference
    first = FrameGate(GateConfig()).decide(base, 0, budget_ok=False)
    assert (first.admitted, first.reason) == (False, "budget")


def test_decisions_carry_their_measurements() -> None:
    d = run([scene(9)] * 3 + [with_disk(scene(9), 320)])
    assert d[0].admitted and d[0].reason in ADMIT_REASONS
    last = d[-1]
    assert last.admitted and 0.0 < last.motion <= 1.0 and last.activity > 0.0 and last.sharpness > 0.0
    assert dataclasses.replace(last, reason="x").reason == "x"  # frozen dataclass, copyable


def test_urgent_admits_at_the_ceiling_rate_even_when_static() -> None:
    gate = FrameGate(GateConfig(max_rate_hz=10.0, keyframe_interval_s=5.0))
    base = scene(10)
    assert gate.decide(base, 0).reason == "first"
    d = [gate.decide(base, round(i * S / FPS), urgent=True) for i in range(1, 9)]  # a trigger is deciding
    assert [x.reason for x in d] == ["rate", "trigger", "rate", "trigger", "rate", "trigger", "rate", "trigger"]  # 15 fps -> every 2nd
    assert gate.decide(base, round(9 * S / FPS)).reason == "static"  # decided: back to the keyframe rate


def test_keyframe_interval_zero_admits_every_frame_the_ceiling_allows() -> None:
    base = scene(11)
    frames = [with_disk(base, 20 * i, r=80) for i in range(15)]  # moving: motion is capped at motion_rate_hz ...
    d = run(frames, GateConfig(keyframe_interval_s=0.0, max_rate_hz=0.0, motion_rate_hz=5.0))
    assert all(x.admitted for x in d)  # ... but a keyframe is due at every frame
    assert {x.reason for x in d[1:]} <= {"onset", "motion", "keyframe"}
