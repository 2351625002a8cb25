"""The offline describer: no language model, only the loaded image–text model and a caption bank.

It shows the whole slow loop on a robot without a model server (and in ``make demo``): a moment
is "described" by the caption of a fixed bank that best matches its frames' embeddings; a
trigger is "verified" by re-scoring the latest frames with the trigger's own prompts and model
(not an independent check, and it says so); a question is "answered" by the retrieved moments
and their best captions, without interpreting the question. Every text it produces starts by
saying what it is, and its ``source`` is ``offline caption ranker (<model>; no language model)``.

The bank: for videorag-tiny, the captions of its own scene grammar (sim/captions.py,
what the model was trained on), sampled with a fixed seed; for any other model, the grammar's
canonical class prompts (generic robot-scene phrases), or ``slowloop.offline_captions``.
"""

from __future__ import annotations

import os
import stat
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from videorag_ros.core.config import TriggerConfig
from videorag_ros.core.encoder.encoder import Encoder
from videorag_ros.core.errors import ConfigError
from videorag_ros.core.frames import bgr_to_rgb
from videorag_ros.core.timefmt import format_stamp
from videorag_ros.core.triggers import TriggerEngine, build_goals
from videorag_ros.slowloop.describer import AskMoment, FrameForModel, ModelText
from videorag_ros.slowloop.errors import SlowLoopError
from videorag_ros.slowloop.sanitize import escape_line
from videorag_ros.slowloop.verdict import CLEAR, CONFIRMED, UNCERTAIN, Verdict

GRAMMAR_MODELS = ("videorag-tiny",)  # manifest names whose bank is their own scene grammar
GRAMMAR_SAMPLES = 480
MAX_CAPTION_FILE_BYTES = 1 << 20
MAX_CAPTIONS = 5000
MAX_CAPTION_CHARS = 200
_INTERRUPTED = "the offline describer was interrupted while building its caption bank (shutting down)"


def grammar_captions(samples: int = GRAMMAR_SAMPLES, seed: int = 0, *, interrupted: threading.Event | None = None) -> list[str]:
    """The scene grammar's canonical prompts plus ``samples`` sampled captions (deterministic, sorted).

    Raises:
        SlowLoopError: ``interrupted`` was set (the node is shutting down).
    """
    from videorag_ros.sim import CLASSES, caption, class_prompts, sample_scene

    rng = np.random.default_rng(seed)
    out = {p for prompts in class_prompts().values() for p in prompts}
    for i in range(samples):
        if interrupted is not None and interrupted.is_set():
            raise SlowLoopError(_INTERRUPTED)
        spec = sample_scene(CLASSES[i % len(CLASSES)], rng)
        out.add(caption(spec, rng))
    return sorted(out)


def generic_captions() -> list[str]:
    """Generic robot-scene captions (the grammar's canonical class prompts)."""
    from videorag_ros.sim import class_prompts

    return sorted({p for prompts in class_prompts().values() for p in prompts})


def read_captions(path: str) -> list[str]:
    """Captions from a text file, one per line (blank lines and ``#`` comments skipped).

    Raises:
        ConfigError: Not a regular file, over 1 MiB, not UTF-8, empty, or too many / too long lines.
    """
    p = Path(path)
    where = f"parameter 'slowloop.offline_captions': '{p}'"
    try:
        st = p.stat()
    except OSError as err:
        msg = f"{where} cannot be read: {err.strerror}"
        raise ConfigError(msg) from err
    if not stat.S_ISREG(st.st_mode) or st.st_size > MAX_CAPTION_FILE_BYTES:
        msg = f"{where} must be a regular file of at most {MAX_CAPTION_FILE_BYTES} bytes (got {'a non-regular file' if not stat.S_ISREG(st.st_mode) else f'{st.st_size} bytes'})"
        raise ConfigError(msg)
    try:
        fd = os.open(p, os.O_RDONLY | os.O_NONBLOCK)
        with os.fdopen(fd, "rb") as f:
            text = f.read(MAX_CAPTION_FILE_BYTES + 1).decode("utf-8")
    except (OSError, UnicodeDecodeError) as err:
        msg = f"{where} is not readable UTF-8 text: {err}"
        raise ConfigError(msg) from err
    lines = [ln.strip() for ln in text.splitlines()]
    captions = [ln for ln in lines if ln and not ln.startswith("#")]
    if not captions or len(captions) > MAX_CAPTIONS or any(len(c) > MAX_CAPTION_CHARS for c in captions):
        msg = f"{where} must hold 1..{MAX_CAPTIONS} captions of at most {MAX_CAPTION_CHARS} characters, one per line (got {len(captions)})"
        raise ConfigError(msg)
    return captions


class OfflineDescriber:
    """Caption ranking with the loaded image–text model (see the module docstring). Thread-safe."""

    def __init__(self, encoder: Encoder, *, captions: Sequence[str] | None = None) -> None:
        """Keep the encoder; the bank is encoded by ``prepare`` (on the slow loop's thread)."""
        self.encoder = encoder
        self._captions = list(captions) if captions is not None else None
        self._texts: list[str] = []
        self._bank: npt.NDArray[np.float32] | None = None
        self._engines: dict[str, TriggerEngine] = {}
        self._lock = threading.Lock()
        self._interrupted = threading.Event()

    @property
    def source(self) -> str:
        """``offline caption ranker (<model>; no language model)``."""
        return f"offline caption ranker ({escape_line(self.encoder.name)}; no language model)"

    def close(self) -> None:
        """Nothing to release."""

    def interrupt(self) -> None:
        """Stop encoding the bank at the next batch (the node is shutting down)."""
        self._interrupted.set()

    def prepare(self) -> None:
        """Encode the caption bank once (captions with no word the model knows are left out).

        The bank is encoded in batches of 4 so that ``interrupt`` (a node shutting down) stops it
        within one batch's forward passes.

        Raises:
            SlowLoopError: No caption of the bank is known to the model, or ``interrupt`` was called.
        """
        with self._lock:
            if self._bank is not None:
                return
            if self._captions is not None:
                texts = self._captions
            elif any(self.encoder.name.startswith(m) for m in GRAMMAR_MODELS):
                texts = grammar_captions(interrupted=self._interrupted)
            else:
                texts = generic_captions()
            known = []
            for t in texts:
                if self._interrupted.is_set():
                    raise SlowLoopError(_INTERRUPTED)
                if not self.encoder.knows_no_word_of(t):
                    known.append(t)
            texts = known
            if not texts:
                msg = f"no caption of the offline describer's bank has a word model '{self.encoder.name}' knows; give slowloop.offline_captions"
                raise SlowLoopError(msg)
            vecs = []
            for i in range(0, len(texts), 4):
                if self._interrupted.is_set():
                    raise SlowLoopError(_INTERRUPTED)
                vecs.append(self.encoder.encode_texts(texts[i : i + 4]))
            self._texts, self._bank = texts, np.concatenate(vecs).astype(np.float32)

    @property
    def bank_size(self) -> int:
        """Captions in the bank (0 before ``prepare``)."""
        return len(self._texts)

    def rank(self, vector: npt.NDArray[np.float32], n: int = 1) -> list[tuple[str, float]]:
        """The ``n`` captions whose embeddings are closest to ``vector`` (cosine), best first."""
        self.prepare()
        assert self._bank is not None
        sims = self._bank @ vector
        top = np.argsort(-sims)[:n]
        return [(self._texts[int(i)], float(sims[int(i)])) for i in top]

    def _vectors(self, frames: Sequence[FrameForModel]) -> list[npt.NDArray[np.float32]]:
        out: list[npt.NDArray[np.float32] | None] = [f.vector for f in frames]
        todo = [i for i, v in enumerate(out) if v is None]
        images = []
        for i in todo:
            f = frames[i]
            rgb = f.rgb if f.rgb is not None else _decode(f.jpeg) if f.jpeg is not None else None
            if rgb is None:
                msg = f"frame at {format_stamp(f.stamp_ns)} has neither pixels nor an embedding"
                raise SlowLoopError(msg)
            images.append(rgb)
        if images:
            vecs = self.encoder.encode_images(images).vectors
            for i, v in zip(todo, vecs, strict=True):
                out[i] = v
        return [v for v in out if v is not None]

    def describe(self, camera_id: str, frames: Sequence[FrameForModel], history: Sequence[str], prompt: str) -> ModelText:
        """The bank caption closest to the mean embedding of the frames."""
        t0 = time.perf_counter()
        vecs = self._vectors(frames)
        mean = np.mean(np.stack(vecs), axis=0)
        mean = (mean / max(float(np.linalg.norm(mean)), 1e-12)).astype(np.float32)
        (cap, score), *_ = self.rank(mean, 1)
        text = f'best-matching caption: "{cap}" (cosine {score:.2f} over {len(vecs)} frame(s))'
        return ModelText(text, self.source, (time.perf_counter() - t0) * 1e3)

    def _engine(self, trigger: TriggerConfig) -> TriggerEngine:
        with self._lock:
            eng = self._engines.get(trigger.name)
            if eng is None:
                eng = self._engines[trigger.name] = TriggerEngine([trigger], [build_goals(trigger, self.encoder)], logit_scale=self.encoder.manifest.logit_scale)
            return eng

    def verify(self, camera_id: str, frames: Sequence[FrameForModel], trigger: TriggerConfig) -> tuple[Verdict, ModelText]:
        """Re-score the latest (up to 3) frames with the trigger's own prompts and thresholds."""
        t0 = time.perf_counter()
        vecs = self._vectors(frames)[-3:]
        engine = self._engine(trigger)
        score = float(np.mean([engine.scores(v)[trigger.name] for v in vecs]))
        if score >= trigger.enter_threshold:
            verdict = CONFIRMED
        elif score < trigger.exit_threshold:
            verdict = CLEAR
        else:
            verdict = UNCERTAIN
        reason = (
            f"offline re-score with the trigger's own model: mean score {score:.3f} over {len(vecs)} frame(s) "
            f"(enter {trigger.enter_threshold:g}, exit {trigger.exit_threshold:g}); not an independent check"
        )
        return Verdict(verdict, reason), ModelText(reason, self.source, (time.perf_counter() - t0) * 1e3)

    def ask(self, question: str, moments: Sequence[AskMoment]) -> ModelText:
        """List the retrieved moments with their best captions (the question itself is not interpreted)."""
        t0 = time.perf_counter()
        if not moments:
            return ModelText("No language model here, and no remembered moment matches the question.", self.source, 0.0)
        lines = ["No language model here: the question is not interpreted. The moments that best match it, with the caption that best matches each:"]
        for i, am in enumerate(moments, 1):
            m = am.moment
            frames = am.frames[:1] or ([FrameForModel(m.camera_id, m.best_ns, jpeg=m.best.thumbnail)] if m.best.thumbnail else [])
            line = f"[{i}] camera '{escape_line(m.camera_id)}', {format_stamp(m.start_ns)} to {format_stamp(m.end_ns)} (match {m.score:.2f})"
            if frames:
                (cap, score), *_ = self.rank(self._vectors(frames)[0], 1)
                line += f': "{cap}" (cosine {score:.2f})'
            if m.description:
                line += f"; stored description by {escape_line(m.description_source)}: {escape_line(m.description)}"
            lines.append(line)
        return ModelText("\n".join(lines), self.source, (time.perf_counter() - t0) * 1e3)


def _decode(jpeg: bytes) -> npt.NDArray[np.uint8] | None:
    import cv2

    bgr = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    return None if bgr is None else bgr_to_rgb(bgr)
