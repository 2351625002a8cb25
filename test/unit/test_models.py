"""models: manifest validation, file hashes, onnxruntime backend, provider choice."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml

from videorag_ros.bench.rigs.patterns import pattern_frame
from videorag_ros.core.encoder.encoder import load_encoder
from videorag_ros.core.encoder.manifest import load_manifest, sha256_file
from videorag_ros.core.encoder.onnx_backend import choose_providers
from videorag_ros.core.errors import ConfigError, EncoderError, ModelLoadError


@pytest.fixture
def model_copy(tiny_model_dir: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(tiny_model_dir, tmp_path / "m"))


def _edit(d: Path, fn) -> None:
    doc = yaml.safe_load((d / "manifest.yaml").read_text())
    fn(doc)
    (d / "manifest.yaml").write_text(yaml.safe_dump(doc))


def test_load_manifest(tiny_model_dir: Path) -> None:
    m = load_manifest(str(tiny_model_dir))
    assert m.embedding_dim == 32 and m.image.preprocess.height == 64
    assert m.image.file.is_absolute() and m.text is not None


def test_encoder_outputs_unit_vectors(tiny_encoder) -> None:
    emb = tiny_encoder.encode_images([pattern_frame("disk"), pattern_frame("stripes", width=640, height=480)])
    assert emb.vectors.shape == (2, 32) and emb.vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(emb.vectors, axis=1), 1.0, rtol=1e-5)
    assert emb.forward_ms >= 0 and emb.preprocess_ms >= 0
    txt = tiny_encoder.encode_texts(["a person", "a red box " * 200])  # a huge prompt is truncated
    assert txt.shape == (2, 32)
    assert tiny_encoder.backend == "CPUExecutionProvider"


def test_missing_model_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="model 'no-such-model' not found"):
        load_manifest("no-such-model")


@pytest.mark.parametrize(
    ("mutate", "match"),
    [
        (lambda d: d.pop("embedding_dim"), "missing field 'embedding_dim'"),
        (lambda d: d.__setitem__("format_version", 9), "format_version 9 is not supported"),
        (lambda d: d["image_encoder"].__setitem__("mean", [0.5]), "field 'mean' = \\[0.5\\] must be 3 finite numbers"),
        (lambda d: d["image_encoder"].__setitem__("file", "../../etc/passwd"), "outside the model directory"),
        (lambda d: d["image_encoder"].__setitem__("file", "nope.onnx"), "does not exist"),
        (lambda d: d["image_encoder"].__setitem__("resize", "zoom"), "resize 'zoom'"),
    ],
)
def test_bad_manifest_fields(model_copy: Path, mutate, match: str) -> None:
    _edit(model_copy, mutate)
    with pytest.raises(ModelLoadError, match=match):
        load_manifest(str(model_copy))


def test_corrupt_weights_fail_the_hash_check(model_copy: Path) -> None:
    f = model_copy / "image.onnx"
    f.write_bytes(f.read_bytes()[:-10])
    with pytest.raises(ModelLoadError, match=r"sha256 of .* \(corrupt or replaced file\)"):
        load_manifest(str(model_copy))


def test_garbage_onnx_with_matching_hash_is_a_load_error(model_copy: Path) -> None:
    f = model_copy / "image.onnx"
    f.write_bytes(b"not an onnx file")
    _edit(model_copy, lambda d: d["image_encoder"].__setitem__("sha256", sha256_file(f)))
    with pytest.raises(ModelLoadError, match="onnxruntime could not load"):
        load_encoder(str(model_copy), backend="cpu")


def test_wrong_io_names(model_copy: Path) -> None:
    _edit(model_copy, lambda d: d["image_encoder"].__setitem__("input_name", "images"))
    with pytest.raises(ModelLoadError, match="manifest names input 'images'"):
        load_encoder(str(model_copy), backend="cpu")


def test_wrong_embedding_dim_is_caught(model_copy: Path) -> None:
    _edit(model_copy, lambda d: d.__setitem__("embedding_dim", 64))
    enc = load_encoder(str(model_copy), backend="cpu")
    with pytest.raises(EncoderError, match="manifest says embedding_dim 64"):
        enc.encode_images([pattern_frame("disk")])


@pytest.mark.parametrize(
    ("backend", "available", "expected"),
    [
        ("auto", ["CPUExecutionProvider"], ["CPUExecutionProvider"]),
        ("auto", ["CUDAExecutionProvider", "TensorrtExecutionProvider", "CPUExecutionProvider"], ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"]),
        ("cuda", ["CUDAExecutionProvider", "CPUExecutionProvider"], ["CUDAExecutionProvider", "CPUExecutionProvider"]),
    ],
)
def test_choose_providers(backend: str, available: list[str], expected: list[str]) -> None:
    assert choose_providers(backend, available) == expected


def test_explicit_backend_missing_is_config_error() -> None:
    with pytest.raises(ConfigError, match="needs TensorrtExecutionProvider"):
        choose_providers("tensorrt", ["CPUExecutionProvider"])
