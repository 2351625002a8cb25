"""Model directories: ``models/<name>/manifest.yaml`` plus the files it names.

A manifest is validated on load; errors name the field. Every file is checked against
its sha256 so a truncated or swapped weight file fails here, not deep in onnxruntime.
"""

from __future__ import annotations

import hashlib
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from videorag_ros.core.encoder.preprocess import RESIZE_POLICIES, PreprocessSpec
from videorag_ros.core.errors import ModelLoadError, VideoragError
from videorag_ros.core.printable import bounded_repr
from videorag_ros.core.safe_files import UnsafeFileError, check_regular_file, read_regular_file
from videorag_ros.core.safe_yaml import load_yaml

FORMAT_VERSION = 1
MODEL_PATH_ENV = "VIDEORAG_MODEL_PATH"
# Bounds on what a manifest may declare: each is far above any real image-text model and far
# below what would exhaust a robot's memory (a 30000 x 30000 input is a 10 GB tensor).
MAX_INPUT_SIDE = 2048
MAX_EMBEDDING_DIM = 16384
MAX_CONTEXT_LENGTH = 4096
MAX_MODEL_FILE_BYTES = 8 << 30


@dataclass(frozen=True, slots=True)
class ImageEncoderSpec:
    """The image tower: ONNX file, I/O names and preprocessing."""

    file: Path
    sha256: str
    input_name: str
    output_name: str
    preprocess: PreprocessSpec


@dataclass(frozen=True, slots=True)
class TextEncoderSpec:
    """The text tower: ONNX file, I/O names and token context length."""

    file: Path
    sha256: str
    input_name: str
    output_name: str
    context_length: int


@dataclass(frozen=True, slots=True)
class Manifest:
    """A validated model manifest; every path is absolute."""

    name: str
    directory: Path
    embedding_dim: int
    logit_scale: float
    precision: str
    image: ImageEncoderSpec
    text: TextEncoderSpec | None
    tokenizer_file: Path | None
    tokenizer_sha256: str | None
    reference_image_file: Path | None
    reference_text_file: Path | None
    source: str
    licence: str
    raw: Mapping[str, Any]
    demo: bool = False  # trained on synthetic scenes only: not for stopping a real robot


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def search_path() -> list[Path]:
    """Directories searched for a model given by name, in order.

    ``$VIDEORAG_MODEL_PATH`` (colon-separated), the ``models/`` folder of a source
    checkout, then ``share/videorag/models`` of every ament prefix.
    """
    dirs = [Path(p) for p in os.environ.get(MODEL_PATH_ENV, "").split(os.pathsep) if p]
    dirs.append(Path(__file__).resolve().parents[3] / "models")
    for prefix in os.environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep):
        if prefix:
            dirs.append(Path(prefix) / "share" / "videorag" / "models")
    return dirs


def resolve_model_dir(name_or_path: str) -> Path:
    """Find a model directory by path or by name on ``search_path()``.

    Raises:
        ModelLoadError: When no directory with a ``manifest.yaml`` is found.
    """
    p = Path(name_or_path).expanduser()
    candidates = [p / "manifest.yaml"] + ([p] if p.name == "manifest.yaml" else [])
    looked = search_path()
    candidates += [d / name_or_path / "manifest.yaml" for d in looked]
    for manifest in candidates:
        if manifest.exists():
            try:  # a FIFO or device named manifest.yaml is an error, not "not found"
                check_regular_file(manifest, what="manifest")
            except UnsafeFileError as err:
                raise ModelLoadError(str(err)) from err
            return manifest.parent.resolve()
    msg = (
        f"model '{name_or_path}' not found: no manifest.yaml at that path or under "
        f"{', '.join(str(d) for d in looked)}; set {MODEL_PATH_ENV} or pass a model directory"
    )
    raise ModelLoadError(msg)


def _field(tree: Mapping[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if key not in tree:
        msg = f"manifest {where}: missing field '{key}'"
        raise ModelLoadError(msg)
    val = tree[key]
    if not isinstance(val, kind) or (isinstance(val, bool) and kind is not bool):
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        msg = f"manifest {where}: field '{key}' = {bounded_repr(val)} has the wrong type (expected {names})"
        raise ModelLoadError(msg)
    return val


def _number(tree: Mapping[str, Any], key: str, where: str, *, low: float, high: float) -> float:
    """A finite number in (low, high]: a NaN scale or std would make every score NaN."""
    val = float(_field(tree, key, (int, float), where))
    if not (math.isfinite(val) and low < val <= high):
        msg = f"manifest {where}: field '{key}' = {val} must be a finite number in ({low:g}, {high:g}]"
        raise ModelLoadError(msg)
    return val


def _integer(tree: Mapping[str, Any], key: str, where: str, *, high: int) -> int:
    val = int(_field(tree, key, int, where))
    if not 0 < val <= high:
        msg = f"manifest {where}: field '{key}' = {val} must be an integer in 1..{high}"
        raise ModelLoadError(msg)
    return val


def _numbers(tree: Mapping[str, Any], key: str, where: str, *, n: int, kind: type | tuple[type, ...], low: float, high: float) -> list[Any]:
    """A list of ``n`` finite numbers of ``kind``, each in [low, high]."""
    vals = _field(tree, key, list, where)
    ok = len(vals) == n and all(isinstance(v, kind) and not isinstance(v, bool) for v in vals)
    if not ok or not all(math.isfinite(v) and low <= v <= high for v in vals):
        names = kind.__name__ if isinstance(kind, type) else "number"
        msg = f"manifest {where}: field '{key}' = {bounded_repr(vals)} must be {n} finite {names}s in [{low:g}, {high:g}]"
        raise ModelLoadError(msg)
    return list(vals)


def _file(directory: Path, rel: str, sha: str, where: str, *, verify: bool) -> Path:
    path = (directory / rel).resolve()
    if directory.resolve() not in path.parents:
        msg = f"manifest {where}: file '{rel}' points outside the model directory"
        raise ModelLoadError(msg)
    try:
        check_regular_file(path, what=f"manifest {where}: file", max_bytes=MAX_MODEL_FILE_BYTES)
    except UnsafeFileError as err:
        raise ModelLoadError(str(err)) from err
    if verify:
        got = sha256_file(path)
        if got != sha:
            msg = f"manifest {where}: sha256 of '{path}' is {got}, manifest says {sha} (corrupt or replaced file)"
            raise ModelLoadError(msg)
    return path


def load_manifest(name_or_path: str, *, verify: bool = True) -> Manifest:
    """Load and validate a model manifest.

    Args:
        name_or_path: Model name (searched on ``search_path()``) or directory.
        verify: Check every file's sha256.

    Returns:
        The validated manifest with absolute file paths.

    Raises:
        ModelLoadError: Missing directory/field/file, wrong type, bad hash.
    """
    directory = resolve_model_dir(name_or_path)
    mpath = directory / "manifest.yaml"
    try:
        doc = load_yaml(read_regular_file(mpath, what="manifest"), what=f"manifest '{mpath}'")
    except VideoragError as err:
        raise ModelLoadError(str(err)) from err
    if not isinstance(doc, dict):
        msg = f"manifest '{mpath}' must be a mapping"
        raise ModelLoadError(msg)
    where = f"'{mpath}'"
    version = _field(doc, "format_version", int, where)
    if version != FORMAT_VERSION:
        msg = f"manifest {where}: format_version {version} is not supported (expected {FORMAT_VERSION})"
        raise ModelLoadError(msg)
    img = _field(doc, "image_encoder", dict, where)
    iw = f"{where} image_encoder"
    size = _numbers(img, "input_size", iw, n=2, kind=int, low=1, high=MAX_INPUT_SIDE)
    mean = _numbers(img, "mean", iw, n=3, kind=(int, float), low=-1e3, high=1e3)
    std = _numbers(img, "std", iw, n=3, kind=(int, float), low=1e-6, high=1e3)
    resize = img.get("resize", "stretch")
    if resize not in RESIZE_POLICIES:
        msg = f"manifest {iw}: resize {bounded_repr(resize)} is not one of {RESIZE_POLICIES}"
        raise ModelLoadError(msg)
    image = ImageEncoderSpec(
        file=_file(directory, _field(img, "file", str, iw), _field(img, "sha256", str, iw), iw, verify=verify),
        sha256=img["sha256"],
        input_name=_field(img, "input_name", str, iw),
        output_name=_field(img, "output_name", str, iw),
        preprocess=PreprocessSpec(int(size[0]), int(size[1]), tuple(map(float, mean)), tuple(map(float, std)), resize),  # type: ignore[arg-type]
    )
    text = tok_file = tok_sha = None
    if "text_encoder" in doc:
        txt = _field(doc, "text_encoder", dict, where)
        tw = f"{where} text_encoder"
        text = TextEncoderSpec(
            file=_file(directory, _field(txt, "file", str, tw), _field(txt, "sha256", str, tw), tw, verify=verify),
            sha256=txt["sha256"],
            input_name=_field(txt, "input_name", str, tw),
            output_name=_field(txt, "output_name", str, tw),
            context_length=_integer(txt, "context_length", tw, high=MAX_CONTEXT_LENGTH),
        )
        tok = _field(doc, "tokenizer", dict, where)
        kw = f"{where} tokenizer"
        tok_sha = _field(tok, "sha256", str, kw)
        tok_file = _file(directory, _field(tok, "file", str, kw), tok_sha, kw, verify=verify)
    ref = doc.get("reference") or {}
    rw = f"{where} reference"
    if not isinstance(ref, dict) or not all(isinstance(ref.get(k, ""), str) for k in ("image_file", "image_sha256", "text_file", "text_sha256")):
        msg = f"manifest {rw}: must map image_file / text_file (and their sha256) to strings"
        raise ModelLoadError(msg)
    ref_img = _file(directory, ref["image_file"], ref.get("image_sha256", ""), rw, verify=verify) if "image_file" in ref else None
    ref_txt = _file(directory, ref["text_file"], ref.get("text_sha256", ""), rw, verify=verify) if "text_file" in ref else None
    dim = _integer(doc, "embedding_dim", where, high=MAX_EMBEDDING_DIM)
    return Manifest(
        name=_field(doc, "name", str, where),
        directory=directory,
        embedding_dim=dim,
        logit_scale=_number(doc, "logit_scale", where, low=0.0, high=1000.0),
        precision=str(doc.get("precision", "fp32")),
        image=image,
        text=text,
        tokenizer_file=tok_file,
        tokenizer_sha256=tok_sha,
        reference_image_file=ref_img,
        reference_text_file=ref_txt,
        source=str(doc.get("source", "")),
        licence=str(doc.get("licence", "")),
        raw=doc,
        demo=doc.get("demo", False) is True,
    )


def fp32_reference_file(manifest: Manifest, tower: str) -> Path:
    """The fp32 reference file of a tower (the ``reference`` entry, else the main file if fp32).

    Raises:
        ModelLoadError: The tower is quantized and the manifest names no fp32 reference.
    """
    ref = manifest.raw.get("reference") or {}
    if tower == "image":
        main, ref_file = manifest.image.file, ref.get("image_file")
    else:
        if manifest.text is None:
            msg = f"model '{manifest.name}' has no text tower"
            raise ModelLoadError(msg)
        main, ref_file = manifest.text.file, ref.get("text_file")
    if ref_file:
        return (manifest.directory / str(ref_file)).resolve()
    quantized = (manifest.raw.get("quantization") or {}).get(tower) or {}
    if "int8" in main.name or manifest.precision == "int8" or quantized.get("file") == main.name:
        msg = f"model '{manifest.name}': {tower} tower file '{main.name}' is not fp32 and the manifest names no fp32 reference"
        raise ModelLoadError(msg)
    return main
