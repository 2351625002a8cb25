"""Int8 towers of the demo model, through the toolchain's one quantizer and one gate.

- Image CNN: static QDQ quantization (per-channel int8 weights, uint8 activations) calibrated
  on rendered frames, with the activation ops quantized too so onnxruntime fuses the CNN.
  Dynamic quantization would turn convolutions into ``ConvInteger``, which onnxruntime runs
  several times slower than fp32.
- Text transformer: dynamic quantization of the weight MatMul/Gemm nodes only.

Both go through ``toolchain.quantize.quantize_file`` and ``accuracy_gate`` (mean cosine >= 0.99
over the held-out inputs and batch-1 median latency no higher than fp32, CPU EP, one thread).
A tower that fails ships its fp32 file instead.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from videorag_ros.core.encoder.onnx_backend import OnnxSession
from videorag_ros.core.errors import VideoragError
from videorag_ros.toolchain.demo.export import IMAGE_INPUT, OUTPUT, TEXT_INPUT
from videorag_ros.toolchain.quantize import GateReport, accuracy_gate, quantize_file

# The CNN's activation ops are quantized with its convolutions, so the QDQ graph fuses (measured:
# 0.96 ms vs 1.64 ms fp32, cosine 0.999, where Conv/MatMul/Gemm alone stayed slower than fp32).
IMAGE_OP_TYPES = ("Conv", "MatMul", "Gemm", "Relu", "GlobalAveragePool", "ReduceMean", "Add", "Flatten")


@dataclass(frozen=True, slots=True)
class TowerGate:
    """One tower's int8 outcome: the gate's figures (or why no artefact was built) and the file shipped."""

    tower: str
    report: GateReport | None
    error: str
    shipped: str

    @property
    def passed(self) -> bool:
        """The int8 file is shipped."""
        return self.report is not None and self.report.passed and not self.error

    def to_dict(self) -> dict[str, Any]:
        """Manifest-friendly figures."""
        figures = self.report.to_dict() if self.report is not None else {"passed": False, "reasons": [self.error]}
        return {"tower": self.tower, "shipped": self.shipped, **figures}

    def describe(self) -> str:
        """One line for the training log."""
        return self.report.describe() if self.report is not None else f"{self.tower} int8: not built ({self.error})"


def _quantize_and_gate(tower: str, out_dir: Path, *, mode: str, input_name: str, heldout: np.ndarray, calibration: np.ndarray | None = None) -> TowerGate:
    fp32, int8 = out_dir / f"{tower}_fp32.onnx", out_dir / f"{tower}_int8.onnx"
    try:
        quantize_file(fp32, int8, mode=mode, input_name=input_name, calibration=calibration, op_types=IMAGE_OP_TYPES if tower == "image" else None)
    except VideoragError as err:
        return TowerGate(tower, None, str(err), fp32.name)
    reference = OnnxSession(fp32, input_name=input_name, output_name=OUTPUT, backend="cpu", threads=1)
    candidate = OnnxSession(int8, input_name=input_name, output_name=OUTPUT, backend="cpu", threads=1)
    report = accuracy_gate(reference, candidate, heldout, label=f"videorag-tiny {tower} int8 ({mode})", runs=200, warmup=20)
    return TowerGate(tower, report, "", int8.name if report.passed else fp32.name)


def run_gates(
    out_dir: Path,
    calibration: np.ndarray,
    heldout_pixels: np.ndarray,
    heldout_ids: np.ndarray,
    log: Callable[[str], None] | None = None,
) -> tuple[TowerGate, TowerGate]:
    """Quantize both towers in ``out_dir`` (``<tower>_fp32.onnx`` → ``<tower>_int8.onnx``) and gate them.

    Returns:
        ``(image, text)``; each names the file to ship.
    """
    image = _quantize_and_gate("image", out_dir, mode="static", input_name=IMAGE_INPUT, heldout=heldout_pixels, calibration=calibration)
    text = _quantize_and_gate("text", out_dir, mode="dynamic", input_name=TEXT_INPUT, heldout=heldout_ids)
    if log is not None:
        for gate in (image, text):
            log(gate.describe())
    return image, text
