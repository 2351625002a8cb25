"""What the fleet store holds per selected frame: a vector and a payload, and how both are checked.

A point's id is a UUID derived from (robot, camera, stamp, frame seq, kind): sending a batch again
after a timeout that hid a success overwrites the same points instead of duplicating them.

Payloads read back from a store are untrusted (another robot, another version or a person may have
written them): ``StoredPoint.from_payload`` checks every field's type and size and keeps what is
valid; printing them is the caller's job (``printable``).
"""

from __future__ import annotations

import base64
import binascii
import math
import uuid
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

KINDS = ("keyframe", "moment")
# Payload fields with a payload index (docs/fleet.md, "Collection options").
INDEXED_FIELDS = {"robot_id": "keyword", "camera_id": "keyword", "stamp_ns": "integer", "model": "keyword"}
_NAMESPACE = uuid.UUID("5b0e4d1c-7f0a-4a57-9a52-6c1f6a0e1d17")
MAX_TEXT_CHARS = 4000
MAX_THUMBNAIL_BYTES = 256 * 1024


@dataclass(frozen=True, slots=True)
class Pose:
    """The robot's pose when the frame was taken (from an odometry or pose topic).

    Attributes:
        frame_id: The pose's frame (``odom``, ``map``).
        x: Position in m.
        y: Position in m.
        z: Position in m.
        qx: Orientation quaternion.
        qy: Orientation quaternion.
        qz: Orientation quaternion.
        qw: Orientation quaternion.
        stamp_ns: The pose message's stamp.
    """

    frame_id: str
    x: float
    y: float
    z: float
    qx: float
    qy: float
    qz: float
    qw: float
    stamp_ns: int

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return {"frame_id": self.frame_id, "x": self.x, "y": self.y, "z": self.z, "qx": self.qx, "qy": self.qy, "qz": self.qz, "qw": self.qw, "stamp_ns": self.stamp_ns}

    @classmethod
    def from_dict(cls, d: object) -> Pose | None:
        """The inverse of ``as_dict``; None for anything that is not a valid pose."""
        if not isinstance(d, dict):
            return None
        nums = [d.get(k) for k in ("x", "y", "z", "qx", "qy", "qz", "qw")]
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in nums):
            return None
        frame, stamp = d.get("frame_id"), d.get("stamp_ns")
        if not isinstance(frame, str) or len(frame) > 256 or not isinstance(stamp, int) or isinstance(stamp, bool):
            return None
        x, y, z, qx, qy, qz, qw = (float(v) for v in nums)  # type: ignore[arg-type]
        return cls(frame, x, y, z, qx, qy, qz, qw, stamp)


@dataclass(frozen=True, slots=True)
class FleetPoint:
    """A selected frame on its way to the store.

    Attributes:
        vector: ``(D,)`` float32, L2-normalised embedding.
        robot_id: The robot that saw it.
        camera_id: Its camera.
        stamp_ns: Capture stamp.
        frame_seq: Sequence number on its camera.
        kind: ``keyframe`` (one per camera per ``fleet.keyframe_interval_s``) or ``moment`` (the
            best-scoring frame of a trigger's active span).
        gate_reason: Why the gate admitted the frame (``first``, ``motion``, ``keyframe``).
        model: Name of the encoder that embedded it (queries must use the same).
        trigger: The trigger of a ``moment`` (empty for keyframes).
        score: The trigger's score of the frame (0 for keyframes).
        moment_start_ns: First frame stamp of the moment (keyframes: ``stamp_ns``).
        moment_end_ns: Last frame stamp of the moment (keyframes: ``stamp_ns``).
        description: The slow loop's description of the span; empty when none was made.
        description_source: Who wrote ``description``.
        thumbnail: JPEG bytes, or None.
        pose: The robot's pose, or None.
    """

    vector: npt.NDArray[np.float32]
    robot_id: str
    camera_id: str
    stamp_ns: int
    frame_seq: int
    kind: str
    gate_reason: str
    model: str
    trigger: str = ""
    score: float = 0.0
    moment_start_ns: int = 0
    moment_end_ns: int = 0
    description: str = ""
    description_source: str = ""
    thumbnail: bytes | None = None
    pose: Pose | None = None

    @property
    def point_id(self) -> str:
        """Deterministic UUID (text) of this point: the same frame and kind always get the same id."""
        key = f"{self.robot_id}\x00{self.camera_id}\x00{self.stamp_ns}\x00{self.frame_seq}\x00{self.kind}\x00{self.trigger}"
        return str(uuid.uuid5(_NAMESPACE, key))

    def payload(self) -> dict[str, Any]:
        """The JSON payload stored with the vector (thumbnail as base64 text)."""
        out: dict[str, Any] = {
            "robot_id": self.robot_id, "camera_id": self.camera_id, "stamp_ns": int(self.stamp_ns), "frame_seq": int(self.frame_seq),
            "kind": self.kind, "gate_reason": self.gate_reason, "model": self.model, "trigger": self.trigger, "score": float(self.score),
            "moment_start_ns": int(self.moment_start_ns or self.stamp_ns), "moment_end_ns": int(self.moment_end_ns or self.stamp_ns),
            "description": self.description, "description_source": self.description_source,
        }  # fmt: skip
        if self.thumbnail:
            out["thumbnail_jpeg_b64"] = base64.b64encode(self.thumbnail).decode("ascii")
        if self.pose is not None:
            out["pose"] = self.pose.as_dict()
        return out

    def vector_list(self) -> list[float]:
        """The vector as a list of Python floats (what the Qdrant APIs take)."""
        return [float(v) for v in self.vector]


@dataclass(frozen=True, slots=True)
class StoredPoint:
    """A point read back from the store, every field checked (see ``from_payload``)."""

    point_id: str
    score: float
    robot_id: str
    camera_id: str
    stamp_ns: int
    frame_seq: int
    kind: str
    gate_reason: str
    model: str
    trigger: str
    trigger_score: float
    moment_start_ns: int
    moment_end_ns: int
    description: str
    description_source: str
    thumbnail: bytes | None
    pose: Pose | None

    @classmethod
    def from_payload(cls, point_id: object, score: float, payload: object) -> StoredPoint | None:
        """Check a stored payload; None when its identity fields (robot, camera, stamp) are unusable.

        Text fields are cut to ``MAX_TEXT_CHARS``; a thumbnail that is not base64 of a JPEG under
        ``MAX_THUMBNAIL_BYTES`` is dropped; other bad fields take their empty value.
        """
        if not isinstance(payload, dict):
            return None
        robot, camera, stamp = payload.get("robot_id"), payload.get("camera_id"), payload.get("stamp_ns")
        if not isinstance(robot, str) or not isinstance(camera, str) or not robot or not camera or not _is_int(stamp):
            return None

        def text(key: str) -> str:
            v = payload.get(key, "")
            return v[:MAX_TEXT_CHARS] if isinstance(v, str) else ""

        def integer(key: str, default: int) -> int:
            v = payload.get(key, default)
            return int(v) if _is_int(v) else default

        s = payload.get("score", 0.0)
        trigger_score = float(s) if isinstance(s, (int, float)) and not isinstance(s, bool) and math.isfinite(s) else 0.0
        return cls(
            point_id=str(point_id), score=float(score), robot_id=robot[:256], camera_id=camera[:256], stamp_ns=int(stamp),  # type: ignore[arg-type]
            frame_seq=integer("frame_seq", -1), kind=text("kind"), gate_reason=text("gate_reason"), model=text("model"), trigger=text("trigger"),
            trigger_score=trigger_score, moment_start_ns=integer("moment_start_ns", int(stamp)), moment_end_ns=integer("moment_end_ns", int(stamp)),  # type: ignore[arg-type]
            description=text("description"), description_source=text("description_source"),
            thumbnail=_thumbnail(payload.get("thumbnail_jpeg_b64")), pose=Pose.from_dict(payload.get("pose")),
        )  # fmt: skip


def _is_int(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and -(2**63) <= v < 2**63


def _thumbnail(v: object) -> bytes | None:
    if not isinstance(v, str) or len(v) > MAX_THUMBNAIL_BYTES * 4 // 3 + 4:
        return None
    try:
        data = base64.b64decode(v, validate=True)
    except (binascii.Error, ValueError):
        return None
    return data if data[:3] == b"\xff\xd8\xff" else None
