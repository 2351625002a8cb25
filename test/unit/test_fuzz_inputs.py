"""Bad input, generated (hypothesis): arbitrary Image and CompressedImage fields, parameter
values, truncated and corrupt snapshots and model files, empty and huge prompts.

The contract under test: never a crash and never a hang. Every input is either accepted (a
frame is then gated, embedded, scored and remembered like any other) or rejected with the
package's own error type (a ``VideoragError`` subclass) and a message — which the node turns
into a log line and a counter. Runs are derandomised so CI is reproducible; the two frame
fuzzers together feed more than 10,000 generated messages.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from test.support.images import png_declaring
from videorag_ros.bench.rigs.patterns import pattern_frame
from videorag_ros.core.config import CAMERA_PARAMS, EDGE_PARAMS, TRIGGER_PARAMS, build_edge_config, load_params_file
from videorag_ros.core.errors import ConfigError, FrameError, TemporalIndexError, VideoragError
from videorag_ros.core.frames import SUPPORTED_ENCODINGS, FrameLimits, compressed_to_rgb, raw_to_rgb
from videorag_ros.core.index import Payload, TemporalIndex, read_snapshot
from videorag_ros.core.pipeline import EdgePipeline

pytestmark = pytest.mark.fuzz

RAW_MESSAGES = 6000
COMPRESSED_MESSAGES = 4500
LIMITS = FrameLimits(max_width=1024, max_height=1024, max_compressed_bytes=1 << 20)
FUZZ = settings(derandomize=True, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
COUNTS: dict[str, int] = {"raw": 0, "raw_accepted": 0, "compressed": 0, "compressed_accepted": 0}


@pytest.fixture(scope="module")
def pipeline(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    """A real pipeline (tiny ONNX encoder, a reference-image trigger, memory with thumbnails)."""
    ref = tmp_path_factory.mktemp("fuzz") / "disk.png"
    cv2.imwrite(str(ref), pattern_frame("disk"))
    from videorag_ros.core.encoder.encoder import load_encoder

    config = build_edge_config({
        "cameras": ["cam"], "model": str(tiny_model_dir), "triggers": ["disk"], "disk.reference_images": [str(ref)],
        "gate.keyframe_interval_s": 0.0, "gate.max_rate_hz": 0.0, "gate.motion_rate_hz": 0.0,
        "index.capacity": 500, "index.thumbnail_budget_bytes": 1 << 16,
    })  # fmt: skip
    p = EdgePipeline(config, load_encoder(str(tiny_model_dir), backend="cpu"))
    yield p
    p.index.close()


def _bytes(seed: int, n: int) -> bytes:
    return np.random.default_rng(seed).integers(0, 256, n, dtype=np.uint8).tobytes()


DIMS = st.one_of(st.integers(-2, 48), st.sampled_from([0, 1, 1025, 4097, 2**16, 2**31 - 1, 2**32 - 1]))


BYTES_PER_PIXEL = {e: 4 if e.endswith("a8") else 3 if e in ("rgb8", "bgr8", "8uc3") else 2 if e in ("yuv422", "uyvy", "yuv422_yuy2", "yuyv") else 1 for e in SUPPORTED_ENCODINGS}


@st.composite
def raw_images(draw: st.DrawFn) -> dict[str, Any]:
    """sensor_msgs/Image fields: half plausible (so frames reach the encoder), half subtly wrong or absurd."""
    seed = draw(st.integers(0, 2**16))
    if draw(st.booleans()):
        encoding = draw(st.sampled_from(SUPPORTED_ENCODINGS))
        width, height = draw(st.integers(1, 48)), draw(st.integers(1, 48))
        step = width * BYTES_PER_PIXEL[encoding] + draw(st.sampled_from([0, 0, 1, 5, 64]))
        return {"encoding": encoding, "width": width, "height": height, "step": step, "data": _bytes(seed, step * height)}
    encoding = draw(st.one_of(st.sampled_from([*SUPPORTED_ENCODINGS, "rgb16", "32FC1", "jpeg", "RGB8", ""]), st.text(max_size=10)))
    width, height = draw(DIMS), draw(DIMS)
    bpp = draw(st.sampled_from([1, 2, 3, 4]))
    padding = draw(st.sampled_from([0, 0, 0, 1, 3, 64]))
    step = draw(st.one_of(st.just(max(width, 0) * bpp + padding), st.integers(-4, 300), st.sampled_from([2**31 - 1, 2**32 - 1])))
    exact = step * height if 0 <= step * height <= 48 * 4 * 48 + 64 * 48 else None
    size = draw(st.sampled_from(["exact", "exact", "short", "long", "random"]))
    if size == "exact" and exact is not None:
        n = exact
    elif size == "short" and exact:
        n = draw(st.integers(0, exact - 1))
    elif size == "long" and exact is not None:
        n = exact + draw(st.integers(1, 512))
    else:
        n = draw(st.integers(0, 4096))
    return {"encoding": encoding, "width": width, "height": height, "step": step, "data": _bytes(seed, n)}


@given(raw_images())
@settings(FUZZ, max_examples=RAW_MESSAGES)
def test_arbitrary_image_fields_are_decoded_or_rejected(pipeline: EdgePipeline, fields: dict[str, Any]) -> None:
    COUNTS["raw"] += 1
    try:
        rgb = raw_to_rgb(**fields, limits=LIMITS)
    except FrameError as err:
        assert str(err)
        return
    assert rgb.dtype == np.uint8 and rgb.shape == (fields["height"], fields["width"], 3)
    COUNTS["raw_accepted"] += 1
    result = pipeline.process("cam", rgb, COUNTS["raw"] * 10_000_000, COUNTS["raw"])
    pipeline.remember(result, rgb)


def _encoded(kind: str, seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    h, w = int(rng.integers(1, 40)), int(rng.integers(1, 40))
    img = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    ok, buf = cv2.imencode(".png" if kind == "png" else ".jpg", img)
    assert ok
    return buf.tobytes()


@st.composite
def compressed_images(draw: st.DrawFn) -> dict[str, Any]:
    """sensor_msgs/CompressedImage fields: valid, truncated, bit-flipped, padded, foreign or bomb payloads."""
    fmt = draw(st.one_of(st.sampled_from(["jpeg", "png", "bgr8; jpeg compressed bgr8", "rgb8; png compressed ", "JPEG", "tiff", ""]), st.text(max_size=12)))
    kind = draw(st.sampled_from(["jpeg", "png"]))
    base = _encoded(kind, draw(st.integers(0, 2**16)))
    how = draw(st.sampled_from(["valid", "truncate", "flip", "garbage_tail", "garbage_head", "random", "empty", "bomb"]))
    if how == "truncate":
        data = base[: draw(st.integers(0, len(base) - 1))]
    elif how == "flip":
        arr = bytearray(base)
        for i in draw(st.lists(st.integers(0, len(arr) - 1), min_size=1, max_size=8)):
            arr[i] ^= draw(st.integers(1, 255))
        data = bytes(arr)
    elif how == "garbage_tail":
        data = base + _bytes(draw(st.integers(0, 999)), draw(st.integers(1, 300)))
    elif how == "garbage_head":
        data = _bytes(draw(st.integers(0, 999)), draw(st.integers(1, 64))) + base
    elif how == "random":
        data = _bytes(draw(st.integers(0, 2**16)), draw(st.integers(1, 3000)))
    elif how == "empty":
        data = b""
    elif how == "bomb":
        data = png_declaring(draw(st.sampled_from([1025, 30000, 2**20, 2**31 - 1])), draw(st.sampled_from([1, 1025, 30000])))
    else:
        data = base
    return {"fmt": fmt, "data": data}


@given(compressed_images())
@settings(FUZZ, max_examples=COMPRESSED_MESSAGES)
def test_arbitrary_compressed_payloads_are_decoded_or_rejected(pipeline: EdgePipeline, fields: dict[str, Any]) -> None:
    COUNTS["compressed"] += 1
    try:
        rgb = compressed_to_rgb(**fields, limits=LIMITS)
    except FrameError as err:
        assert str(err)
        return
    assert rgb.dtype == np.uint8 and rgb.ndim == 3 and rgb.shape[2] == 3
    assert rgb.shape[0] <= LIMITS.max_height and rgb.shape[1] <= LIMITS.max_width
    COUNTS["compressed_accepted"] += 1
    result = pipeline.process("cam", rgb, 10**12 + COUNTS["compressed"] * 10_000_000, COUNTS["compressed"])
    pipeline.remember(result, rgb)


def test_fuzz_volume_and_that_both_paths_were_exercised() -> None:
    """Runs after the two fuzzers above (file order): over 10,000 messages, some accepted, most not."""
    if COUNTS["raw"] == 0 or COUNTS["compressed"] == 0:
        pytest.skip("run together with the frame fuzzers (whole file)")
    print(f"fuzzed messages: {COUNTS}")
    assert COUNTS["raw"] + COUNTS["compressed"] >= 10_000
    assert 0 < COUNTS["raw_accepted"] < COUNTS["raw"] and 0 < COUNTS["compressed_accepted"] < COUNTS["compressed"]


# --- parameters ----------------------------------------------------------------------------
NAMES = [s.name for s in EDGE_PARAMS] + [f"front.{s.name}" for s in CAMERA_PARAMS] + [f"person_ahead.{s.name}" for s in TRIGGER_PARAMS]
VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=16),
    st.lists(st.text(max_size=8), max_size=3), st.lists(st.integers(), max_size=3), st.lists(st.floats(), max_size=2),
)  # fmt: skip


@given(st.dictionaries(st.one_of(st.sampled_from(NAMES), st.text(max_size=12)), VALUES, min_size=1, max_size=5), st.booleans())
@settings(FUZZ, max_examples=1500)
def test_arbitrary_parameter_values_give_config_errors(changes: dict[str, Any], strict: bool) -> None:
    from videorag_ros.cli.edge import default_params

    values = load_params_file(default_params()) | changes
    try:
        build_edge_config(values, strict=strict)
    except ConfigError as err:
        assert str(err)


# --- snapshots -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def snapshot_bytes(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    rng = np.random.default_rng(0)
    path = tmp_path_factory.mktemp("snap") / "good.vrag"
    with TemporalIndex(dim=8, capacity=64, ttl_s=0, thumbnail_budget_bytes=4096, background=False) as idx:
        for i in range(40):
            v = rng.standard_normal(8).astype(np.float32)
            idx.add(v / np.linalg.norm(v), Payload("cam" if i % 2 else "other", i * 10**8, i, "motion", b"\xff\xd8thumb" if i % 3 == 0 else None))
        idx.save(path)
    return path.read_bytes()


@given(st.data())
@settings(FUZZ, max_examples=600)
def test_corrupt_snapshots_are_detected_and_the_memory_kept(snapshot_bytes: bytes, tmp_path_factory: pytest.TempPathFactory, data: st.DataObject) -> None:
    blob = bytearray(snapshot_bytes)
    how = data.draw(st.sampled_from(["truncate", "flip", "append", "zero_run"]))
    if how == "truncate":
        blob = blob[: data.draw(st.integers(0, len(blob) - 1))]
    elif how == "flip":
        for i in data.draw(st.lists(st.integers(0, len(blob) - 1), min_size=1, max_size=4)):
            blob[i] ^= data.draw(st.integers(1, 255))
    elif how == "append":
        blob += _bytes(data.draw(st.integers(0, 99)), data.draw(st.integers(1, 100)))
    else:
        a = data.draw(st.integers(0, len(blob) - 1))
        blob[a : a + data.draw(st.integers(1, 64))] = b"\x00" * len(blob[a : a + 64])
    path = tmp_path_factory.mktemp("bad") / "memory.vrag"
    path.write_bytes(bytes(blob))
    with TemporalIndex(dim=8, capacity=64, ttl_s=0, background=False) as idx:
        v = np.ones(8, np.float32) / np.sqrt(8)
        idx.add(v, Payload("kept", 1, 1, "motion"))
        try:
            loaded = idx.load(path)
        except TemporalIndexError as err:
            assert str(path) in str(err) or "snapshot" in str(err)
            assert len(idx) == 1 and idx.search(v, 1)[0].payload.camera_id == "kept"  # the memory is untouched
            return
        assert bytes(blob) != snapshot_bytes or loaded == 40
        assert len(read_snapshot(path)) == loaded  # accepted only if it reads back consistently


# --- model files ---------------------------------------------------------------------------
@given(st.tuples(st.sampled_from(["image", "text"]), st.sampled_from(["truncate", "flip", "empty"]), st.integers(0, 10**6), st.booleans()))
@settings(FUZZ, max_examples=24)
def test_corrupt_model_files_fail_to_load_with_a_clear_error(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory, case: tuple[str, str, int, bool]) -> None:
    from videorag_ros.core.encoder.encoder import load_encoder

    tower, how, seed, verify = case

    model = tmp_path_factory.mktemp("model") / "m"
    shutil.copytree(tiny_model_dir, model)
    onnx_file = next(p for p in model.glob("*.onnx") if tower in p.name)
    blob = bytearray(onnx_file.read_bytes())
    rng = np.random.default_rng(seed)
    if how == "truncate":
        blob = blob[: int(rng.integers(0, len(blob) - 1))]
    elif how == "flip":
        for i in rng.integers(0, len(blob), 16):
            blob[int(i)] ^= 0xFF
    else:
        blob = bytearray()
    onnx_file.write_bytes(bytes(blob))
    try:
        load_encoder(str(model), backend="cpu", verify=verify)
    except VideoragError as err:
        assert onnx_file.name in str(err) or "sha256" in str(err) or str(model) in str(err)
        return
    assert not verify  # with verification every corruption is caught by the manifest's sha256


# --- prompts -------------------------------------------------------------------------------
PROMPTS = st.one_of(st.text(max_size=64), st.just(""), st.just(" \t\n"), st.text(min_size=2000, max_size=5000), st.just("person " * 3000), st.just("\x00\x01\ufffd"))


@given(st.lists(PROMPTS, max_size=3))
@settings(FUZZ, max_examples=300)
def test_prompts_empty_huge_or_odd_build_goals_or_say_why(tiny_encoder: Any, prompts: list[str]) -> None:
    from videorag_ros.core.config import TriggerConfig
    from videorag_ros.core.triggers import build_goals

    try:
        goals = build_goals(TriggerConfig(name="t", prompts=tuple(prompts)), tiny_encoder)
    except VideoragError as err:
        assert str(err)
        return
    assert prompts and all(p.strip() for p in prompts)
    assert goals.positive.shape == (len(prompts), tiny_encoder.dim) and np.all(np.isfinite(goals.positive))
