"""A tiny ONNX encoder that misbehaves on cue, for the watchdog tests and measurements.

It is ``tiny_model.py``'s encoder with two data-dependent faults built into the real ONNX graph,
so onnxruntime itself fails or stalls; nothing in videorag is patched:

- an all-white frame (every normalised pixel > 1.9) makes a ``Reshape`` ask for an impossible
  shape: onnxruntime raises at run time, like a driver or kernel failure;
- an all-black frame (every normalised pixel < -1.9) makes the graph multiply two
  ``hang_size`` x ``hang_size`` matrices before answering, like a stalled accelerator
  (about a second of one CPU core at the default size).

Every other frame gives the tiny encoder's embedding, so triggers and recovery work as usual.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import onnx
import yaml
from onnx import TensorProto, helper, numpy_helper

from videorag_ros.bench.rigs.tiny_model import DIM, SIZE, export_tiny_model

WHITE, BLACK = 255, 0


def _faulty_image_graph(proj: np.ndarray, hang_size: int) -> onnx.GraphProto:
    c = numpy_helper.from_array
    consts = [
        c(proj, "proj"),
        c(np.array(1.9, np.float32), "hi"),
        c(np.array(-1.9, np.float32), "lo"),
        c(np.array([-1], np.int64), "minus_one"),
        c(np.array([DIM], np.int64), "dim"),
        c(np.array([hang_size], np.int64), "hang_size"),
        c(np.array([1], np.int64), "one"),
        c(np.array(1.0, np.float32), "onef"),
        c(np.array(0.0, np.float32), "zerof"),
    ]
    nodes = [
        helper.make_node("AveragePool", ["pixel_values"], ["pooled"], kernel_shape=[8, 8], strides=[8, 8]),
        helper.make_node("Flatten", ["pooled"], ["flat"], axis=1),
        helper.make_node("MatMul", ["flat", "proj"], ["emb0"]),
        # poison: all pixels bright -> reshape (N, DIM) to (-1, DIM + 1), which onnxruntime refuses
        helper.make_node("ReduceMin", ["pixel_values"], ["pmin"], keepdims=0),
        helper.make_node("Greater", ["pmin", "hi"], ["white"]),
        helper.make_node("Cast", ["white"], ["white_i"], to=TensorProto.INT64),
        helper.make_node("Unsqueeze", ["white_i", "zero_axis"], ["white_v"]),
        helper.make_node("Add", ["dim", "white_v"], ["cols"]),
        helper.make_node("Concat", ["minus_one", "cols"], ["shape"], axis=0),
        helper.make_node("Reshape", ["emb0", "shape"], ["emb1"]),
        # hang: all pixels dark -> an (S, S) @ (S, S) product whose sum is multiplied by 0 and added
        helper.make_node("ReduceMax", ["pixel_values"], ["pmax"], keepdims=0),
        helper.make_node("Less", ["pmax", "lo"], ["black"]),
        helper.make_node("Cast", ["black"], ["black_i"], to=TensorProto.INT64),
        helper.make_node("Unsqueeze", ["black_i", "zero_axis"], ["black_v"]),
        helper.make_node("Mul", ["black_v", "hang_size"], ["s0"]),
        helper.make_node("Add", ["s0", "one"], ["s"]),
        helper.make_node("Concat", ["s", "s"], ["square"], axis=0),
        helper.make_node("Expand", ["onef", "square"], ["big"]),
        helper.make_node("MatMul", ["big", "big"], ["prod"]),
        helper.make_node("ReduceSum", ["prod"], ["total"], keepdims=0),
        helper.make_node("Mul", ["total", "zerof"], ["nothing"]),
        helper.make_node("Add", ["emb1", "nothing"], ["embedding"]),
    ]
    consts.append(c(np.array([0], np.int64), "zero_axis"))
    return helper.make_graph(
        nodes,
        "faulty_image",
        [helper.make_tensor_value_info("pixel_values", TensorProto.FLOAT, ["N", 3, SIZE, SIZE])],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["N", DIM])],
        consts,
    )


def export_faulty_model(directory: Path, *, hang_size: int = 2048, seed: int = 0) -> Path:
    """Write the tiny test model with the faulty image tower into ``directory``; returns it.

    Args:
        directory: Target model directory (created).
        hang_size: Side of the square matrices an all-black frame multiplies.
        seed: Seed of the tiny model (same embeddings as ``export_tiny_model(seed=seed)``).
    """
    export_tiny_model(directory, seed=seed, name="faulty-test")
    proj = numpy_helper.to_array(next(t for t in onnx.load(str(directory / "image.onnx")).graph.initializer if t.name == "proj"))
    model = helper.make_model(_faulty_image_graph(proj, hang_size), opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    path = directory / "image.onnx"
    onnx.save(model, str(path))
    manifest_path = directory / "manifest.yaml"
    manifest = yaml.safe_load(manifest_path.read_text())
    manifest["image_encoder"]["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    manifest["description"] = "test-only encoder that fails on all-white frames and stalls on all-black ones"
    manifest_path.write_text(yaml.safe_dump(manifest, sort_keys=False))
    return directory


def solid_frame(value: int, *, width: int = 160, height: int = 120) -> np.ndarray:
    """An ``(H, W, 3)`` uint8 frame of one grey level (``WHITE`` fails, ``BLACK`` stalls)."""
    return np.full((height, width, 3), value, np.uint8)
