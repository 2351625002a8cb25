"""TensorRT engines for the image tower: build (fp16/int8), cache, run, gate.

``tensorrt`` is imported lazily; :func:`tensorrt_available` is the capability check.
Engines are built from the fp32 ONNX reference with an optimization profile for the
dynamic batch (min 1, opt 1, max 8), a timing cache persisted next to the engines,
and an engine file name keyed by the model's sha256, the TensorRT version and the
GPU name (:func:`engine_cache_key`), because an engine is only valid for that
triple. The runtime (:class:`TensorRTEngine`) has the ``OnnxSession`` interface
(``providers``, ``run``) and uses torch CUDA tensors as device buffers.

Every engine goes through the same accuracy gate as int8 ONNX artefacts
(:func:`videorag_ros.core.models.quantize.accuracy_gate`) against onnxruntime fp32
before it is kept in the cache.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import logging
import os
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from videorag_ros.core.errors import ConfigError, EncoderError, ModelLoadError

if TYPE_CHECKING:
    from videorag_ros.core.models.manifest import Manifest
    from videorag_ros.core.models.quantize import GateReport

log = logging.getLogger(__name__)

PRECISIONS = ("fp16", "int8")
MIN_BATCH, OPT_BATCH, MAX_BATCH = 1, 1, 8
ENGINE_CACHE_ENV = "VIDEORAG_ENGINE_CACHE"
TIMING_CACHE_FILE = "timing.cache"
_SHA_RE = re.compile(r"^[0-9a-f]{64}$")
_available: bool | None = None


def default_cache_dir() -> Path:
    """``$VIDEORAG_ENGINE_CACHE`` or ``~/.cache/videorag/engines``."""
    return Path(os.environ.get(ENGINE_CACHE_ENV) or Path.home() / ".cache" / "videorag" / "engines").expanduser()


def tensorrt_available() -> bool:
    """True when the ``tensorrt`` Python package imports (cached after the first call)."""
    global _available  # noqa: PLW0603 - a process-wide capability probe
    if _available is None:
        if importlib.util.find_spec("tensorrt") is None:
            _available = False
        else:
            try:
                importlib.import_module("tensorrt")
                _available = True
            except Exception as err:  # a broken install (missing libnvinfer) raises ImportError/OSError
                log.warning("tensorrt is installed but does not import: %s", err)
                _available = False
    return _available


def _trt() -> Any:
    if not tensorrt_available():
        msg = "TensorRT is not installed (pip install tensorrt on a machine with an NVIDIA GPU)"
        raise ConfigError(msg)
    return importlib.import_module("tensorrt")


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9.]+", "-", text.strip().lower()).strip("-.") or "unknown"


def engine_cache_key(model_sha256: str, trt_version: str, gpu_name: str, *, precision: str = "fp16") -> str:
    """File-name-safe cache key of an engine: model hash + TensorRT version + GPU (+ precision).

    An engine is specific to the exact ONNX model, the TensorRT version that built it and
    the GPU model it was tuned on; any change must miss the cache.

    Args:
        model_sha256: sha256 (64 hex digits) of the ONNX file the engine is built from.
        trt_version: ``tensorrt.__version__``.
        gpu_name: GPU name, e.g. ``"NVIDIA Jetson AGX Orin"``.
        precision: ``fp16`` or ``int8``.

    Returns:
        ``<sha[:16]>-trt<version>-<gpu slug>-<precision>-<digest[:8]>``; the digest covers the
        full, unslugged inputs so two GPU names that slug alike still differ.

    Raises:
        ValueError: A malformed sha256, empty version/GPU name or unknown precision.
    """
    sha = model_sha256.strip().lower()
    if not _SHA_RE.match(sha):
        msg = f"model_sha256 must be 64 hex digits, got {model_sha256!r}"
        raise ValueError(msg)
    if not trt_version.strip() or not gpu_name.strip():
        msg = f"trt_version and gpu_name must be non-empty, got {trt_version!r}, {gpu_name!r}"
        raise ValueError(msg)
    if precision not in PRECISIONS:
        msg = f"precision '{precision}' is not one of {PRECISIONS}"
        raise ValueError(msg)
    digest = hashlib.sha256("\0".join((sha, trt_version.strip(), gpu_name.strip(), precision)).encode()).hexdigest()[:8]
    return f"{sha[:16]}-trt{_slug(trt_version)}-{_slug(gpu_name)[:48]}-{precision}-{digest}"


def gpu_name() -> str:
    """Name of CUDA device 0 from torch, cuda-python or pycuda, whichever imports.

    Raises:
        EncoderError: No CUDA device could be queried.
    """
    errors = []
    try:
        import torch

        if torch.cuda.is_available():
            return str(torch.cuda.get_device_name(0))
        errors.append("torch: no CUDA device")
    except ImportError as err:
        errors.append(f"torch: {err}")
    try:
        try:
            from cuda.bindings import driver as cu
        except ImportError:
            from cuda import cuda as cu  # type: ignore[no-redef]
        cu.cuInit(0)
        _, dev = cu.cuDeviceGet(0)
        _, raw = cu.cuDeviceGetName(256, dev)
        return bytes(raw).split(b"\0", 1)[0].decode()
    except Exception as err:  # ImportError or a CUDA driver error
        errors.append(f"cuda-python: {err}")
    try:
        import pycuda.driver as drv

        drv.init()
        return str(drv.Device(0).name())
    except Exception as err:
        errors.append(f"pycuda: {err}")
    msg = "no CUDA GPU name available (" + "; ".join(errors) + ")"
    raise EncoderError(msg)


def engine_path(cache_dir: Path, onnx_path: Path, model_sha256: str, precision: str) -> Path:
    """Cache file of the engine for this model, TensorRT version, GPU and precision."""
    key = engine_cache_key(model_sha256, str(_trt().__version__), gpu_name(), precision=precision)
    return cache_dir / f"{onnx_path.stem}.{key}.engine"


# --------------------------------------------------------------------------- build


def _progress_monitor(trt: Any) -> Any | None:
    """A ``trt.IProgressMonitor`` that logs phases and steps (TensorRT >= 10), else ``None``."""
    if not hasattr(trt, "IProgressMonitor"):
        return None

    class _Monitor(trt.IProgressMonitor):  # type: ignore[misc, name-defined]
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
            base.__init__(self)
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
    from videorag_ros.core.models.manifest import sha256_file

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


# --------------------------------------------------------------------------- runtime


class TensorRTEngine:
    """A deserialized engine with the ``OnnxSession`` interface (``providers``, ``run``).

    Device buffers are torch CUDA tensors. TensorRT >= 8.5 runs with named tensors
    (``set_input_shape``/``set_tensor_address``/``execute_async_v3``); older versions
    with ``execute_v2`` bindings.
    """

    def __init__(self, path: str | Path, *, input_name: str, output_name: str) -> None:
        """Load an engine file.

        Raises:
            ModelLoadError: The file does not deserialize (other TensorRT version/GPU) or lacks the I/O.
            EncoderError: No CUDA through torch.
        """
        trt = _trt()
        try:
            import torch
        except ImportError as err:
            msg = "the TensorRT runtime needs torch with CUDA for device buffers"
            raise EncoderError(msg) from err
        if not torch.cuda.is_available():
            msg = "the TensorRT runtime needs torch with CUDA for device buffers; torch.cuda.is_available() is False"
            raise EncoderError(msg)
        self._torch = torch
        self.path = Path(path)
        self._logger = trt.Logger(trt.Logger.WARNING)
        self._runtime = trt.Runtime(self._logger)
        self._engine = self._runtime.deserialize_cuda_engine(self.path.read_bytes())
        if self._engine is None:
            msg = f"TensorRT could not deserialize '{self.path}' (built by another TensorRT version or for another GPU?)"
            raise ModelLoadError(msg)
        self._context = self._engine.create_execution_context()
        self._input, self._output = input_name, output_name
        self._v3 = hasattr(self._context, "execute_async_v3") and hasattr(self._context, "set_input_shape")
        names = self._tensor_names()
        if input_name not in names or output_name not in names:
            msg = f"engine '{self.path}' has tensors {names}; expected input '{input_name}' and output '{output_name}'"
            raise ModelLoadError(msg)
        self._in_dtype = self._torch_dtype(trt, input_name)
        self.providers: list[str] = [f"TensorRT engine {self.path.name}"]
        log.info("loaded %s", self.providers[0])

    def _tensor_names(self) -> list[str]:
        e = self._engine
        if self._v3:
            return [e.get_tensor_name(i) for i in range(e.num_io_tensors)]
        return [e.get_binding_name(i) for i in range(e.num_bindings)]

    def _torch_dtype(self, trt: Any, name: str) -> Any:
        dt = self._engine.get_tensor_dtype(name) if self._v3 else self._engine.get_binding_dtype(self._engine.get_binding_index(name))
        table = {trt.float32: self._torch.float32, trt.float16: self._torch.float16, trt.int32: self._torch.int32}
        if hasattr(trt, "int64"):
            table[trt.int64] = self._torch.int64
        return table.get(dt, self._torch.float32)

    def run(self, x: npt.NDArray[Any]) -> npt.NDArray[np.float32]:
        """Run a batch (split into chunks of at most ``MAX_BATCH``).

        Raises:
            EncoderError: TensorRT reported a failed execution.
        """
        outs = [self._run_chunk(x[i : i + MAX_BATCH]) for i in range(0, len(x), MAX_BATCH)]
        return np.concatenate(outs) if outs else np.zeros((0, 0), np.float32)

    def _run_chunk(self, x: npt.NDArray[Any]) -> npt.NDArray[np.float32]:
        torch = self._torch
        inp = torch.from_numpy(np.ascontiguousarray(x)).to(device="cuda", dtype=self._in_dtype)
        stream = torch.cuda.current_stream()
        ctx = self._context
        if self._v3:
            ctx.set_input_shape(self._input, tuple(inp.shape))
            out = torch.empty(tuple(ctx.get_tensor_shape(self._output)), dtype=torch.float32, device="cuda")
            ctx.set_tensor_address(self._input, int(inp.data_ptr()))
            ctx.set_tensor_address(self._output, int(out.data_ptr()))
            ok = ctx.execute_async_v3(stream.cuda_stream)
        else:
            i_in, i_out = self._engine.get_binding_index(self._input), self._engine.get_binding_index(self._output)
            ctx.set_binding_shape(i_in, tuple(inp.shape))
            out = torch.empty(tuple(ctx.get_binding_shape(i_out)), dtype=torch.float32, device="cuda")
            bindings = [0] * self._engine.num_bindings
            bindings[i_in], bindings[i_out] = int(inp.data_ptr()), int(out.data_ptr())
            ok = ctx.execute_v2(bindings)
        stream.synchronize()
        if not ok:
            msg = f"TensorRT execution failed for input {x.shape} {x.dtype} ({self.providers[0]})"
            raise EncoderError(msg)
        return out.float().cpu().numpy()


# --------------------------------------------------------------------------- gate + cache lookup


def gate_engine(engine: TensorRTEngine, manifest: Manifest, frames: np.ndarray, *, min_cosine: float = 0.99, runs: int = 50) -> GateReport:
    """The shared accuracy/speed gate: engine vs onnxruntime fp32 (CUDA EP where available)."""
    from videorag_ros.core.models.onnx_backend import OnnxSession
    from videorag_ros.core.models.quantize import accuracy_gate, fp32_reference_file

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
    from videorag_ros.core.models.quantize import fp32_reference_file, require_pass

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


def load_cached_engine(manifest: Manifest, *, cache_dir: str | Path | None = None) -> TensorRTEngine | None:
    """The cached, gate-passed engine for this model on this GPU and TensorRT, or ``None``.

    Prefers an int8 engine over fp16 (both passed the same gate when built).

    Raises:
        ModelLoadError: A cached engine exists but does not load.
    """
    if not tensorrt_available():
        return None
    from videorag_ros.core.models.manifest import sha256_file
    from videorag_ros.core.models.quantize import fp32_reference_file

    try:
        fp32 = fp32_reference_file(manifest, "image")
    except ConfigError:
        return None
    cache = Path(cache_dir).expanduser() if cache_dir else default_cache_dir()
    ref = manifest.raw.get("reference") or {}
    sha = ref.get("image_sha256") or (manifest.image.sha256 if fp32 == manifest.image.file else sha256_file(fp32))
    for precision in ("int8", "fp16"):
        path = engine_path(cache, fp32, sha, precision)
        if path.is_file():
            return TensorRTEngine(path, input_name=manifest.image.input_name, output_name=manifest.image.output_name)
    log.info("no cached TensorRT engine for %s in %s", manifest.name, cache)
    return None
