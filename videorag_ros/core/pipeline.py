"""One frame through the edge pipeline: gate → embed → triggers, then remember.

Used unchanged by the ROS edge node and the offline runner. The index insert is a
separate call (``remember``) so callers publish the trigger decision first. The gate and
the encoder meet here: every embedded frame's preprocessing + forward time feeds the
admission budget (``core/admission.py``), which bounds how fast each camera's gate, and
all of them together, may admit frames.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import cast

import numpy as np
import numpy.typing as npt

from videorag_ros.core import stages
from videorag_ros.core.admission import AdmissionBudget
from videorag_ros.core.config import EdgeConfig, TriggerConfig
from videorag_ros.core.encoder.encoder import Encoder
from videorag_ros.core.gate import FrameGate, GateDecision
from videorag_ros.core.index import IndexStats, Payload, TemporalIndex
from videorag_ros.core.latency import StageStats
from videorag_ros.core.query import MomentQuery, QueryAnswer, answer_query
from videorag_ros.core.triggers import HOLD, Goals, TriggerEngine, TriggerEvent, build_goals

log = logging.getLogger(__name__)


class Counters:
    """Thread-safe named counters per camera (``received``, ``admitted``, ``rejected.blur`` ...)."""

    def __init__(self) -> None:
        """Create empty counters."""
        self._c: Counter[tuple[str, str]] = Counter()
        self._lock = threading.Lock()

    def add(self, camera_id: str, name: str, n: int = 1) -> None:
        """Increase ``name`` for ``camera_id`` by ``n``."""
        with self._lock:
            self._c[(camera_id, name)] += n

    def get(self, camera_id: str, name: str) -> int:
        """Current value (0 if never counted)."""
        with self._lock:
            return self._c[(camera_id, name)]

    def snapshot(self) -> dict[tuple[str, str], int]:
        """A copy of every counter."""
        with self._lock:
            return dict(self._c)

    def total(self, name: str) -> int:
        """Sum of ``name`` over all cameras."""
        with self._lock:
            return sum(v for (_, n), v in self._c.items() if n == name)


@dataclass(slots=True)
class FrameResult:
    """What the pipeline decided for one frame."""

    camera_id: str
    frame_seq: int
    stamp_ns: int
    decision: GateDecision
    vector: npt.NDArray[np.float32] | None = None
    scores: dict[str, float] = field(default_factory=dict)
    events: list[TriggerEvent] = field(default_factory=list)
    stage_ms: dict[str, float] = field(default_factory=dict)
    config_generation: int = 0  # which reconfiguration this frame was decided with (0 = start-up)


@dataclass(frozen=True, slots=True)
class _Reconfiguration:
    config: EdgeConfig
    goals: dict[str, Goals]  # triggers whose prompts changed
    generation: int


class EdgePipeline:
    """Gates, encoder, trigger engine, memory and latency stats for all cameras."""

    def __init__(self, config: EdgeConfig, encoder: Encoder) -> None:
        """Build the pipeline; encodes every trigger's prompts once.

        Raises:
            TriggerError: A trigger's prompts or reference images cannot be encoded.
        """
        self.config = config
        self.encoder = encoder
        self.gates = {c.id: FrameGate(config.gate) for c in config.cameras}
        goals = [build_goals(t, encoder) for t in config.triggers]
        self.triggers = TriggerEngine(config.triggers, goals, logit_scale=encoder.manifest.logit_scale)
        self.index = TemporalIndex(
            dim=encoder.dim,
            capacity=config.index_capacity,
            ttl_s=config.index_ttl_s,
            thumbnail_budget_bytes=config.index_thumbnail_budget_bytes,
            recall_floor=config.index_recall_floor,
            search_budget_ms=config.index_search_budget_ms,
        )
        self.stats = StageStats()
        self.counters = Counters()
        self.budget = AdmissionBudget([c.id for c in config.cameras], share=config.gate.encoder_share, cost_s=self._warm_up())
        self.generation = 0  # of the configuration in force
        self._queued: _Reconfiguration | None = None
        self._queue_lock = threading.Lock()

    def reconfigure(self, config: EdgeConfig, goals: dict[str, Goals]) -> int:
        """Queue a new configuration (live parameter changes); the worker puts it in force before its next frame.

        Every frame is decided entirely with the old configuration or entirely with the new one:
        the swap happens between frames, on the worker thread. Settings that need a restart
        (cameras, trigger names, model, index) must be equal to those in force.

        Args:
            config: The whole new, validated configuration.
            goals: Goal vectors of the triggers whose prompts changed (encoded by the caller, off the frame path).

        Returns:
            The generation number frames decided with it will carry (``FrameResult.config_generation``).
        """
        with self._queue_lock:
            previous = self._queued
            generation = (previous.generation if previous else self.generation) + 1
            if previous is not None:  # not yet in force: keep its re-encoded goals too
                goals = {**previous.goals, **goals}
            self._queued = _Reconfiguration(config, goals, generation)
        return generation

    def _apply_queued(self) -> None:
        if self._queued is None:  # the common case, every frame: no lock (one attribute read under the GIL)
            return
        with self._queue_lock:
            queued, self._queued = self._queued, None
        if queued is None:
            return
        cfg = queued.config
        self.triggers.reconfigure(cfg.triggers, queued.goals)
        for gate in self.gates.values():
            gate.reconfigure(cfg.gate)
        self.budget.set_share(cfg.gate.encoder_share)
        self.config = cfg
        self.generation = queued.generation

    def _warm_up(self) -> float:
        """Run the image tower twice on a mid-grey frame (first calls allocate); returns the second's cost in seconds."""
        spec = self.encoder.manifest.image.preprocess
        blank = np.full((spec.height, spec.width, 3), 128, np.uint8)
        cost_ms = 0.0
        for _ in range(2):
            emb = self.encoder.encode_images([blank])
            cost_ms = emb.preprocess_ms + emb.forward_ms
        return cost_ms * 1e-3

    def process(self, camera_id: str, rgb: npt.NDArray[np.uint8], stamp_ns: int, frame_seq: int) -> FrameResult:
        """Gate, embed and score one RGB frame.

        Args:
            camera_id: A configured camera id.
            rgb: ``(H, W, 3)`` uint8 RGB frame.
            stamp_ns: Capture stamp (the glass).
            frame_seq: Sequence number on this camera.

        Returns:
            The decision, embedding (if admitted), scores, events and stage times.

        Raises:
            EncoderError: The encoder failed on this frame (counted as ``encoder_errors``).
        """
        self._apply_queued()
        t0 = time.perf_counter()
        budget = self.budget
        interval_s = budget.camera_interval_s(camera_id, stamp_ns)
        urgent = self.triggers.pending(camera_id)  # a trigger's N-of-M debounce waits for frames
        decision = self.gates[camera_id].decide(rgb, stamp_ns, min_interval_s=interval_s, budget_ok=budget.allows(stamp_ns), urgent=urgent)
        t1 = time.perf_counter()
        result = FrameResult(camera_id, frame_seq, stamp_ns, decision, config_generation=self.generation)
        result.stage_ms[stages.GATE] = (t1 - t0) * 1e3
        if not decision.admitted:
            self.counters.add(camera_id, f"gate_rejected.{decision.reason}")
            self._record(result)
            return result
        self.counters.add(camera_id, "admitted")
        budget.spend(camera_id, stamp_ns)
        try:
            emb = self.encoder.encode_images([rgb])
        except Exception:
            self.counters.add(camera_id, "encoder_errors")
            raise
        self.counters.add(camera_id, "embedded")
        budget.record_cost((emb.preprocess_ms + emb.forward_ms) * 1e-3)
        t2 = time.perf_counter()
        result.vector = emb.vectors[0]
        result.scores, result.events = self.triggers.evaluate(camera_id, result.vector, stamp_ns, frame_seq)
        t3 = time.perf_counter()
        result.stage_ms.update({stages.PREPROCESS: emb.preprocess_ms, stages.EMBED: emb.forward_ms, stages.TRIGGER: (t3 - t2) * 1e3})
        for ev in result.events:
            if ev.state != HOLD:
                self.counters.add(camera_id, f"trigger.{ev.trigger}.{ev.state.lower()}")
        self._record(result)
        return result

    def _record(self, result: FrameResult) -> None:
        for stage, ms in result.stage_ms.items():
            self.stats.record(stage, ms)

    def remember(self, result: FrameResult, rgb: npt.NDArray[np.uint8] | None = None) -> Payload | None:
        """Insert an admitted frame into the memory (call after publishing its decision).

        Args:
            result: The frame's result from ``process``; frames without a vector are skipped.
            rgb: The ``(H, W, 3)`` uint8 RGB frame; when given and thumbnails are enabled
                (``index.thumbnail_budget_bytes`` > 0), a small JPEG thumbnail is kept with it.

        Returns:
            What was remembered with the vector (its thumbnail included, for the fleet exporter),
            or None for a frame without a vector.
        """
        if result.vector is None:
            return None
        t0 = time.perf_counter()
        thumb = thumbnail_jpeg(rgb) if rgb is not None and self.config.index_thumbnail_budget_bytes > 0 else None
        payload = Payload(result.camera_id, result.stamp_ns, result.frame_seq, result.decision.reason, thumb)
        self.index.add(result.vector, payload)
        self.stats.record(stages.INDEX_INSERT, (time.perf_counter() - t0) * 1e3)
        return payload

    # --- what the node asks of the pipeline ----------------------------------------------------
    def count(self, scope: str, name: str, n: int = 1) -> None:
        """Add to a counter of a camera (or of ``index``, ``query``, ``watchdog``)."""
        self.counters.add(scope, name, n)

    def record(self, stage: str, ms: float) -> None:
        """Record one timing of a stage (``core/stages.py``)."""
        self.stats.record(stage, ms)

    def stage_summary(self, names: tuple[str, ...] = stages.NODE_STAGES) -> dict[str, dict[str, float]]:
        """p50 / p95 / p99 / n of each stage recorded so far."""
        return self.stats.summary(names)

    def goals_for(self, trigger: TriggerConfig) -> Goals:
        """Encode a trigger's prompts and reference images with this pipeline's encoder.

        Raises:
            TriggerError: A prompt or reference image that cannot be encoded.
        """
        return build_goals(trigger, self.encoder)

    def answer(self, query: MomentQuery) -> QueryAnswer:
        """Answer a query over the memory (service thread; never the frame worker's)."""
        return answer_query(self.index, self.encoder, query, known_cameras=self.known_cameras())

    def known_cameras(self) -> set[str]:
        """Configured cameras plus those a reloaded snapshot remembers."""
        return {c.id for c in self.config.cameras} | set(self.index.camera_ids())

    def load_memory(self, path: str) -> int:
        """Reload the memory from a snapshot; returns the frames loaded.

        Raises:
            TemporalIndexError: A missing, corrupt or oversized snapshot (the memory is left empty).
        """
        return self.index.load(path, max_bytes=self.index.max_snapshot_bytes())

    def save_memory(self, path: str) -> int:
        """Write the memory's snapshot atomically; returns its size in bytes.

        Raises:
            TemporalIndexError: The snapshot could not be written.
        """
        return self.index.save(path)

    @property
    def memory_inserts(self) -> int:
        """Frames inserted into the memory since start (a save is due when this moved)."""
        return self.index.inserts

    def memory_stats(self) -> IndexStats:
        """The memory's size, recall and maintenance figures, for /diagnostics."""
        return self.index.stats()

    def close(self) -> None:
        """Release the memory's background work."""
        self.index.close()


THUMBNAIL_WIDTH = 160


def thumbnail_jpeg(rgb: npt.NDArray[np.uint8], width: int = THUMBNAIL_WIDTH) -> bytes | None:
    """A ``width``-pixel-wide JPEG of an RGB frame (never wider than the frame), or None if encoding fails."""
    import cv2

    h, w = rgb.shape[:2]
    if w > width:
        rgb = cast("npt.NDArray[np.uint8]", cv2.resize(rgb, (width, max(1, round(h * width / w))), interpolation=cv2.INTER_AREA))
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 75])
    if not ok:
        log.debug("thumbnail JPEG encoding of a %s frame failed", rgb.shape)
        return None
    return bytes(buf.tobytes())
