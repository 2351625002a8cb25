"""Evaluate a shipped videorag-tiny directory with onnxruntime (no torch).

Metrics on a held-out set rendered with a seed never used for training:

- zero-shot accuracy over the scene classes (class text embedding = mean of
  its normalised prompt embeddings, renormalised), overall and per class;
- text-to-image recall@1/@5: the caption of image ``i`` retrieves image ``i``
  (exact instance), plus the class-aware variant (the top-1 image has the
  caption's class);
- paraphrase top-1: a held-out paraphrase's top-1 image has its class;
- int8-vs-fp32 mean cosine for both towers.

Run ``python -m videorag_ros.toolchain.demo.evaluate --model models/videorag-tiny``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import yaml

from videorag_ros.core.encoder.preprocess import PreprocessSpec, preprocess_batch
from videorag_ros.core.encoder.tokenizer import WordTokenizer
from videorag_ros.sim import CLASSES, PARAPHRASES, SceneSpec, caption, class_prompts
from videorag_ros.sim.spec import distance_value, distance_word, lateral_word
from videorag_ros.toolchain.demo.data import build_scenes
from videorag_ros.toolchain.demo.manifest_writer import dump_manifest

if TYPE_CHECKING:
    import onnxruntime as ort

HELDOUT_SEED = 1000


def _session(path: Path) -> ort.InferenceSession:
    import onnxruntime as ort  # imported late so that --help is instant

    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def _run(sess: ort.InferenceSession, data: np.ndarray, batch: int = 128) -> npt.NDArray[np.float32]:
    name = sess.get_inputs()[0].name
    parts = [np.asarray(sess.run(None, {name: data[i : i + batch]})[0], dtype=np.float32) for i in range(0, len(data), batch)]
    return np.concatenate(parts)


def _norm(x: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    out: npt.NDArray[np.float32] = x / np.linalg.norm(x, axis=-1, keepdims=True).clip(1e-12)
    return out


def class_embeddings(text_sess: ort.InferenceSession, tok: WordTokenizer) -> npt.NDArray[np.float32]:
    """``(C, D)`` class text embeddings: mean of normalised prompt embeddings, renormalised."""
    prompts = class_prompts()
    return np.stack([_norm(_norm(_run(text_sess, tok.encode(prompts[c]))).mean(axis=0)) for c in CLASSES])


_NOUNS = {"person": "a person", "pallet": "a pallet", "box": "boxes", "cone": "a traffic cone", "spill": "a spill", "forklift": "a forklift"}
_SHIRTS = ("red", "blue", "green", "yellow", "orange", "white", "black", "grey")
_DISTANCES = {"near": "close to the robot", "mid": "a few meters ahead", "far": "far away"}


def attribute_probes(img: npt.NDArray[np.float32], specs: Sequence[SceneSpec], embed_text: Callable[[list[str]], npt.NDArray[np.float32]]) -> dict[str, float]:
    """Forced-choice attribute tests on held-out images.

    - side: for a main object off to the left or right, "<noun> on the left" vs "... on the right";
    - shirt colour: for a person, "a person in a <colour> shirt" over 8 colours;
    - person distance: "a person close to the robot" / "... a few meters ahead" / "... far away".

    Args:
        img: ``(N, D)`` unit image embeddings.
        specs: The scene of each image.
        embed_text: Texts to ``(len, D)`` unit embeddings.

    Returns:
        Accuracy per probe (chance: 0.5, 0.125, 0.333).
    """
    side_hits: list[bool] = []
    colour_hits: list[bool] = []
    dist_hits: list[bool] = []
    cache: dict[str, npt.NDArray[np.float32]] = {}

    def choose(i: int, options: list[str]) -> int:
        missing = [o for o in options if o not in cache]
        if missing:
            cache.update(zip(missing, embed_text(missing), strict=False))
        return int(np.argmax([float(img[i] @ cache[o]) for o in options]))

    for i, spec in enumerate(specs):
        objs = [o for o in spec.objects if o.kind in _NOUNS]
        if not objs or spec.smoke >= 0.4:
            continue
        obj = min(objs, key=lambda o: distance_value(o.distance))
        side = lateral_word(obj.lateral)
        if side != "center":
            options = [f"{_NOUNS[obj.kind]} on the left", f"{_NOUNS[obj.kind]} on the right"]
            side_hits.append(choose(i, options) == (0 if side == "left" else 1))
        if obj.kind == "person":
            colour_hits.append(_SHIRTS[choose(i, [f"a person in a {c} shirt" for c in _SHIRTS])] == obj.colour)
            words_ = list(_DISTANCES)
            dist_hits.append(words_[choose(i, [f"a person {_DISTANCES[d]}" for d in words_])] == distance_word(obj.distance))
    return {
        "attribute_side_accuracy": float(np.mean(side_hits)) if side_hits else 0.0,
        "attribute_shirt_colour_accuracy": float(np.mean(colour_hits)) if colour_hits else 0.0,
        "attribute_person_distance_accuracy": float(np.mean(dist_hits)) if dist_hits else 0.0,
    }


def evaluate_model(model_dir: Path, *, seed: int = HELDOUT_SEED, per_class: int = 50, workers: int = 1) -> dict[str, Any]:
    """Measure the shipped model in ``model_dir``.

    Args:
        model_dir: Directory with ``manifest.yaml``.
        seed: Held-out render seed.
        per_class: Images per class.
        workers: Render processes.

    Returns:
        Metrics (floats rounded to 4 places) including ``per_class_accuracy``.
    """
    doc = yaml.safe_load((model_dir / "manifest.yaml").read_text(encoding="utf-8"))
    img_cfg, txt_cfg = doc["image_encoder"], doc["text_encoder"]
    h, w = img_cfg["input_size"]
    spec = PreprocessSpec(int(h), int(w), tuple(img_cfg["mean"]), tuple(img_cfg["std"]), img_cfg.get("resize", "stretch"))
    tok = WordTokenizer.from_file(model_dir / doc["tokenizer"]["file"])
    img_sess, txt_sess = _session(model_dir / img_cfg["file"]), _session(model_dir / txt_cfg["file"])

    scenes = build_scenes(per_class * len(CLASSES), seed, spec=spec, workers=workers)
    pixels = preprocess_batch(list(scenes.frames), spec)
    labels = scenes.labels
    rng = np.random.default_rng([seed, 1])
    captions = [caption(s, rng) for s in scenes.specs]

    img = _run(img_sess, pixels)
    cls = class_embeddings(txt_sess, tok)
    pred = (img @ cls.T).argmax(axis=1)
    correct = pred == labels
    per_class_acc = {c: float(correct[labels == i].mean()) for i, c in enumerate(CLASSES)}
    confusion = np.zeros((len(CLASSES), len(CLASSES)), dtype=np.int64)
    np.add.at(confusion, (labels, pred), 1)

    txt = _run(txt_sess, tok.encode(captions))
    sims = txt @ img.T
    own = sims[np.arange(len(sims)), np.arange(len(sims))]
    rank = (sims > own[:, None]).sum(axis=1)
    top1 = sims.argmax(axis=1)

    para_classes = [c for c in CLASSES if c in PARAPHRASES]
    para_texts = [p for c in para_classes for p in PARAPHRASES[c]]
    para_labels = np.asarray([CLASSES.index(c) for c in para_classes for _ in PARAPHRASES[c]])
    para = _run(txt_sess, tok.encode(para_texts))
    para_top1 = labels[(para @ img.T).argmax(axis=1)] == para_labels
    para_cls = np.stack([_norm(para[para_labels == CLASSES.index(c)].mean(axis=0)) for c in para_classes])
    para_zs = np.asarray([CLASSES.index(c) for c in para_classes])[(img @ para_cls.T).argmax(axis=1)] == labels

    metrics: dict[str, Any] = {
        "heldout_seed": seed,
        "images": len(labels),
        "classes": len(CLASSES),
        "zero_shot_accuracy": float(correct.mean()),
        "classes_at_or_above_0_90": int(sum(a >= 0.9 for a in per_class_acc.values())),
        "text_to_image_recall_at_1": float((rank < 1).mean()),
        "text_to_image_recall_at_5": float((rank < 5).mean()),
        "text_to_image_class_recall_at_1": float((labels[top1] == labels).mean()),
        "paraphrase_top1": float(para_top1.mean()),
        "paraphrase_zero_shot_accuracy": float(para_zs.mean()),
        "precision": doc.get("precision", "fp32"),
        **attribute_probes(img, scenes.specs, lambda texts: _run(txt_sess, tok.encode(texts))),
    }
    for tower, key, data in (("image", "int8_image_cosine", pixels), ("text", "int8_text_cosine", tok.encode(captions[:512]))):
        q, ref = model_dir / f"{tower}_int8.onnx", model_dir / f"{tower}_fp32.onnx"
        if q.exists() and ref.exists():
            metrics[key] = float((_norm(_run(_session(q), data)) * _norm(_run(_session(ref), data))).sum(axis=1).mean())
        else:
            metrics[key] = 0.0
    ref_path = model_dir / "image_fp32.onnx"
    if ref_path.exists() and img_cfg["file"] != "image_fp32.onnx":
        ref_img = _run(_session(ref_path), pixels)
        ref_cls = class_embeddings(_session(model_dir / "text_fp32.onnx"), tok)
        metrics["fp32_zero_shot_accuracy"] = float(((ref_img @ ref_cls.T).argmax(axis=1) == labels).mean())
    metrics = {k: round(v, 4) if isinstance(v, float) else v for k, v in metrics.items()}
    metrics["per_class_accuracy"] = {k: round(v, 4) for k, v in per_class_acc.items()}
    metrics["confusion"] = {"classes": list(CLASSES), "rows_true_cols_pred": confusion.tolist()}
    return metrics


def format_table(m: dict[str, Any]) -> str:
    """Human-readable table of the metrics."""
    lines = [
        f"videorag-tiny evaluation (held-out seed {m['heldout_seed']}, {m['images']} images, {m['classes']} classes, shipped precision {m['precision']})",
        "",
        f"{'metric':<40}{'value':>8}",
        f"{'-' * 48}",
    ]
    for key in (
        "zero_shot_accuracy",
        "fp32_zero_shot_accuracy",
        "classes_at_or_above_0_90",
        "text_to_image_recall_at_1",
        "text_to_image_recall_at_5",
        "text_to_image_class_recall_at_1",
        "paraphrase_top1",
        "paraphrase_zero_shot_accuracy",
        "attribute_side_accuracy",
        "attribute_shirt_colour_accuracy",
        "attribute_person_distance_accuracy",
        "int8_image_cosine",
        "int8_text_cosine",
    ):
        if key in m:
            v = m[key]
            lines.append(f"{key:<40}{v:>8}" if isinstance(v, int) else f"{key:<40}{v:>8.4f}")
    lines += ["", f"{'class':<24}{'zero-shot acc':>14}", f"{'-' * 38}"]
    lines += [f"{c:<24}{a:>14.3f}" for c, a in m["per_class_accuracy"].items()]
    names = m["confusion"]["classes"]
    lines += ["", "confusion (rows: true, cols: predicted, order as above)"]
    lines += [f"{names[i][:16]:<17}" + " ".join(f"{v:>3d}" for v in row) for i, row in enumerate(m["confusion"]["rows_true_cols_pred"])]
    return "\n".join(lines)


def write_evaluation(model_dir: Path, metrics: dict[str, Any]) -> None:
    """Replace the ``evaluation`` block of ``model_dir/manifest.yaml`` with ``metrics``."""
    path = model_dir / "manifest.yaml"
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    doc["evaluation"] = {
        "heldout_seed": metrics["heldout_seed"],
        "zero_shot_accuracy": metrics["zero_shot_accuracy"],
        "classes": metrics["classes"],
        "text_to_image_recall_at_1": metrics["text_to_image_recall_at_1"],
        "text_to_image_recall_at_5": metrics["text_to_image_recall_at_5"],
        "paraphrase_top1": metrics["paraphrase_top1"],
        "int8_image_cosine": metrics["int8_image_cosine"],
        "int8_text_cosine": metrics["int8_text_cosine"],
    }
    path.write_text(dump_manifest(doc), encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: evaluate a model directory and print a table (and JSON)."""
    parser = argparse.ArgumentParser(prog="videorag model eval", description="Evaluate videorag-tiny on held-out synthetic scenes.")
    parser.add_argument("--model", default="models/videorag-tiny", help="model directory (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=HELDOUT_SEED, help="held-out render seed (default: %(default)s)")
    parser.add_argument("--per-class", type=int, default=50, help="images per class (default: %(default)s)")
    parser.add_argument("--workers", type=int, default=2, help="render processes (default: %(default)s)")
    parser.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    parser.add_argument("--write-manifest", action="store_true", help="store the results in the manifest's evaluation block")
    args = parser.parse_args(argv)
    model_dir = Path(args.model)
    if not (model_dir / "manifest.yaml").is_file():
        print(f"error: {model_dir / 'manifest.yaml'} not found", file=sys.stderr)
        return 2
    metrics = evaluate_model(model_dir, seed=args.seed, per_class=args.per_class, workers=args.workers)
    print(format_table(metrics))
    if args.write_manifest:
        write_evaluation(model_dir, metrics)
        print(f"\nwrote evaluation block to {model_dir / 'manifest.yaml'}", file=sys.stderr)
    if args.json:
        print(json.dumps(metrics, separators=(",", ":")))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
