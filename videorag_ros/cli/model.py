"""``videorag model <tool>``: train the demo model, evaluate, export, quantize, build TensorRT engines.

Subcommands:
  train-demo    train videorag-tiny on rendered scenes (``videorag_ros.toolchain.demo.train``)
  eval          evaluate a model directory (``videorag_ros.toolchain.demo.evaluate``)
  export        a local CLIP/SigLIP checkpoint (or a random-init architecture) -> ONNX model dir
  quantize      int8 (dynamic MatMul/Gemm or static QDQ) behind the accuracy/speed gate
  build-engine  TensorRT fp16/int8 engine of the image tower, gated against onnxruntime fp32
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from videorag_ros.core.printable import printable
from videorag_ros.toolchain.random_init import RANDOM_ARCHS

PASS_THROUGH = {
    "train-demo": "videorag_ros.toolchain.demo.train",
    "eval": "videorag_ros.toolchain.demo.evaluate",
}
NO_TENSORRT = "TensorRT is not installed (pip install tensorrt on a machine with an NVIDIA GPU)"


def _progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="videorag model", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="tool", metavar="<tool>")
    for name, help_ in (("train-demo", "train the videorag-tiny demo model"), ("eval", "evaluate a model directory")):
        sub.add_parser(name, help=help_, add_help=False)

    e = sub.add_parser("export", help="export a CLIP/SigLIP checkpoint (or random-init architecture) to ONNX")
    src = e.add_mutually_exclusive_group(required=True)
    src.add_argument("--checkpoint", metavar="DIR", help="local Hugging Face CLIPModel/SiglipModel directory (nothing is downloaded)")
    src.add_argument("--random-init", choices=RANDOM_ARCHS, help="random weights, for compute-cost benchmarks only")
    e.add_argument("--out", metavar="DIR", help="model directory to write (default: models/<name>)")
    e.add_argument("--name", help="model name (default: checkpoint directory name, or random-<arch>)")
    e.add_argument("--licence", help='licence line for the manifest (default: "see checkpoint")')
    e.add_argument("--seed", type=int, default=0, help="random-init seed (default: %(default)s)")

    q = sub.add_parser("quantize", help="int8 quantization behind the accuracy/speed gate")
    q.add_argument("model", help="model name or directory (not modified)")
    q.add_argument("--mode", choices=("dynamic", "static"), required=True, help="dynamic: MatMul/Gemm weights only; static: QDQ with calibration")
    q.add_argument("--tower", choices=("image", "text", "both"), default="both", help="(default: %(default)s)")
    q.add_argument("--calib-dir", metavar="DIR", help="calibration images (default: rendered scenes)")
    q.add_argument("--calib-frames", type=int, default=64, help="calibration frames/prompts, also the gate's inputs (default: %(default)s)")
    q.add_argument("--out", metavar="DIR", required=True, help="new model directory for the int8 model")
    q.add_argument("--min-cosine", type=float, default=0.99, help="gate: mean cosine floor vs fp32 (default: %(default)s)")
    q.add_argument("--runs", type=int, default=50, help="gate: timed batch-1 runs per model, >= 50 (default: %(default)s)")
    q.add_argument("--threads", type=int, default=1, help="onnxruntime threads for the gate (default: %(default)s)")

    b = sub.add_parser("build-engine", help="TensorRT engine of the image tower (needs an NVIDIA GPU)")
    b.add_argument("model", help="model name or directory")
    b.add_argument("--precision", choices=("fp16", "int8"), default="fp16", help="(default: %(default)s)")
    b.add_argument("--cache-dir", metavar="DIR", help="engine + timing cache (default: $VIDEORAG_ENGINE_CACHE or ~/.cache/videorag/engines)")
    b.add_argument("--calib-dir", metavar="DIR", help="int8 calibration / gate images (default: rendered scenes)")
    b.add_argument("--calib-frames", type=int, default=64, help="(default: %(default)s)")
    b.add_argument("--workspace-mib", type=int, default=2048, help="builder workspace (default: %(default)s)")
    b.add_argument("--min-cosine", type=float, default=0.99, help="gate: mean cosine floor vs onnxruntime fp32 (default: %(default)s)")
    b.add_argument("--force", action="store_true", help="rebuild even if a cached engine exists")
    return p


def _export(args: argparse.Namespace) -> int:
    from videorag_ros.toolchain.export import export_checkpoint
    from videorag_ros.toolchain.random_init import export_random_init

    if args.checkpoint:
        res = export_checkpoint(args.checkpoint, args.out, name=args.name, licence=args.licence, progress=_progress)
    else:
        res = export_random_init(args.random_init, args.out, name=args.name, seed=args.seed, progress=_progress)
    print(f"exported {res.directory} (onnxruntime vs torch cosine: image {res.image_cosine:.6f}, text {res.text_cosine:.6f})")
    return 0


def _quantize(args: argparse.Namespace) -> int:
    from videorag_ros.toolchain.quantize import quantize_model

    res = quantize_model(
        args.model,
        args.out,
        mode=args.mode,
        tower=args.tower,
        calib_dir=args.calib_dir,
        n_calib=args.calib_frames,
        min_cosine=args.min_cosine,
        runs=args.runs,
        threads=args.threads,
        progress=_progress,
    )
    for r in res.reports:
        print(r.describe())
    print(f"wrote {res.manifest}")
    return 0


def _build_engine(args: argparse.Namespace) -> int:
    from videorag_ros.core.encoder.tensorrt_runtime import tensorrt_available

    if not tensorrt_available():
        print(f"error: {NO_TENSORRT}", file=sys.stderr)
        return 1
    from videorag_ros.core.encoder.manifest import load_manifest
    from videorag_ros.toolchain.quantize import calibration_frames
    from videorag_ros.toolchain.tensorrt_build import build_gated_engine

    manifest = load_manifest(args.model)
    frames = calibration_frames(manifest.image.preprocess, calib_dir=args.calib_dir, n=args.calib_frames)
    _progress(f"building TensorRT {args.precision} engine for {manifest.name} (minutes; progress is logged)")
    path, report = build_gated_engine(
        manifest,
        precision=args.precision,
        frames=frames,
        cache_dir=args.cache_dir,
        workspace_mib=args.workspace_mib,
        min_cosine=args.min_cosine,
        force=args.force,
    )
    print(report.describe())
    print(f"engine: {path}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Dispatch ``videorag model <tool> ...``; returns the exit code."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list and args_list[0] in PASS_THROUGH:
        import importlib

        return int(importlib.import_module(PASS_THROUGH[args_list[0]]).main(args_list[1:]) or 0)
    parser = _parser()
    args = parser.parse_args(args_list)
    if args.tool is None:
        parser.print_help()
        return 0 if not args_list else 2

    import logging

    from videorag_ros.core.errors import VideoragError

    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    for noisy in ("videorag_ros.core.encoder.onnx_backend", "videorag_ros.toolchain.quantize"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    tools = {"export": _export, "quantize": _quantize, "build-engine": _build_engine}
    try:
        return tools[args.tool](args)
    except VideoragError as err:
        print(f"error: {printable(err)}", file=sys.stderr)
        return 1
