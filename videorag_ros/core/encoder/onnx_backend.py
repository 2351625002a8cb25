"""onnxruntime sessions with execution-provider selection.

Order of preference for ``backend="auto"``: TensorRT EP, CUDA EP, CPU EP — whichever
this onnxruntime build offers. The choice is logged once per session.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from videorag_ros.core.errors import ConfigError, EncoderError, ModelLoadError

log = logging.getLogger(__name__)

_EP_FOR_BACKEND = {
    "tensorrt": "TensorrtExecutionProvider",
    "cuda": "CUDAExecutionProvider",
    "cpu": "CPUExecutionProvider",
}
_AUTO_ORDER = ("TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider")


def choose_providers(backend: str, available: list[str]) -> list[str]:
    """Execution providers to request, best first, always ending with the CPU EP.

    Args:
        backend: ``auto``, ``tensorrt``, ``cuda`` or ``cpu``.
        available: ``onnxruntime.get_available_providers()``.

    Raises:
        ConfigError: Unknown backend, or an explicit backend this build lacks.
    """
    if backend == "auto":
        chosen = [ep for ep in _AUTO_ORDER if ep in available]
    elif backend in _EP_FOR_BACKEND:
        ep = _EP_FOR_BACKEND[backend]
        if ep not in available:
            msg = f"encoder_backend '{backend}' needs {ep}, which this onnxruntime lacks (available: {', '.join(available)})"
            raise ConfigError(msg)
        chosen = [ep]
    else:
        msg = f"encoder_backend '{backend}' is not one of auto, tensorrt, cuda, cpu"
        raise ConfigError(msg)
    if "CPUExecutionProvider" not in chosen:
        chosen.append("CPUExecutionProvider")
    return chosen


class OnnxSession:
    """One ONNX model in an onnxruntime InferenceSession, single input → single output."""

    def __init__(self, path: Path, *, input_name: str, output_name: str, backend: str = "auto", threads: int = 1, spin: bool = True) -> None:
        """Load a model.

        Args:
            path: ``.onnx`` file.
            input_name: Graph input to feed.
            output_name: Graph output to fetch.
            backend: Provider preference (see ``choose_providers``).
            threads: Intra-op threads (the calling thread included).
            spin: Let idle pool threads spin-wait for work (onnxruntime's default); False makes
                them sleep, leaving the CPU to other threads between parallel sections.

        Raises:
            ModelLoadError: The file is not a loadable ONNX model or lacks the named I/O.
        """
        import onnxruntime as ort  # heavy import kept out of package import

        providers = choose_providers(backend, ort.get_available_providers())
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        opts.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin else "0")
        try:
            self._sess = ort.InferenceSession(str(path), sess_options=opts, providers=providers)
        except Exception as err:  # onnxruntime raises several unrelated types for bad files
            msg = f"onnxruntime could not load '{path}': {err}"
            raise ModelLoadError(msg) from err
        inputs = {i.name: i for i in self._sess.get_inputs()}
        outputs = [o.name for o in self._sess.get_outputs()]
        if input_name not in inputs or output_name not in outputs:
            msg = f"'{path}' has inputs {list(inputs)} and outputs {outputs}; manifest names input '{input_name}', output '{output_name}'"
            raise ModelLoadError(msg)
        self._input, self._output = input_name, output_name
        self.input_shape: list[Any] = list(inputs[input_name].shape)
        self.providers: list[str] = self._sess.get_providers()
        log.info("loaded %s with %s", path.name, self.providers[0])

    def run(self, x: npt.NDArray[Any]) -> npt.NDArray[np.float32]:
        """Run one batch.

        Raises:
            EncoderError: onnxruntime failed (shape/dtype mismatch, provider error).
        """
        try:
            out = self._sess.run([self._output], {self._input: x})[0]
        except Exception as err:  # translate at the boundary
            msg = f"encoder forward pass failed for input {x.shape} {x.dtype}: {err}"
            raise EncoderError(msg) from err
        return np.asarray(out, dtype=np.float32)
