"""Export a tiny but real ONNX image/text encoder pair with a manifest, for tests.

The image tower is an 8x8 average pool followed by a fixed random projection
(Johnson-Lindenstrauss), so cosine similarity between embeddings tracks similarity of
the frames' thumbnails: good enough for reference-image triggers. The text tower is a
mean of random word vectors. Both are real ONNX graphs run by real onnxruntime.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import onnx
import yaml
from onnx import TensorProto, helper, numpy_helper

SIZE = 64
DIM = 32
WORDS = ["a", "person", "in", "front", "of", "the", "robot", "empty", "corridor", "red", "blue", "box"]
CONTEXT = 8


def _save(graph: onnx.GraphProto, path: Path) -> str:
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return hashlib.sha256(path.read_bytes()).hexdigest()


def export_tiny_model(directory: Path, *, seed: int = 0, name: str = "tiny-test") -> Path:
    """Write ``directory/manifest.yaml`` plus ONNX files and vocab; returns the directory."""
    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    cells = 3 * (SIZE // 8) * (SIZE // 8)
    proj = (rng.standard_normal((cells, DIM)) / np.sqrt(DIM)).astype(np.float32)
    image = helper.make_graph(
        [
            helper.make_node("AveragePool", ["pixel_values"], ["pooled"], kernel_shape=[8, 8], strides=[8, 8]),
            helper.make_node("Flatten", ["pooled"], ["flat"], axis=1),
            helper.make_node("MatMul", ["flat", "proj"], ["embedding"]),
        ],
        "tiny_image",
        [helper.make_tensor_value_info("pixel_values", TensorProto.FLOAT, ["N", 3, SIZE, SIZE])],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["N", DIM])],
        [numpy_helper.from_array(proj, "proj")],
    )
    vocab = len(WORDS) + 4
    table = rng.standard_normal((vocab, DIM)).astype(np.float32)
    table[0] = 0.0  # padding contributes nothing
    text = helper.make_graph(
        [
            helper.make_node("Gather", ["table", "input_ids"], ["vecs"], axis=0),
            helper.make_node("ReduceSum", ["vecs", "axes"], ["embedding"], keepdims=0),
        ],
        "tiny_text",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["N", CONTEXT])],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["N", DIM])],
        [numpy_helper.from_array(table, "table"), numpy_helper.from_array(np.array([1], np.int64), "axes")],
    )
    img_sha = _save(image, directory / "image.onnx")
    txt_sha = _save(text, directory / "text.onnx")
    vocab_path = directory / "vocab.json"
    vocab_path.write_text(json.dumps({"tokens": ["<pad>", "<unk>", "<bos>", "<eos>", *WORDS], "pad": 0, "unk": 1, "bos": 2, "eos": 3, "context_length": CONTEXT}))
    manifest = {
        "format_version": 1,
        "name": name,
        "description": "test-only random-projection encoder",
        "source": "videorag_ros/bench/rigs/tiny_model.py",
        "licence": "Apache-2.0",
        "embedding_dim": DIM,
        "logit_scale": 20.0,
        "precision": "fp32",
        "image_encoder": {
            "file": "image.onnx",
            "sha256": img_sha,
            "input_name": "pixel_values",
            "output_name": "embedding",
            "input_size": [SIZE, SIZE],
            "mean": [0.5, 0.5, 0.5],
            "std": [0.25, 0.25, 0.25],
            "resize": "stretch",
        },
        "text_encoder": {"file": "text.onnx", "sha256": txt_sha, "input_name": "input_ids", "output_name": "embedding", "context_length": CONTEXT},
        "tokenizer": {"type": "word", "file": "vocab.json", "sha256": hashlib.sha256(vocab_path.read_bytes()).hexdigest()},
    }
    (directory / "manifest.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False))
    return directory
