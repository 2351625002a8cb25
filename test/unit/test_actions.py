"""actions: which active trigger (or watchdog) drives which adapter, from ENTER to EXIT."""

from __future__ import annotations

import pytest

from videorag_ros.core.actions import JSON, ActionRouter, Outputs
from videorag_ros.core.config import TriggerConfig
from videorag_ros.core.triggers import ENTER, EXIT, HOLD, TriggerEvent

TRIGGERS = (
    TriggerConfig("person", prompts=("a person",), actions=("estop", "json")),
    TriggerConfig("pallet", prompts=("a pallet",), actions=("collision_monitor", "log")),
    TriggerConfig("forklift", prompts=("a forklift",), actions=("twist_mux",)),
    TriggerConfig("crowd", prompts=("people",), actions=("slow_down", "json"), speed_limit=40.0),
    TriggerConfig("wet_floor", prompts=("water",), actions=("slow_down",), speed_limit=25.0),
    TriggerConfig("cat", prompts=("a cat",), actions=("log",)),
)


def _ev(trigger: str, state: str, camera: str = "front", score: float = 0.9, stamp_ns: int = 1_000) -> TriggerEvent:
    actions = next(t.actions for t in TRIGGERS if t.name == trigger)
    return TriggerEvent(trigger, state, camera, stamp_ns, 1, score, 0.5, actions)


def _router(*, twist_mux: bool = True, collision: bool = True) -> ActionRouter:
    return ActionRouter(TRIGGERS, twist_mux=twist_mux, collision=collision)


def test_nothing_active_means_every_output_clear() -> None:
    assert _router().outputs() == Outputs()
    assert not Outputs().stopping


@pytest.mark.parametrize(
    ("trigger", "expected"),
    [
        # estop is the full stop: the Bool and every enabled stop adapter
        ("person", Outputs(estop=True, twist_mux=True, collision=True, causes=("trigger 'person' on camera 'front'",))),
        # an adapter name drives that adapter only, without the e-stop Bool
        ("pallet", Outputs(collision=True, causes=("trigger 'pallet' on camera 'front'",))),
        ("forklift", Outputs(twist_mux=True, causes=("trigger 'forklift' on camera 'front'",))),
        # a slow-down is a speed limit, never a stop
        ("crowd", Outputs(speed_limit=40.0)),
        # log / json only: no output
        ("cat", Outputs()),
    ],
)
def test_enter_drives_the_routed_adapters_and_exit_clears_them(trigger: str, expected: Outputs) -> None:
    router = _router()
    assert router.apply([_ev(trigger, ENTER)]) == expected
    assert router.apply([_ev(trigger, HOLD)]) == expected
    assert router.apply([_ev(trigger, EXIT)]) == Outputs()


def test_full_stop_drives_only_the_enabled_stop_adapters() -> None:
    router = _router(twist_mux=False, collision=False)
    out = router.apply([_ev("person", ENTER)])
    assert out.estop and not out.twist_mux and not out.collision


def test_state_is_per_trigger_and_camera() -> None:
    router = _router()
    router.apply([_ev("person", ENTER, "front"), _ev("person", ENTER, "rear")])
    out = router.apply([_ev("person", EXIT, "front")])
    assert out.estop and out.causes == ("trigger 'person' on camera 'rear'",)
    assert not router.apply([_ev("person", EXIT, "rear")]).estop


def test_several_triggers_at_once_the_lowest_limit_wins() -> None:
    router = _router()
    out = router.apply([_ev("crowd", ENTER), _ev("wet_floor", ENTER), _ev("pallet", ENTER)])
    assert out.speed_limit == 25.0 and out.collision and not out.estop
    assert router.apply([_ev("wet_floor", EXIT)]).speed_limit == 40.0
    out = router.apply([_ev("crowd", EXIT)])
    assert out.speed_limit is None and out.collision


def test_watchdog_stop_is_a_full_stop_and_outlasts_the_triggers() -> None:
    router = _router()
    router.apply([_ev("person", ENTER)])
    out = router.set_watchdog_stops(["camera 'rear' silent: no frames for 1.2 s"])
    assert out.estop and out.twist_mux and out.collision
    assert out.causes == ("trigger 'person' on camera 'front'", "camera 'rear' silent: no frames for 1.2 s")
    out = router.apply([_ev("person", EXIT)])
    assert out.estop and out.causes == ("camera 'rear' silent: no frames for 1.2 s",)
    assert router.set_watchdog_stops([]) == Outputs()


def test_active_lists_the_latest_event_of_each_pair_routed_to_an_action() -> None:
    router = _router()
    router.apply([_ev("person", ENTER, score=0.8), _ev("crowd", ENTER, "rear"), _ev("pallet", ENTER)])
    router.apply([_ev("person", HOLD, score=0.95, stamp_ns=2_000)])
    active = router.active(JSON)
    assert [(e.trigger, e.camera_id, e.state, e.score) for e in active] == [("crowd", "rear", ENTER, 0.9), ("person", "front", HOLD, 0.95)]
    router.apply([_ev("person", EXIT)])
    assert [e.trigger for e in router.active(JSON)] == ["crowd"]


def test_exit_of_an_unknown_pair_is_harmless() -> None:
    assert _router().apply([_ev("person", EXIT)]) == Outputs()
