"""watchdog: silence, encoder and worker faults — raised once, cleared once, with their policies."""

from __future__ import annotations

import pytest

from videorag_ros.core.config import CameraConfig, WatchdogConfig
from videorag_ros.core.watchdog import CAMERA_SILENT, ENCODER, WORKER, Watchdog, describe

MS = 1_000_000
S = 1_000_000_000
T0 = 100 * S


def _wd(*, on_silence: str = "stop", **cfg: object) -> Watchdog:
    cams = [CameraConfig("front", "camera/front/image_raw", timeout_s=1.0, on_silence=on_silence), CameraConfig("rear", "rear/image", timeout_s=0.5, on_silence="warn")]
    return Watchdog(WatchdogConfig(**cfg), cams, now_ns=T0)  # type: ignore[arg-type]


def _feed(wd: Watchdog, now: int) -> None:
    """Both cameras deliver a frame and the worker ticks."""
    wd.frame_received("front", now)
    wd.frame_received("rear", now)
    wd.worker_tick(now)


def _encode(wd: Watchdog, now: int, took_ms: float, *, error: str | None = None, encoded: bool = True) -> None:
    wd.inference_started("front", 7, now)
    wd.inference_finished(now + int(took_ms * MS), error=error, encoded=encoded)


def test_nothing_is_raised_while_everything_flows() -> None:
    wd = _wd()
    for i in range(50):
        now = T0 + i * 100 * MS
        _feed(wd, now)
        _encode(wd, now, 5.0)
        assert wd.evaluate(now + 6 * MS) == []
    assert wd.active() == [] and wd.stop_reasons() == ()


def test_silent_camera_raises_once_with_its_policy_and_clears_on_the_next_frame() -> None:
    wd = _wd()
    wd.worker_tick(T0 + 2 * S)
    wd.frame_received("rear", T0 + 2 * S)
    assert wd.evaluate(T0 + S) == []  # exactly at the timeout: not yet
    [tr] = wd.evaluate(T0 + S + 1)
    assert tr.raised and tr.fault.kind == CAMERA_SILENT and tr.fault.key == "camera:front" and tr.fault.stops
    assert "no frames for 1.0 s (timeout 1 s)" in tr.fault.reason and "camera/front/image_raw" in tr.fault.reason
    assert wd.evaluate(T0 + 2 * S) == []  # still silent: raised only once
    assert "no frames for 2.0 s" in wd.active()[0].reason  # but the reason stays current
    assert wd.stop_reasons() == (describe(wd.active()[0]),)
    assert wd.stop_reasons()[0].startswith("camera 'front' silent: no frames")
    wd.frame_received("front", T0 + 2 * S + 5 * MS)
    [tr] = wd.evaluate(T0 + 2 * S + 10 * MS)
    assert not tr.raised and tr.fault.key == "camera:front"
    assert wd.active() == []


def test_warn_policy_reports_but_does_not_stop() -> None:
    wd = _wd(on_silence="warn")
    wd.worker_tick(T0 + 2 * S)
    transitions = wd.evaluate(T0 + 2 * S)
    assert sorted(t.fault.key for t in transitions) == ["camera:front", "camera:rear"]
    assert all(t.raised and not t.fault.stops for t in transitions)
    assert wd.stop_reasons() == ()


@pytest.mark.parametrize(
    ("error", "took_ms", "match"),
    [
        ("EncoderError: forward pass failed", 3.0, "failed on camera 'front' frame 7: EncoderError"),  # raised
        (None, 250.0, "took 250 ms (deadline 100 ms)"),  # finished, but late
    ],
)
def test_encoder_fault_raises_and_needs_consecutive_good_frames_to_clear(error: str | None, took_ms: float, match: str) -> None:
    wd = _wd(encoder_deadline_ms=100.0, encoder_recovery_frames=3)
    now = T0 + 10 * MS
    _feed(wd, now)
    _encode(wd, now, took_ms, error=error)
    [tr] = wd.evaluate(now + 300 * MS)
    assert tr.raised and tr.fault.kind == ENCODER and match in tr.fault.reason and tr.fault.stops
    _encode(wd, now, 5.0)
    _encode(wd, now, 5.0)
    assert wd.evaluate(now + 400 * MS) == []  # two good frames are not enough
    _encode(wd, now, 5.0, encoded=False)  # a gate-rejected frame never reached the encoder
    assert wd.evaluate(now + 400 * MS) == []
    _encode(wd, now, 500.0)  # a bad one restarts the count
    _encode(wd, now, 5.0)
    _encode(wd, now, 5.0)
    assert wd.evaluate(now + 400 * MS) == []
    _encode(wd, now, 5.0)
    [tr] = wd.evaluate(now + 500 * MS)
    assert not tr.raised and tr.fault.kind == ENCODER


def test_a_hung_forward_pass_is_caught_while_it_runs() -> None:
    wd = _wd(encoder_deadline_ms=200.0, worker_stall_s=0.5)
    _feed(wd, T0)
    wd.inference_started("front", 42, T0)
    assert wd.evaluate(T0 + 150 * MS) == []
    # Keep the cameras fed; the worker is stuck inside the forward pass.
    wd.frame_received("front", T0 + 900 * MS)
    wd.frame_received("rear", T0 + 900 * MS)
    [tr] = wd.evaluate(T0 + 900 * MS)
    assert tr.fault.kind == ENCODER and "frame 42 of camera 'front' has been running 900 ms (deadline 200 ms)" in tr.fault.reason
    # Time in a deadline-watched step is not a worker stall: one fault, not two.
    assert [f.kind for f in wd.active()] == [ENCODER]
    wd.inference_finished(T0 + 1000 * MS)  # it came back, late: the fault stays until recovery
    wd.worker_tick(T0 + 1000 * MS)
    assert wd.evaluate(T0 + 1000 * MS) == []
    assert "took 1000 ms" in wd.active()[0].reason


def test_without_a_deadline_a_hung_step_is_a_worker_stall() -> None:
    wd = _wd(encoder_deadline_ms=0.0, worker_stall_s=0.5, on_silence="warn")
    _feed(wd, T0)
    wd.inference_started("front", 1, T0)
    wd.frame_received("front", T0 + 600 * MS)
    wd.frame_received("rear", T0 + 600 * MS)
    [tr] = wd.evaluate(T0 + 600 * MS)
    assert tr.fault.kind == WORKER and "no progress for 0.6 s (limit 0.5 s)" in tr.fault.reason
    wd.inference_finished(T0 + 700 * MS)
    wd.worker_tick(T0 + 700 * MS)
    [tr] = wd.evaluate(T0 + 700 * MS)
    assert not tr.raised and tr.fault.kind == WORKER


def test_a_stalled_worker_raises_even_when_no_frames_arrive() -> None:
    wd = _wd(worker_stall_s=2.0, on_silence="warn")
    transitions = wd.evaluate(T0 + 2 * S + 1)
    assert {t.fault.kind for t in transitions} == {CAMERA_SILENT, WORKER}
    assert [f.key for f in wd.active() if f.stops] == [WORKER]


def test_a_dead_worker_raises_with_its_cause_and_never_clears() -> None:
    wd = _wd(on_worker_fault="stop")
    _feed(wd, T0)
    [tr] = wd.evaluate(T0 + 10 * MS, worker_alive=False, worker_error="SystemExit: killed")
    assert tr.raised and tr.fault.kind == WORKER and tr.fault.reason == "frame worker thread died: SystemExit: killed"
    _feed(wd, T0 + 20 * MS)
    assert wd.evaluate(T0 + 30 * MS, worker_alive=False) == []
    assert wd.stop_reasons() == ("worker: frame worker thread died: SystemExit: killed",)


def test_a_dead_worker_mid_frame_is_one_worker_fault_not_an_encoder_hang() -> None:
    wd = _wd(encoder_deadline_ms=100.0)
    _feed(wd, T0)
    wd.inference_started("front", 3, T0)
    transitions = wd.evaluate(T0 + 500 * MS, worker_alive=False)
    assert [t.fault.kind for t in transitions] == [WORKER]
    assert transitions[0].fault.reason == "frame worker thread is not running"
