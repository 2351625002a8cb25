"""int8 quantization and its accuracy/speed gate, on the tiny test model (real onnxruntime)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from videorag_ros.bench.rigs.patterns import pattern_frame
from videorag_ros.core.encoder.encoder import load_encoder
from videorag_ros.core.encoder.manifest import load_manifest
from videorag_ros.core.errors import ConfigError, EncoderError
from videorag_ros.toolchain.quantize import (
    GateError,
    GateReport,
    accuracy_gate,
    calibration_frames,
    quantize_model,
    require_pass,
)

# The tiny model runs in ~0.02 ms, where int8's quantize/dequantize overhead dominates, so
# the success-path tests lift the latency ceiling; the latency criterion has its own test.
FAST: dict[str, Any] = {"n_calib": 16, "runs": 50, "max_latency_ratio": 1e6}


def _files(d: Path) -> set[str]:
    return {p.name for p in d.iterdir()} if d.exists() else set()


@pytest.mark.parametrize("mode", ["static", "dynamic"])
def test_quantize_image_writes_gated_int8_model(tiny_model_dir: Path, tmp_path: Path, mode: str) -> None:
    out = tmp_path / f"q-{mode}"
    res = quantize_model(tiny_model_dir, out, mode=mode, tower="image", **FAST)
    (report,) = res.reports
    assert report.passed and report.cosine >= 0.99 and report.runs == 50
    m = load_manifest(str(out))  # every sha256 checked
    assert m.image.file.name == "image_int8.onnx" and m.precision == "mixed"
    assert m.reference_image_file is not None and m.reference_image_file.name == "image.onnx"
    assert m.raw["quantization"]["image"]["mode"] == mode
    assert not [p for p in out.iterdir() if p.name.startswith(".")]
    # the source model is untouched and the int8 model encodes like fp32
    assert load_manifest(str(tiny_model_dir)).image.file.name == "image.onnx"
    frames = [pattern_frame("disk"), pattern_frame("stripes")]
    a = load_encoder(str(tiny_model_dir), backend="cpu").encode_images(frames).vectors
    b = load_encoder(str(out), backend="cpu").encode_images(frames).vectors
    assert float((a * b).sum(axis=1).min()) > 0.98


def test_gate_refuses_low_cosine_and_writes_nothing(tiny_model_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "refused"
    with pytest.raises(GateError) as info:
        quantize_model(tiny_model_dir, out, mode="static", tower="image", min_cosine=1.01, n_calib=16, runs=50, max_latency_ratio=1e6)
    msg = str(info.value)
    cos = info.value.report.cosine
    assert f"mean cosine {cos:.5f} < 1.01" in msg and "no artefact written" in msg
    assert 0.9 < cos <= 1.0
    assert _files(out) == set()  # no int8 file, no partial file, no manifest


def test_gate_refuses_slower_artefact_with_figures(tiny_model_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "slow"
    with pytest.raises(GateError) as info:
        quantize_model(tiny_model_dir, out, mode="dynamic", tower="image", n_calib=16, runs=50, max_latency_ratio=0.0)
    r = info.value.report
    assert r.candidate_ms > 0 and r.reference_ms > 0
    assert f"median latency {r.candidate_ms:.3f} ms > fp32 {r.reference_ms:.3f} ms" in str(info.value)
    assert _files(out) == set()


def test_gate_refuses_corrupted_weights() -> None:
    class Model:
        def __init__(self, w: np.ndarray) -> None:
            self.w = w

        def run(self, x: np.ndarray) -> np.ndarray:
            return x.reshape(len(x), -1) @ self.w

    rng = np.random.default_rng(0)
    w = rng.standard_normal((12, 8)).astype(np.float32)
    corrupt = w.copy()
    corrupt[:6] = rng.standard_normal((6, 8))
    x = rng.standard_normal((20, 3, 2, 2)).astype(np.float32)
    report = accuracy_gate(Model(w), Model(corrupt), x, label="corrupt", runs=50, max_latency_ratio=1e6)
    assert not report.passed and report.cosine < 0.99
    with pytest.raises(GateError, match=f"mean cosine {report.cosine:.5f} < 0.99"):
        require_pass(report)
    ok = accuracy_gate(Model(w), Model(w.copy()), x, label="same", runs=50, max_latency_ratio=1e6)
    assert ok.passed and ok.cosine == pytest.approx(1.0, abs=1e-6)
    assert isinstance(require_pass(ok), GateReport)


def test_dynamic_mode_never_quantizes_conv_only_models(tiny_model_dir: Path, tmp_path: Path) -> None:
    # the tiny text tower is Gather + ReduceSum: nothing dynamic mode may quantize
    with pytest.raises(EncoderError, match="no MatMul/Gemm"):
        quantize_model(tiny_model_dir, tmp_path / "t", mode="dynamic", tower="text", **FAST)
    assert not (tmp_path / "t" / "text_int8.onnx").exists()


def test_static_text_tower_and_manifest_precision(tiny_model_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "both"
    res = quantize_model(tiny_model_dir, out, mode="static", tower="both", **FAST)
    assert [r.label.split()[1] for r in res.reports] == ["image", "text"]
    m = load_manifest(str(out))
    assert m.precision == "int8" and m.text is not None and m.text.file.name == "text_int8.onnx"
    enc = load_encoder(str(out), backend="cpu")
    assert enc.encode_texts(["a red box"]).shape == (1, 32)


def test_calibration_frames_from_dir_and_renderer(tiny_model_dir: Path, tmp_path: Path) -> None:
    import cv2

    spec = load_manifest(str(tiny_model_dir)).image.preprocess
    for i in range(3):
        cv2.imwrite(str(tmp_path / f"f{i}.png"), pattern_frame("disk", seed=i)[:, :, ::-1])
    x = calibration_frames(spec, calib_dir=tmp_path, n=8)
    assert x.shape == (3, 3, 64, 64) and x.dtype == np.float32
    assert calibration_frames(spec, n=5).shape == (5, 3, 64, 64)
    with pytest.raises(ConfigError, match="no readable"):
        calibration_frames(spec, calib_dir=_empty(tmp_path))


def _empty(tmp_path: Path) -> Path:
    d = tmp_path / "empty"
    d.mkdir()
    return d


def test_bad_arguments(tiny_model_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="source model directory"):
        quantize_model(tiny_model_dir, tiny_model_dir, mode="static", tower="image", **FAST)
    with pytest.raises(ConfigError, match="mode"):
        quantize_model(tiny_model_dir, tmp_path / "x", mode="int4", tower="image", **FAST)
    with pytest.raises(ConfigError, match=">= 50"):
        quantize_model(tiny_model_dir, tmp_path / "x", mode="static", tower="image", n_calib=8, runs=10)
    doc = yaml.safe_load((tiny_model_dir / "manifest.yaml").read_text())
    assert "quantization" not in doc


def test_cli_quantize_refusal_exit_code(tiny_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from videorag_ros.cli.model import main

    rc = main(
        ["quantize", str(tiny_model_dir), "--mode", "static", "--tower", "image", "--out", str(tmp_path / "o"), "--min-cosine", "1.01", "--calib-frames", "8"]
    )
    err = capsys.readouterr().err
    assert rc == 1 and "error: accuracy gate refused" in err and "< 1.01" in err


def test_quantize_again_from_a_mixed_precision_model(tiny_model_dir: Path, tmp_path: Path) -> None:
    first = quantize_model(tiny_model_dir, tmp_path / "a", mode="static", tower="image", **FAST)
    second = quantize_model(first.directory, tmp_path / "b", mode="static", tower="text", **FAST)
    m = load_manifest(str(second.directory))
    assert m.precision == "int8" and set(m.raw["quantization"]) == {"image", "text"}
    assert m.reference_image_file is not None and m.reference_image_file.name == "image.onnx"
    assert m.reference_text_file is not None and m.reference_text_file.name == "text.onnx"
