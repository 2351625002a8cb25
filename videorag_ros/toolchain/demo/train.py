"""``videorag model train-demo``: train videorag-tiny, export, quantize, evaluate, ship.

``python -m videorag_ros.toolchain.demo.train --out models/videorag-tiny --seed 0 --minutes 22``

Steps: render a class-balanced scene set, train for ``--minutes`` of wall time
(:mod:`~videorag_ros.toolchain.demo.trainer`), export both towers to ONNX,
quantize them to int8 behind the accuracy/speed gate, write ``vocab.json`` and
``manifest.yaml``, then evaluate the shipped files on held-out seed 1000 and
record the numbers in the manifest. Arguments are parsed before torch is
imported, so ``--help`` is instant.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from pathlib import Path


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="videorag model train-demo", description="Train the videorag-tiny demo model on rendered scenes.")
    parser.add_argument("--out", default="models/videorag-tiny", help="model directory to write (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="training seed (default: %(default)s)")
    parser.add_argument("--minutes", type=float, default=22.0, help="training wall-time budget (default: %(default)s)")
    parser.add_argument("--images", type=int, default=32000, help="rendered training images (default: %(default)s)")
    parser.add_argument("--batch", type=int, default=128, help="batch size (default: %(default)s)")
    parser.add_argument("--lr", type=float, default=2e-3, help="peak learning rate (default: %(default)s)")
    parser.add_argument("--workers", type=int, default=2, help="render processes (default: %(default)s)")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (default: %(default)s)")
    parser.add_argument("--eval-per-class", type=int, default=50, help="held-out images per class (default: %(default)s)")
    parser.add_argument("--checkpoint", default="build/videorag-tiny-train/checkpoint.pt", help="where to save the torch weights")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: train, export, quantize, evaluate; writes the model directory."""
    args = _parser().parse_args(argv)

    import numpy as np
    import torch

    from videorag_ros.core.encoder.preprocess import preprocess_batch
    from videorag_ros.sim import CLASSES, caption
    from videorag_ros.toolchain.demo.data import PREPROCESS, build_scenes
    from videorag_ros.toolchain.demo.evaluate import evaluate_model, format_table, write_evaluation
    from videorag_ros.toolchain.demo.export import export_onnx
    from videorag_ros.toolchain.demo.manifest_writer import write_manifest
    from videorag_ros.toolchain.demo.model import DualEncoder, ModelConfig, count_parameters
    from videorag_ros.toolchain.demo.quantize import run_gates
    from videorag_ros.toolchain.demo.trainer import CONTEXT_LENGTH, build_tokenizer, fmt_duration, log, train

    t0 = time.perf_counter()
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    tok = build_tokenizer()
    cfg = ModelConfig(vocab_size=tok.vocab_size, context_length=CONTEXT_LENGTH)
    model = DualEncoder(cfg)
    log(f"videorag-tiny: image tower {count_parameters(model.image):,} params, text tower {count_parameters(model.text):,} params, vocab {tok.vocab_size}")

    log(f"rendering {args.images} training scenes (seed {args.seed}) ...")
    data = build_scenes(args.images, args.seed, workers=args.workers)
    val = build_scenes(20 * len(CLASSES), args.seed + 999, workers=1)
    log(f"rendered in {fmt_duration(time.perf_counter() - t0)}; training for {args.minutes:g} min")

    summary = train(model, tok, data, val, minutes=args.minutes, batch_size=args.batch, lr=args.lr, seed=args.seed)
    ckpt = Path(args.checkpoint)
    ckpt.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"config": cfg.to_dict(), "state_dict": model.state_dict(), "summary": summary}, ckpt)
    model.eval()
    logit_scale = float(model.scale().detach())

    export_onnx(model, out)
    tok.save(out / "vocab.json")
    calib = build_scenes(320, args.seed + 2000, workers=1)
    gate_set = build_scenes(288, args.seed + 3000, workers=1)
    rng = np.random.default_rng([args.seed, 3000])
    gate_ids = tok.encode([caption(s, rng) for s in gate_set.specs])
    image_gate, text_gate = run_gates(
        out,
        preprocess_batch(list(calib.frames), PREPROCESS),
        preprocess_batch(list(gate_set.frames), PREPROCESS),
        gate_ids,
        log=log,
    )
    source = (
        f"trained by videorag_ros.toolchain.demo.train (seed {args.seed}, {args.images} images, "
        f"{summary['seconds'] / 60:.1f} minutes, {summary['epochs']:.1f} epochs)"
    )
    write_manifest(
        out,
        embedding_dim=cfg.embedding_dim,
        logit_scale=logit_scale,
        context_length=CONTEXT_LENGTH,
        input_size=cfg.image_size,
        mean=PREPROCESS.mean,
        std=PREPROCESS.std,
        source=source,
        image_file=image_gate.shipped,
        text_file=text_gate.shipped,
        quantization={"gate": "mean cosine >= 0.99 and int8 median latency <= fp32 (batch 1, CPU EP, 1 thread)", "image": image_gate.to_dict(), "text": text_gate.to_dict()},
    )
    log("evaluating shipped files on held-out seed 1000 ...")
    metrics = evaluate_model(out, per_class=args.eval_per_class, workers=args.workers)
    write_evaluation(out, metrics)
    print(format_table(metrics))
    print(json.dumps({"training": summary, "logit_scale": logit_scale, **metrics}, separators=(",", ":")))
    log(f"total {fmt_duration(time.perf_counter() - t0)}; wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
