"""Export the trained towers to ONNX (opset 17).

The fp32 graphs take ``pixel_values`` float32 ``[N, 3, 96, 96]`` and
``input_ids`` int64 ``[N, L]`` with a dynamic batch axis; both output
``embedding`` float32 ``[N, D]``, already L2-normalised.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch

from videorag_ros.toolchain.demo.model import DualEncoder

logger = logging.getLogger(__name__)

OPSET = 17
IMAGE_INPUT = "pixel_values"
TEXT_INPUT = "input_ids"
OUTPUT = "embedding"


def export_onnx(model: DualEncoder, out_dir: Path) -> tuple[Path, Path]:
    """Export both towers to fp32 ONNX and check them against torch.

    Args:
        model: The trained model.
        out_dir: Directory for ``image_fp32.onnx`` and ``text_fp32.onnx``.

    Returns:
        ``(image_path, text_path)``.

    Raises:
        RuntimeError: If onnxruntime disagrees with torch by more than 1e-3.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    model = model.eval()
    cfg = model.cfg
    image_path, text_path = out_dir / "image_fp32.onnx", out_dir / "text_fp32.onnx"
    pixels = torch.randn(2, 3, cfg.image_size, cfg.image_size)
    ids = torch.randint(4, cfg.vocab_size, (2, cfg.context_length))
    ids[:, 0] = 2
    ids[0, 5:] = 0
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for module, arg, name, path in ((model.image, pixels, IMAGE_INPUT, image_path), (model.text, ids, TEXT_INPUT, text_path)):
            torch.onnx.export(
                module,
                (arg,),
                str(path),
                input_names=[name],
                output_names=[OUTPUT],
                dynamic_axes={name: {0: "batch"}, OUTPUT: {0: "batch"}},
                opset_version=OPSET,
                do_constant_folding=True,
                dynamo=False,
            )
            onnx.checker.check_model(onnx.load(str(path)))
            sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
            got = sess.run([OUTPUT], {name: arg.numpy()})[0]
            want = module(arg).numpy()
            err = float(np.abs(got - want).max())
            if err > 1e-3:
                msg = f"ONNX export of {path.name} disagrees with torch (max abs diff {err:.2e})"
                raise RuntimeError(msg)
            logger.info("exported %s (max abs diff vs torch %.1e)", path.name, err)
    return image_path, text_path
