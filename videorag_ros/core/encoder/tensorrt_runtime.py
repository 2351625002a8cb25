"""TensorRT engines for the image tower at run time: the engine cache and the runtime.

``tensorrt`` is imported lazily; :func:`tensorrt_available` is the capability check. An engine
is only valid for one model, one TensorRT version and one GPU, so its file name is keyed by the
model's sha256, the TensorRT version and the GPU name (:func:`engine_cache_key`); engines are
built (and gated against onnxruntime fp32) by ``videorag model build-engine``
(``videorag_ros.toolchain.tensorrt_build``). The runtime (:class:`TensorRTEngine`) has the
``OnnxSession`` interface (``providers``, ``run``); its device buffers come from NVIDIA's
``cuda-python`` bindings (no torch at run time), and one lock serialises its execution context,
which the frame worker and the query thread share.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import logging
import os
import re
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from videorag_ros.core.errors import ConfigError, EncoderError, ModelLoadError

if TYPE_CHECKING:
    from videorag_ros.core.encoder.manifest import Manifest

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
    """Name of CUDA device 0 from cuda-python or pycuda, whichever imports.

    Raises:
        EncoderError: No CUDA device could be queried.
    """
    errors = []
    try:
        try:
            from cuda.bindings import driver as cu
        except ImportError:
            from cuda import cuda as cu
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


def _cudart() -> Any:
    """NVIDIA's CUDA runtime bindings (``cuda-python``: ``cuda.bindings.runtime``, or ``cuda.cudart`` before 12.6).

    Raises:
        EncoderError: cuda-python is not installed.
    """
    try:
        from cuda.bindings import runtime
    except ImportError:
        try:
            from cuda import cudart as runtime
        except ImportError as err:
            msg = "the TensorRT runtime needs NVIDIA's cuda-python bindings for device buffers: pip install cuda-python"
            raise EncoderError(msg) from err
    return runtime


def _check(result: Any, what: str) -> Any:
    """Unpack a cuda-python ``(error, *values)`` result; raise ``EncoderError`` unless it succeeded."""
    err, *values = result if isinstance(result, tuple) else (result,)
    if int(err) != 0:
        msg = f"CUDA {what} failed: {err}"
        raise EncoderError(msg)
    return values[0] if len(values) == 1 else values


class TensorRTEngine:
    """A deserialized engine with the ``OnnxSession`` interface (``providers``, ``run``).

    Device buffers for the largest batch are allocated once with cuda-python; ``run`` copies a
    chunk in, executes and copies the result out on the engine's own stream, under a lock (one
    execution context cannot run two batches at once). TensorRT >= 8.5 runs with named tensors
    (``set_input_shape`` / ``set_tensor_address`` / ``execute_async_v3``), older versions with
    ``execute_v2`` bindings.
    """

    def __init__(self, path: str | Path, *, input_name: str, output_name: str) -> None:
        """Load an engine file.

        Raises:
            ModelLoadError: The file does not deserialize (other TensorRT version/GPU) or lacks the I/O.
            EncoderError: No CUDA runtime bindings, or a CUDA allocation failed.
        """
        trt = _trt()
        self._cuda = _cudart()
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
        self._in_dtype = self._np_dtype(trt, input_name)
        self._lock = threading.Lock()
        self._stream = _check(self._cuda.cudaStreamCreate(), "stream creation")
        in_shape = self._max_shape(input_name)
        self._in_bytes = int(np.prod(in_shape)) * self._in_dtype.itemsize
        self._d_in = _check(self._cuda.cudaMalloc(self._in_bytes), f"allocation of {self._in_bytes} input bytes")
        out_shape = self._max_shape(output_name)
        self._out_bytes = int(np.prod(out_shape)) * 4
        self._d_out = _check(self._cuda.cudaMalloc(self._out_bytes), f"allocation of {self._out_bytes} output bytes")
        self.providers: list[str] = [f"TensorRT engine {self.path.name}"]
        log.info("loaded %s", self.providers[0])

    def _tensor_names(self) -> list[str]:
        e = self._engine
        if self._v3:
            return [e.get_tensor_name(i) for i in range(e.num_io_tensors)]
        return [e.get_binding_name(i) for i in range(e.num_bindings)]

    def _np_dtype(self, trt: Any, name: str) -> np.dtype[Any]:
        dt = self._engine.get_tensor_dtype(name) if self._v3 else self._engine.get_binding_dtype(self._engine.get_binding_index(name))
        table = {trt.float32: np.float32, trt.float16: np.float16, trt.int32: np.int32}
        return np.dtype(table.get(dt, np.float32))

    def _max_shape(self, name: str) -> tuple[int, ...]:
        """The tensor's shape at the largest batch of the optimization profile (dynamic dims = MAX_BATCH)."""
        e = self._engine
        shape = tuple(e.get_tensor_shape(name) if self._v3 else e.get_binding_shape(e.get_binding_index(name)))
        return tuple(MAX_BATCH if int(d) < 0 else int(d) for d in shape)

    def run(self, x: npt.NDArray[Any]) -> npt.NDArray[np.float32]:
        """Run a batch (split into chunks of at most ``MAX_BATCH``); safe to call from several threads.

        Raises:
            EncoderError: A CUDA copy or the TensorRT execution failed.
        """
        with self._lock:
            outs = [self._run_chunk(x[i : i + MAX_BATCH]) for i in range(0, len(x), MAX_BATCH)]
        return np.concatenate(outs) if outs else np.zeros((0, 0), np.float32)

    def _run_chunk(self, x: npt.NDArray[Any]) -> npt.NDArray[np.float32]:
        cuda, ctx = self._cuda, self._context
        host_in = np.ascontiguousarray(x, dtype=self._in_dtype)
        if host_in.nbytes > self._in_bytes:
            msg = f"TensorRT input {host_in.shape} is larger than the engine's buffers ({self._in_bytes} bytes)"
            raise EncoderError(msg)
        h2d, d2h = cuda.cudaMemcpyKind.cudaMemcpyHostToDevice, cuda.cudaMemcpyKind.cudaMemcpyDeviceToHost
        _check(cuda.cudaMemcpyAsync(self._d_in, host_in.ctypes.data, host_in.nbytes, h2d, self._stream), "host-to-device copy")
        if self._v3:
            ctx.set_input_shape(self._input, tuple(host_in.shape))
            out_shape = tuple(int(d) for d in ctx.get_tensor_shape(self._output))
            ctx.set_tensor_address(self._input, int(self._d_in))
            ctx.set_tensor_address(self._output, int(self._d_out))
            ok = ctx.execute_async_v3(int(self._stream))
        else:
            i_in, i_out = self._engine.get_binding_index(self._input), self._engine.get_binding_index(self._output)
            ctx.set_binding_shape(i_in, tuple(host_in.shape))
            out_shape = tuple(int(d) for d in ctx.get_binding_shape(i_out))
            bindings = [0] * self._engine.num_bindings
            bindings[i_in], bindings[i_out] = int(self._d_in), int(self._d_out)
            ok = ctx.execute_async_v2(bindings, int(self._stream))
        host_out = np.empty(out_shape, np.float32)
        _check(cuda.cudaMemcpyAsync(host_out.ctypes.data, self._d_out, host_out.nbytes, d2h, self._stream), "device-to-host copy")
        _check(cuda.cudaStreamSynchronize(self._stream), "stream synchronisation")
        if not ok:
            msg = f"TensorRT execution failed for input {x.shape} {x.dtype} ({self.providers[0]})"
            raise EncoderError(msg)
        return host_out

    def close(self) -> None:
        """Free the device buffers and the stream (the engine is unusable afterwards)."""
        with self._lock:
            for ptr in (self._d_in, self._d_out):
                self._cuda.cudaFree(ptr)
            self._cuda.cudaStreamDestroy(self._stream)


def load_cached_engine(manifest: Manifest, *, cache_dir: str | Path | None = None) -> TensorRTEngine | None:
    """The cached, gate-passed engine for this model on this GPU and TensorRT, or ``None``.

    Prefers an int8 engine over fp16 (both passed the same gate when built).

    Raises:
        ModelLoadError: A cached engine exists but does not load.
    """
    if not tensorrt_available():
        return None
    from videorag_ros.core.encoder.manifest import fp32_reference_file, sha256_file

    try:
        fp32 = fp32_reference_file(manifest, "image")
    except ModelLoadError:
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
