"""Action routing: which active trigger (or watchdog) drives which output adapter.

A trigger's ``actions`` name what it drives while it is active, per (trigger, camera), from its
ENTER until its EXIT:

- ``estop``: the full stop — the e-stop Bool *and* every enabled stop adapter (twist_mux,
  collision_monitor). Watchdog faults with policy ``stop`` drive the same full stop.
- ``twist_mux`` / ``collision_monitor``: that stop adapter only (e.g. a virtual obstacle in front
  of the robot, which still lets it back away), without the e-stop Bool.
- ``slow_down``: a speed limit (the trigger's ``speed_limit``; the lowest of the active ones wins).
  Never a stop: Nav2 reads a limit of 0 as "no limit".
- ``json``: a JSON event per ENTER / EXIT, and the state of each active pair as a heartbeat.
- ``log``: ENTER / EXIT logged at INFO.

``ActionRouter`` turns events into an ``Outputs`` value; the ROS layer publishes what changed at
once and re-sends the state at each adapter's heartbeat rate.

Verification (a trigger with ``verify: true``, see slowloop/verifier.py) may only add caution:
a pair whose trigger drives a stop is *latched* at its EXIT, in the same ``apply`` call, so its
stop outputs stay engaged until ``release_latch`` reports a clearing verdict on frames taken after
that EXIT; ``escalate`` turns a confirmed ``slow_down`` pair into a full stop, latched the same
way. Nothing a verdict does can release a stop the trigger itself still drives.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from videorag_ros.core.config import COLLISION_MONITOR, ESTOP, JSON, LOG, SLOW_DOWN, TWIST_MUX, EdgeConfig, TriggerConfig, enabled_adapters
from videorag_ros.core.triggers import EXIT, TriggerEvent

__all__ = ["COLLISION_MONITOR", "ESTOP", "JSON", "LOG", "SLOW_DOWN", "TWIST_MUX", "ActionRouter", "Outputs"]


@dataclass(frozen=True, slots=True)
class Outputs:
    """What the robot is told now.

    Attributes:
        estop: The e-stop Bool.
        twist_mux: Zero Twist on twist_mux's top-priority input, and its lock engaged.
        collision: The virtual obstacle polygon (an empty polygon otherwise).
        speed_limit: The lowest active slow-down limit; None = no limit.
        causes: Why a stop adapter is engaged: one line per active trigger pair or watchdog fault.
    """

    estop: bool = False
    twist_mux: bool = False
    collision: bool = False
    speed_limit: float | None = None
    causes: tuple[str, ...] = ()

    @property
    def stopping(self) -> bool:
        """Whether any stop output is engaged."""
        return self.estop or self.twist_mux or self.collision


class ActionRouter:
    """Tracks active (trigger, camera) pairs and watchdog stops; computes the ``Outputs``. Thread-safe."""

    def __init__(self, triggers: Sequence[TriggerConfig], *, twist_mux: bool, collision: bool) -> None:
        """Create a router.

        Args:
            triggers: The trigger definitions (their ``actions`` and ``speed_limit``).
            twist_mux: Whether the twist_mux adapter is enabled (the full stop drives it).
            collision: Whether the collision_monitor adapter is enabled (the full stop drives it).
        """
        self._configs = {t.name: t for t in triggers}
        # twist_mux / collision: whether those adapters are on (``enabled_adapters``); see ``for_config``.
        self._twist_mux, self._collision = twist_mux, collision
        self._lock = threading.Lock()
        self._active: dict[tuple[str, str], TriggerEvent] = {}
        self._watchdog: tuple[str, ...] = ()
        self._latched: dict[tuple[str, str], int] = {}  # verify pairs held after their EXIT: key -> EXIT stamp
        self._escalated: set[tuple[str, str]] = set()  # verify slow_down pairs a verdict turned into a full stop
        self._outputs = Outputs()

    @classmethod
    def for_config(cls, config: EdgeConfig) -> ActionRouter:
        """A router for a node configuration, with the adapters ``enabled_adapters`` switches on."""
        enabled = enabled_adapters(config)
        return cls(config.triggers, twist_mux=TWIST_MUX in enabled, collision=COLLISION_MONITOR in enabled)

    def apply(self, events: Iterable[TriggerEvent]) -> Outputs:
        """Advance on one frame's events (ENTER / HOLD keep a pair active, EXIT ends it).

        Returns:
            The outputs after these events.
        """
        with self._lock:
            for ev in events:
                key = (ev.trigger, ev.camera_id)
                if ev.state == EXIT:
                    self._active.pop(key, None)
                    if self._holds_stop(key):
                        self._latched[key] = ev.stamp_ns
                else:
                    self._active[key] = ev
                    self._latched.pop(key, None)  # active again: the trigger itself holds it
            return self._update()

    def _holds_stop(self, key: tuple[str, str]) -> bool:
        cfg = self._configs.get(key[0])
        if cfg is None or not cfg.verify:
            return False
        return key in self._escalated or any(a in cfg.actions for a in (ESTOP, TWIST_MUX, COLLISION_MONITOR))

    def escalate(self, trigger: str, camera_id: str, stamp_ns: int) -> Outputs:
        """A verdict confirmed a ``slow_down`` trigger: drive the full stop for this pair.

        The pair stays escalated while its trigger is active, and latched after its EXIT (or
        from ``stamp_ns`` if it has exited already) until ``release_latch``.

        Returns:
            The outputs with it.
        """
        with self._lock:
            key = (trigger, camera_id)
            cfg = self._configs.get(trigger)
            if cfg is not None and cfg.verify and SLOW_DOWN in cfg.actions and ESTOP not in cfg.actions:
                self._escalated.add(key)
                if key not in self._active:
                    self._latched.setdefault(key, stamp_ns)
            return self._update()

    def release_latch(self, trigger: str, camera_id: str, clear_since_ns: int) -> Outputs:
        """A verdict found the scene clear on frames stamped at or after ``clear_since_ns``.

        Releases the pair's latch (and escalation) only if the trigger is not active and the
        verdict's frames all come after the EXIT that latched it; otherwise nothing changes.

        Returns:
            The outputs after it.
        """
        with self._lock:
            key = (trigger, camera_id)
            exit_ns = self._latched.get(key)
            if key not in self._active and exit_ns is not None and clear_since_ns >= exit_ns:
                del self._latched[key]
                self._escalated.discard(key)
            return self._update()

    def latched(self) -> dict[tuple[str, str], int]:
        """Pairs whose stop is latched awaiting a clearing verdict: ``(trigger, camera) -> EXIT stamp``."""
        with self._lock:
            return dict(self._latched)

    def escalated(self) -> set[tuple[str, str]]:
        """Pairs whose slow-down a verdict escalated to a full stop."""
        with self._lock:
            return set(self._escalated)

    def set_watchdog_stops(self, causes: Sequence[str]) -> Outputs:
        """Set the active watchdog faults whose policy is ``stop`` (one line each; empty = none).

        Returns:
            The outputs with them.
        """
        with self._lock:
            self._watchdog = tuple(causes)
            return self._update()

    def outputs(self) -> Outputs:
        """The current outputs."""
        with self._lock:
            return self._outputs

    def active(self, action: str) -> list[TriggerEvent]:
        """The latest event of every active pair whose trigger drives ``action``, by trigger and camera."""
        with self._lock:
            return [ev for key, ev in sorted(self._active.items()) if action in self._configs[key[0]].actions]

    def _update(self) -> Outputs:
        drives: dict[str, list[str]] = {}
        limits = []
        for (name, cam), _ev in sorted(self._active.items()):
            cfg = self._configs[name]
            for action in cfg.actions:
                drives.setdefault(action, []).append(f"trigger '{name}' on camera '{cam}'")
            if SLOW_DOWN in cfg.actions:
                limits.append(cfg.speed_limit)
        for key in sorted(self._latched):  # held after EXIT: their stop outputs only
            who = f"trigger '{key[0]}' on camera '{key[1]}' (latched until a verdict clears it)"
            for action in self._configs[key[0]].actions:
                if action in (ESTOP, TWIST_MUX, COLLISION_MONITOR):
                    drives.setdefault(action, []).append(who)
        for key in sorted(self._escalated):
            drives.setdefault(ESTOP, []).append(f"trigger '{key[0]}' on camera '{key[1]}' (slow_down escalated to a stop by a verdict)")
        estop = bool(drives.get(ESTOP)) or bool(self._watchdog)
        twist = self._twist_mux and (estop or bool(drives.get(TWIST_MUX)))
        collision = self._collision and (estop or bool(drives.get(COLLISION_MONITOR)))
        causes = sorted({c for a in (ESTOP, TWIST_MUX, COLLISION_MONITOR) for c in drives.get(a, [])})
        self._outputs = Outputs(estop, twist, collision, min(limits) if limits else None, (*causes, *self._watchdog))
        return self._outputs
