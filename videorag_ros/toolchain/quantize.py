"""onnxruntime int8 quantization of exported towers, behind one accuracy/speed gate.

Modes:

- ``dynamic``: weight MatMul/Gemm nodes only (int8 weights, activations quantized on
  the fly). Convolutions are never dynamically quantized: onnxruntime runs
  ``ConvInteger`` several times slower than fp32.
- ``static``: QDQ (per-channel int8 weights, uint8 activations) calibrated on frames
  fed through :func:`preprocess_batch` (``--calib-dir`` images, or rendered scenes),
  or on prompts for a text tower.

Gate (:func:`accuracy_gate`, shared with the TensorRT engine builder): the mean cosine
of the candidate's embeddings vs the fp32 reference on the calibration inputs must be
``>= min_cosine`` and its median batch-1 latency must not exceed the reference's
(both measured interleaved, after warm-up). A refused artefact is deleted and the
manifest is left alone; :class:`GateError` carries the figures.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
import yaml

from videorag_ros.core.encoder.manifest import Manifest, fp32_reference_file, load_manifest, sha256_file
from videorag_ros.core.encoder.preprocess import PreprocessSpec, preprocess_batch
from videorag_ros.core.errors import ConfigError, EncoderError
from videorag_ros.core.frames import bgr_to_rgb

log = logging.getLogger(__name__)

MODES = ("dynamic", "static")
TOWERS = ("image", "text")
MIN_COSINE = 0.99
IMAGE_EXTS = (".jpg", ".jpeg", ".png", ".bmp")

Progress = Callable[[str], None]

STATIC_OP_TYPES = ("Conv", "MatMul", "Gemm")


class Runnable(Protocol):
    """A forward pass (``OnnxSession``, ``TensorRTEngine``)."""

    def run(self, x: npt.NDArray[Any]) -> npt.NDArray[np.float32]: ...


class GateError(EncoderError):
    """A reduced-precision artefact failed the accuracy/speed gate; ``report`` holds the figures."""

    def __init__(self, msg: str, report: GateReport) -> None:
        super().__init__(msg)
        self.report = report


@dataclass(frozen=True, slots=True)
class GateReport:
    """Measured figures of one gate decision.

    Attributes:
        label: What was gated (e.g. ``image int8 (static)``).
        cosine: Mean cosine of candidate vs reference embeddings.
        reference_ms: Median batch-1 latency of the fp32 reference.
        candidate_ms: Median batch-1 latency of the candidate.
        min_cosine: The cosine floor.
        max_latency_ratio: Largest allowed ``candidate_ms / reference_ms``.
        n_inputs: Inputs the cosine was averaged over.
        runs: Timed runs per model.
        reasons: Why it failed (empty when it passed).
    """

    label: str
    cosine: float
    reference_ms: float
    candidate_ms: float
    min_cosine: float
    max_latency_ratio: float
    n_inputs: int
    runs: int
    reasons: tuple[str, ...] = field(default_factory=tuple)

    @property
    def passed(self) -> bool:
        """True when every criterion held."""
        return not self.reasons

    @property
    def speedup(self) -> float:
        """``reference_ms / candidate_ms`` (> 1: the candidate is faster)."""
        return self.reference_ms / self.candidate_ms if self.candidate_ms > 0 else float("inf")

    def describe(self) -> str:
        """One line with every figure and the verdict."""
        verdict = "pass" if self.passed else "REFUSED: " + "; ".join(self.reasons)
        return (
            f"{self.label}: mean cosine {self.cosine:.5f} (floor {self.min_cosine}), median batch-1 latency "
            f"{self.candidate_ms:.3f} ms vs fp32 {self.reference_ms:.3f} ms ({self.speedup:.2f}x) -> {verdict}"
        )

    def to_dict(self) -> dict[str, Any]:
        """Manifest-friendly dict with rounded figures."""
        d = asdict(self)
        d.update(cosine=round(self.cosine, 6), reference_ms=round(self.reference_ms, 4), candidate_ms=round(self.candidate_ms, 4))
        d["reasons"] = list(self.reasons)
        d["passed"] = self.passed
        return d


def _embed(model: Runnable, x: np.ndarray, batch: int = 16) -> npt.NDArray[np.float32]:
    return np.concatenate([np.asarray(model.run(x[i : i + batch]), np.float32) for i in range(0, len(x), batch)])


def mean_cosine(a: npt.NDArray[np.float32], b: npt.NDArray[np.float32]) -> float:
    """Mean row-wise cosine similarity of two ``(N, D)`` arrays."""
    na = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)
    nb = b / np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-12)
    return float((na * nb).sum(axis=1).mean())


def median_latencies_ms(models: Sequence[Runnable], x: np.ndarray, *, runs: int = 50, warmup: int = 10) -> list[float]:
    """Median latency of each model on the same input, runs interleaved so load changes hit all alike."""
    for m in models:
        for _ in range(warmup):
            m.run(x)
    times: list[list[float]] = [[] for _ in models]
    for _ in range(runs):
        for k, m in enumerate(models):
            t0 = time.perf_counter()
            m.run(x)
            times[k].append(time.perf_counter() - t0)
    return [float(np.median(t) * 1e3) for t in times]


def accuracy_gate(
    reference: Runnable,
    candidate: Runnable,
    inputs: np.ndarray,
    *,
    label: str,
    min_cosine: float = MIN_COSINE,
    max_latency_ratio: float = 1.0,
    runs: int = 50,
    warmup: int = 10,
) -> GateReport:
    """Compare a reduced-precision artefact with its fp32 reference.

    Args:
        reference: The fp32 model.
        candidate: The int8/fp16 model or engine.
        inputs: Calibration frames ``(N, 3, H, W)`` float32 (preprocessed) or prompts ``(N, L)`` int64.
        label: Names the artefact in reports.
        min_cosine: Mean-cosine floor.
        max_latency_ratio: Largest allowed candidate/reference median latency (1.0: not slower).
        runs: Timed batch-1 runs per model after ``warmup`` (at least 50 for a decision).
        warmup: Untimed runs first.

    Returns:
        The report; check ``passed`` (or call :func:`require_pass`).
    """
    cos = mean_cosine(_embed(reference, inputs), _embed(candidate, inputs))
    ref_ms, cand_ms = median_latencies_ms([reference, candidate], inputs[:1], runs=runs, warmup=warmup)
    reasons = []
    if not cos >= min_cosine:  # NaN fails too
        reasons.append(f"mean cosine {cos:.5f} < {min_cosine}")
    if cand_ms > ref_ms * max_latency_ratio:
        reasons.append(f"median latency {cand_ms:.3f} ms > fp32 {ref_ms:.3f} ms x {max_latency_ratio:g}")
    report = GateReport(label, cos, ref_ms, cand_ms, min_cosine, max_latency_ratio, len(inputs), runs, tuple(reasons))
    log.info("gate %s", report.describe())
    return report


def require_pass(report: GateReport) -> GateReport:
    """Raise :class:`GateError` (message with the figures) unless the report passed."""
    if not report.passed:
        raise GateError(f"accuracy gate refused {report.describe()}", report)
    return report


# --------------------------------------------------------------------------- calibration inputs


def calibration_frames(spec: PreprocessSpec, *, calib_dir: str | Path | None = None, n: int = 64, seed: int = 11) -> npt.NDArray[np.float32]:
    """Preprocessed calibration frames from image files or the scene renderer.

    Args:
        spec: The model's preprocessing recipe (frames go through ``preprocess_batch``).
        calib_dir: Directory of ``.jpg/.png/.bmp`` images (sorted, first ``n``); ``None``: render scenes.
        n: Number of frames.
        seed: Scene sampling seed.

    Returns:
        ``(n, 3, H, W)`` float32.

    Raises:
        ConfigError: ``calib_dir`` is missing or holds no readable image.
    """
    if calib_dir is not None:
        import cv2

        d = Path(calib_dir).expanduser()
        if not d.is_dir():
            msg = f"--calib-dir '{d}' is not a directory"
            raise ConfigError(msg)
        files = sorted(p for p in d.iterdir() if p.suffix.lower() in IMAGE_EXTS)[:n]
        frames = [bgr_to_rgb(img) for img in (cv2.imread(str(p), cv2.IMREAD_COLOR) for p in files) if img is not None]
        if not frames:
            msg = f"--calib-dir '{d}' holds no readable {'/'.join(IMAGE_EXTS)} image"
            raise ConfigError(msg)
        return preprocess_batch(frames, spec)
    from videorag_ros.sim import CLASSES, render, sample_scene

    rng = np.random.default_rng(seed)
    rendered: list[npt.NDArray[np.uint8]] = [render(sample_scene(CLASSES[i % len(CLASSES)], rng), width=320, height=240) for i in range(n)]
    return preprocess_batch(rendered, spec)


def calibration_prompts(n: int = 64, *, seed: int = 11) -> list[str]:
    """Canonical class prompts, paraphrases and rendered-scene captions (``n`` in all)."""
    from videorag_ros.sim import CLASSES, PARAPHRASES, caption, class_prompts, sample_scene

    prompts = [p for ps in class_prompts().values() for p in ps] + [p for ps in PARAPHRASES.values() for p in ps]
    rng = np.random.default_rng(seed)
    while len(prompts) < n:
        prompts.append(caption(sample_scene(CLASSES[len(prompts) % len(CLASSES)], rng), rng))
    return prompts[:n]


def calibration_inputs(manifest: Manifest, tower: str, *, calib_dir: str | Path | None = None, n: int = 64) -> np.ndarray:
    """Calibration/gate inputs for one tower of a model (frames or token ids)."""
    if tower == "image":
        return calibration_frames(manifest.image.preprocess, calib_dir=calib_dir, n=n)
    from videorag_ros.core.encoder.tokenizers import load_tokenizer

    return load_tokenizer(manifest).encode(calibration_prompts(n))


# --------------------------------------------------------------------------- quantizers


def _reader(input_name: str, data: np.ndarray, batch: int = 8) -> Any:
    """An onnxruntime ``CalibrationDataReader`` over fixed batches of ``data``."""
    from onnxruntime.quantization import CalibrationDataReader

    class _Reader(CalibrationDataReader):  # type: ignore[misc]
        def __init__(self) -> None:
            self._batches = [data[i : i + batch] for i in range(0, len(data), batch)]
            self._it: Iterator[np.ndarray] = iter(self._batches)

        def get_next(self) -> dict[str, np.ndarray] | None:
            b = next(self._it, None)
            return None if b is None else {input_name: b}

        def rewind(self) -> None:
            self._it = iter(self._batches)

    return _Reader()


def weight_matmuls(path: Path) -> list[str]:
    """Names of MatMul/Gemm nodes whose weight input is an initializer (what dynamic mode quantizes)."""
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    inits = {i.name for i in model.graph.initializer}
    consts = {o for n in model.graph.node if n.op_type == "Constant" for o in n.output}
    return [n.name for n in model.graph.node if n.op_type in ("MatMul", "Gemm") and len(n.input) > 1 and (n.input[1] in inits or n.input[1] in consts)]


def _named_nodes(src: Path, dst: Path) -> Path:
    """Copy of ``src`` whose nodes all have names (the quantizer selects nodes by name)."""
    import onnx

    model = onnx.load(str(src))
    for i, node in enumerate(model.graph.node):
        if not node.name:
            node.name = f"{node.op_type}_{i}"
    onnx.save(model, str(dst))
    return dst


def quantize_file(src: Path, dst: Path, *, mode: str, input_name: str, calibration: np.ndarray | None = None, op_types: Sequence[str] | None = None) -> None:
    """Write an int8 version of ``src`` to ``dst`` (no gate; see ``quantize_model``).

    Args:
        src: fp32 ONNX model.
        dst: Output path.
        mode: ``dynamic`` (weight MatMul/Gemm only) or ``static`` (QDQ, needs ``calibration``).
        input_name: Graph input fed with calibration data.
        calibration: Inputs for static calibration.
        op_types: Static mode: the ops to quantize (default Conv, MatMul, Gemm; a CNN fuses
            better with its activation ops quantized too).

    Raises:
        EncoderError: Nothing to quantize, or the quantizer failed.
    """
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_dynamic, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    with tempfile.TemporaryDirectory(dir=dst.parent) as tmp:
        named = _named_nodes(src, Path(tmp) / "named.onnx")
        try:
            if mode == "dynamic":
                pre = Path(tmp) / "pre.onnx"
                quant_pre_process(str(named), str(pre), skip_symbolic_shape=True)
                nodes = weight_matmuls(pre)
                if not nodes:
                    msg = f"'{src.name}' has no MatMul/Gemm with weight initialisers; dynamic mode never quantizes Conv (ConvInteger is slower than fp32): use --mode static"
                    raise EncoderError(msg)
                quantize_dynamic(
                    str(pre), str(dst), weight_type=QuantType.QInt8, op_types_to_quantize=["MatMul", "Gemm"], nodes_to_quantize=nodes, per_channel=False
                )
            elif mode == "static":
                if calibration is None or len(calibration) == 0:
                    msg = "static quantization needs calibration inputs"
                    raise EncoderError(msg)
                pre = Path(tmp) / "pre.onnx"
                quant_pre_process(str(named), str(pre), skip_symbolic_shape=True)
                quantize_static(
                    str(pre),
                    str(dst),
                    _reader(input_name, calibration),
                    quant_format=QuantFormat.QDQ,
                    activation_type=QuantType.QUInt8,
                    weight_type=QuantType.QInt8,
                    per_channel=True,
                    calibrate_method=CalibrationMethod.MinMax,
                    op_types_to_quantize=list(op_types or STATIC_OP_TYPES),
                    extra_options={"ActivationSymmetric": False, "WeightSymmetric": True},
                )
            else:
                msg = f"quantization mode '{mode}' is not one of {MODES}"
                raise ConfigError(msg)
        except (EncoderError, ConfigError):
            raise
        except Exception as err:  # onnxruntime.quantization raises assorted types
            msg = f"{mode} quantization of '{src.name}' failed: {err}"
            raise EncoderError(msg) from err


@dataclass(frozen=True, slots=True)
class QuantizeResult:
    """A quantized model directory and the gate reports of its towers."""

    directory: Path
    manifest: Path
    reports: tuple[GateReport, ...]


def _copy_model(manifest: Manifest, out: Path) -> None:
    """Link (or copy) every file the manifest names into ``out``."""
    names = {manifest.image.file, *(p for p in (manifest.tokenizer_file, manifest.reference_image_file, manifest.reference_text_file) if p)}
    if manifest.text is not None:
        names.add(manifest.text.file)
    for src in names:
        dst = out / src.relative_to(manifest.directory)
        dst.parent.mkdir(parents=True, exist_ok=True)
        if dst.exists():
            if dst.stat().st_size == src.stat().st_size and sha256_file(dst) == sha256_file(src):
                continue
            dst.unlink()
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)


def quantize_model(
    model: str | Path,
    out_dir: str | Path,
    *,
    mode: str,
    tower: str = "both",
    calib_dir: str | Path | None = None,
    n_calib: int = 64,
    min_cosine: float = MIN_COSINE,
    max_latency_ratio: float = 1.0,
    runs: int = 50,
    threads: int = 1,
    progress: Progress | None = None,
) -> QuantizeResult:
    """Quantize a model's towers to int8 and write a new model directory if every gate passes.

    Args:
        model: Source model name or directory (never modified).
        out_dir: New model directory: the source files plus ``<tower>_int8.onnx`` and an updated manifest.
        mode: ``dynamic`` or ``static``.
        tower: ``image``, ``text`` or ``both``.
        calib_dir: Calibration images (default: rendered scenes).
        n_calib: Calibration frames/prompts (also the gate's cosine inputs).
        min_cosine: Gate cosine floor.
        max_latency_ratio: Gate latency ceiling relative to fp32 (1.0: not slower).
        runs: Timed gate runs per model (>= 50).
        threads: onnxruntime intra-op threads for the gate (CPU EP).
        progress: Callback for progress lines (default: the log).

    Returns:
        The directory, manifest and gate reports.

    Raises:
        GateError: A tower was refused (figures in the message); nothing is written.
        ConfigError: Bad arguments or ``out_dir`` is the source directory.
        EncoderError: Quantization failed.
    """
    from videorag_ros.core.encoder.onnx_backend import OnnxSession

    emit = progress or log.info
    if mode not in MODES:
        msg = f"--mode '{mode}' is not one of {MODES}"
        raise ConfigError(msg)
    towers = TOWERS if tower == "both" else (tower,)
    if tower != "both" and tower not in TOWERS:
        msg = f"--tower '{tower}' is not one of image, text, both"
        raise ConfigError(msg)
    if runs < 50:
        msg = f"--runs {runs} is too few for a latency decision; expected >= 50"
        raise ConfigError(msg)
    manifest = load_manifest(str(model))
    out = Path(out_dir).expanduser()
    if out.resolve() == manifest.directory:
        msg = f"--out '{out}' is the source model directory; quantize into a new directory (the source is never modified)"
        raise ConfigError(msg)
    if "text" in towers and manifest.text is None:
        msg = f"model '{manifest.name}' has no text tower to quantize"
        raise ConfigError(msg)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    reports: list[GateReport] = []
    try:
        for t in towers:
            spec = manifest.image if t == "image" else manifest.text
            assert spec is not None
            fp32 = fp32_reference_file(manifest, t)
            tmp_dst = out / f".{t}_int8.onnx.partial"
            emit(
                f"{t}: calibration inputs ({n_calib} {'frames from ' + str(calib_dir) if t == 'image' and calib_dir else 'rendered frames' if t == 'image' else 'prompts'})"
            )
            data = calibration_inputs(manifest, t, calib_dir=calib_dir, n=n_calib)
            emit(f"{t}: {mode} int8 quantization of {fp32.name} ...")
            t0 = time.perf_counter()
            written.append(tmp_dst)
            quantize_file(fp32, tmp_dst, mode=mode, input_name=spec.input_name, calibration=data)
            emit(f"{t}: quantized in {time.perf_counter() - t0:.1f} s; gate: cosine on {len(data)} inputs, {runs} timed batch-1 runs each ...")
            ref = OnnxSession(fp32, input_name=spec.input_name, output_name=spec.output_name, backend="cpu", threads=threads)
            cand = OnnxSession(tmp_dst, input_name=spec.input_name, output_name=spec.output_name, backend="cpu", threads=threads)
            report = accuracy_gate(
                ref, cand, data, label=f"{manifest.name} {t} int8 ({mode})", min_cosine=min_cosine, max_latency_ratio=max_latency_ratio, runs=runs
            )
            reports.append(report)
            emit(f"{t}: {report.describe()}")
        refused = [r for r in reports if not r.passed]
        if refused:
            msg = "accuracy gate refused " + " | ".join(r.describe() for r in refused) + "; no artefact written, manifest unchanged"
            raise GateError(msg, refused[0])
        _copy_model(manifest, out)
        for t in towers:
            (out / f".{t}_int8.onnx.partial").replace(out / f"{t}_int8.onnx")
        path = _write_quantized_manifest(manifest, out, towers, mode, reports)
    finally:
        for p in written:
            p.unlink(missing_ok=True)
    emit(f"wrote {path}")
    return QuantizeResult(out, path, tuple(reports))


def _write_quantized_manifest(manifest: Manifest, out: Path, towers: Sequence[str], mode: str, reports: Sequence[GateReport]) -> Path:
    from videorag_ros.toolchain.export import write_manifest

    doc: dict[str, Any] = yaml.safe_load((manifest.directory / "manifest.yaml").read_text(encoding="utf-8"))
    ref = dict(doc.get("reference") or {})
    for t in towers:
        key = "image_encoder" if t == "image" else "text_encoder"
        fp32 = fp32_reference_file(manifest, t)
        ref.setdefault(f"{t}_file", str(fp32.relative_to(manifest.directory)))
        ref.setdefault(f"{t}_sha256", sha256_file(fp32))
        doc[key]["file"] = f"{t}_int8.onnx"
        doc[key]["sha256"] = sha256_file(out / f"{t}_int8.onnx")
    doc["reference"] = ref
    files = [doc["image_encoder"]["file"]] + ([doc["text_encoder"]["file"]] if "text_encoder" in doc else [])
    int8 = [f.endswith("_int8.onnx") for f in files]
    doc["precision"] = "int8" if all(int8) else "mixed"
    quant = dict(doc.get("quantization") or {})
    for t, r in zip(towers, reports, strict=True):
        quant[t] = {"mode": mode, "file": f"{t}_int8.onnx", **r.to_dict()}
    doc["quantization"] = quant
    return write_manifest(out, doc)
