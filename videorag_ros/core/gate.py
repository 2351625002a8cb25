"""Frame gating: spend the encoder on frames where the scene changes.

Each camera keeps a small grey thumbnail of the last admitted frame (the *reference*: what
the memory and the triggers last saw) and of the previous frame. Change is measured on the
thumbnails after a global gain/offset match, so a lighting or exposure change is not motion,
and against a grey-level threshold that rises with the noise measured between consecutive
frames (sensor noise, compression flicker, leaves in the wind); isolated changed pixels are
ignored. A frame is admitted:

- ``first``: the first frame, after a size change or when time went backwards;
- ``onset``: new motion — consecutive frames differ in a part of the image that was still
  for ``ONSET_QUIET_S`` (``onset_threshold`` of the image), or nearly the whole image changed
  at once (a cut, a jump). It is admitted at once (within ``max_rate_hz``); after a still
  scene, so are the next ``onset_frames - 1`` frames that still change, so a trigger's N-of-M
  debounce can decide quickly;
- ``motion``: something keeps moving (``onset_threshold`` of the image between consecutive
  frames), or ``motion_threshold`` of the image changed against the reference (slow change
  adds up): at most ``motion_rate_hz`` times a second;
- ``lighting``: a global brightness change against the reference, once the light has settled
  (a light switched on is one admission, not one per frame of the ramp);
- ``keyframe``: nothing else was admitted for ``keyframe_interval_s``;
- ``trigger``: a trigger on this camera is deciding (a hit, or a miss, in its N-of-M window:
  ``urgent``): frames are admitted at up to ``max_rate_hz`` whatever changed, so the decision
  takes N frames' time at that rate, not at the motion or keyframe rate.

Rejections say why: ``rate`` (the gate's own rate limits), ``budget`` (the encoder could not
keep up: see ``core/admission.py``), ``blur`` or ``static``. Every decision carries the
measurements behind it. A rejected frame leaves the reference unchanged, so slow change adds
up until it is admitted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import cast

import cv2
import numpy as np
import numpy.typing as npt

from videorag_ros.core.config import GateConfig

ADMIT_REASONS = ("first", "onset", "motion", "lighting", "keyframe", "trigger")
REJECT_REASONS = ("rate", "budget", "blur", "static")

#: A thumbnail pixel counts as changed when it differs by more than this many noise sigmas
#: (and by at least ``motion_pixel_delta`` grey levels). The noise is the larger of the whole
#: image's now (median frame-to-frame residual: sensor noise, compression flicker) and the
#: pixel's own lately (running mean of its squared residual: leaves, water, a flickering screen),
#: or of the ``POOL_PX`` square around it (leaves move from pixel to pixel).
NOISE_SIGMAS = 4.0
POOL_PX = 5
#: Weight of the newest frame in the running means (noise per pixel, typical change).
NOISE_ALPHA = 0.15
#: Side of the square cells (thumbnail pixels) in which activity is tracked for onsets.
CELL_PX = 8
#: A cell must have been still this long before new change in it counts as an onset.
ONSET_QUIET_S = 0.5
#: Change keeps counting towards an onset this long after its cell woke up (an object steps in
#: over a few frames), until the onset is admitted.
ONSET_WINDOW_S = 0.3
#: Share of the image changing between two consecutive frames that makes a cut or jump...
CUT_FRACTION = 0.4
#: ... when the typical frame-to-frame change was under this share of it.
CUT_RATIO = 3.0
#: Median grey-level shift (0..255) or gain factor against the reference that is a lighting change.
LIGHTING_SHIFT = 12.0
LIGHTING_GAIN = 1.25
#: The light has settled when consecutive frames differ by less than this median shift.
LIGHTING_SETTLED = 2.0


@dataclass(frozen=True, slots=True)
class GateDecision:
    """The gate's verdict on one frame.

    Attributes:
        admitted: True when the frame goes on to the encoder.
        reason: One of ``ADMIT_REASONS`` or ``REJECT_REASONS``.
        motion: Fraction of the thumbnail that changed against the reference (0..1), after
            the lighting match and the noise threshold.
        sharpness: Variance of the Laplacian of the thumbnail (higher is sharper).
        onset: Fraction of the thumbnail that changed since the previous frame in cells that
            had been still (0..1); 1.0 for a cut.
        activity: Fraction of the thumbnail that changed since the previous frame (0..1).
        lighting: Median grey-level shift against the reference (0..255).
        noise: Estimated noise of the thumbnail in grey levels (the change threshold is
            ``max(motion_pixel_delta, NOISE_SIGMAS * noise)``).
    """

    admitted: bool
    reason: str
    motion: float
    sharpness: float
    onset: float = 0.0
    activity: float = 0.0
    lighting: float = 0.0
    noise: float = 0.0


@dataclass(slots=True)
class _Reference:
    thumb: npt.NDArray[np.float32]
    median: float
    spread: float


def _stats(grey: npt.NDArray[np.uint8]) -> tuple[float, float]:
    """Median and a robust spread (inter-quartile range) of a thumbnail's grey levels (from its histogram)."""
    cum = np.bincount(grey.ravel(), minlength=256).cumsum()
    q1, med, q3 = (int(np.searchsorted(cum, q * cum[-1])) for q in (0.25, 0.5, 0.75))
    return float(med), float(max(q3 - q1, 1))


class FrameGate:
    """Per-camera gate state. Not thread-safe: one gate per camera, used by one worker."""

    def __init__(self, config: GateConfig) -> None:
        """Create a gate.

        Args:
            config: Validated gate configuration.
        """
        self._cfg = config
        self._ref: _Reference | None = None
        self._prev: _Reference | None = None
        self._prev_ns: int | None = None
        self._last_admit_ns: int | None = None
        self._cell_active_ns: npt.NDArray[np.int64] | None = None
        self._cell_woke_ns: npt.NDArray[np.int64] | None = None
        self._pixel_var: npt.NDArray[np.float32] | None = None
        self._steps = 0
        self._noise = 0.0
        self._typical_step = 0.0
        self._burst_left = 0
        self._last_active_ns: int | None = None

    def reconfigure(self, config: GateConfig) -> None:
        """New thresholds and rates from the next frame on; the references and noise estimates carry over.

        Raises:
            ValueError: A different ``thumbnail_width`` (the references are thumbnails of that width).
        """
        if config.thumbnail_width != self._cfg.thumbnail_width:
            msg = f"gate.thumbnail_width cannot change while running ({self._cfg.thumbnail_width} -> {config.thumbnail_width})"
            raise ValueError(msg)
        self._cfg = config

    def _thumbnail(self, rgb: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
        h, w = rgb.shape[:2]
        tw = min(self._cfg.thumbnail_width, w)
        th = max(1, round(h * tw / w))
        code = cv2.COLOR_RGB2GRAY
        if rgb.strides[2] < 0 and rgb[:, :, ::-1].flags.c_contiguous:
            rgb, code = rgb[:, :, ::-1], cv2.COLOR_BGR2GRAY  # a bgr8 message seen as RGB: use its own buffer
        # Pick pixels at twice the thumbnail size (nearest neighbour: no copy of the frame), then
        # average 2x2 (area): 0.03 ms for 640x480, where a strided numpy copy took 0.4 ms.
        if w > 2 * tw and h > 2 * th:
            rgb = cast("npt.NDArray[np.uint8]", cv2.resize(rgb, (2 * tw, 2 * th), interpolation=cv2.INTER_NEAREST))
        grey = cv2.cvtColor(np.ascontiguousarray(rgb), code)
        return cast("npt.NDArray[np.uint8]", cv2.resize(grey, (tw, th), interpolation=cv2.INTER_AREA))

    def decide(
        self, rgb: npt.NDArray[np.uint8], stamp_ns: int, *, min_interval_s: float = 0.0, budget_ok: bool = True, urgent: bool = False
    ) -> GateDecision:
        """Decide whether to admit a frame, and update the state.

        Args:
            rgb: ``(H, W, 3)`` uint8 RGB frame.
            stamp_ns: The frame's capture stamp in nanoseconds.
            min_interval_s: Shortest time between two admissions on this camera that the
                encoder sustains (``AdmissionBudget.camera_interval_s``); frames sooner are
                rejected as ``budget``.
            budget_ok: False when the encoder's shared budget has no room for this frame now
                (``AdmissionBudget.allows``): a frame the gate would admit is rejected as ``budget``.
            urgent: A trigger on this camera is deciding (``TriggerEngine.pending``): admit at up
                to ``max_rate_hz`` even if nothing changed.

        Returns:
            The decision with its reason and measurements.
        """
        cfg = self._cfg
        grey = self._thumbnail(rgb)
        sharpness = float(cv2.Laplacian(grey, cv2.CV_32F).var())
        thumb = grey.astype(np.float32)
        cur = _Reference(thumb, *_stats(grey))
        prev, ref = self._prev, self._ref
        restart = (
            ref is None
            or prev is None
            or self._last_admit_ns is None
            or self._prev_ns is None
            or ref.thumb.shape != thumb.shape
            or stamp_ns < self._prev_ns  # time jumped back (bag loop, restarted camera)
        )
        if restart:
            self._reset(thumb.shape)
            self._prev, self._prev_ns = cur, stamp_ns
            if budget_ok:
                return self._admit(cur, stamp_ns, GateDecision(True, "first", 1.0, sharpness, 1.0, 1.0))
            return GateDecision(False, "budget", 1.0, sharpness, 1.0, 1.0)
        assert ref is not None and prev is not None and self._last_admit_ns is not None
        # Frame to frame: noise, what moves, where it starts to move, whether the light still changes.
        step = np.abs(cur.thumb - _matched(prev, cur))
        threshold = self._threshold(step)
        moved = _coherent(step > threshold)
        activity = float(np.count_nonzero(moved)) / moved.size
        was_quiet = self._last_active_ns is None or stamp_ns - self._last_active_ns >= round(ONSET_QUIET_S * 1e9)
        onset = 1.0 if self._is_cut(step) else self._fresh(moved, stamp_ns)
        if activity >= cfg.onset_threshold or onset >= 1.0:
            self._last_active_ns = stamp_ns
        light_step = abs(cur.median - prev.median)
        self._prev, self._prev_ns = cur, stamp_ns
        # Against the reference: what changed since the memory last saw this camera.
        changed = _coherent(np.abs(cur.thumb - _matched(ref, cur)) > threshold)
        motion = float(np.count_nonzero(changed)) / changed.size
        lighting = abs(cur.median - ref.median)
        gain = cur.spread / ref.spread
        measured = GateDecision(False, "static", motion, sharpness, onset, activity, lighting, self._noise)

        elapsed_s = (stamp_ns - self._last_admit_ns) * 1e-9
        reason, rate_hz, burst = "static", 0.0, self._burst_left
        if onset >= cfg.onset_threshold:
            # New motion: at once; a burst of frames only when the scene was still before.
            reason, rate_hz, burst = "onset", cfg.max_rate_hz, cfg.onset_frames - 1 if was_quiet else 0
        elif activity >= cfg.onset_threshold or motion >= cfg.motion_threshold:
            if self._burst_left > 0:
                reason, rate_hz, burst = "onset", cfg.max_rate_hz, self._burst_left - 1
            else:
                reason, rate_hz = "motion", cfg.motion_rate_hz
        elif (lighting >= LIGHTING_SHIFT or max(gain, 1.0 / gain) >= LIGHTING_GAIN) and light_step < LIGHTING_SETTLED:
            reason, rate_hz = "lighting", cfg.motion_rate_hz
        elif elapsed_s >= cfg.keyframe_interval_s:
            reason = "keyframe"
        if urgent:  # a trigger waits for its next frames: give them at the ceiling rate
            reason, rate_hz = ("trigger" if reason == "static" else reason), cfg.max_rate_hz
        if reason == "static":
            return measured
        caps = [r for r in (rate_hz, cfg.max_rate_hz) if r > 0]
        if caps and elapsed_s < 1.0 / min(caps) - 1e-6:
            # Too soon for its reason; still a keyframe if one is due (never admit less than a still scene).
            ceiling_ok = cfg.max_rate_hz <= 0 or elapsed_s >= 1.0 / cfg.max_rate_hz - 1e-6
            if not (ceiling_ok and elapsed_s >= cfg.keyframe_interval_s):
                return _with(measured, "rate")
            reason = "keyframe"
        if elapsed_s < min_interval_s - 1e-6 or not budget_ok:
            return _with(measured, "budget")
        if cfg.blur_min_variance > 0 and sharpness < cfg.blur_min_variance:
            return _with(measured, "blur")
        self._burst_left = burst if reason == "onset" else 0
        if onset >= cfg.onset_threshold:
            self._onset_admitted(stamp_ns)
        return self._admit(cur, stamp_ns, _with(measured, reason, admitted=True))

    def _reset(self, shape: tuple[int, ...]) -> None:
        rows, cols = math.ceil(shape[0] / CELL_PX), math.ceil(shape[1] / CELL_PX)
        self._cell_active_ns = np.full((rows, cols), np.iinfo(np.int64).min // 2, np.int64)
        self._cell_woke_ns = self._cell_active_ns.copy()
        self._pixel_var = None
        self._noise = 0.0
        self._typical_step = 0.0
        self._burst_left = 0
        self._last_active_ns = None

    def _threshold(self, step: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """Per-pixel change threshold from the noise now and each pixel's own recent residuals; learns from ``step``."""
        self._noise = 1.4826 * float(np.median(step))  # most pixels hold still: the median residual is noise
        floor = max(float(self._cfg.motion_pixel_delta), NOISE_SIGMAS * self._noise)
        if self._pixel_var is None:  # the first residual is all there is to learn from
            self._pixel_var, self._steps = np.square(step), 1
        # Leaves and ripples move from pixel to pixel: a pixel is at least as noisy as its surroundings.
        local = np.maximum(self._pixel_var, cv2.blur(self._pixel_var, (POOL_PX, POOL_PX)))
        threshold = np.maximum(NOISE_SIGMAS * np.sqrt(local), floor)
        # A plain mean over the first frames, then a running mean: learns a waving tree in a few frames.
        self._steps += 1
        # One big change (an object appearing) must not teach the pixel that it is noisy: a
        # frame's residual counts for at most twice the pixel's present threshold.
        learned = np.minimum(np.square(step), np.square(2.0 * threshold))
        self._pixel_var += max(NOISE_ALPHA, 1.0 / self._steps) * (learned - self._pixel_var)
        return cast("npt.NDArray[np.float32]", threshold)

    def _is_cut(self, step: npt.NDArray[np.float32]) -> bool:
        """A cut or jump: most of the image changes at once, far more than it usually does."""
        mean_step = float(step.mean())
        typical, self._typical_step = self._typical_step, self._typical_step + NOISE_ALPHA * (mean_step - self._typical_step)
        wide = float(np.count_nonzero(step > self._cfg.motion_pixel_delta)) / step.size
        return wide >= CUT_FRACTION and mean_step >= CUT_RATIO * typical

    def _fresh(self, moved: npt.NDArray[np.bool_], stamp_ns: int) -> float:
        """Share of the image moving in cells that woke up lately after ``ONSET_QUIET_S`` of stillness (theirs and their neighbours')."""
        assert self._cell_active_ns is not None and self._cell_woke_ns is not None
        rows, cols = self._cell_active_ns.shape
        padded = np.zeros((rows * CELL_PX, cols * CELL_PX), np.bool_)
        padded[: moved.shape[0], : moved.shape[1]] = moved
        per_cell = padded.reshape(rows, CELL_PX, cols, CELL_PX).sum(axis=(1, 3))
        active = per_cell > 0
        # A cell wakes when it moves while neither it nor a neighbour moved lately (objects cross cell borders).
        recent = self._cell_active_ns >= stamp_ns - round(ONSET_QUIET_S * 1e9)
        near = cv2.dilate(recent.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
        self._cell_woke_ns[active & ~near] = stamp_ns
        young = active & (self._cell_woke_ns >= stamp_ns - round(ONSET_WINDOW_S * 1e9))
        self._cell_active_ns[active] = stamp_ns
        return int(per_cell[young].sum()) / moved.size

    def _onset_admitted(self, stamp_ns: int) -> None:
        """An onset was admitted: the cells that made it no longer count towards the next one."""
        assert self._cell_woke_ns is not None
        self._cell_woke_ns[self._cell_woke_ns >= stamp_ns - round(ONSET_WINDOW_S * 1e9)] = np.iinfo(np.int64).min // 2

    def _admit(self, cur: _Reference, stamp_ns: int, decision: GateDecision) -> GateDecision:
        self._ref = cur
        self._last_admit_ns = stamp_ns
        return decision


def _matched(ref: _Reference, cur: _Reference) -> npt.NDArray[np.float32]:
    """``ref``'s thumbnail with ``cur``'s median and spread: a global gain and offset removed."""
    gain = cur.spread / ref.spread
    return cast("npt.NDArray[np.float32]", (ref.thumb - ref.median) * gain + cur.median)


def _coherent(mask: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
    """Changed pixels with a changed 4-neighbour (isolated specks are noise, not motion)."""
    m = mask.astype(np.uint8)
    kernel = np.array([[0, 1, 0], [1, 0, 1], [0, 1, 0]], np.uint8)
    neighbours = cv2.filter2D(m, -1, kernel, borderType=cv2.BORDER_CONSTANT)
    return mask & (neighbours > 0)


def _with(d: GateDecision, reason: str, *, admitted: bool = False) -> GateDecision:
    return GateDecision(admitted, reason, d.motion, d.sharpness, d.onset, d.activity, d.lighting, d.noise)
