"""Semantic triggers: standing prompts scored against every embedded frame.

Each trigger turns its prompts (and reference images) into goal vectors once. Per
frame, one matrix product scores all triggers; a state machine per (trigger, camera)
applies N-of-M debounce, enter/exit hysteresis, a minimum hold and a cooldown, and
emits ENTER / HOLD / EXIT events. Times are the frames' stamps, so a replay gives the
same events as the live run.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np
import numpy.typing as npt

from videorag_ros.core.config import TriggerConfig
from videorag_ros.core.errors import TriggerError
from videorag_ros.core.frames import bgr_to_rgb

if TYPE_CHECKING:
    from videorag_ros.core.encoder.encoder import Encoder

log = logging.getLogger(__name__)

ENTER, HOLD, EXIT = "ENTER", "HOLD", "EXIT"


@dataclass(frozen=True, slots=True)
class TriggerEvent:
    """A trigger decision for one frame of one camera.

    Attributes:
        trigger: Trigger name.
        state: ``ENTER``, ``HOLD`` or ``EXIT``.
        camera_id: Camera whose frame decided it.
        stamp_ns: The frame's stamp.
        frame_seq: The frame's sequence number on its camera.
        score: The frame's score.
        threshold: Enter threshold (ENTER/HOLD) or exit threshold (EXIT).
        actions: Actions the trigger drives.
    """

    trigger: str
    state: str
    camera_id: str
    stamp_ns: int
    frame_seq: int
    score: float
    threshold: float
    actions: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Goals:
    """A trigger's goal vectors.

    Attributes:
        positive: ``(P, D)`` float32, L2-normalised (text prompts and reference images).
        negative: ``(Q, D)`` float32, L2-normalised (may be empty).
    """

    positive: npt.NDArray[np.float32]
    negative: npt.NDArray[np.float32]


MAX_PROMPT_CHARS = 1000


def _check_prompt(trigger: str, prompt: str, encoder: Encoder) -> None:
    """Refuse prompts that would silently become noise: empty, huge, or with no word the model knows."""
    shown = prompt if len(prompt) <= 60 else prompt[:57] + "..."
    if not prompt.strip():
        msg = f"trigger '{trigger}': empty prompt {prompt!r}; remove it or write what the camera should see"
        raise TriggerError(msg)
    if len(prompt) > MAX_PROMPT_CHARS:
        msg = f"trigger '{trigger}': prompt {shown!r} is {len(prompt)} characters; at most {MAX_PROMPT_CHARS} (the model reads only its first tokens)"
        raise TriggerError(msg)
    if encoder.knows_no_word_of(prompt):
        msg = f"trigger '{trigger}': no word of prompt {shown!r} is known to model '{encoder.name}'; the trigger would score noise"
        raise TriggerError(msg)
    unknown = encoder.unknown_words(prompt)
    if unknown:
        log.warning("trigger '%s': prompt %r has words the model does not know: %s", trigger, shown, ", ".join(sorted(set(unknown))))


def build_goals(cfg: TriggerConfig, encoder: Encoder) -> Goals:
    """Encode a trigger's prompts and reference images into goal vectors.

    Raises:
        TriggerError: A reference image cannot be read, or nothing could be encoded.
    """
    parts = []
    for p in cfg.prompts + cfg.negative_prompts:
        _check_prompt(cfg.name, p, encoder)
    if cfg.prompts:
        parts.append(encoder.encode_texts(list(cfg.prompts)))
    images = []
    for path in cfg.reference_images:
        bgr = cv2.imread(str(Path(path)), cv2.IMREAD_COLOR)
        if bgr is None:
            msg = f"trigger '{cfg.name}': reference image '{path}' is missing or not a readable image"
            raise TriggerError(msg)
        images.append(bgr_to_rgb(bgr))
    if images:
        parts.append(encoder.encode_images(images).vectors)
    if not parts:
        msg = f"trigger '{cfg.name}' has no prompts and no reference images"
        raise TriggerError(msg)
    neg = encoder.encode_texts(list(cfg.negative_prompts)) if cfg.negative_prompts else np.zeros((0, encoder.dim), np.float32)
    return Goals(np.concatenate(parts).astype(np.float32), neg)


class _Debounce:
    """Hysteresis + N-of-M debounce + min hold + cooldown for one (trigger, camera)."""

    def __init__(self, cfg: TriggerConfig) -> None:
        self.cfg = cfg
        self.active = False
        self._window: deque[bool] = deque(maxlen=cfg.debounce_m)
        self._entered_ns = 0
        self._cooldown_until_ns = -(1 << 62)
        self._last_score = float("-inf")

    def reconfigure(self, cfg: TriggerConfig) -> None:
        """New thresholds and timings; the state (active, hold, cooldown) and the newest window entries carry over."""
        if cfg.debounce_m != self.cfg.debounce_m:
            self._window = deque(self._window, maxlen=cfg.debounce_m)
        self.cfg = cfg

    @property
    def pending(self) -> bool:
        """A decision is under way: a hit (or a miss, when active) in the window, or a last score between the thresholds."""
        return any(self._window) or self.cfg.exit_threshold <= self._last_score < self.cfg.enter_threshold

    def step(self, score: float, stamp_ns: int) -> str | None:
        cfg = self.cfg
        self._last_score = score
        if not self.active:
            self._window.append(score >= cfg.enter_threshold)
            if sum(self._window) >= cfg.debounce_n and stamp_ns >= self._cooldown_until_ns:
                self.active, self._entered_ns = True, stamp_ns
                self._window.clear()
                return ENTER
            return None
        self._window.append(score < cfg.exit_threshold)
        held_s = (stamp_ns - self._entered_ns) * 1e-9
        if sum(self._window) >= cfg.debounce_n and held_s >= cfg.min_hold_s:
            self.active = False
            self._window.clear()
            self._cooldown_until_ns = stamp_ns + int(cfg.cooldown_s * 1e9)
            return EXIT
        return HOLD


@dataclass(frozen=True, slots=True)
class _Scoring:
    """Everything a frame is scored with: the trigger configs and one matrix of all their goals."""

    configs: tuple[TriggerConfig, ...]
    goals: dict[str, Goals]
    matrix: npt.NDArray[np.float32]
    slices: tuple[tuple[int, int, int], ...]


def _scoring(configs: Sequence[TriggerConfig], goals: dict[str, Goals], dim: int) -> _Scoring:
    # One matrix of every goal, so a frame costs one matmul whatever the trigger count.
    mats, slices = [], []
    start = 0
    for cfg in configs:
        g = goals[cfg.name]
        mats += [g.positive, g.negative]
        n_pos, n_neg = len(g.positive), len(g.negative)
        slices.append((start, start + n_pos, start + n_pos + n_neg))
        start += n_pos + n_neg
    matrix = np.concatenate(mats).astype(np.float32) if mats else np.zeros((0, dim), np.float32)
    return _Scoring(tuple(configs), goals, matrix, tuple(slices))


class TriggerEngine:
    """Scores frames against all triggers and tracks their state per camera.

    Not thread-safe: one engine per pipeline worker. ``reconfigure`` is called from that same
    worker (the pipeline applies queued changes between frames), so every frame is scored
    entirely with the old triggers or entirely with the new ones.
    """

    def __init__(self, configs: Sequence[TriggerConfig], goals: Sequence[Goals], *, logit_scale: float) -> None:
        """Create an engine from trigger configs and their goals (``build_goals``).

        Args:
            configs: Trigger definitions.
            goals: One ``Goals`` per config, same order.
            logit_scale: The model's logit scale, for softmax scoring.
        """
        if len(configs) != len(goals):
            msg = f"{len(configs)} trigger configs but {len(goals)} goal sets"
            raise TriggerError(msg)
        self._logit_scale = logit_scale
        self._dim = goals[0].positive.shape[1] if goals else 0
        self._s = _scoring(configs, {c.name: g for c, g in zip(configs, goals, strict=True)}, self._dim)
        self._states: dict[tuple[str, str], _Debounce] = {}

    @property
    def configs(self) -> tuple[TriggerConfig, ...]:
        """The trigger definitions in force."""
        return self._s.configs

    @property
    def goals(self) -> dict[str, Goals]:
        """The goal vectors in force, by trigger name."""
        return dict(self._s.goals)

    def reconfigure(self, configs: Sequence[TriggerConfig], new_goals: dict[str, Goals]) -> None:
        """Put new trigger settings in force (the same trigger names; thresholds, timings, prompts, enabled).

        Args:
            configs: The new definitions, one per trigger name in force.
            new_goals: Goals of triggers whose prompts changed; the others keep theirs.

        Raises:
            TriggerError: The names differ from those in force (adding or removing triggers needs a restart).
        """
        if [c.name for c in configs] != [c.name for c in self._s.configs]:
            msg = f"triggers {[c.name for c in configs]} differ from those in force {[c.name for c in self._s.configs]}; adding or removing triggers needs a restart"
            raise TriggerError(msg)
        goals = {**self._s.goals, **new_goals}
        self._s = _scoring(configs, goals, self._dim)
        by_name = {c.name: c for c in configs}
        for (name, _), state in self._states.items():
            state.reconfigure(by_name[name])

    def scores(self, vector: npt.NDArray[np.float32]) -> dict[str, float]:
        """Score one ``(D,)`` L2-normalised embedding against every trigger (disabled ones too)."""
        s = self._s
        if not s.configs:
            return {}
        sims = s.matrix @ vector
        out = {}
        for cfg, (a, b, c) in zip(s.configs, s.slices, strict=True):
            if cfg.scoring == "softmax":
                logits = self._logit_scale * sims[a:c]
                p = np.exp(logits - logits.max())
                out[cfg.name] = float(p[: b - a].sum() / p.sum())
            else:
                out[cfg.name] = float(sims[a:b].max())
        return out

    def evaluate(
        self, camera_id: str, vector: npt.NDArray[np.float32], stamp_ns: int, frame_seq: int
    ) -> tuple[dict[str, float], list[TriggerEvent]]:
        """Score a frame and advance every enabled trigger watching its camera.

        A disabled trigger that was active on this camera ends with an EXIT (its actions are
        released), then stays silent until it is enabled again.

        Args:
            camera_id: The frame's camera.
            vector: ``(D,)`` float32 L2-normalised image embedding.
            stamp_ns: The frame's stamp.
            frame_seq: The frame's sequence number.

        Returns:
            The scores by trigger name, and the events this frame produced (ENTER, EXIT,
            and HOLD for every trigger that stays active).
        """
        scores = self.scores(vector)
        events = []
        for cfg in self._s.configs:
            if cfg.cameras and camera_id not in cfg.cameras:
                continue
            key = (cfg.name, camera_id)
            state = self._states.get(key)
            score = scores[cfg.name]
            if not cfg.enabled:
                if state is not None:
                    del self._states[key]
                    if state.active:
                        events.append(TriggerEvent(cfg.name, EXIT, camera_id, stamp_ns, frame_seq, score, cfg.exit_threshold, cfg.actions))
                continue
            if state is None:
                state = self._states[key] = _Debounce(cfg)
            transition = state.step(score, stamp_ns)
            if transition is not None:
                threshold = cfg.exit_threshold if transition == EXIT else cfg.enter_threshold
                events.append(TriggerEvent(cfg.name, transition, camera_id, stamp_ns, frame_seq, score, threshold, cfg.actions))
        return scores, events

    def pending(self, camera_id: str) -> bool:
        """Whether a trigger on this camera is deciding: a hit (a miss, when active) in its N-of-M window, or its last score between exit and enter thresholds."""
        return any(s.pending for (_, cam), s in self._states.items() if cam == camera_id)

    def active(self) -> list[tuple[str, str]]:
        """``(trigger, camera)`` pairs that are active now."""
        return [k for k, s in self._states.items() if s.active]

    def active_actions(self) -> set[str]:
        """Actions driven by at least one active trigger on any camera."""
        return {a for (name, _), s in self._states.items() if s.active for a in s.cfg.actions}
