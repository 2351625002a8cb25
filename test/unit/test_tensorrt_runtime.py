"""TensorRT engines: the cache key always; build + run only where TensorRT is installed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from videorag_ros.core.encoder.tensorrt_runtime import PRECISIONS, engine_cache_key, tensorrt_available

SHA = "ab" * 32
OTHER = "cd" * 32


def test_cache_key_is_deterministic_and_filename_safe() -> None:
    key = engine_cache_key(SHA, "10.3.0", "NVIDIA Jetson AGX Orin (64GB)")
    assert key == engine_cache_key(SHA.upper(), " 10.3.0 ", "NVIDIA Jetson AGX Orin (64GB)")
    assert key.startswith(SHA[:16] + "-trt10.3.0-nvidia-jetson-agx-orin-64gb-fp16-")
    assert all(c.isalnum() or c in "-." for c in key) and len(key) < 120


@pytest.mark.parametrize(
    "changed",
    [
        (OTHER, "10.3.0", "NVIDIA A100", "fp16"),
        (SHA, "10.3.1", "NVIDIA A100", "fp16"),
        (SHA, "10.3.0", "NVIDIA H100", "fp16"),
        (SHA, "10.3.0", "NVIDIA A100", "int8"),
        (SHA, "10.3.0", "NVIDIA  A100", "fp16"),  # slugs alike, still a different GPU string
    ],
)
def test_cache_key_changes_with_every_component(changed: tuple[str, str, str, str]) -> None:
    base = engine_cache_key(SHA, "10.3.0", "NVIDIA A100", precision="fp16")
    sha, ver, gpu, prec = changed
    assert engine_cache_key(sha, ver, gpu, precision=prec) != base


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (("abc", "10.0", "gpu"), "64 hex"),
        (("g" * 64, "10.0", "gpu"), "64 hex"),
        ((SHA, "", "gpu"), "non-empty"),
        ((SHA, "10.0", "  "), "non-empty"),
    ],
)
def test_cache_key_rejects_bad_inputs(args: tuple[str, str, str], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        engine_cache_key(*args)
    with pytest.raises(ValueError, match="precision"):
        engine_cache_key(SHA, "10.0", "gpu", precision="int4")
    assert PRECISIONS == ("fp16", "int8")


def test_cli_build_engine_without_tensorrt(capsys: pytest.CaptureFixture[str]) -> None:
    if tensorrt_available():
        pytest.skip("TensorRT is installed here")
    from videorag_ros.cli.model import main

    assert main(["build-engine", "videorag-tiny", "--precision", "fp16"]) == 1
    assert "error: TensorRT is not installed (pip install tensorrt on a machine with an NVIDIA GPU)" in capsys.readouterr().err


def test_encoder_without_tensorrt_falls_back_to_onnxruntime(tiny_model_dir: Path) -> None:
    from videorag_ros.core.encoder.encoder import load_encoder
    from videorag_ros.core.encoder.manifest import load_manifest
    from videorag_ros.core.encoder.tensorrt_runtime import load_cached_engine

    if not tensorrt_available():
        assert load_cached_engine(load_manifest(str(tiny_model_dir))) is None
    enc = load_encoder(str(tiny_model_dir), backend="auto")
    assert enc.backend.startswith(("TensorRT engine", "TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"))


@pytest.mark.skipif(not tensorrt_available(), reason="TensorRT not installed")
@pytest.mark.parametrize("precision", ["fp16", "int8"])
def test_engine_build_matches_onnxruntime(tiny_model_dir: Path, tmp_path: Path, precision: str) -> None:
    from videorag_ros.core.encoder.manifest import load_manifest
    from videorag_ros.core.encoder.onnx_backend import OnnxSession
    from videorag_ros.core.encoder.tensorrt_runtime import TensorRTEngine, load_cached_engine
    from videorag_ros.toolchain.quantize import calibration_frames
    from videorag_ros.toolchain.tensorrt_build import build_gated_engine

    m = load_manifest(str(tiny_model_dir))
    frames = calibration_frames(m.image.preprocess, n=32)
    path, report = build_gated_engine(m, precision=precision, frames=frames, cache_dir=tmp_path)
    assert report.passed and path.is_file() and path.parent == tmp_path
    engine = TensorRTEngine(path, input_name=m.image.input_name, output_name=m.image.output_name)
    assert engine.providers == [f"TensorRT engine {path.name}"]
    ort = OnnxSession(m.image.file, input_name=m.image.input_name, output_name=m.image.output_name, backend="cpu")
    x = frames[:11]  # > max batch 8: chunked
    a, b = ort.run(x), engine.run(x)
    a /= np.linalg.norm(a, axis=1, keepdims=True)
    b /= np.linalg.norm(b, axis=1, keepdims=True)
    assert b.shape == a.shape and float((a * b).sum(axis=1).min()) >= 0.99
    cached = load_cached_engine(m, cache_dir=tmp_path)
    assert cached is not None
