"""Which admitted frames go to the fleet: keyframes at a fixed pace, and each trigger moment's best frame.

Not every admitted frame: the gate admits up to 30 a second per camera while things move, which
a fleet of cameras kept for days cannot store (docs/fleet.md). Per camera, the selector passes

- a **keyframe** when ``keyframe_interval_s`` of stamp time has passed since the last one (the
  first frame, and any frame after the clock jumped back, too), so every camera is searchable at
  that pace whether or not anything fired;
- a **moment**'s best frame: while a trigger is active on a camera (ENTER, HOLDs, EXIT), the frame
  with the highest trigger score is kept; at the EXIT, or when the span has lasted
  ``moment_max_s``, it is passed with the span's start and end.

Runs on the frame worker after the decision is published: a few comparisons and, for a new best
frame, keeping references. Not thread-safe: one selector per frame worker.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from videorag_ros.core.triggers import ENTER, EXIT, TriggerEvent
from videorag_ros.fleet.point import FleetPoint


@dataclass(slots=True)
class _Moment:
    start_ns: int
    last_ns: int
    best_score: float
    best_ns: int
    best_seq: int
    best_reason: str
    best_vector: npt.NDArray[np.float32]
    best_thumbnail: bytes | None


class MomentSelector:
    """Turns a camera's decided frames into the points the fleet keeps."""

    def __init__(self, *, robot_id: str, model: str, keyframe_interval_s: float, moment_max_s: float) -> None:
        """Create a selector.

        Args:
            robot_id: Written into every point.
            model: The encoder's name, written into every point.
            keyframe_interval_s: At most one keyframe per camera this often (0: every admitted frame).
            moment_max_s: A trigger moment longer than this is passed in pieces this long.
        """
        self._robot, self._model = robot_id, model
        self._interval_ns = int(keyframe_interval_s * 1e9)
        self._moment_max_ns = int(moment_max_s * 1e9)
        self._last_keyframe: dict[str, int] = {}
        self._moments: dict[tuple[str, str], _Moment] = {}

    def observe(  # noqa: PLR0917 - one argument per fact of the frame, as the pipeline has them
        self,
        camera_id: str,
        stamp_ns: int,
        frame_seq: int,
        gate_reason: str,
        vector: npt.NDArray[np.float32],
        events: Sequence[TriggerEvent],
        thumbnail: bytes | None = None,
    ) -> list[FleetPoint]:
        """One embedded frame (its decision already published): the points it completes.

        Args:
            camera_id: The frame's camera.
            stamp_ns: Its stamp.
            frame_seq: Its sequence number on the camera.
            gate_reason: Why the gate admitted it.
            vector: ``(D,)`` float32 unit embedding.
            events: The trigger events the frame produced (ENTER / HOLD / EXIT).
            thumbnail: Its JPEG thumbnail, if one was made.

        Returns:
            Keyframe and moment points to export (often none).
        """
        out: list[FleetPoint] = []
        last = self._last_keyframe.get(camera_id)
        if last is None or stamp_ns < last or stamp_ns - last >= self._interval_ns:
            self._last_keyframe[camera_id] = stamp_ns
            out.append(self._keyframe(camera_id, stamp_ns, frame_seq, gate_reason, vector, thumbnail))
        for ev in events:
            key = (camera_id, ev.trigger)
            m = self._moments.get(key)
            if m is None:
                if ev.state == EXIT:
                    continue  # an EXIT of a span this selector never saw open
                m = self._moments[key] = _Moment(stamp_ns, stamp_ns, ev.score, stamp_ns, frame_seq, gate_reason, vector, thumbnail)
            m.last_ns = stamp_ns
            if ev.state != EXIT and ev.score > m.best_score:
                m.best_score, m.best_ns, m.best_seq, m.best_reason, m.best_vector, m.best_thumbnail = ev.score, stamp_ns, frame_seq, gate_reason, vector, thumbnail
            ended = ev.state == EXIT or (ev.state != ENTER and stamp_ns - m.start_ns >= self._moment_max_ns)  # EXIT, or a piece of a long span
            if ended:
                out.append(self._moment_point(camera_id, ev.trigger, self._moments.pop(key)))
        return out

    def flush(self) -> list[FleetPoint]:
        """The best frames of every moment still open (the end of a recording, or shutdown)."""
        out = [self._moment_point(cam, trig, m) for (cam, trig), m in self._moments.items()]
        self._moments.clear()
        return out

    def open_moments(self) -> int:
        """Trigger moments being followed now."""
        return len(self._moments)

    def _keyframe(self, camera_id: str, stamp_ns: int, seq: int, reason: str, vector: npt.NDArray[np.float32], thumb: bytes | None) -> FleetPoint:  # noqa: PLR0917
        return FleetPoint(vector=vector, robot_id=self._robot, camera_id=camera_id, stamp_ns=stamp_ns, frame_seq=seq, kind="keyframe", gate_reason=reason,
                          model=self._model, moment_start_ns=stamp_ns, moment_end_ns=stamp_ns, thumbnail=thumb)  # fmt: skip

    def _moment_point(self, camera_id: str, trigger: str, m: _Moment) -> FleetPoint:
        return FleetPoint(
            vector=m.best_vector, robot_id=self._robot, camera_id=camera_id, stamp_ns=m.best_ns, frame_seq=m.best_seq, kind="moment",
            gate_reason=m.best_reason, model=self._model, trigger=trigger, score=m.best_score, moment_start_ns=m.start_ns,
            moment_end_ns=m.last_ns, thumbnail=m.best_thumbnail,
        )  # fmt: skip

