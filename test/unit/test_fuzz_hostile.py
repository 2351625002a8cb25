"""Issue 11's families, generated (hypothesis, derandomised): non-finite numbers everywhere numbers
enter, YAML anchors and nesting, FIFOs and devices where files are expected, and payloads that
lie about their format. The contract: a clear ``VideoragError`` (or a value that is really
valid), never a crash, a hang or an unbounded allocation.
"""

from __future__ import annotations

import io
import math
import os
import threading
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from videorag_ros.core.config import CAMERA_PARAMS, EDGE_PARAMS, TRIGGER_PARAMS, build_edge_config, dump_params_file, load_params_file
from videorag_ros.core.errors import ConfigError, FrameError, ModelLoadError, VideoragError
from videorag_ros.core.frames import FrameLimits, compressed_to_rgb
from videorag_ros.core.safe_yaml import MAX_EXPANDED_NODES, YamlInputError, load_yaml

pytestmark = pytest.mark.fuzz

FUZZ = settings(derandomize=True, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture])
COUNTS: dict[str, int] = {}
NON_FINITE = st.sampled_from([math.nan, math.inf, -math.inf])
BASE = {"cameras": ["front"], "triggers": ["person_ahead"], "person_ahead.prompts": ["a person"]}


def _count(family: str) -> None:
    COUNTS[family] = COUNTS.get(family, 0) + 1


def _numeric_names() -> list[str]:
    out = []
    for prefix, specs in (("", EDGE_PARAMS), ("front.", CAMERA_PARAMS), ("person_ahead.", TRIGGER_PARAMS)):
        out += [prefix + s.name for s in specs if isinstance(s.default, float) or (isinstance(s.default, list) and s.default and isinstance(s.default[0], float))]
    return out


NUMERIC = _numeric_names()


def _floats_in(value: Any) -> list[float]:
    if isinstance(value, float):
        return [value]
    if isinstance(value, (list, tuple)):
        return [v for item in value for v in _floats_in(item)]
    if hasattr(value, "__dataclass_fields__"):
        return [v for name in value.__dataclass_fields__ for v in _floats_in(getattr(value, name))]
    return []


# --- non-finite numbers --------------------------------------------------------------------------
@given(st.sampled_from(NUMERIC), NON_FINITE, st.booleans())
@settings(FUZZ, max_examples=300)
def test_a_non_finite_number_in_any_parameter_is_refused_by_name(name: str, bad: float, as_list: bool) -> None:
    _count("non-finite parameters")
    spec_default = next(s.default for p, specs in (("", EDGE_PARAMS), ("front.", CAMERA_PARAMS), ("person_ahead.", TRIGGER_PARAMS)) for s in specs if p + s.name == name)
    value: Any = [bad] * len(spec_default) if isinstance(spec_default, list) else bad
    with pytest.raises(ConfigError, match=f"parameter '{name}' = .* is not a finite number"):
        build_edge_config(BASE | {name: value})


@given(st.dictionaries(st.sampled_from(NUMERIC), st.floats(allow_nan=True, allow_infinity=True, width=64), max_size=4))
@settings(FUZZ, max_examples=400)
def test_an_accepted_configuration_holds_only_finite_numbers(changes: dict[str, float]) -> None:
    _count("random float parameters")
    try:
        config = build_edge_config(BASE | changes)
    except ConfigError:
        return
    assert all(math.isfinite(v) for v in _floats_in(config))


INVALID = {
    "logit_scale": [math.nan, math.inf, -math.inf, -1.0, 0, 1e300, "96"],
    "mean": [math.nan, math.inf, 1e300, "96"],
    "std": [math.nan, math.inf, 0, -1.0, 1e300],
    "input_size": [math.nan, math.inf, 0, -1, 96.5, 30000, "96"],
    "embedding_dim": [0, -1, 1e300, math.nan, "96", 10**9],
}


@given(st.sampled_from([(field, bad) for field, values in INVALID.items() for bad in values]))
@settings(FUZZ, max_examples=60)
def test_manifest_numbers_are_finite_and_bounded(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory, case: tuple[str, Any]) -> None:
    field, bad = case
    import shutil

    import yaml

    from videorag_ros.core.encoder.manifest import load_manifest

    _count("manifest numbers")
    model = tmp_path_factory.mktemp("m") / "m"
    shutil.copytree(tiny_model_dir, model)
    doc = yaml.safe_load((model / "manifest.yaml").read_text())
    where = doc["image_encoder"] if field in ("mean", "std", "input_size") else doc
    n = {"mean": 3, "std": 3, "input_size": 2}.get(field)
    where[field] = [bad] * n if n and not isinstance(bad, list) else bad
    (model / "manifest.yaml").write_text(yaml.safe_dump(doc))
    with pytest.raises(ModelLoadError, match=f"'{field}'"):
        load_manifest(str(model), verify=False)


# --- YAML anchors and nesting -------------------------------------------------------------------
@st.composite
def anchored_documents(draw: st.DrawFn) -> tuple[str, int]:
    """A parameter-like document of ``levels`` anchors each aliasing the previous ``fanout`` times; its expanded size."""
    levels, fanout = draw(st.integers(1, 12)), draw(st.integers(1, 12))
    lines = [f"a0: &a0 [{', '.join(['x'] * fanout)}]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * fanout)}]" for i in range(1, levels)]
    size = sum(1 + sum(fanout**k for k in range(1, i + 2)) for i in range(levels))  # rough, see the check below
    return "\n".join(lines) + "\n", size


@given(anchored_documents())
@settings(FUZZ, max_examples=300)
def test_alias_expansion_is_bounded(doc: tuple[str, int]) -> None:
    _count("YAML anchors")
    text, _ = doc
    result: dict[str, Any] = {}

    def run() -> None:
        try:
            result["doc"] = load_yaml(text, what="f")
        except YamlInputError as err:
            result["error"] = err

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(10)
    assert not t.is_alive()
    if "doc" in result:  # accepted: its expanded size really is within the limit
        def size(v: Any) -> int:
            return 1 + sum(size(x) for x in v) if isinstance(v, list) else 1

        assert sum(1 + size(v) for v in result["doc"].values()) <= MAX_EXPANDED_NODES + 1
    else:
        assert "expands to more than" in str(result["error"])


@given(st.integers(1, 5000), st.sampled_from(["[", "{a: ", "- "]))
@settings(FUZZ, max_examples=150)
def test_deep_nesting_is_refused_not_recursed(depth: int, opener: str) -> None:
    _count("YAML nesting")
    if opener == "- ":
        text = "".join("  " * i + "- \n" for i in range(depth)) + "  " * depth + "x\n"
    else:
        text = opener * depth + "x" + ("]" if opener == "[" else "}") * depth
    try:
        load_yaml(text, what="f")
    except YamlInputError as err:
        assert "nests deeper" in str(err) or "not valid YAML" in str(err)


# --- FIFOs, devices, directories where files are expected ------------------------------------------
READERS = ["params", "manifest", "snapshot", "video", "vocab"]


@pytest.fixture(scope="module")
def specials(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("specials")
    fifo = d / "fifo"
    os.mkfifo(fifo)
    return {"fifo": fifo, "char device": Path("/dev/zero"), "directory": d, "urandom": Path("/dev/urandom")}


def _read_with(reader: str, path: Path, tmp: Path) -> None:
    if reader == "params":
        load_params_file(path)
    elif reader == "manifest":
        from videorag_ros.core.encoder.manifest import load_manifest

        model = tmp / "model"
        model.mkdir(exist_ok=True)
        link = model / "manifest.yaml"
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(path)
        load_manifest(str(model))
    elif reader == "snapshot":
        from videorag_ros.core.index import read_snapshot

        read_snapshot(path)
    elif reader == "video":
        from videorag_ros.recordings.offline import read_video

        read_video(path)
    else:
        from videorag_ros.core.encoder.tokenizer import WordTokenizer

        WordTokenizer.from_file(path)


@given(st.sampled_from(READERS), st.sampled_from(["fifo", "char device", "directory", "urandom"]))
@settings(FUZZ, max_examples=40)
def test_special_files_are_refused_without_blocking(specials: dict[str, Path], tmp_path_factory: pytest.TempPathFactory, reader: str, kind: str) -> None:
    _count("FIFOs and devices")
    tmp = tmp_path_factory.mktemp("r")
    errors: list[BaseException] = []

    def run() -> None:
        try:
            _read_with(reader, specials[kind], tmp)
        except BaseException as err:
            errors.append(err)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(10)
    assert not t.is_alive(), f"{reader} blocked on a {kind}"
    assert errors and isinstance(errors[0], VideoragError), f"{reader} on a {kind}: {errors!r}"
    assert "not a regular file" in str(errors[0]) or "is a" in str(errors[0])


# --- payloads that lie about their format ------------------------------------------------------------
def _encode(kind: str, seed: int) -> bytes:
    from PIL import Image

    rng = np.random.default_rng(seed)
    low = 64 if kind == "jp2" else 2  # OpenJPEG's default 6 resolution levels need 64 x 64
    img = rng.integers(0, 256, (int(rng.integers(low, 96)), int(rng.integers(low, 96)), 3), dtype=np.uint8)
    if kind in ("jpeg", "png", "jp2", "bmp", "tiff", "webp"):
        ok, buf = cv2.imencode("." + {"jpeg": "jpg", "tiff": "tif"}.get(kind, kind), img)
        assert ok
        return bytes(buf.tobytes())
    pil_format = {"gif": "GIF", "ico": "ICO", "tga": "TGA", "pcx": "PCX", "ppm": "PPM", "spider": "SPIDER", "dds": "DDS", "qoi": "QOI"}[kind]
    im = Image.fromarray(img).convert("F") if kind == "spider" else Image.fromarray(img)
    out = io.BytesIO()
    im.save(out, format=pil_format)
    return out.getvalue()


KINDS = ["jpeg", "png", "jp2", "bmp", "tiff", "webp", "gif", "ico", "tga", "pcx", "ppm", "spider", "dds", "qoi"]
LABELS = ["jpeg", "png", "bgr8; jpeg compressed bgr8", "rgb8; png compressed bgr8", "JPEG", "16UC1; png compressed", "16UC1; compressedDepth"]


@given(st.sampled_from(KINDS), st.sampled_from(LABELS), st.integers(0, 2**16))
@settings(FUZZ, max_examples=1500)
def test_only_the_claimed_codec_is_ever_decoded(kind: str, label: str, seed: int) -> None:
    _count("wrong-label payloads")
    data = _encode(kind, seed)
    claimed = "depth" if ("16uc1" in label.lower() or "compresseddepth" in label.lower()) else ("png" if "png" in label.lower() else "jpeg")
    try:
        rgb = compressed_to_rgb(fmt=label, data=data, limits=FrameLimits(max_width=256, max_height=256))
    except FrameError as err:
        if claimed == "depth":
            assert "depth" in str(err)
        elif kind != claimed:
            assert f"but the message says '{label}'" in str(err)
        return
    assert kind == claimed and rgb.ndim == 3  # decoded only when the bytes are what the label says


def test_fuzz_volume_per_family() -> None:
    """Runs after the fuzzers above (file order): how many generated inputs each family saw."""
    if not COUNTS:
        pytest.skip("run together with the fuzzers above (whole file)")
    print(f"generated inputs per family: {COUNTS}")
    assert COUNTS.get("wrong-label payloads", 0) >= 1000 and COUNTS.get("non-finite parameters", 0) >= 100


def test_yaml_round_trip_of_parameters_keeps_finiteness(tmp_path: Path) -> None:
    """A NaN written by a tool into a file is refused when the file is read back."""
    path = dump_params_file(BASE | {"person_ahead.enter_threshold": float("nan")}, tmp_path / "p.yaml")
    with pytest.raises(ConfigError, match="not a finite number"):
        build_edge_config(load_params_file(path))
