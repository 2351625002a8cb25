"""The image–text encoder used by the pipeline, built from a model manifest.

``load_encoder`` runs the towers in onnxruntime with the best execution provider it
offers (TensorRT EP, CUDA EP, CPU EP). Image encoding reports the preprocessing and
forward-pass times separately so the pipeline can account for both.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from videorag_ros.core.encoder.manifest import Manifest, load_manifest
from videorag_ros.core.encoder.onnx_backend import OnnxSession
from videorag_ros.core.encoder.preprocess import preprocess_batch
from videorag_ros.core.encoder.threads import ThreadPlan, plan_threads
from videorag_ros.core.encoder.tokenizers import TextTokenizer, load_tokenizer
from videorag_ros.core.errors import EncoderError, ModelLoadError

log = logging.getLogger(__name__)


class Forward(Protocol):
    """A backend's forward pass: one input batch → ``(N, D)`` float32."""

    providers: list[str]

    def run(self, x: npt.NDArray[np.generic]) -> npt.NDArray[np.float32]: ...


@dataclass(frozen=True, slots=True)
class ImageEmbedding:
    """Embeddings of a batch of frames with the time each step took.

    Attributes:
        vectors: ``(N, D)`` float32, L2-normalised.
        preprocess_ms: Resize + normalise time.
        forward_ms: Backend forward-pass time.
    """

    vectors: npt.NDArray[np.float32]
    preprocess_ms: float
    forward_ms: float


def _normalise(v: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    n = np.linalg.norm(v, axis=1, keepdims=True)
    out: npt.NDArray[np.float32] = (v / np.maximum(n, 1e-12)).astype(np.float32, copy=False)
    return out


class Encoder:
    """Image and text towers of one model plus its tokenizer."""

    def __init__(self, manifest: Manifest, image: Forward, text: Forward | None, *, threads: ThreadPlan | None = None) -> None:
        """Wrap loaded backends; use ``load_encoder`` to build one."""
        self.manifest = manifest
        self._image = image
        self._text = text
        self.threads = threads
        self._tokenizer: TextTokenizer | None = None
        if text is not None and manifest.tokenizer_file is not None:
            self._tokenizer = load_tokenizer(manifest)

    @property
    def name(self) -> str:
        """Model name from the manifest."""
        return self.manifest.name

    @property
    def dim(self) -> int:
        """Embedding dimension."""
        return self.manifest.embedding_dim

    @property
    def backend(self) -> str:
        """The execution provider (or engine) actually running the image tower."""
        return self._image.providers[0]

    def describe(self) -> str:
        """One line naming model, precision and backend (and CPU threads on the CPU), for logs and reports."""
        cpu = self.threads is not None and self.backend == "CPUExecutionProvider"
        threads = f", {self.threads.threads} thread{'s' if self.threads.threads > 1 else ''}" if cpu and self.threads else ""
        return f"{self.name} ({self.manifest.precision}, {self.backend}{threads})"

    def encode_images(self, frames: list[npt.NDArray[np.uint8]]) -> ImageEmbedding:
        """Embed RGB frames.

        Args:
            frames: ``(H, W, 3)`` uint8 RGB frames.

        Returns:
            ``ImageEmbedding`` with ``(N, D)`` float32 L2-normalised vectors.

        Raises:
            EncoderError: Bad frames or a failed forward pass.
        """
        t0 = time.perf_counter()
        x = preprocess_batch(frames, self.manifest.image.preprocess)
        t1 = time.perf_counter()
        y = self._image.run(x)
        t2 = time.perf_counter()
        self._check_dim(y)
        return ImageEmbedding(_normalise(y), (t1 - t0) * 1e3, (t2 - t1) * 1e3)

    def encode_texts(self, texts: list[str]) -> npt.NDArray[np.float32]:
        """Embed text prompts.

        Args:
            texts: Prompts (non-empty strings).

        Returns:
            ``(N, D)`` float32, L2-normalised.

        Raises:
            EncoderError: The model has no text tower, or encoding failed.
        """
        if self._text is None or self._tokenizer is None:
            msg = f"model '{self.name}' has no text encoder; use reference images for its triggers"
            raise EncoderError(msg)
        ids = self._tokenizer.encode(list(texts))
        y = self._text.run(ids)
        self._check_dim(y)
        return _normalise(y)

    def unknown_words(self, text: str) -> list[str]:
        """Words of ``text`` the tokenizer does not know (they carry no meaning to the model)."""
        if self._tokenizer is None:
            return []
        return list(self._tokenizer.unknown_words(text))

    def knows_no_word_of(self, text: str) -> bool:
        """True when ``text`` has words and the tokenizer knows none of them (its embedding would be noise)."""
        unknown = set(self.unknown_words(text))
        words = set(re.findall(r"[a-z0-9]+", text.lower()))
        return bool(unknown) and words <= unknown

    def _check_dim(self, y: npt.NDArray[np.float32]) -> None:
        if y.ndim != 2 or y.shape[1] != self.dim:
            msg = f"encoder '{self.name}' returned shape {y.shape}, manifest says embedding_dim {self.dim}"
            raise EncoderError(msg)


def load_encoder(model: str, *, backend: str = "auto", threads: int = 0, verify: bool = True) -> Encoder:
    """Load a model by name or directory and pick its backend.

    Args:
        model: Model name (see ``manifest.search_path``) or directory.
        backend: ``auto`` | ``tensorrt`` | ``cuda`` | ``cpu``.
        threads: onnxruntime threads of the image tower on the CPU; 0 = auto (``threads.plan_threads``).
            The text tower, off the hot path (trigger set-up, queries), runs on one thread.
        verify: Check file hashes against the manifest.

    Raises:
        ModelLoadError: Missing or corrupt model files.
        ConfigError: A backend this machine cannot provide.
    """
    manifest = load_manifest(model, verify=verify)
    plan = plan_threads(threads)
    img = manifest.image
    image: Forward | None = None
    if backend in ("auto", "tensorrt"):
        from videorag_ros.core.encoder import tensorrt_runtime

        if tensorrt_runtime.tensorrt_available():
            try:
                image = tensorrt_runtime.load_cached_engine(manifest)
            except EncoderError as err:
                if backend == "tensorrt":
                    raise
                log.warning("cached TensorRT engine unusable, falling back to onnxruntime: %s", err)
    if image is None:
        image = OnnxSession(img.file, input_name=img.input_name, output_name=img.output_name, backend=backend, threads=plan.threads, spin=plan.spin)
        if image.providers[0] == "CPUExecutionProvider":
            log.info("image tower on the CPU: %s", plan.why)
    log.info(
        "image tower backend: %s (preference: TensorRT engine -> ORT TensorRT EP -> CUDA EP -> CPU EP; requested '%s')",
        image.providers[0],
        backend,
    )
    text = None
    if manifest.text is not None:
        txt = manifest.text
        # The text tower runs off the hot path (trigger set-up, queries): one CPU thread, so a
        # query never takes the cores the image tower needs for the next frame.
        text = OnnxSession(txt.file, input_name=txt.input_name, output_name=txt.output_name, backend="cpu", threads=1, spin=False)
    enc = Encoder(manifest, image, text, threads=plan)
    log.info("encoder %s", enc.describe())
    return enc


__all__ = ["Encoder", "EncoderError", "ImageEmbedding", "ModelLoadError", "load_encoder"]
