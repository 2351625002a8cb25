"""Write and re-write ``manifest.yaml`` for a videorag-tiny directory (no torch).

Keys follow format_version 1 of the model manifest; every ``file`` is relative
to the manifest's directory and carries its sha256.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import yaml

IMAGE_INPUT = "pixel_values"
TEXT_INPUT = "input_ids"
OUTPUT = "embedding"


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_manifest(
    out_dir: Path,
    *,
    embedding_dim: int,
    logit_scale: float,
    context_length: int,
    input_size: int,
    mean: tuple[float, float, float],
    std: tuple[float, float, float],
    source: str,
    image_file: str,
    text_file: str,
    evaluation: dict[str, Any] | None = None,
    quantization: dict[str, Any] | None = None,
) -> Path:
    """Write ``manifest.yaml`` (format_version 1) with fresh sha256 sums.

    Args:
        out_dir: Model directory holding every file named below.
        embedding_dim: Embedding size D.
        logit_scale: ``exp`` of the learned log temperature.
        context_length: Text token sequence length.
        input_size: Square image side.
        mean: Preprocessing mean (RGB, 0..1).
        std: Preprocessing std (RGB, 0..1).
        source: Provenance line.
        image_file: Shipped image tower file name (int8 or fp32).
        text_file: Shipped text tower file name (int8 or fp32).
        evaluation: The ``evaluation`` block; zeros if not yet measured.
        quantization: Int8 gate results and the reason for any fp32 fallback.

    Returns:
        The manifest path.
    """
    int8 = [f.endswith("_int8.onnx") for f in (image_file, text_file)]
    precision = "int8" if all(int8) else "fp32" if not any(int8) else "mixed"
    doc: dict[str, Any] = {
        "format_version": 1,
        "name": "videorag-tiny",
        "description": (
            "Tiny CLIP-style image-text model trained only on procedurally rendered corridor and "
            "warehouse scenes (demo; not for real-world footage)."
        ),
        "source": source,
        "demo": True,  # synthetic training data: the edge node warns when it drives a stop
        "licence": "Apache-2.0",
        "embedding_dim": int(embedding_dim),
        "logit_scale": round(float(logit_scale), 4),
        "precision": precision,
        "image_encoder": {
            "file": image_file,
            "sha256": sha256_file(out_dir / image_file),
            "input_name": IMAGE_INPUT,
            "output_name": OUTPUT,
            "input_size": [int(input_size), int(input_size)],
            "mean": [float(m) for m in mean],
            "std": [float(s) for s in std],
            "resize": "stretch",
        },
        "text_encoder": {
            "file": text_file,
            "sha256": sha256_file(out_dir / text_file),
            "input_name": TEXT_INPUT,
            "output_name": OUTPUT,
            "context_length": int(context_length),
        },
        "tokenizer": {"type": "word", "file": "vocab.json", "sha256": sha256_file(out_dir / "vocab.json")},
        "reference": {
            "image_file": "image_fp32.onnx",
            "image_sha256": sha256_file(out_dir / "image_fp32.onnx"),
            "text_file": "text_fp32.onnx",
            "text_sha256": sha256_file(out_dir / "text_fp32.onnx"),
        },
        "evaluation": evaluation or empty_evaluation(),
    }
    if quantization:
        doc["quantization"] = quantization
    path = out_dir / "manifest.yaml"
    path.write_text(dump_manifest(doc), encoding="utf-8")
    return path


class _ManifestDumper(yaml.SafeDumper):  # type: ignore[misc,unused-ignore]
    """Block-style mappings, flow-style short lists (``input_size: [96, 96]``)."""


def _represent_list(dumper: yaml.SafeDumper, data: list[Any]) -> yaml.Node:
    flow = all(isinstance(v, (int, float, str)) for v in data)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)


_ManifestDumper.add_representer(list, _represent_list)


def dump_manifest(doc: dict[str, Any]) -> str:
    """Serialise a manifest: keys in the given order, mappings in block style."""
    text: str = yaml.dump(doc, Dumper=_ManifestDumper, sort_keys=False, default_flow_style=False, width=100, allow_unicode=True)
    return text


def empty_evaluation() -> dict[str, Any]:
    """An ``evaluation`` block of zeros, for a model not yet evaluated."""
    return {
        "heldout_seed": 1000,
        "zero_shot_accuracy": 0.0,
        "classes": 12,
        "text_to_image_recall_at_1": 0.0,
        "text_to_image_recall_at_5": 0.0,
        "paraphrase_top1": 0.0,
        "int8_image_cosine": 0.0,
        "int8_text_cosine": 0.0,
    }
