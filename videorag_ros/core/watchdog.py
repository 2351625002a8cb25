"""Watchdogs: the conditions under which the reflex cannot be trusted, and what to do about them.

Three watchdogs, each a fault that is raised once and cleared once:

- **camera silent** (one per camera): no frame for longer than the camera's ``timeout_s``;
  clears when a frame arrives.
- **encoder**: a frame's pipeline step (gate, preprocessing, forward pass, scoring) raised, took
  longer than ``encoder_deadline_ms``, or *is taking* longer right now (checked while it runs, so a
  hung forward pass is caught without waiting for it); clears after ``encoder_recovery_frames``
  consecutive good, in-time frames.
- **worker**: the frame worker thread died, or made no progress for ``worker_stall_s`` (time inside
  a deadline-watched step does not count: the encoder watchdog covers it). A dead worker never clears.

Each fault has a policy, ``stop`` (engage the e-stop while it is active) or ``warn`` (report only).
The watchdog is fed from any thread (subscriptions, the worker) and evaluated by a timer and after
every frame; all state sits behind one lock. Times are integer nanoseconds from one clock that the
caller chooses (the node uses ``time.monotonic_ns``).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass

from videorag_ros.core.config import CameraConfig, WatchdogConfig

STOP, WARN = "stop", "warn"
CAMERA_SILENT, ENCODER, WORKER = "camera_silent", "encoder", "worker"


@dataclass(frozen=True, slots=True)
class Fault:
    """An active watchdog condition.

    Attributes:
        key: ``camera:<id>``, ``encoder`` or ``worker``; one fault per key at a time.
        kind: ``camera_silent``, ``encoder`` or ``worker``.
        policy: ``stop`` or ``warn``.
        reason: What was seen when it was raised, for logs and diagnostics.
        since_ns: When it was raised.
    """

    key: str
    kind: str
    policy: str
    reason: str
    since_ns: int

    @property
    def stops(self) -> bool:
        """Whether this fault engages the e-stop."""
        return self.policy == STOP


@dataclass(frozen=True, slots=True)
class Transition:
    """A fault raised (``raised`` True) or cleared; each happens once per episode."""

    raised: bool
    fault: Fault


class Watchdog:
    """Camera-silence, encoder and worker watchdogs with raise/clear transitions. Thread-safe."""

    def __init__(self, config: WatchdogConfig, cameras: Sequence[CameraConfig], *, now_ns: int) -> None:
        """Start watching; silence and stalls are measured from ``now_ns`` until the first event.

        Args:
            config: Encoder and worker settings.
            cameras: Cameras whose silence is watched (timeout and policy per camera).
            now_ns: The current time.
        """
        self._cfg = config
        self._cameras = {c.id: c for c in cameras}
        self._lock = threading.Lock()
        self._last_frame_ns: dict[str, int] = {c.id: now_ns for c in cameras}
        self._last_tick_ns = now_ns
        self._inflight: tuple[str, int, int] | None = None  # camera, frame seq, start
        self._encoder_bad: str | None = None  # reason of the last bad frame, until recovered
        self._good_streak = 0
        self._active: dict[str, Fault] = {}
        self._worker_error: str | None = None

    # --- producers ------------------------------------------------------------------------
    def frame_received(self, camera_id: str, now_ns: int) -> None:
        """A frame of ``camera_id`` arrived (subscription callback)."""
        with self._lock:
            self._last_frame_ns[camera_id] = now_ns

    def worker_tick(self, now_ns: int) -> None:
        """The worker went round its loop (it does so at least every few hundred ms when idle)."""
        with self._lock:
            self._last_tick_ns = now_ns

    def inference_started(self, camera_id: str, frame_seq: int, now_ns: int) -> None:
        """The worker entered the pipeline step for one frame."""
        with self._lock:
            self._inflight = (camera_id, frame_seq, now_ns)

    def inference_finished(self, now_ns: int, *, error: str | None = None, encoded: bool = True) -> None:
        """The pipeline step returned (``error`` None) or raised (``error`` says what).

        Args:
            now_ns: The current time.
            error: What the step raised, or None.
            encoded: Whether the frame reached the encoder (a gate-rejected frame does not, and does
                not count towards recovery).
        """
        with self._lock:
            if self._inflight is None:
                return
            cam, seq, start = self._inflight
            self._inflight = None
            took_ms = (now_ns - start) * 1e-6
            deadline_ms = self._cfg.encoder_deadline_ms
            if error is not None:
                self._encoder_bad, self._good_streak = f"failed on camera '{cam}' frame {seq}: {error}", 0
            elif deadline_ms > 0 and took_ms > deadline_ms:
                self._encoder_bad, self._good_streak = f"frame {seq} of camera '{cam}' took {took_ms:.0f} ms (deadline {deadline_ms:g} ms)", 0
            elif encoded:
                self._good_streak += 1
                if self._good_streak >= self._cfg.encoder_recovery_frames:
                    self._encoder_bad = None

    # --- evaluation -------------------------------------------------------------------------
    def evaluate(self, now_ns: int, *, worker_alive: bool = True, worker_error: str | None = None) -> list[Transition]:
        """Re-check every condition and return what was raised or cleared since the last call.

        Args:
            now_ns: The current time.
            worker_alive: Whether the worker thread is running (the node passes ``is_alive()``).
            worker_error: Why the worker ended, when known.

        Returns:
            The transitions, raises and clears in a stable order (cameras, encoder, worker).
        """
        with self._lock:
            self._worker_error = worker_error or self._worker_error  # a death's cause is kept once known
            conditions = self._conditions(now_ns, worker_alive=worker_alive, worker_error=self._worker_error)
            out = []
            for key, (kind, policy, reason) in conditions.items():
                if reason is not None and key not in self._active:
                    fault = self._active[key] = Fault(key, kind, policy, reason, now_ns)
                    out.append(Transition(True, fault))
                elif reason is None and key in self._active:
                    out.append(Transition(False, self._active.pop(key)))
                elif reason is not None:  # still active: keep the reason current for diagnostics
                    self._active[key] = Fault(key, kind, policy, reason, self._active[key].since_ns)
            return out

    def _conditions(self, now_ns: int, *, worker_alive: bool, worker_error: str | None) -> dict[str, tuple[str, str, str | None]]:
        """``key → (kind, policy, reason or None when the condition does not hold)``."""
        cfg = self._cfg
        out: dict[str, tuple[str, str, str | None]] = {}
        for cid, cam in self._cameras.items():
            idle_s = (now_ns - self._last_frame_ns[cid]) * 1e-9
            reason = f"no frames for {idle_s:.1f} s (timeout {cam.timeout_s:g} s) on '{cam.topic}'" if idle_s > cam.timeout_s else None
            out[f"camera:{cid}"] = (CAMERA_SILENT, cam.on_silence, reason)
        reason = None
        watched = cfg.encoder_deadline_ms > 0
        if self._inflight is not None and watched and worker_alive:
            cam_id, seq, start = self._inflight
            running_ms = (now_ns - start) * 1e-6
            if running_ms > cfg.encoder_deadline_ms:
                reason = f"frame {seq} of camera '{cam_id}' has been running {running_ms:.0f} ms (deadline {cfg.encoder_deadline_ms:g} ms)"
        if reason is None and self._encoder_bad is not None:
            reason = self._encoder_bad
        out[ENCODER] = (ENCODER, cfg.on_encoder_fault, reason)
        reason = None
        if not worker_alive:
            reason = f"frame worker thread died: {worker_error}" if worker_error else "frame worker thread is not running"
        elif not (watched and self._inflight is not None):
            idle_s = (now_ns - self._last_tick_ns) * 1e-9
            if idle_s > cfg.worker_stall_s:
                reason = f"frame worker made no progress for {idle_s:.1f} s (limit {cfg.worker_stall_s:g} s)"
        out[WORKER] = (WORKER, cfg.on_worker_fault, reason)
        return out

    # --- state --------------------------------------------------------------------------------
    def active(self) -> list[Fault]:
        """The faults active now, oldest first."""
        with self._lock:
            return sorted(self._active.values(), key=lambda f: f.since_ns)

    def stop_reasons(self) -> tuple[str, ...]:
        """One line per active fault whose policy is ``stop`` (empty: the watchdogs do not stop)."""
        return tuple(describe(f) for f in self.active() if f.stops)


def describe(fault: Fault) -> str:
    """``"camera 'front' silent: no frames for ..."`` — one line naming the fault and its reason."""
    if fault.kind == CAMERA_SILENT:
        return f"camera '{fault.key.split(':', 1)[1]}' silent: {fault.reason}"
    return f"{fault.kind}: {fault.reason}"
