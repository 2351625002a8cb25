"""The slow loop: describe, verify and answer on its own threads, fed by the reflex path without waiting.

The frame worker calls ``offer`` once per embedded frame, after its decision is published: two
appends to drop-oldest queues (the frame for the cache, and a job for each trigger ENTER), no
I/O, no lock held for more than a few instructions. Everything else runs here:

- ``videorag-slowloop-frames`` downscales handed-over frames into the frame cache;
- ``videorag-slowloop`` runs the jobs one at a time: every ``period_s`` a description of the
  latest moment of the next camera (round robin; not queued again while one for that camera is
  pending, so periodic work never pushes trigger jobs out of the queue), on each trigger ENTER a
  description (or, for a ``verify`` trigger, a verification), and for every pair the router
  holds latched a re-verification on frames after its EXIT (every ``LATCH_RECHECK_S`` until one
  clears it).

Each job packs K frames around its best frame (from the frame cache; for a trigger job that waited
longer than the cache holds, the memory's thumbnails), the prompt and the rolling history; the request
goes through the policy (rate limit, Retry-After, backoff, breaker). Results are stored with
their span in the memory and handed to ``on_output`` (the ROS bridge publishes them). Jobs older
than ``JOB_MAX_AGE_S`` when their turn comes are dropped and counted; a full queue drops its
oldest job, counted.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from videorag_ros.core.actions import ESTOP, SLOW_DOWN
from videorag_ros.core.config import SlowLoopConfig, TriggerConfig
from videorag_ros.core.errors import VideoragError
from videorag_ros.core.index import Description, Moment, TemporalIndex
from videorag_ros.core.latency import StageStats
from videorag_ros.core.timefmt import format_stamp
from videorag_ros.core.triggers import ENTER, TriggerEvent
from videorag_ros.slowloop.ask import DEFAULT_ASK_K, AskAnswer, answer_question
from videorag_ros.slowloop.circuit import CircuitBreaker
from videorag_ros.slowloop.describer import Describer, FrameForModel, ModelText
from videorag_ros.slowloop.drop_queue import DropOldestQueue
from videorag_ros.slowloop.errors import CircuitOpenError, ModelServerError, SlowLoopError, StoppedError
from videorag_ros.slowloop.frame_cache import CachedFrame, FrameCache, pick_around
from videorag_ros.slowloop.history import RollingHistory
from videorag_ros.slowloop.policy import RequestPolicy
from videorag_ros.slowloop.verdict import CLEAR, CONFIRMED, UNCERTAIN, Verdict

log = logging.getLogger(__name__)

DESCRIBE, VERIFY = "describe", "verify"
PERIOD, ON_ENTER, LATCHED = "period", "enter", "latched"
ENTER_CONTEXT_S = 2.0  # frames within this of a trigger's ENTER frame are packed
VERIFY_LEAD_NS = 300_000_000  # a verification on ENTER sends the frames the trigger decided on: from 0.3 s before its ENTER frame
_Handoff = tuple[str, int, int, "npt.NDArray[np.uint8]", "npt.NDArray[np.float32] | None", bool]  # camera, stamp, seq, rgb, vector, keep
JOB_MAX_AGE_S = 30.0  # a job waiting longer than this is stale
LATCH_RECHECK_S = 2.0  # a latched pair is re-verified at most this often
FRAME_HANDOFF = 16  # frames waiting for the cache thread (drop-oldest)


@dataclass(frozen=True, slots=True)
class Job:
    """One unit of slow-loop work."""

    kind: str
    camera_id: str
    reason: str
    created_s: float
    best_ns: int | None = None
    trigger: str = ""
    after_ns: int | None = None
    vector: npt.NDArray[np.float32] | None = field(default=None, compare=False, repr=False)  # the ENTER frame's embedding


@dataclass(frozen=True, slots=True)
class Output:
    """A description or a verdict, as published on ``~/descriptions`` / ``~/verdicts``.

    Attributes:
        kind: ``describe`` or ``verify``.
        reason: Why it was made: ``period``, ``enter`` or ``latched``.
        camera_id: Camera of the frames.
        start_ns: First frame sent.
        end_ns: Last frame sent.
        best_ns: The moment's best frame.
        frames: Frames sent.
        text: What the describer said (escaped).
        source: Who said it.
        trigger: The trigger verified (verify only).
        verdict: ``confirmed`` / ``clear`` / ``uncertain`` (verify only).
        action: What the verdict did to the outputs (verify only).
        latency_ms: Time to produce it.
        prompt_tokens: Reported usage (0 when not reported).
        completion_tokens: Reported usage (0 when not reported).
    """

    kind: str
    reason: str
    camera_id: str
    start_ns: int
    end_ns: int
    best_ns: int
    frames: int
    text: str
    source: str
    trigger: str = ""
    verdict: str = ""
    action: str = ""
    latency_ms: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0


class VerdictSink(Protocol):
    """Where verdicts act: the action router (through the ROS adapters in the node)."""

    def escalate(self, trigger: str, camera_id: str, stamp_ns: int) -> Any:
        """Turn a confirmed slow_down pair into a full stop."""
        ...

    def release_latch(self, trigger: str, camera_id: str, clear_since_ns: int) -> Any:
        """Release a latched pair if the verdict's frames come after its EXIT."""
        ...

    def latched(self) -> dict[tuple[str, str], int]:
        """Latched pairs and their EXIT stamps."""
        ...


class SlowLoop:
    """The dispatcher, its queues, frame cache, history and counters (see the module docstring)."""

    def __init__(
        self,
        cfg: SlowLoopConfig,
        describer: Describer,
        *,
        policy: RequestPolicy | None = None,
        index: TemporalIndex | None = None,
        encoder: Any = None,
        triggers: Sequence[TriggerConfig] = (),
        verdicts: VerdictSink | None = None,
        on_output: Callable[[Output], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        stop: threading.Event | None = None,
    ) -> None:
        """Wire the loop (no thread starts before ``start``).

        Args:
            cfg: The ``slowloop.*`` parameters.
            describer: Who describes, verifies and answers.
            policy: The describer's request policy (for its counters and breaker), None offline.
            index: The memory: descriptions are stored in it, ``ask`` retrieves from it.
            encoder: The image–text model (``ask`` encodes the question with it).
            triggers: Trigger definitions (verification needs their prompts and actions).
            verdicts: Where verdicts act (None: verdicts are only reported).
            on_output: Called on the slow loop's thread with every description and verdict.
            clock: Monotonic seconds.
            stop: Shared with the policy: set by ``close``.
        """
        self.cfg, self.describer, self.policy = cfg, describer, policy
        self.index, self.encoder = index, encoder
        self.triggers = {t.name: t for t in triggers}
        self.verdicts, self.on_output, self._clock = verdicts, on_output, clock
        self.stop = stop or (policy.stop if policy is not None else threading.Event())
        self.jobs: DropOldestQueue[Job] = DropOldestQueue(cfg.queue_size)
        self._handoff: DropOldestQueue[_Handoff] = DropOldestQueue(FRAME_HANDOFF)
        self.cache = FrameCache(width=cfg.frame_width, keep_s=cfg.frame_cache_s, jpeg_quality=cfg.jpeg_quality)
        self.history = RollingHistory(cfg.history_tokens)
        self.latency = StageStats(window=1024)
        self._counts: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._rotation = 0
        self._period_seen: dict[str, int] = {}  # camera -> newest frame stamp when its last periodic description was queued
        self._last_latched_job: dict[tuple[str, str], float] = {}
        self._threads: list[threading.Thread] = []
        self.prepared = threading.Event()
        self.prepare_error: str | None = None

    # --- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        """Start the frame-cache and dispatcher threads (daemon)."""
        for name, target in (("videorag-slowloop-frames", self._frames_loop), ("videorag-slowloop", self._dispatch_loop)):
            t = threading.Thread(target=target, name=name, daemon=True)
            t.start()
            self._threads.append(t)

    def close(self, timeout_s: float = 5.0) -> None:
        """Stop the threads (an in-flight request ends at its timeout at the latest) and close the describer."""
        self.stop.set()
        self.describer.interrupt()  # a bank still being encoded must not hold up the node's shutdown
        self.jobs.close()
        self._handoff.close()
        deadline = time.monotonic() + timeout_s
        for t in self._threads:
            t.join(timeout=max(0.0, deadline - time.monotonic()))
        self.describer.close()

    def count(self, name: str, n: int = 1) -> None:
        """Add to a named counter."""
        with self._lock:
            self._counts[name] += n

    # --- the frame side: never blocks --------------------------------------------------------
    def offer(self, camera_id: str, *, stamp_ns: int, seq: int, rgb: npt.NDArray[np.uint8] | None, vector: npt.NDArray[np.float32] | None, events: Iterable[TriggerEvent] = ()) -> None:
        """Hand over one decided frame and its trigger events (called by the frame worker).

        Two appends to bounded drop-oldest queues; nothing here waits for the slow loop.
        """
        events = tuple(events)
        if rgb is not None:  # a frame that made a trigger ENTER is kept in the cache, never thinned
            self._handoff.put((camera_id, stamp_ns, seq, rgb, vector, any(ev.state == ENTER for ev in events)))
        for ev in events:
            if ev.state == ENTER:
                trig = self.triggers.get(ev.trigger)
                kind = VERIFY if trig is not None and trig.verify else DESCRIBE
                self.jobs.put(Job(kind, ev.camera_id, ON_ENTER, self._clock(), best_ns=ev.stamp_ns, trigger=ev.trigger, vector=vector))

    # --- threads -----------------------------------------------------------------------------
    def _frames_loop(self) -> None:
        while not self.stop.is_set():
            item = self._handoff.get(0.25)
            if item is not None:
                self._cache(item)

    def _cache(self, item: _Handoff) -> None:
        camera_id, stamp_ns, seq, rgb, vector, keep = item
        try:
            self.cache.add(camera_id, stamp_ns, seq, rgb, vector, keep=keep)
        except Exception as err:  # a bad frame must not end the thread
            self.count("frames.cache_errors")
            log.warning("slow loop: frame not cached: %s: %s", type(err).__name__, err)

    def drain_frames(self) -> None:
        """Cache every frame handed over so far (before a job picks its frames)."""
        while True:
            item = self._handoff.get(0.0)
            if item is None:
                return
            self._cache(item)

    def _dispatch_loop(self) -> None:
        try:
            self.describer.prepare()
        except VideoragError as err:
            self.prepare_error = str(err)
            if not self.stop.is_set():
                log.error("slow loop: describer unusable, the loop is idle: %s", err)
            return
        finally:
            self.prepared.set()
        period = self.cfg.period_s
        next_tick = self._clock() + period if period > 0 else float("inf")
        next_scan = self._clock()
        while not self.stop.is_set():
            now = self._clock()
            if now >= next_tick:
                self._schedule_period()
                next_tick = max(next_tick + period, now + 0.5 * period)  # missed ticks are skipped, not bunched
            if now >= next_scan:
                self._schedule_latched()
                next_scan = now + 0.5
            job = self.jobs.get(max(0.01, min(next_tick, next_scan) - self._clock()))
            if job is not None:
                try:
                    self.run_job(job)
                except StoppedError:
                    return
                except Exception as err:  # the loop must survive anything a job causes
                    self.count("jobs.internal_errors")
                    log.error("slow loop: %s job failed: %s: %s", job.kind, type(err).__name__, err)

    def _schedule_period(self) -> None:
        self.drain_frames()
        cams = sorted(self.cache.cameras())
        if not cams:
            return
        cam = cams[self._rotation % len(cams)]
        self._rotation += 1
        if any(j.reason == PERIOD and j.camera_id == cam for j in self.jobs.snapshot()):
            # Still pending: it will describe the latest frames when its turn comes. Queuing
            # another would only push out trigger jobs when the rate limit is the bottleneck.
            self.count("jobs.period_coalesced")
            return
        latest = self.cache.latest(cam)
        if latest is not None and self._period_seen.get(cam) == latest.stamp_ns:
            # Nothing new on this camera since its last periodic description (a still scene the
            # gate admits nothing from): describing the same moment again only spends the rate limit.
            self.count("jobs.period_unchanged")
            return
        if latest is not None:
            self._period_seen[cam] = latest.stamp_ns
        self.jobs.put(Job(DESCRIBE, cam, PERIOD, self._clock()))

    def _schedule_latched(self) -> None:
        if self.verdicts is None:
            return
        now = self._clock()
        for (trigger, cam), exit_ns in self.verdicts.latched().items():
            last = self._last_latched_job.get((trigger, cam), -1e18)
            if now - last >= LATCH_RECHECK_S:
                self._last_latched_job[(trigger, cam)] = now
                self.jobs.put(Job(VERIFY, cam, LATCHED, now, trigger=trigger, after_ns=exit_ns))

    # --- jobs --------------------------------------------------------------------------------
    def frames_for(self, job: Job) -> list[CachedFrame]:
        """The frames a job sends: K around its best frame (see the module docstring)."""
        k = self.cfg.frames_per_request
        if job.reason == LATCHED:
            frames = self.cache.window(job.camera_id, since_ns=job.after_ns)
            return frames[-k:]
        if job.best_ns is None:
            latest = self.cache.latest(job.camera_id)
            if latest is None:
                return []
            window = self.cache.window(job.camera_id, since_ns=latest.stamp_ns - int(max(self.cfg.period_s, 1.0) * 1e9))
            return pick_around(window, latest.stamp_ns, k)
        if job.kind == VERIFY:  # judge what the trigger saw and what came since: the latest frames from just before it
            return self.cache.window(job.camera_id, since_ns=job.best_ns - VERIFY_LEAD_NS)[-k:]
        ctx = int(ENTER_CONTEXT_S * 1e9)
        return pick_around(self.cache.window(job.camera_id, job.best_ns - ctx, job.best_ns + ctx), job.best_ns, k)

    def _await_frame(self, camera_id: str, stamp_ns: int, timeout_s: float = 0.5) -> None:
        """Wait (this thread only) until the cache holds the trigger's own frame: the cache thread may be encoding it."""
        deadline = time.monotonic() + timeout_s
        while True:
            latest = self.cache.latest(camera_id)
            if latest is not None and latest.stamp_ns >= stamp_ns:
                return
            if time.monotonic() >= deadline:
                self.count("jobs.trigger_frame_missing")
                return
            if self.stop.wait(0.005):
                raise StoppedError("the slow loop is stopping")
            self.drain_frames()

    def _frames_from_memory(self, job: Job) -> list[CachedFrame]:
        """A trigger job whose frames left the cache while it waited: the memory's thumbnails around its frame."""
        if job.reason != ON_ENTER or self.index is None or job.vector is None or job.best_ns is None:
            return []
        ctx = int(ENTER_CONTEXT_S * 1e9)
        try:
            hits = self.index.search(job.vector, 4 * self.cfg.frames_per_request, since_ns=job.best_ns - ctx, until_ns=job.best_ns + ctx, cameras=(job.camera_id,))
        except VideoragError:
            return []
        shots = sorted((h.payload for h in hits if h.payload.thumbnail), key=lambda p: p.stamp_ns)
        frames = [CachedFrame(p.camera_id, p.stamp_ns, p.frame_seq, p.thumbnail or b"") for p in shots]
        if frames:
            self.count("jobs.frames_from_memory")
        return pick_around(frames, job.best_ns, self.cfg.frames_per_request)

    def run_job(self, job: Job) -> Output | None:
        """Run one job now on this thread (the dispatcher's; tests call it directly).

        Returns:
            The output, or None when the job was stale, had no frames, or its request failed
            (each counted).

        Raises:
            StoppedError: The loop is stopping.
        """
        if self._clock() - job.created_s > JOB_MAX_AGE_S:
            self.count("jobs.stale")
            return None
        self.drain_frames()
        if job.reason == ON_ENTER and job.best_ns is not None:
            self._await_frame(job.camera_id, job.best_ns)
        frames = self.frames_for(job) or self._frames_from_memory(job)
        if not frames:
            self.count("jobs.waiting_for_frames" if job.reason == LATCHED else "jobs.no_frames")
            if job.reason == LATCHED:
                self._last_latched_job.pop((job.trigger, job.camera_id), None)  # retry at the next scan
            return None
        trigger = self.triggers.get(job.trigger)
        if job.kind == VERIFY and trigger is None:
            self.count("jobs.unknown_trigger")
            return None
        shown = [FrameForModel(f.camera_id, f.stamp_ns, jpeg=f.jpeg, vector=f.vector) for f in frames]
        best = job.best_ns if job.best_ns is not None else frames[-1].stamp_ns
        try:
            if job.kind == VERIFY:
                assert trigger is not None
                verdict, out = self.describer.verify(job.camera_id, shown, trigger)
            else:
                verdict, out = None, self.describer.describe(job.camera_id, shown, [e.text for e in self.history.entries()], self.cfg.prompt)
        except StoppedError:
            raise
        except CircuitOpenError as err:
            self.count("jobs.circuit_open")
            log.debug("slow loop: %s job skipped: %s", job.kind, err)
            return None
        except (ModelServerError, SlowLoopError) as err:
            self.count("jobs.failed")
            log.warning("slow loop: %s job failed: %s", job.kind, err)
            return None
        self.count(f"jobs.done.{job.kind}")
        self.latency.record("model_ms", out.latency_ms)
        return self._finish(job, frames, best, out, verdict)

    def _finish(self, job: Job, frames: list[CachedFrame], best_ns: int, out: ModelText, verdict: Verdict | None) -> Output:
        start, end = frames[0].stamp_ns, frames[-1].stamp_ns
        best_ns = min(max(best_ns, start), end)
        action = ""
        if verdict is not None:
            action = self._act(job, frames, verdict)
            self.count(f"verdicts.{verdict.verdict}")
            text = f"{verdict.verdict}: {verdict.reason}" if verdict.reason else verdict.verdict
        else:
            text = out.text
            self.history.add(f"[{format_stamp(best_ns)} {job.camera_id}] {out.text}", out.completion_tokens)
        if self.index is not None:
            try:
                self.index.add_description(Description(job.camera_id, start, end, best_ns, text[:4000], out.source[:400], job.kind))
            except VideoragError as err:
                self.count("descriptions.refused")
                log.warning("slow loop: description not stored: %s", err)
        output = Output(
            kind=job.kind, reason=job.reason, camera_id=job.camera_id, start_ns=start, end_ns=end, best_ns=best_ns, frames=len(frames),
            text=text, source=out.source, trigger=job.trigger, verdict=verdict.verdict if verdict else "", action=action,
            latency_ms=out.latency_ms, prompt_tokens=out.prompt_tokens or 0, completion_tokens=out.completion_tokens or 0,
        )  # fmt: skip
        if self.on_output is not None:
            try:
                self.on_output(output)
            except Exception as err:
                self.count("outputs.callback_errors")
                log.error("slow loop: output callback failed: %s: %s", type(err).__name__, err)
        return output

    def _act(self, job: Job, frames: list[CachedFrame], verdict: Verdict) -> str:
        """Apply a verdict: it may only add caution (see core/actions.py)."""
        trig = self.triggers[job.trigger]
        key = (trig.name, job.camera_id)
        if self.verdicts is None:
            return "reported only"
        if verdict.verdict == CONFIRMED and SLOW_DOWN in trig.actions and ESTOP not in trig.actions:
            self.verdicts.escalate(trig.name, job.camera_id, frames[-1].stamp_ns)
            self.count("verdicts.escalations")
            return "slow_down escalated to a stop"
        if verdict.verdict == CLEAR:
            was = key in self.verdicts.latched()
            self.verdicts.release_latch(trig.name, job.camera_id, frames[0].stamp_ns)
            if was and key not in self.verdicts.latched():
                self.count("verdicts.latch_releases")
                return "latch released"
        if key in self.verdicts.latched():
            return "stop stays latched until a clear verdict on frames after the trigger's exit"
        return "none" if verdict.verdict != UNCERTAIN else "none (uncertain)"

    # --- ask ---------------------------------------------------------------------------------
    def ask(
        self,
        question: str,
        *,
        since_ns: int | None = None,
        until_ns: int | None = None,
        cameras: tuple[str, ...] = (),
        k: int = DEFAULT_ASK_K,
        context_s: float = 2.0,
        known_cameras: Iterable[str] | None = None,
    ) -> AskAnswer:
        """Answer a question about the memory (on the caller's thread; shares the rate limit and breaker).

        Raises:
            QueryError: Invalid question or filters.
            SlowLoopError: No memory, or the describer failed.
        """
        if self.index is None or self.encoder is None:
            msg = "the slow loop has no memory or encoder to answer from"
            raise SlowLoopError(msg)
        if not self.prepared.wait(timeout=30.0) or self.prepare_error:
            msg = f"the describer is not ready: {self.prepare_error or 'still preparing'}"
            raise SlowLoopError(msg)
        self.count("ask.requests")
        self.drain_frames()
        answer = answer_question(
            question, index=self.index, encoder=self.encoder, describer=self.describer, since_ns=since_ns, until_ns=until_ns,
            cameras=cameras, k=k, context_s=context_s, known_cameras=None if known_cameras is None else set(known_cameras),
            frames_for=self._moment_frames,
        )  # fmt: skip
        self.latency.record("ask_ms", answer.retrieval_ms + answer.answer_ms)
        return answer

    def _moment_frames(self, m: Moment) -> list[FrameForModel]:
        """The cached frame nearest the moment's best frame (within 0.5 s), else its thumbnail."""
        near = self.cache.window(m.camera_id, m.best_ns - 500_000_000, m.best_ns + 500_000_000)
        if near:
            f = min(near, key=lambda f: abs(f.stamp_ns - m.best_ns))
            return [FrameForModel(f.camera_id, f.stamp_ns, jpeg=f.jpeg, vector=f.vector)]
        return [FrameForModel(m.camera_id, m.best_ns, jpeg=m.best.thumbnail)] if m.best.thumbnail else []

    # --- diagnostics -------------------------------------------------------------------------
    def stats(self) -> dict[str, object]:
        """Counters and state for /diagnostics (no secrets: the describer's name holds no key)."""
        with self._lock:
            out: dict[str, object] = {f"slowloop.{k}": v for k, v in sorted(self._counts.items())}
        out.update({
            "slowloop.describer": self.describer.source,
            "slowloop.ready": self.prepared.is_set() and not self.prepare_error,
            "slowloop.jobs.queued": len(self.jobs),
            "slowloop.jobs.dropped": self.jobs.dropped,
            "slowloop.frames.handed_over": self._handoff.put_count,
            "slowloop.frames.handoff_dropped": self._handoff.dropped,
            "slowloop.frames.cached": len(self.cache),
            "slowloop.frames.thinned": self.cache.thinned,
            "slowloop.history.tokens": self.history.tokens,
            "slowloop.history.entries": len(self.history),
            "slowloop.history.evicted": self.history.evicted,
            "slowloop.history.max_tokens": self.history.max_tokens,
        })  # fmt: skip
        if self.verdicts is not None:
            latched = self.verdicts.latched()
            out["slowloop.latched"] = "; ".join(f"{t} on {c}" for t, c in sorted(latched)) or "none"
        if self.policy is not None:
            out.update({f"slowloop.{k}": v for k, v in sorted(self.policy.counters().items())})
            breaker: CircuitBreaker = self.policy.breaker
            out["slowloop.breaker"] = breaker.state
            out["slowloop.breaker_opened"] = breaker.opened
            out["slowloop.rate_wait_s"] = round(self.policy.rate_wait_s, 3)
        for stage, s in self.latency.summary().items():
            out[f"slowloop.{stage}.p50"] = round(s["p50"], 1)
            out[f"slowloop.{stage}.p95"] = round(s["p95"], 1)
        return out
