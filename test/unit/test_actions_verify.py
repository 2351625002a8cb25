"""actions: verification may only add caution (latch a stop after EXIT, escalate a slow_down), never release a stop."""

from __future__ import annotations

from videorag_ros.core.actions import ActionRouter
from videorag_ros.core.config import TriggerConfig
from videorag_ros.core.triggers import ENTER, EXIT, HOLD, TriggerEvent

TRIGGERS = (
    TriggerConfig("person", prompts=("a person",), actions=("estop",), verify=True),
    TriggerConfig("crowd", prompts=("people",), actions=("slow_down",), speed_limit=40.0, verify=True),
    TriggerConfig("pallet", prompts=("a pallet",), actions=("collision_monitor",), verify=True),
    TriggerConfig("plain", prompts=("a box",), actions=("estop",)),  # verify false
)
S = 1_000_000_000


def _ev(trigger: str, state: str, stamp_s: float, camera: str = "front") -> TriggerEvent:
    actions = next(t.actions for t in TRIGGERS if t.name == trigger)
    return TriggerEvent(trigger, state, camera, int(stamp_s * S), 1, 0.9, 0.5, actions)


def _router() -> ActionRouter:
    return ActionRouter(TRIGGERS, twist_mux=True, collision=True)


def test_a_verified_stop_stays_latched_after_exit_until_a_clear_verdict_on_later_frames() -> None:
    r = _router()
    assert r.apply([_ev("person", ENTER, 1.0)]).estop
    out = r.apply([_ev("person", EXIT, 3.0)])
    assert out.estop and out.twist_mux and out.collision  # the full stop stays
    assert any("latched until a verdict clears it" in c for c in out.causes)
    assert r.latched() == {("person", "front"): 3 * S}
    assert r.release_latch("person", "front", int(2.5 * S)).estop  # a verdict on frames from before the EXIT: not enough
    assert r.release_latch("person", "back", 4 * S).estop  # another camera's verdict
    out = r.release_latch("person", "front", 3 * S)
    assert not out.estop and not out.causes and r.latched() == {}


def test_a_verdict_never_releases_a_stop_the_trigger_still_drives() -> None:
    r = _router()
    r.apply([_ev("person", ENTER, 1.0)])
    assert r.release_latch("person", "front", 10 * S).estop  # active: nothing to release
    r.apply([_ev("person", HOLD, 2.0)])
    assert r.outputs().estop


def test_re_entry_while_latched_keeps_the_stop_and_needs_a_new_exit() -> None:
    r = _router()
    r.apply([_ev("person", ENTER, 1.0)])
    r.apply([_ev("person", EXIT, 2.0)])
    r.apply([_ev("person", ENTER, 3.0)])
    assert r.latched() == {} and r.outputs().estop
    r.apply([_ev("person", EXIT, 5.0)])
    assert r.release_latch("person", "front", 4 * S).estop  # frames before the new EXIT
    assert not r.release_latch("person", "front", 6 * S).estop


def test_triggers_without_verify_release_at_exit_as_before() -> None:
    r = _router()
    r.apply([_ev("plain", ENTER, 1.0)])
    assert not r.apply([_ev("plain", EXIT, 2.0)]).estop and r.latched() == {}


def test_adapter_only_stops_latch_their_own_adapter() -> None:
    r = _router()
    r.apply([_ev("pallet", ENTER, 1.0)])
    out = r.apply([_ev("pallet", EXIT, 2.0)])
    assert out.collision and not out.estop and not out.twist_mux


def test_a_confirmed_slow_down_escalates_to_a_full_stop_latched_until_clear() -> None:
    r = _router()
    out = r.apply([_ev("crowd", ENTER, 1.0)])
    assert out.speed_limit == 40.0 and not out.estop  # the fast action: a slow-down only
    out = r.escalate("crowd", "front", int(1.5 * S))
    assert out.estop and out.twist_mux and any("escalated to a stop" in c for c in out.causes)
    assert r.release_latch("crowd", "front", 9 * S).estop  # still active: no release
    out = r.apply([_ev("crowd", EXIT, 4.0)])
    assert out.estop and out.speed_limit is None  # the slow-down ended, the escalated stop is latched
    assert not r.release_latch("crowd", "front", 4 * S).estop
    assert r.escalated() == set()


def test_escalation_after_exit_latches_from_the_verdicts_frames() -> None:
    r = _router()
    r.apply([_ev("crowd", ENTER, 1.0)])
    r.apply([_ev("crowd", EXIT, 2.0)])
    assert r.latched() == {}  # a slow-down alone is not a stop: nothing to latch
    out = r.escalate("crowd", "front", 3 * S)  # the confirmation came late: caution is still added
    assert out.estop and r.latched() == {("crowd", "front"): 3 * S}
    assert r.release_latch("crowd", "front", 2 * S).estop
    assert not r.release_latch("crowd", "front", 3 * S).estop


def test_escalate_ignores_triggers_that_cannot_be_escalated() -> None:
    r = _router()
    assert not r.escalate("plain", "front", S).estop  # no verify
    assert not r.escalate("pallet", "front", S).estop  # not a slow_down
    assert not r.escalate("nonexistent", "front", S).estop


def test_watchdog_stops_are_independent_of_latches() -> None:
    r = _router()
    r.apply([_ev("person", ENTER, 1.0)])
    r.apply([_ev("person", EXIT, 2.0)])
    r.set_watchdog_stops(["camera front silent"])
    r.release_latch("person", "front", 3 * S)
    assert r.outputs().estop and r.outputs().causes == ("camera front silent",)
