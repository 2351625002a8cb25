"""Export CLIP/SigLIP image-text models to ONNX model directories (``manifest.yaml`` + files).

Two sources:

- ``export_checkpoint``: a local Hugging Face checkpoint directory holding a
  ``CLIPModel`` or ``SiglipModel`` (``config.json``, weights, tokenizer files,
  ``preprocessor_config.json``). Nothing is downloaded (``local_files_only=True``).
- ``random_init.export_random_init``: the same architectures with random weights, for
  compute-cost benchmarks only (``clip-vit-b32``, ``mobileclip-s0``).

Each tower is exported at opset 17 with a dynamic batch axis and the L2
normalisation inside the graph: ``pixel_values [N,3,H,W] float32 -> embedding
[N,D]`` and ``input_ids [N,L] int64 -> embedding [N,D]``. After export the ONNX
files are run in onnxruntime on rendered frames and prompts and compared with
torch; a cosine below 0.999 raises :class:`EncoderError` and no manifest is
written.
"""

from __future__ import annotations

import json
import logging
import time
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np
import numpy.typing as npt
import yaml

from videorag_ros.core.encoder.manifest import FORMAT_VERSION, sha256_file
from videorag_ros.core.encoder.preprocess import PreprocessSpec, preprocess_batch
from videorag_ros.core.encoder.tokenizers import HFTokenizer
from videorag_ros.core.errors import ConfigError, EncoderError, ModelLoadError

log = logging.getLogger(__name__)

OPSET = 17
IMAGE_INPUT, TEXT_INPUT, OUTPUT = "pixel_values", "input_ids", "embedding"
IMAGE_FILE, TEXT_FILE, TOKENIZER_FILE = "image_fp32.onnx", "text_fp32.onnx", "tokenizer.json"
MIN_EXPORT_COSINE = 0.999
CLIP_MEAN, CLIP_STD = (0.48145466, 0.4578275, 0.40821073), (0.26862954, 0.26130258, 0.27577711)
REPO_MODELS = Path(__file__).resolve().parents[2] / "models"
PROTECTED_DIRS = (REPO_MODELS / "videorag-tiny",)

Progress = Callable[[str], None]


@dataclass
class Towers:
    """Two torch towers ready for export plus everything the manifest needs.

    Attributes:
        image: ``(N, 3, H, W)`` float32 -> ``(N, D)`` L2-normalised.
        text: ``(N, L)`` int64 -> ``(N, D)`` L2-normalised.
        tokenizer: Tokenizer padded/truncated to the text context length.
        preprocess: Image size, mean/std and resize policy.
        embedding_dim: D.
        logit_scale: ``exp(logit_scale)`` of the checkpoint.
        model_type: ``clip``, ``siglip`` or ``mobileclip-s0-approx``.
        source: Manifest ``source`` line.
        description: Manifest ``description``.
        licence: Manifest ``licence``.
    """

    image: Any
    text: Any
    tokenizer: HFTokenizer
    preprocess: PreprocessSpec
    embedding_dim: int
    logit_scale: float
    model_type: str
    source: str
    description: str
    licence: str


@dataclass(frozen=True, slots=True)
class ExportResult:
    """What an export wrote and how well onnxruntime matched torch.

    Attributes:
        directory: The model directory.
        manifest: Its ``manifest.yaml``.
        image_cosine: Minimum torch-vs-onnxruntime cosine over the verification frames.
        text_cosine: Minimum torch-vs-onnxruntime cosine over the verification prompts.
    """

    directory: Path
    manifest: Path
    image_cosine: float
    text_cosine: float


class _Steps:
    """Numbered progress lines (``[2/5] export image ...``) sent to a callback or the log."""

    def __init__(self, total: int, progress: Progress | None) -> None:
        self._total, self._i = total, 0
        self._emit = progress or log.info

    @contextmanager
    def step(self, what: str) -> Iterator[None]:
        self._i += 1
        self._emit(f"[{self._i}/{self._total}] {what} ...")
        t0 = time.perf_counter()
        yield
        self._emit(f"[{self._i}/{self._total}] {what}: done in {time.perf_counter() - t0:.1f} s")


def _check_out_dir(out_dir: Path) -> None:
    for protected in PROTECTED_DIRS:
        if out_dir.resolve() == protected.resolve():
            msg = f"refusing to export into '{out_dir}': it is the committed demo model; choose another --out directory"
            raise ConfigError(msg)


# --------------------------------------------------------------------------- torch wrappers


def _normalised(module: Any, kind: str) -> Any:
    """Wrap a feature function so the graph ends with an L2 normalisation."""
    import torch

    class _Tower(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = module

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y: torch.Tensor = self.inner(x) if kind == "plain" else _features(self.inner, kind, x)
            return cast("torch.Tensor", y / y.norm(dim=-1, keepdim=True).clamp_min(1e-12))

    return _Tower().eval()


def _features(model: Any, kind: str, x: Any) -> Any:
    """Projected features of a transformers model; handles the 4.x (tensor) and 5.x (output object) APIs."""
    if kind == "image":
        out = model.get_image_features(pixel_values=x)
    elif kind == "text":
        out = model.get_text_features(input_ids=x)
    else:  # CLIPTextModelWithProjection
        out = model(input_ids=x).text_embeds
    return out if hasattr(out, "dim") else out.pooler_output


# --------------------------------------------------------------------------- checkpoints


def _read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    return data if isinstance(data, dict) else {}


def _token_str(value: Any) -> str | None:
    if isinstance(value, dict):
        value = value.get("content")
    return value if isinstance(value, str) else None


def _checkpoint_tokenizer(checkpoint: Path, model_type: str, context_length: int) -> HFTokenizer:
    """``tokenizer.json`` of the checkpoint (or a fast tokenizer converted by transformers)."""
    from tokenizers import Tokenizer

    cfg = {**_read_json(checkpoint / "special_tokens_map.json"), **_read_json(checkpoint / "tokenizer_config.json")}
    pad = _token_str(cfg.get("pad_token"))
    if (checkpoint / TOKENIZER_FILE).is_file():
        tok = Tokenizer.from_file(str(checkpoint / TOKENIZER_FILE))
    else:
        from transformers import AutoTokenizer

        try:
            hf = AutoTokenizer.from_pretrained(str(checkpoint), local_files_only=True, use_fast=True)
        except Exception as err:  # transformers raises OSError/ValueError/ImportError for missing pieces
            msg = f"checkpoint '{checkpoint}' has no tokenizer.json and transformers could not build a fast tokenizer: {err}"
            raise ModelLoadError(msg) from err
        tok, pad = hf.backend_tokenizer, pad or hf.pad_token
    pad = pad or ("<|endoftext|>" if model_type == "clip" else "</s>")
    pad_id = tok.token_to_id(pad)
    if pad_id is None:
        msg = f"checkpoint '{checkpoint}': pad token '{pad}' is not in the tokenizer vocabulary"
        raise ModelLoadError(msg)
    tok.enable_padding(length=context_length, pad_id=pad_id, pad_token=pad)
    return HFTokenizer(tok, context_length, source=str(checkpoint))


def _checkpoint_preprocess(checkpoint: Path, model_type: str, image_size: int) -> PreprocessSpec:
    """Mean/std and resize policy from ``preprocessor_config.json`` (CLIP/SigLIP defaults if absent)."""
    pre = _read_json(checkpoint / "preprocessor_config.json")
    default_mean, default_std = (CLIP_MEAN, CLIP_STD) if model_type == "clip" else ((0.5,) * 3, (0.5,) * 3)
    mean = tuple(float(v) for v in pre.get("image_mean", default_mean))
    std = tuple(float(v) for v in pre.get("image_std", default_std))
    # CLIP: shortest_edge resize + centre crop. SigLIP's processor resizes to a square without cropping,
    # which "stretch" reproduces; a config that does neither defaults to the CLIP convention.
    crop = pre.get("do_center_crop")
    resize = "stretch" if (crop is False or (crop is None and model_type == "siglip")) else "shorter_side_center_crop"
    if len(mean) != 3 or len(std) != 3:
        msg = f"checkpoint '{checkpoint}': image_mean/image_std must have 3 values, got {mean} / {std}"
        raise ModelLoadError(msg)
    return PreprocessSpec(image_size, image_size, (float(mean[0]), float(mean[1]), float(mean[2])), (float(std[0]), float(std[1]), float(std[2])), resize)


def load_checkpoint(checkpoint: str | Path, *, licence: str | None = None) -> Towers:
    """Load a local CLIP or SigLIP checkpoint directory (no downloads).

    Args:
        checkpoint: Directory with ``config.json`` and weights in Hugging Face format.
        licence: Licence line for the manifest; ``"see checkpoint"`` if not given.

    Returns:
        The towers and manifest metadata.

    Raises:
        ModelLoadError: Missing directory, unsupported model type or unreadable files.
    """
    path = Path(checkpoint).expanduser().resolve()
    if not (path / "config.json").is_file():
        msg = f"checkpoint '{path}' has no config.json (expected a Hugging Face model directory)"
        raise ModelLoadError(msg)
    import torch
    from transformers import AutoConfig, CLIPModel, SiglipModel

    try:
        cfg = AutoConfig.from_pretrained(str(path), local_files_only=True)
    except Exception as err:
        msg = f"checkpoint '{path}': config.json could not be read: {err}"
        raise ModelLoadError(msg) from err
    classes = {"clip": CLIPModel, "siglip": SiglipModel}
    if cfg.model_type not in classes:
        msg = f"checkpoint '{path}' is model_type '{cfg.model_type}'; expected one of {sorted(classes)}"
        raise ModelLoadError(msg)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model_class: Any = classes[cfg.model_type]
            model = model_class.from_pretrained(str(path), local_files_only=True, attn_implementation="eager")
            model.eval()
    except Exception as err:
        msg = f"checkpoint '{path}': weights could not be loaded: {err}"
        raise ModelLoadError(msg) from err
    context = int(cfg.text_config.max_position_embeddings)
    size = int(cfg.vision_config.image_size)
    with torch.no_grad():
        scale = float(model.logit_scale.exp())
    dim = int(getattr(cfg, "projection_dim", 0) or cfg.text_config.hidden_size)
    return Towers(
        image=_normalised(model, "image"),
        text=_normalised(model, "text"),
        tokenizer=_checkpoint_tokenizer(path, cfg.model_type, context),
        preprocess=_checkpoint_preprocess(path, cfg.model_type, size),
        embedding_dim=dim,
        logit_scale=scale,
        model_type=cfg.model_type,
        source=f"{path} ({cfg.model_type})",
        description=f"{cfg.model_type.upper()} checkpoint exported from {path.name}",
        licence=licence or "see checkpoint",
    )


# --------------------------------------------------------------------------- export + verify


def _export_onnx(module: Any, example: Any, input_name: str, path: Path) -> None:
    import torch

    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module,
            (example,),
            str(path),
            input_names=[input_name],
            output_names=[OUTPUT],
            dynamic_axes={input_name: {0: "batch"}, OUTPUT: {0: "batch"}},
            opset_version=OPSET,
            do_constant_folding=True,
            dynamo=False,
        )


def verification_frames(spec: PreprocessSpec, n: int = 4, *, seed: int = 7) -> list[npt.NDArray[np.uint8]]:
    """``n`` rendered scene frames (640x480 RGB), one class after another."""
    from videorag_ros.sim import CLASSES, render, sample_scene

    rng = np.random.default_rng(seed)
    return [render(sample_scene(CLASSES[i % len(CLASSES)], rng), width=640, height=480) for i in range(n)]


def verification_prompts(n: int = 4) -> list[str]:
    """``n`` scene prompts, one class after another."""
    from videorag_ros.sim import class_prompts

    prompts = [p for ps in class_prompts().values() for p in ps]
    return [prompts[(i * 3) % len(prompts)] for i in range(n)]


def row_cosines(a: npt.NDArray[np.float32], b: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """Row-wise cosine similarity of two ``(N, D)`` arrays."""
    a = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)
    b = b / np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-12)
    out: npt.NDArray[np.float32] = (a * b).sum(axis=1).astype(np.float32)
    return out


def _torch_vs_onnx(module: Any, path: Path, input_name: str, x: np.ndarray) -> float:
    import onnxruntime as ort
    import torch

    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = sess.run([OUTPUT], {input_name: x})[0]
    with torch.no_grad():
        want = module(torch.from_numpy(x)).numpy()
    if got.shape != want.shape:
        msg = f"{path.name}: onnxruntime output {got.shape} but torch {want.shape}"
        raise EncoderError(msg)
    return float(row_cosines(got, want).min())


def export_towers(
    towers: Towers,
    out_dir: str | Path,
    *,
    name: str,
    progress: Progress | None = None,
    min_cosine: float = MIN_EXPORT_COSINE,
    n_verify: int = 4,
    _steps: _Steps | None = None,
) -> ExportResult:
    """Export both towers, the tokenizer and ``manifest.yaml``, verifying onnxruntime against torch.

    Args:
        towers: From ``load_checkpoint`` or ``random_init``.
        out_dir: Model directory to write (created).
        name: Manifest ``name``.
        progress: Called with one line per step start/end; defaults to the log.
        min_cosine: Lowest acceptable torch-vs-onnxruntime cosine.
        n_verify: Frames and prompts to verify on (batch > 2 also checks the dynamic batch axis).

    Returns:
        Paths and the measured cosines.

    Raises:
        EncoderError: onnxruntime disagrees with torch (the files are removed, no manifest written).
        ConfigError: ``out_dir`` is the committed demo model.
    """
    import torch

    out = Path(out_dir).expanduser()
    _check_out_dir(out)
    out.mkdir(parents=True, exist_ok=True)
    steps = _steps or _Steps(4, progress)
    spec = towers.preprocess
    image_path, text_path, tok_path = out / IMAGE_FILE, out / TEXT_FILE, out / TOKENIZER_FILE
    with steps.step(f"export image tower ({spec.height}x{spec.width}) -> {image_path.name}"):
        _export_onnx(towers.image, torch.randn(2, 3, spec.height, spec.width), IMAGE_INPUT, image_path)
    with steps.step(f"export text tower (context {towers.tokenizer.context_length}) -> {text_path.name}"):
        ids = torch.from_numpy(towers.tokenizer.encode(verification_prompts(2)))
        _export_onnx(towers.text, ids, TEXT_INPUT, text_path)
        towers.tokenizer.save(tok_path)
    with steps.step(f"verify onnxruntime vs torch on {n_verify} rendered frames and prompts"):
        pixels = preprocess_batch(verification_frames(spec, n_verify), spec)
        img_cos = _torch_vs_onnx(towers.image, image_path, IMAGE_INPUT, pixels)
        reloaded = HFTokenizer.from_file(tok_path, towers.tokenizer.context_length)
        txt_cos = _torch_vs_onnx(towers.text, text_path, TEXT_INPUT, reloaded.encode(verification_prompts(n_verify)))
        log.info("export verification: image cosine %.6f, text cosine %.6f (floor %.4f)", img_cos, txt_cos, min_cosine)
        if min(img_cos, txt_cos) < min_cosine:
            for p in (image_path, text_path):
                p.unlink(missing_ok=True)
            msg = f"ONNX export of '{name}' disagrees with torch: min cosine image {img_cos:.6f}, text {txt_cos:.6f}; expected >= {min_cosine}"
            raise EncoderError(msg)
    with steps.step("hash files and write manifest.yaml"):
        manifest = write_manifest(out, _manifest_doc(towers, out, name, img_cos, txt_cos))
    return ExportResult(out, manifest, img_cos, txt_cos)


def _manifest_doc(towers: Towers, out: Path, name: str, img_cos: float, txt_cos: float) -> dict[str, Any]:
    import torch

    spec = towers.preprocess
    img_sha, txt_sha = sha256_file(out / IMAGE_FILE), sha256_file(out / TEXT_FILE)
    try:
        import transformers

        tf_version = str(transformers.__version__)
    except ImportError:  # pragma: no cover - transformers is a requirement
        tf_version = "n/a"
    return {
        "format_version": FORMAT_VERSION,
        "name": name,
        "description": towers.description,
        "source": towers.source,
        "licence": towers.licence,
        "embedding_dim": int(towers.embedding_dim),
        "logit_scale": round(float(towers.logit_scale), 4),
        "precision": "fp32",
        "image_encoder": {
            "file": IMAGE_FILE,
            "sha256": img_sha,
            "input_name": IMAGE_INPUT,
            "output_name": OUTPUT,
            "input_size": [spec.height, spec.width],
            "mean": [round(float(v), 8) for v in spec.mean],
            "std": [round(float(v), 8) for v in spec.std],
            "resize": spec.resize,
        },
        "text_encoder": {
            "file": TEXT_FILE,
            "sha256": txt_sha,
            "input_name": TEXT_INPUT,
            "output_name": OUTPUT,
            "context_length": int(towers.tokenizer.context_length),
        },
        "tokenizer": {"type": "hf", "file": TOKENIZER_FILE, "sha256": sha256_file(out / TOKENIZER_FILE)},
        "reference": {"image_file": IMAGE_FILE, "image_sha256": img_sha, "text_file": TEXT_FILE, "text_sha256": txt_sha},
        "export": {
            "model_type": towers.model_type,
            "opset": OPSET,
            "torch": str(torch.__version__),
            "transformers": tf_version,
            "verify_image_cosine_min": round(img_cos, 6),
            "verify_text_cosine_min": round(txt_cos, 6),
        },
    }


class _ManifestDumper(yaml.SafeDumper):
    """Block-style mappings, flow-style short lists (``input_size: [224, 224]``)."""


def _represent_list(dumper: yaml.SafeDumper, data: list[Any]) -> yaml.Node:
    flow = all(isinstance(v, (int, float, str)) for v in data)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)


_ManifestDumper.add_representer(list, _represent_list)


def write_manifest(directory: Path, doc: Mapping[str, Any]) -> Path:
    """Write ``directory/manifest.yaml`` (keys in the given order) atomically; returns its path."""
    path = directory / "manifest.yaml"
    tmp = directory / ".manifest.yaml.tmp"
    tmp.write_text(yaml.dump(dict(doc), Dumper=_ManifestDumper, sort_keys=False, width=120, allow_unicode=True), encoding="utf-8")
    tmp.replace(path)
    return path


def export_checkpoint(
    checkpoint: str | Path,
    out_dir: str | Path | None = None,
    *,
    name: str | None = None,
    licence: str | None = None,
    progress: Progress | None = None,
) -> ExportResult:
    """Load a local CLIP/SigLIP checkpoint and export it (see ``export_towers``).

    Args:
        checkpoint: Hugging Face model directory.
        out_dir: Output directory; default ``models/<name>``.
        name: Model name; default the checkpoint directory's name.
        licence: Licence line; default ``"see checkpoint"``.
        progress: Progress callback.

    Raises:
        ModelLoadError: Unreadable checkpoint.
        EncoderError: Verification failed.
    """
    name = name or Path(checkpoint).expanduser().resolve().name
    out = Path(out_dir) if out_dir else REPO_MODELS / name
    _check_out_dir(out)
    steps = _Steps(5, progress)
    with steps.step(f"load checkpoint {checkpoint}"):
        towers = load_checkpoint(checkpoint, licence=licence)
    return export_towers(towers, out, name=name, progress=progress, _steps=steps)
