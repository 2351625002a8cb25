"""``videorag bench model``: encoder latency per model x tower x precision x backend.

For each model: batch-1 latency p50/p95/p99 on the model's own input size (a rendered
frame through ``preprocess_batch``, or one tokenized prompt), the int8 speed-up over fp32
and the mean cosine to onnxruntime fp32 on 32 frames/prompts. Backends: onnxruntime CPU EP at
every ``--threads`` count side by side, plus CUDA EP / TensorRT EP and a cached TensorRT
engine where this machine has them, and OpenVINO's CPU plugin where ``openvino`` is installed
(``pip install openvino``: a benchmark extra, never needed at run time): the fp32 graph with
OpenVINO's default precision hint (bf16 on CPUs with bf16 instructions: AMX, AVX512_BF16, it
runs fp32 models in bf16 without being asked) and forced to f32, and onnxruntime's int8 graph.
Without openvino the table says so and goes on.

Default models: the shipped ``videorag-tiny`` (fp32 reference files and its int8 files),
and random-init ``clip-vit-b32`` and ``mobileclip-s0`` exported to a cache directory and
quantized there (dynamic MatMul int8 for the ViT, static QDQ for the conv tower,
dynamic for text towers). Random-init rows measure compute cost only; their
embeddings are meaningless. An int8 artefact the gate refuses is still timed (built
without the gate into a scratch file) and marked ``REFUSED``.

Progress goes to stderr; ``--json`` prints one JSON object as the last line.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

DEFAULT_MODELS = ("videorag-tiny", "random:clip-vit-b32", "random:mobileclip-s0")
#: int8 mode per random-init architecture and tower: never dynamic-quantize convolutions.
RANDOM_INT8 = {"clip-vit-b32": {"image": "dynamic", "text": "dynamic"}, "mobileclip-s0": {"image": "static", "text": "dynamic"}}
N_COSINE = 32


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


@dataclass
class Row:
    """One measured configuration."""

    model: str
    kind: str
    tower: str
    precision: str
    backend: str
    input: str
    threads: int | None = None
    p50_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None
    speedup_vs_fp32: float | None = None
    cosine_vs_fp32: float | None = None
    note: str = ""


@dataclass
class _Artefact:
    tower: str
    precision: str
    path: Path
    note: str


def _percentiles(times_s: list[float]) -> tuple[float, float, float]:
    import numpy as np

    ms = np.asarray(times_s) * 1e3
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 95)), float(np.percentile(ms, 99))


def _time(run: Any, x: Any, runs: int, warmup: int = 10) -> tuple[float, float, float]:
    for _ in range(warmup):
        run(x)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        run(x)
        times.append(time.perf_counter() - t0)
    return _percentiles(times)


def _ensure_random(arch: str, cache: Path) -> tuple[Path, list[_Artefact]]:
    """Export + quantize a random-init architecture into ``cache`` (reused when present)."""
    from videorag_ros.core.encoder.manifest import fp32_reference_file, load_manifest
    from videorag_ros.core.errors import ModelLoadError
    from videorag_ros.toolchain.quantize import GateError, calibration_inputs, quantize_file, quantize_model
    from videorag_ros.toolchain.random_init import export_random_init

    base = cache / f"random-{arch}"
    try:
        manifest = load_manifest(str(base))
        _say(f"{arch}: using cached export {base}")
    except ModelLoadError:
        _say(f"{arch}: exporting random-init model to {base} (once; cached afterwards)")
        export_random_init(arch, base, progress=lambda s: _say(f"  {arch} export {s}"))
        manifest = load_manifest(str(base))
    arts = [_Artefact(t, "fp32", fp32_reference_file(manifest, t), "") for t in ("image", "text")]
    for tower, mode in RANDOM_INT8[arch].items():
        qdir = cache / f"random-{arch}-int8-{tower}"
        qfile = qdir / f"{tower}_int8.onnx"
        try:
            q = load_manifest(str(qdir))
            if (q.raw.get("reference") or {}).get(f"{tower}_sha256") != manifest.raw["reference"][f"{tower}_sha256"]:
                raise ModelLoadError("stale")
            gate = (q.raw.get("quantization") or {}).get(tower, {})
            _say(f"{arch}: using cached int8 {tower} ({mode}) {qfile}")
            arts.append(_Artefact(tower, "int8", qfile, f"{mode}; gate pass, cos {gate.get('cosine', float('nan')):.4f}"))
            continue
        except ModelLoadError:
            pass
        _say(f"{arch}: int8 {tower} ({mode}) + gate ...")
        try:
            res = quantize_model(str(base), qdir, mode=mode, tower=tower, progress=lambda s: _say(f"  {arch} quantize {s}"))
            arts.append(_Artefact(tower, "int8", qfile, f"{mode}; gate pass, cos {res.reports[0].cosine:.4f}"))
        except GateError as err:
            _say(f"  {arch} {tower}: {err}")
            scratch = cache / f"random-{arch}-refused-{tower}_int8.onnx"
            spec = manifest.image if tower == "image" else manifest.text
            assert spec is not None
            data = calibration_inputs(manifest, tower, n=64)
            quantize_file(fp32_reference_file(manifest, tower), scratch, mode=mode, input_name=spec.input_name, calibration=data)
            reasons = "; ".join(err.report.reasons)
            arts.append(_Artefact(tower, "int8", scratch, f"{mode}; REFUSED by gate ({reasons}), timed anyway"))
    return base, arts


def _shipped(name: str) -> tuple[Path, list[_Artefact]]:
    """fp32 reference files and any ``<tower>_int8.onnx`` of a model directory."""
    from videorag_ros.core.encoder.manifest import fp32_reference_file, load_manifest

    manifest = load_manifest(name)
    quant = manifest.raw.get("quantization") or {}
    arts = []
    for tower in ("image", "text"):
        spec = manifest.image if tower == "image" else manifest.text
        if spec is None:
            continue
        arts.append(_Artefact(tower, "fp32", fp32_reference_file(manifest, tower), ""))
        int8 = manifest.directory / f"{tower}_int8.onnx"
        if int8.is_file():
            shipped = spec.file.name == int8.name
            info = quant.get(tower) or {}
            cos = info.get("cosine")
            note = "shipped" if shipped else "not shipped (gate: " + str(info.get("reason") or info.get("reasons") or "see manifest") + ")"
            arts.append(_Artefact(tower, "int8", int8, note + (f", gate cos {float(cos):.4f}" if isinstance(cos, (int, float)) else "")))
    return manifest.directory, arts


def _backends() -> list[str]:
    import onnxruntime as ort

    avail = ort.get_available_providers()
    out = ["cpu"]
    if "CUDAExecutionProvider" in avail:
        out.append("cuda")
    if "TensorrtExecutionProvider" in avail:
        out.append("tensorrt")
    return out


_EP_LABEL = {"cpu": "ORT CPU EP", "cuda": "ORT CUDA EP", "tensorrt": "ORT TensorRT EP"}


class _OpenVinoRunner:
    """One ONNX file compiled by OpenVINO's CPU plugin, batch in -> first output out (benchmark only)."""

    def __init__(self, path: Path, *, input_name: str, threads: int, precision: str | None) -> None:
        import openvino as ov

        config: dict[str, Any] = {"INFERENCE_NUM_THREADS": threads, "PERFORMANCE_HINT": "LATENCY", "NUM_STREAMS": 1}
        if precision is not None:
            config["INFERENCE_PRECISION_HINT"] = precision
        self._compiled = ov.Core().compile_model(str(path), "CPU", config)
        self._request = self._compiled.create_infer_request()
        self._input = input_name
        hint = self._compiled.get_property("INFERENCE_PRECISION_HINT")
        name = hint.get_type_name() if hasattr(hint, "get_type_name") else str(hint)
        self.precision = {"f32": "fp32", "f16": "fp16"}.get(name, name)  # OpenVINO's names -> this table's
        self.providers = ["OpenVINO CPU"]

    def run(self, x: Any) -> Any:
        import numpy as np

        out = self._request.infer({self._input: x})
        return np.asarray(next(iter(out.values())), dtype=np.float32)


def openvino_status() -> tuple[bool, str]:
    """Whether OpenVINO can be benchmarked here, and a line saying what it would run fp32 models in."""
    try:
        import openvino as ov
    except ImportError:
        return False, "OpenVINO: not installed (pip install openvino: a benchmark extra, listed in tools/requirements.txt)"
    try:
        core = ov.Core()
        caps = core.get_property("CPU", "OPTIMIZATION_CAPABILITIES")
        value = core.get_property("CPU", "INFERENCE_PRECISION_HINT")
        hint = value.get_type_name() if hasattr(value, "get_type_name") else str(value)
    except Exception as err:  # a plugin that cannot start is reported, not fatal
        return False, f"OpenVINO {ov.__version__}: CPU plugin unavailable ({type(err).__name__}: {err})"
    return True, f"OpenVINO {ov.__version__}: CPU capabilities {', '.join(caps)}; default inference precision {hint} (fp32 models run in it unless told f32)"


def _bench_model(spec: str, cache: Path, runs: int, threads_list: Sequence[int], step: list[int], *, openvino: bool = False) -> list[Row]:
    import numpy as np

    from videorag_ros.core.encoder.manifest import load_manifest
    from videorag_ros.core.encoder.onnx_backend import OnnxSession
    from videorag_ros.toolchain.quantize import calibration_inputs, mean_cosine

    if spec.startswith("random:"):
        arch = spec.split(":", 1)[1]
        if arch not in RANDOM_INT8:
            from videorag_ros.core.errors import ConfigError

            msg = f"random-init model '{arch}' is not one of {sorted(RANDOM_INT8)}"
            raise ConfigError(msg)
        directory, arts = _ensure_random(arch, cache)
        label, kind = f"{arch} (random-init)", "random-init: compute cost only"
    else:
        directory, arts = _shipped(spec)
        label, kind = Path(directory).name, "model directory"
    manifest = load_manifest(str(directory))
    rows: list[Row] = []
    backends = _backends()
    for tower in ("image", "text"):
        tspec = manifest.image if tower == "image" else manifest.text
        tarts = [a for a in arts if a.tower == tower]
        if tspec is None or not tarts:
            continue
        data = calibration_inputs(manifest, tower, n=N_COSINE)
        x = data[:1]
        shape = "x".join(str(d) for d in x.shape) + (" float32" if tower == "image" else " int64")
        ref_emb = None
        fp32_p50: dict[tuple[str, int | None], float] = {}
        for art in sorted(tarts, key=lambda a: a.precision != "fp32"):
            configs: list[tuple[str, int | None, str | None]] = []  # (backend, threads, OpenVINO precision hint)
            for be in backends:
                configs += [(be, t if be == "cpu" else None, None) for t in (threads_list if be == "cpu" else threads_list[:1])]
            if openvino:
                hints: tuple[str | None, ...] = (None, "f32") if art.precision == "fp32" else (None,)
                configs += [("openvino", t, hint) for hint in hints for t in threads_list]
            for be, t, hint in configs:
                be_label = _EP_LABEL.get(be, "OpenVINO CPU")
                step[0] += 1
                _say(f"[{step[0]}] {label} {tower} {art.precision} {be_label}{'' if t is None else f' {t} thread(s)'}: {runs} runs at batch 1 ...")
                precision, note = art.precision, art.note
                sess: Any
                if be == "openvino":
                    sess = _OpenVinoRunner(art.path, input_name=tspec.input_name, threads=t or 1, precision=hint)
                    how = "default precision" if hint is None else "precision hint"
                    note = "; ".join(x for x in (art.note, f"OpenVINO {how} {sess.precision}") if x)
                    if art.precision == "fp32" and sess.precision != "fp32":
                        precision = f"fp32->{sess.precision}"
                else:
                    sess = OnnxSession(art.path, input_name=tspec.input_name, output_name=tspec.output_name, backend=be, threads=t or 1)
                p50, p95, p99 = _time(sess.run, x, runs)
                row = Row(label, kind, tower, precision, be_label, shape, t, p50, p95, p99, note=note)
                if be_label in ("ORT CPU EP", "OpenVINO CPU"):
                    emb = np.concatenate([sess.run(data[i : i + 8]) for i in range(0, len(data), 8)])
                    if art.precision == "fp32" and be_label == "ORT CPU EP" and ref_emb is None:
                        ref_emb = emb  # the reference: onnxruntime fp32 at the first thread count
                    elif ref_emb is not None:
                        row.cosine_vs_fp32 = mean_cosine(ref_emb, emb)
                key = (be_label, t)
                if art.precision == "fp32" and precision == "fp32":
                    fp32_p50[key] = p50
                elif art.precision != "fp32" and key in fp32_p50:
                    row.speedup_vs_fp32 = fp32_p50[key] / p50
                rows.append(row)
                _say(f"    p50 {p50:.3f} ms  p95 {p95:.3f} ms  p99 {p99:.3f} ms")
        if tower == "image":
            ort_fp32 = {be: fp32_p50[(_EP_LABEL[be], t)] for be in _EP_LABEL for t in (threads_list[0], None) if (_EP_LABEL[be], t) in fp32_p50}
            rows += _engine_rows(manifest, label=label, kind=kind, x=x, shape=shape, runs=runs, fp32_p50=ort_fp32, step=step)
    return rows


def _engine_rows(manifest: Any, *, label: str, kind: str, x: Any, shape: str, runs: int, fp32_p50: dict[str, float], step: list[int]) -> list[Row]:
    from videorag_ros.core.encoder.tensorrt_runtime import load_cached_engine, tensorrt_available

    if not tensorrt_available():
        return []
    engine = load_cached_engine(manifest)
    if engine is None:
        _say(f"{label}: no cached TensorRT engine (build one with 'videorag model build-engine')")
        return []
    step[0] += 1
    _say(f"[{step[0]}] {label} image {engine.providers[0]}: {runs} runs ...")
    p50, p95, p99 = _time(engine.run, x, runs)
    precision = "int8" if "-int8-" in engine.providers[0] else "fp16"
    ref = fp32_p50.get("cuda") or fp32_p50.get("cpu")
    return [Row(label, kind, "image", precision, engine.providers[0], shape, None, p50, p95, p99, ref / p50 if ref else None, note="speed-up vs ORT fp32")]


def _fmt(v: float | None, spec: str) -> str:
    return "-" if v is None else format(v, spec)


def format_table(rows: Sequence[Row]) -> str:
    """A fixed-width text table of the rows."""
    head = ("model", "tower", "prec", "backend", "thr", "input", "p50 ms", "p95 ms", "p99 ms", "int8 speed-up", "cos vs fp32", "note")
    body = [
        (
            r.model,
            r.tower,
            r.precision,
            r.backend,
            "-" if r.threads is None else str(r.threads),
            r.input,
            _fmt(r.p50_ms, ".3f"),
            _fmt(r.p95_ms, ".3f"),
            _fmt(r.p99_ms, ".3f"),
            _fmt(r.speedup_vs_fp32, ".2f") + ("x" if r.speedup_vs_fp32 else ""),
            _fmt(r.cosine_vs_fp32, ".5f"),
            r.note,
        )
        for r in rows
    ]
    widths = [max(len(str(c)) for c in col) for col in zip(head, *body, strict=True)]

    def line(cells: Sequence[object]) -> str:
        return "  ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    return "\n".join([line(head), line(["-" * w for w in widths]), *(line(b) for b in body)])


def main(argv: Sequence[str] | None = None) -> int:
    """Run the model benchmark; prints the table (and JSON with ``--json``)."""
    parser = argparse.ArgumentParser(prog="videorag bench model", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=list(DEFAULT_MODELS), help="model names/dirs, or random:<arch> (default: %(default)s)")
    parser.add_argument("--runs", type=int, default=200, help="timed batch-1 runs per configuration (default: %(default)s)")
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    default_threads = sorted({1, min(cores, 2), min(cores, 4)})
    parser.add_argument("--threads", type=int, nargs="+", default=default_threads, help="CPU threads per configuration, side by side (default: %(default)s)")
    parser.add_argument("--backends", nargs="+", choices=("ort", "openvino"), default=["ort", "openvino"], help="runtimes to measure (default: %(default)s; OpenVINO where installed)")
    parser.add_argument("--cache-dir", type=Path, default=Path.home() / ".cache" / "videorag" / "models", help="random-init exports (default: %(default)s)")
    parser.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    args = parser.parse_args(argv)
    if not args.runs >= 1 or not all(1 <= t <= 256 for t in args.threads):
        print(f"error: --runs must be >= 1 and --threads between 1 and 256; got {args.runs}, {args.threads}", file=sys.stderr)
        return 2
    args.threads = sorted(set(args.threads))

    import logging

    from videorag_ros.core.errors import VideoragError

    logging.basicConfig(level=logging.WARNING, format="%(message)s", stream=sys.stderr)
    args.cache_dir.mkdir(parents=True, exist_ok=True)
    rows: list[Row] = []
    errors: dict[str, str] = {}
    step = [0]
    openvino, openvino_line = openvino_status() if "openvino" in args.backends else (False, "OpenVINO: not requested (--backends)")
    t0 = time.perf_counter()
    for spec in args.models:
        try:
            rows += _bench_model(spec, args.cache_dir, args.runs, args.threads, step, openvino=openvino)
        except VideoragError as err:
            errors[spec] = str(err)
            print(f"error: {spec}: {err}", file=sys.stderr)
    threads = ", ".join(str(t) for t in args.threads)
    print(f"videorag bench model: batch 1, {args.runs} runs, {threads} CPU thread(s), {platform.machine()} {os.cpu_count()} CPUs; {openvino_line}")
    print(format_table(rows))
    for spec, problem in errors.items():
        print(f"{spec}: {problem}")
    print(
        "random-init rows: architecture cost only, embeddings are meaningless; speed-up = fp32 p50 / int8 p50 on the same backend and threads; "
        "cos vs fp32: mean cosine to onnxruntime fp32 (first thread count) on 32 inputs; prec a->b: an fp32 graph OpenVINO ran in b"
    )
    _say(f"done in {time.perf_counter() - t0:.0f} s")
    if args.json:
        print(
            json.dumps(
                {"bench": "model", "runs": args.runs, "threads": args.threads, "cpus": os.cpu_count(), "openvino": openvino_line, "rows": [asdict(r) for r in rows], "errors": errors}
            )
        )
    return 1 if errors and not rows else 0
