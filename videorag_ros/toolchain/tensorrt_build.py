"""TensorRT engine builds for the image tower (``videorag model build-engine``).

Engines are built from the fp32 ONNX reference with an optimization profile for the dynamic
batch (min 1, opt 1, max 8) and a timing cache persisted next to the engines, into the cache the
runtime reads (``videorag_ros.core.encoder.tensorrt_runtime``). Every engine goes through the
same accuracy gate as int8 ONNX artefacts (:func:`videorag_ros.toolchain.quantize.accuracy_gate`)
against onnxruntime fp32 before it is kept; a refused engine is deleted.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from videorag_ros.core.encoder.tensorrt_runtime import (
    MAX_BATCH,
    MIN_BATCH,
    OPT_BATCH,
    PRECISIONS,
    TIMING_CACHE_FILE,
    TensorRTEngine,
    _trt,
    default_cache_dir,
    engine_path,
)
from videorag_ros.core.errors import ConfigError, EncoderError, ModelLoadError

if TYPE_CHECKING:
    from videorag_ros.core.encoder.manifest import Manifest
    from videorag_ros.toolchain.quantize import GateReport

log = logging.getLogger(__name__)




def _progress_monitor(trt: Any) -> Any | None:
    """A ``trt.IProgressMonitor`` that logs phases and steps (TensorRT >= 10), else ``None``."""
    if not hasattr(trt, "IProgressMonitor"):
        return None

    class _Monitor(trt.IProgressMonitor):  # type: ignore[misc]
        def __init__(self) -> None:
            trt.IProgressMonitor.__init__(self)
            self._t0 = time.perf_counter()
            self._last = 0.0

        def phase_start(self, phase_name: str, parent_phase: str | None, num_steps: int) -> None:
            log.info("TensorRT build: %s%s (%d steps)", f"{parent_phase} / " if parent_phase else "", phase_name, num_steps)

        def step_complete(self, phase_name: str, step: int) -> bool:
            now = time.perf_counter()
            if now - self._last > 10.0:
                self._last = now
                log.info("TensorRT build: %s step %d (%.0f s elapsed)", phase_name, step + 1, now - self._t0)
            return True  # False would cancel the build

        def phase_finish(self, phase_name: str) -> None:
            log.debug("TensorRT build: %s done", phase_name)

    return _Monitor()


@contextmanager
def _heartbeat(what: str, every_s: float = 30.0) -> Iterator[None]:
    """Log ``what ... N s`` every ``every_s`` until the block ends (TensorRT without a progress monitor)."""
    stop = threading.Event()
    t0 = time.perf_counter()

    def beat() -> None:
        while not stop.wait(every_s):
            log.info("%s ... %.0f s", what, time.perf_counter() - t0)

    thread = threading.Thread(target=beat, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=1.0)


def _int8_calibrator(trt: Any, frames: np.ndarray, cache_file: Path) -> Any:
    """An entropy calibrator feeding preprocessed frames through torch CUDA buffers."""
    import torch

    base = getattr(trt, "IInt8EntropyCalibrator2", None)
    if base is None:
        msg = f"TensorRT {trt.__version__} has no IInt8EntropyCalibrator2; build an fp16 engine or quantize the ONNX (QDQ) first"
        raise EncoderError(msg)

    class _Calibrator(base):  # type: ignore[misc, valid-type]
        def __init__(self) -> None:
            super().__init__()
            self._batches = [np.ascontiguousarray(frames[i : i + MAX_BATCH]) for i in range(0, len(frames) - MAX_BATCH + 1, MAX_BATCH)] or [frames]
            self._i = 0
            self._device: Any = None

        def get_batch_size(self) -> int:
            return int(self._batches[0].shape[0])

        def get_batch(self, names: list[str]) -> list[int] | None:
            if self._i >= len(self._batches):
                return None
            self._device = torch.from_numpy(self._batches[self._i]).cuda()
            self._i += 1
            return [int(self._device.data_ptr())]

        def read_calibration_cache(self) -> bytes | None:
            return cache_file.read_bytes() if cache_file.is_file() else None

        def write_calibration_cache(self, cache: Any) -> None:
            cache_file.write_bytes(bytes(cache))

    return _Calibrator()


def build_engine(
    onnx_path: str | Path,
    *,
    precision: str = "fp16",
    calib_frames: np.ndarray | None = None,
    workspace_mib: int = 2048,
    cache_dir: str | Path | None = None,
    force: bool = False,
) -> Path:
    """Build (or reuse) a serialized TensorRT engine for an image-tower ONNX model.

    Args:
        onnx_path: fp32 ONNX model with input ``[N, 3, H, W]`` (N dynamic).
        precision: ``fp16`` or ``int8`` (int8 needs ``calib_frames`` unless the ONNX has QDQ nodes).
        calib_frames: Preprocessed ``(N, 3, H, W)`` float32 calibration frames.
        workspace_mib: Builder workspace memory limit.
        cache_dir: Engine + timing cache directory (default ``default_cache_dir()``).
        force: Rebuild even if the cached engine exists.

    Returns:
        The engine file (``<stem>.<engine_cache_key>.engine`` in ``cache_dir``).

    Raises:
        ConfigError: TensorRT missing or a bad precision.
        ModelLoadError: The ONNX parser rejected the model (errors name the nodes).
        EncoderError: The build failed.
    """
    from videorag_ros.core.encoder.manifest import sha256_file

    trt = _trt()
    if precision not in PRECISIONS:
        msg = f"--precision '{precision}' is not one of {PRECISIONS}"
        raise ConfigError(msg)
    onnx_path = Path(onnx_path)
    cache = Path(cache_dir).expanduser() if cache_dir else default_cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    out = engine_path(cache, onnx_path, sha256_file(onnx_path), precision)
    if out.is_file() and not force:
        log.info("TensorRT engine cache hit: %s", out)
        return out
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    explicit = getattr(trt.NetworkDefinitionCreationFlag, "EXPLICIT_BATCH", None)
    flags = 1 << int(explicit) if explicit is not None and int(trt.__version__.split(".")[0]) < 10 else 0
    network = builder.create_network(flags)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse_from_file(str(onnx_path)):
        errs = []
        for i in range(parser.num_errors):
            e = parser.get_error(i)
            node = e.node_name() if hasattr(e, "node_name") else f"node #{e.node()}"
            op = e.node_operator() if hasattr(e, "node_operator") else "?"
            errs.append(f"{node} ({op}): {e.desc()}")
        msg = f"TensorRT ONNX parser rejected '{onnx_path}': " + "; ".join(errs or ["no error detail"])
        raise ModelLoadError(msg)
    config = builder.create_builder_config()
    if hasattr(config, "set_memory_pool_limit"):
        config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, workspace_mib << 20)
    else:  # TensorRT < 8.4
        config.max_workspace_size = workspace_mib << 20
    config.set_flag(trt.BuilderFlag.FP16)  # int8 layers fall back to fp16, never fp32
    if precision == "int8":
        config.set_flag(trt.BuilderFlag.INT8)
        if calib_frames is not None:
            config.int8_calibrator = _int8_calibrator(trt, calib_frames, cache / f"{out.stem}.calib")
    inp = network.get_input(0)
    c, h, w = (int(d) for d in tuple(inp.shape)[1:])
    profile = builder.create_optimization_profile()
    profile.set_shape(inp.name, (MIN_BATCH, c, h, w), (OPT_BATCH, c, h, w), (MAX_BATCH, c, h, w))
    config.add_optimization_profile(profile)
    if precision == "int8" and calib_frames is not None and hasattr(config, "set_calibration_profile"):
        # calibration runs at the calibration profile's shape: the calibrator's batch size
        cb = min(MAX_BATCH, len(calib_frames))
        calib_profile = builder.create_optimization_profile()
        calib_profile.set_shape(inp.name, (cb, c, h, w), (cb, c, h, w), (cb, c, h, w))
        config.set_calibration_profile(calib_profile)
    timing_file = cache / TIMING_CACHE_FILE
    timing = config.create_timing_cache(timing_file.read_bytes() if timing_file.is_file() else b"")
    config.set_timing_cache(timing, ignore_mismatch=False)
    monitor = _progress_monitor(trt)
    if monitor is not None:
        config.progress_monitor = monitor
    log.info(
        "building TensorRT %s engine for %s (batch %d-%d, workspace %d MiB); this takes minutes", precision, onnx_path.name, MIN_BATCH, MAX_BATCH, workspace_mib
    )
    t0 = time.perf_counter()
    with _heartbeat(f"building TensorRT engine {out.name}"):
        serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        msg = f"TensorRT failed to build a {precision} engine for '{onnx_path}' (see the TensorRT log above)"
        raise EncoderError(msg)
    tmp = out.with_suffix(".partial")
    tmp.write_bytes(bytes(serialized))
    tmp.replace(out)
    timing_file.write_bytes(bytes(config.get_timing_cache().serialize()))
    log.info("TensorRT engine %s built in %.0f s", out.name, time.perf_counter() - t0)
    return out


# --------------------------------------------------------------------------- gate


def gate_engine(engine: TensorRTEngine, manifest: Manifest, frames: np.ndarray, *, min_cosine: float = 0.99, runs: int = 50) -> GateReport:
    """The shared accuracy/speed gate: engine vs onnxruntime fp32 (CUDA EP where available)."""
    from videorag_ros.core.encoder.manifest import fp32_reference_file
    from videorag_ros.core.encoder.onnx_backend import OnnxSession
    from videorag_ros.toolchain.quantize import accuracy_gate

    img = manifest.image
    backend = "cpu"
    try:
        import onnxruntime as ort

        backend = "cuda" if "CUDAExecutionProvider" in ort.get_available_providers() else "cpu"
    except ImportError:  # pragma: no cover - onnxruntime is a requirement
        pass
    ref = OnnxSession(fp32_reference_file(manifest, "image"), input_name=img.input_name, output_name=img.output_name, backend=backend)
    return accuracy_gate(ref, engine, frames, label=f"{manifest.name} image {engine.providers[0]}", min_cosine=min_cosine, runs=runs)


def build_gated_engine(
    manifest: Manifest,
    *,
    precision: str,
    frames: np.ndarray,
    cache_dir: str | Path | None = None,
    workspace_mib: int = 2048,
    min_cosine: float = 0.99,
    force: bool = False,
) -> tuple[Path, GateReport]:
    """Build the image-tower engine from the fp32 reference, gate it, delete it if refused.

    Raises:
        GateError: The engine failed the gate (it is removed from the cache).
    """
    from videorag_ros.core.encoder.manifest import fp32_reference_file
    from videorag_ros.toolchain.quantize import require_pass

    path = build_engine(
        fp32_reference_file(manifest, "image"),
        precision=precision,
        calib_frames=frames if precision == "int8" else None,
        workspace_mib=workspace_mib,
        cache_dir=cache_dir,
        force=force,
    )
    engine = TensorRTEngine(path, input_name=manifest.image.input_name, output_name=manifest.image.output_name)
    report = gate_engine(engine, manifest, frames, min_cosine=min_cosine)
    if not report.passed:
        path.unlink(missing_ok=True)
    require_pass(report)
    return path, report
