"""Int8 quantization of the exported towers, with an accuracy and speed gate.

- Image CNN: static QDQ quantization (per-channel int8 weights, uint8
  activations) calibrated on rendered frames. Dynamic quantization would turn
  convolutions into ``ConvInteger``, which onnxruntime runs several times
  slower than fp32.
- Text transformer: dynamic quantization of the weight MatMul/Gemm nodes only.

Gate: mean cosine(int8, fp32) over >= 256 held-out inputs must be >= 0.99 and
the int8 median latency (batch 1, CPU EP, one thread, interleaved runs) must
not exceed the fp32 median. A tower that fails ships its fp32 file instead.
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import onnx
import onnxruntime as ort
from onnxruntime.quantization import (
    CalibrationDataReader,
    CalibrationMethod,
    QuantFormat,
    QuantType,
    quantize_dynamic,
    quantize_static,
)
from onnxruntime.quantization.shape_inference import quant_pre_process

logger = logging.getLogger(__name__)

MIN_COSINE = 0.99


@dataclass(frozen=True, slots=True)
class GateResult:
    """Outcome of the int8 gate for one tower.

    Attributes:
        tower: ``"image"`` or ``"text"``.
        cosine: Mean cosine similarity of int8 vs fp32 embeddings.
        fp32_ms: Median fp32 latency, batch 1.
        int8_ms: Median int8 latency, batch 1.
        passed: Whether int8 is shipped.
        reason: Why not, when it failed.
        shipped: File name shipped for the tower.
    """

    tower: str
    cosine: float
    fp32_ms: float
    int8_ms: float
    passed: bool
    reason: str
    shipped: str

    def to_dict(self) -> dict[str, object]:
        """Manifest-friendly dict with rounded numbers."""
        d = asdict(self)
        d["cosine"] = round(self.cosine, 5)
        d["fp32_ms"] = round(self.fp32_ms, 4)
        d["int8_ms"] = round(self.int8_ms, 4)
        return d


class _FrameReader(CalibrationDataReader):  # type: ignore[misc]
    def __init__(self, input_name: str, batches: list[npt.NDArray[np.float32]]) -> None:
        self._input = input_name
        self._batches = batches
        self._it: Iterator[npt.NDArray[np.float32]] = iter(batches)

    def get_next(self) -> dict[str, npt.NDArray[np.float32]] | None:
        batch = next(self._it, None)
        return None if batch is None else {self._input: batch}

    def rewind(self) -> None:
        self._it = iter(self._batches)


def _session(path: Path) -> ort.InferenceSession:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def _embed(sess: ort.InferenceSession, data: np.ndarray, batch: int = 64) -> npt.NDArray[np.float32]:
    name = sess.get_inputs()[0].name
    return np.concatenate([sess.run(None, {name: data[i : i + batch]})[0] for i in range(0, len(data), batch)])


def mean_cosine(a: npt.NDArray[np.float32], b: npt.NDArray[np.float32]) -> float:
    """Mean row-wise cosine similarity."""
    na = a / np.linalg.norm(a, axis=1, keepdims=True).clip(1e-12)
    nb = b / np.linalg.norm(b, axis=1, keepdims=True).clip(1e-12)
    return float((na * nb).sum(axis=1).mean())


def median_latency_ms(fp32: Path, int8: Path, sample: np.ndarray, runs: int = 200) -> tuple[float, float]:
    """Median batch-1 latency of two models, measured interleaved so load changes hit both."""
    sessions = [_session(fp32), _session(int8)]
    feeds = [{s.get_inputs()[0].name: sample[:1]} for s in sessions]
    for s, f in zip(sessions, feeds, strict=False):
        for _ in range(20):
            s.run(None, f)
    times: list[list[float]] = [[], []]
    for _ in range(runs):
        for k in (0, 1):
            t0 = time.perf_counter()
            sessions[k].run(None, feeds[k])
            times[k].append(time.perf_counter() - t0)
    return float(np.median(times[0]) * 1e3), float(np.median(times[1]) * 1e3)


def _gate(tower: str, fp32: Path, int8: Path, heldout: np.ndarray, build_error: str = "") -> GateResult:
    if build_error:
        return GateResult(tower, 0.0, 0.0, 0.0, False, build_error, fp32.name)
    cos = mean_cosine(_embed(_session(fp32), heldout), _embed(_session(int8), heldout))
    fp_ms, q_ms = median_latency_ms(fp32, int8, heldout)
    reasons = []
    if cos < MIN_COSINE:
        reasons.append(f"mean cosine {cos:.4f} < {MIN_COSINE}")
    if q_ms > fp_ms:
        reasons.append(f"int8 slower than fp32 ({q_ms:.3f} ms vs {fp_ms:.3f} ms median, batch 1)")
    passed = not reasons
    result = GateResult(tower, cos, fp_ms, q_ms, passed, "; ".join(reasons), int8.name if passed else fp32.name)
    logger.info("int8 gate %s: cosine %.5f, fp32 %.3f ms, int8 %.3f ms -> %s", tower, cos, fp_ms, q_ms, "pass" if passed else "FAIL")
    return result


def _weight_matmuls(path: Path) -> list[str]:
    """Names of MatMul/Gemm nodes whose second input is a weight (initializer)."""
    model = onnx.load(str(path))
    inits = {i.name for i in model.graph.initializer}
    return [n.name for n in model.graph.node if n.op_type in ("MatMul", "Gemm") and len(n.input) > 1 and n.input[1] in inits]


def quantize_image(fp32: Path, int8: Path, calibration: np.ndarray, heldout: np.ndarray) -> GateResult:
    """Static QDQ int8 quantization of the image tower, then the gate.

    Args:
        fp32: Exported fp32 model.
        int8: Output path.
        calibration: ``(N, 3, H, W)`` float32 preprocessed calibration frames.
        heldout: Different preprocessed frames for the gate (>= 256).

    Returns:
        The gate result.
    """
    error = ""
    try:
        with tempfile.TemporaryDirectory() as tmp:
            pre = Path(tmp) / "pre.onnx"
            quant_pre_process(str(fp32), str(pre), skip_symbolic_shape=True)
            batches = [calibration[i : i + 16] for i in range(0, len(calibration), 16)]
            quantize_static(
                str(pre),
                str(int8),
                _FrameReader("pixel_values", batches),
                quant_format=QuantFormat.QDQ,
                activation_type=QuantType.QUInt8,
                weight_type=QuantType.QInt8,
                per_channel=True,
                calibrate_method=CalibrationMethod.MinMax,
                op_types_to_quantize=["Conv", "MatMul", "Gemm", "Relu", "GlobalAveragePool", "ReduceMean", "Add", "Flatten"],
            )
    except Exception as exc:
        error = f"static quantization failed: {exc}"
        logger.warning("image tower: %s", error)
    return _gate("image", fp32, int8, heldout, error)


def quantize_text(fp32: Path, int8: Path, heldout: np.ndarray) -> GateResult:
    """Dynamic int8 quantization of the text tower's weight MatMul/Gemm nodes, then the gate.

    Args:
        fp32: Exported fp32 model.
        int8: Output path.
        heldout: ``(N, L)`` int64 token ids for the gate (>= 256).

    Returns:
        The gate result.
    """
    error = ""
    try:
        quantize_dynamic(
            str(fp32),
            str(int8),
            weight_type=QuantType.QInt8,
            op_types_to_quantize=["MatMul", "Gemm"],
            nodes_to_quantize=_weight_matmuls(fp32),
            per_channel=False,
        )
    except Exception as exc:
        error = f"dynamic quantization failed: {exc}"
        logger.warning("text tower: %s", error)
    return _gate("text", fp32, int8, heldout, error)


def run_gates(
    out_dir: Path,
    calibration: np.ndarray,
    heldout_pixels: np.ndarray,
    heldout_ids: np.ndarray,
    log: Callable[[str], None] | None = None,
) -> tuple[GateResult, GateResult]:
    """Quantize both towers in ``out_dir`` and gate them.

    Returns:
        ``(image_result, text_result)``.
    """
    image = quantize_image(out_dir / "image_fp32.onnx", out_dir / "image_int8.onnx", calibration, heldout_pixels)
    text = quantize_text(out_dir / "text_fp32.onnx", out_dir / "text_int8.onnx", heldout_ids)
    if log is not None:
        for r in (image, text):
            log(f"int8 gate {r.tower}: cosine {r.cosine:.5f}, fp32 {r.fp32_ms:.3f} ms, int8 {r.int8_ms:.3f} ms -> {'pass' if r.passed else 'FAIL: ' + r.reason}")
    return image, text
