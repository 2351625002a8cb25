"""``videorag bench gate``: the frame gate on real clips, against hand-annotated onsets.

For every clip of the footage file (default: the source checkout's test/data/gate_footage.yaml,
whose comments say how the onsets and static stretches were annotated), the clip is decoded at
its native rate (stamps from the file) and fed to the gate with the parameter file's ``gate.*``
values (default: the shipped config/edge.yaml). Per clip: the share of frames admitted, the
share admitted on each static stretch, the delay from each onset frame to the first admitted
frame at or after it, why frames were admitted, and the gate's own cost per frame (p50/p95/p99).
Targets (issue 14): at most 35 % admitted on clips with ongoing motion, at most 15 % on static
stretches, every onset admitted within 0.3 s.

In the same run, a peer: a plain gate (absolute grey-level difference over 20 on at least 2 % of
a 64-pixel-wide thumbnail against the last admitted frame, admissions at least 0.25 s apart, a
keyframe every 2 s). With ``--forward-ms`` the encoder budget (``core/admission.py``) is applied
as if every admitted frame cost that long in the encoder (one camera).

Clips that are not on this machine are listed as missing (opencv-doc: ``apt-get install
opencv-doc``; real clips: ``--real-dir``). Results are reported, never asserted;
``--json`` prints one JSON object last.
"""

from __future__ import annotations

import argparse
import gzip
import json
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

REPO = Path(__file__).resolve().parents[2]
DEFAULT_FOOTAGE = REPO / "test" / "data" / "gate_footage.yaml"
DEFAULT_REAL_DIR = REPO.parent / "shared" / "real" / "clips"
OPENCV_DOC = Path("/usr/share/doc/opencv-doc")
#: Where Debian's opencv-doc keeps each clip it ships.
OPENCV_DOC_CLIPS = {
    "vtest.avi": OPENCV_DOC / "examples/data/vtest.avi",
    "tree.avi": OPENCV_DOC / "examples/data/tree.avi",
    "Megamind.avi": OPENCV_DOC / "examples/data/Megamind.avi",
    "box.mp4": OPENCV_DOC / "opencv4/html/box.mp4.gz",
    "cup.mp4": OPENCV_DOC / "opencv4/html/cup.mp4.gz",
}
ONGOING_SHARE_MAX = 0.35
STATIC_SHARE_MAX = 0.15
ONSET_DELAY_MAX_S = 0.3
MOTIONS = ("ongoing", "events")
SOURCES = ("opencv-doc", "real")


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


@dataclass(frozen=True, slots=True)
class FootageClip:
    """One annotated clip.

    Attributes:
        name: File name.
        source: ``opencv-doc`` or ``real`` (see ``locate``).
        frames: Frames that decode.
        motion: ``ongoing`` (something moves all the time) or ``events`` (a still scene with events).
        onsets: ``(frame, what)``: the first frame on which new motion is visible.
        static: ``(first, last)`` frame ranges (inclusive) where nothing moves.
    """

    name: str
    source: str
    frames: int
    motion: str
    onsets: tuple[tuple[int, str], ...] = ()
    static: tuple[tuple[int, int], ...] = ()


def load_footage(path: str | Path) -> list[FootageClip]:
    """Read and check a footage annotation file.

    Raises:
        ConfigError: Missing file, not YAML, or an entry that is malformed (named in the message).
    """
    import yaml

    from videorag_ros.core.errors import ConfigError

    p = Path(path)
    try:
        doc = yaml.safe_load(p.read_text())
    except (OSError, yaml.YAMLError) as err:
        msg = f"footage file '{p}' cannot be read as YAML: {err}"
        raise ConfigError(msg) from err
    entries = doc.get("clips") if isinstance(doc, dict) else None
    if not isinstance(entries, list) or not entries:
        msg = f"footage file '{p}' needs a non-empty 'clips:' list"
        raise ConfigError(msg)
    clips = []
    for i, e in enumerate(entries):
        where = f"footage file '{p}', clip {i + 1}"
        try:
            clip = FootageClip(
                name=str(e["name"]),
                source=str(e["source"]),
                frames=int(e["frames"]),
                motion=str(e["motion"]),
                onsets=tuple((int(f), str(w)) for f, w in e.get("onsets") or []),
                static=tuple((int(a), int(b)) for a, b in e.get("static") or []),
            )
        except (KeyError, TypeError, ValueError) as err:
            msg = f"{where}: expected name, source, frames, motion, onsets [[frame, what]], static [[first, last]]; {type(err).__name__}: {err}"
            raise ConfigError(msg) from err
        frames_ok = all(0 <= f < clip.frames for f, _ in clip.onsets) and all(0 <= a <= b < clip.frames for a, b in clip.static)
        if clip.source not in SOURCES or clip.motion not in MOTIONS or clip.frames < 1 or not frames_ok or "/" in clip.name:
            msg = f"{where} ({clip.name!r}): source must be one of {SOURCES}, motion one of {MOTIONS}, frames >= 1 and every frame index inside the clip"
            raise ConfigError(msg)
        clips.append(clip)
    return clips


def locate(clip: FootageClip, *, workdir: Path, real_dir: Path) -> Path | None:
    """Path of a playable copy of the clip (gzipped clips are unpacked into ``workdir``); None if absent."""
    src = OPENCV_DOC_CLIPS.get(clip.name) if clip.source == "opencv-doc" else real_dir / clip.name
    if src is None or not src.is_file():
        return None
    if src.suffix != ".gz":
        return src
    out = workdir / clip.name
    if not out.is_file():
        with gzip.open(src) as f, out.open("wb") as o:
            shutil.copyfileobj(f, o)
    return out


class Gate(Protocol):
    """What the bench drives: the shipped ``FrameGate`` or the peer."""

    def decide(self, rgb: Any, stamp_ns: int, *, min_interval_s: float = 0.0, budget_ok: bool = True) -> Any: ...


@dataclass(slots=True)
class GateRun:
    """Per-frame results of one gate over one clip."""

    stamps_ns: list[int] = field(default_factory=list)
    admitted: list[bool] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    gate_ms: list[float] = field(default_factory=list)


def run_gate(path: Path, gates: dict[str, Gate], *, forward_ms: float = 0.0, share: float = 0.5) -> dict[str, GateRun]:
    """Decode a clip once and feed every frame to each gate, in order, at the file's stamps.

    Args:
        path: The clip.
        gates: Named gates (fresh state).
        forward_ms: > 0: apply the encoder budget as if each admitted frame cost this long.
        share: The budget's ``gate.encoder_share``.

    Raises:
        VideoragError: The file cannot be decoded (the probe refuses it in a child process).
    """
    from videorag_ros.core.admission import AdmissionBudget
    from videorag_ros.recordings.offline import read_video

    frames, _, _ = read_video(path)
    runs = {name: GateRun() for name in gates}
    budgets = {name: AdmissionBudget(["cam"], share=share, cost_s=forward_ms * 1e-3) for name in gates} if forward_ms > 0 else {}
    for rgb, stamp_ns in frames:
        for name, gate in gates.items():
            budget = budgets.get(name)
            t0 = time.perf_counter()
            if budget is None:
                d = gate.decide(rgb, stamp_ns)
            else:
                d = gate.decide(rgb, stamp_ns, min_interval_s=budget.camera_interval_s("cam", stamp_ns), budget_ok=budget.allows(stamp_ns))
                if d.admitted:
                    budget.spend("cam", stamp_ns)
            run = runs[name]
            run.gate_ms.append((time.perf_counter() - t0) * 1e3)
            run.stamps_ns.append(stamp_ns)
            run.admitted.append(bool(d.admitted))
            run.reasons.append(str(d.reason))
    return runs


@dataclass(slots=True)
class ClipScore:
    """A gate's run on one clip against the clip's annotations and the targets."""

    clip: str
    frames: int
    admitted_share: float
    static_shares: list[tuple[int, int, float]]
    onset_delays_s: list[tuple[int, float | None]]
    admitted_by_reason: dict[str, int]
    gate_ms: dict[str, float]
    reasons: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """All targets met."""
        return not self.reasons


def score(clip: FootageClip, run: GateRun) -> ClipScore:
    """Admitted shares and onset delays of a run, and the targets it misses (in ``reasons``)."""
    import numpy as np

    n = len(run.admitted)
    adm = np.asarray(run.admitted, dtype=bool)
    stamps = np.asarray(run.stamps_ns, dtype=np.int64)
    share = float(adm.mean()) if n else 0.0
    static = [(a, b, float(adm[a : b + 1].mean())) for a, b in clip.static if b < n]
    delays: list[tuple[int, float | None]] = []
    for f, _ in clip.onsets:
        later = np.flatnonzero(adm[f:]) if f < n else np.array([], dtype=np.int64)
        delays.append((f, float((stamps[f + later[0]] - stamps[f]) * 1e-9) if len(later) else None))
    ms = np.asarray(run.gate_ms) if run.gate_ms else np.zeros(1)
    out = ClipScore(
        clip=clip.name,
        frames=n,
        admitted_share=share,
        static_shares=static,
        onset_delays_s=delays,
        admitted_by_reason=dict(Counter(r for r, a in zip(run.reasons, run.admitted, strict=True) if a)),
        gate_ms={k: float(v) for k, v in zip(("p50", "p95", "p99"), np.percentile(ms, (50, 95, 99)), strict=True)},
    )
    if n != clip.frames:
        out.reasons.append(f"{n} frames decoded, the annotation says {clip.frames}")
    if clip.motion == "ongoing" and share > ONGOING_SHARE_MAX:
        out.reasons.append(f"{share:.0%} of frames admitted (ongoing motion: at most {ONGOING_SHARE_MAX:.0%})")
    for a, b, s in static:
        if s > STATIC_SHARE_MAX:
            out.reasons.append(f"{s:.0%} of static frames {a}-{b} admitted (at most {STATIC_SHARE_MAX:.0%})")
    for f, d in delays:
        if d is None or d > ONSET_DELAY_MAX_S + 1e-9:
            out.reasons.append(f"onset at frame {f}: " + ("never admitted" if d is None else f"first admitted {d:.2f} s later (at most {ONSET_DELAY_MAX_S} s)"))
    return out


class PlainGate:
    """The peer: absolute grey-level difference against the last admitted frame, a minimum interval, keyframes."""

    def __init__(self, *, width: int = 64, delta: int = 20, fraction: float = 0.02, min_interval_s: float = 0.25, keyframe_s: float = 2.0) -> None:
        """A plain gate with the issue's settings by default."""
        self._w, self._delta, self._fraction = width, delta, fraction
        self._min_ns, self._key_ns = round(min_interval_s * 1e9), round(keyframe_s * 1e9)
        self._ref: Any = None
        self._last_ns = 0

    def decide(self, rgb: Any, stamp_ns: int, *, min_interval_s: float = 0.0, budget_ok: bool = True) -> Any:
        """Admit on change over ``fraction`` of pixels, no sooner than the interval; keyframes when idle."""
        import cv2
        import numpy as np

        from videorag_ros.core.gate import GateDecision

        h, w = rgb.shape[:2]
        grey = cv2.resize(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), (self._w, max(1, round(h * self._w / w))), interpolation=cv2.INTER_AREA)
        if self._ref is None or self._ref.shape != grey.shape:
            self._ref, self._last_ns = grey, stamp_ns
            return GateDecision(True, "first", 1.0, 0.0)
        motion = float(np.count_nonzero(cv2.absdiff(grey, self._ref) > self._delta)) / grey.size
        elapsed = stamp_ns - self._last_ns
        floor = max(self._min_ns, round(min_interval_s * 1e9))
        if elapsed < floor or not budget_ok:
            return GateDecision(False, "rate", motion, 0.0)
        reason = "motion" if motion >= self._fraction else "keyframe" if elapsed >= self._key_ns else ""
        if not reason:
            return GateDecision(False, "static", motion, 0.0)
        self._ref, self._last_ns = grey, stamp_ns
        return GateDecision(True, reason, motion, 0.0)


def _gate_config(params: Path | None) -> Any:
    from videorag_ros.core.config import build_edge_config, load_params_file

    values = load_params_file(params) if params is not None else {}
    return build_edge_config(values, strict=params is not None).gate


def run_bench(args: argparse.Namespace, progress: Callable[[str], None] = _say) -> dict[str, Any]:
    """Run the shipped gate and the peer over every clip; the result object printed as JSON."""
    from videorag_ros.core.gate import FrameGate

    params = args.params if args.params is not None else (REPO / "config" / "edge.yaml" if (REPO / "config" / "edge.yaml").is_file() else None)
    cfg = _gate_config(params)
    clips = load_footage(args.footage)
    if args.clip:
        unknown = sorted(set(args.clip) - {c.name for c in clips})
        if unknown:
            from videorag_ros.core.errors import ConfigError

            msg = f"--clip {unknown[0]} is not in {args.footage} (clips: {', '.join(c.name for c in clips)})"
            raise ConfigError(msg)
        clips = [c for c in clips if c.name in args.clip]
    results: list[dict[str, Any]] = []
    missing: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="videorag-bench-gate-") as tmp:
        for i, clip in enumerate(clips, 1):
            path = locate(clip, workdir=Path(tmp), real_dir=args.real_dir)
            if path is None:
                where = "apt-get install opencv-doc" if clip.source == "opencv-doc" else f"not in --real-dir {args.real_dir}"
                missing[clip.name] = where
                progress(f"[{i}/{len(clips)}] {clip.name}: missing ({where})")
                continue
            progress(f"[{i}/{len(clips)}] {clip.name}: {clip.frames} frames ...")
            runs = run_gate(path, {"shipped": FrameGate(cfg), "plain": PlainGate()}, forward_ms=args.forward_ms, share=cfg.encoder_share)
            scores = {name: score(clip, run) for name, run in runs.items()}
            results.append({"clip": clip.name, "motion": clip.motion, **{name: asdict(sc) | {"passed": sc.passed} for name, sc in scores.items()}})
    return {
        "bench": "gate",
        "footage": str(args.footage),
        "params": str(params) if params else "defaults",
        "gate": asdict(cfg),
        "forward_ms": args.forward_ms,
        "targets": {"ongoing_share_max": ONGOING_SHARE_MAX, "static_share_max": STATIC_SHARE_MAX, "onset_delay_max_s": ONSET_DELAY_MAX_S},
        "clips": results,
        "missing": missing,
    }


def _delays(s: dict[str, Any]) -> str:
    d = [x for _, x in s["onset_delays_s"]]
    if not d:
        return "-"
    worst = "never" if any(x is None for x in d) else f"{max(d):.2f}"
    return f"{len(d)}: max {worst}"


def format_table(r: dict[str, Any]) -> str:
    """The fixed-width table ``videorag bench gate`` prints: shipped gate and peer side by side."""
    head = ["clip", "kind", "frames", "admitted", "static", "onsets: max delay s", "gate ms p50/95/99", "peer admitted", "peer static", "peer onsets", "peer ms p50/95/99", "verdict"]
    rows = []
    for c in r["clips"]:
        s, p = c["shipped"], c["plain"]
        row = [c["clip"], c["motion"], str(s["frames"]), f"{s['admitted_share']:.0%}"]
        row.append(", ".join(f"{x[2]:.0%}" for x in s["static_shares"]) or "-")
        row += [_delays(s), "/".join(f"{s['gate_ms'][k]:.2f}" for k in ("p50", "p95", "p99"))]
        row += [f"{p['admitted_share']:.0%}", ", ".join(f"{x[2]:.0%}" for x in p["static_shares"]) or "-", _delays(p)]
        row += ["/".join(f"{p['gate_ms'][k]:.2f}" for k in ("p50", "p95", "p99")), "ok" if s["passed"] else "MISS"]
        rows.append(row)
    widths = [max(len(x) for x in col) for col in zip(head, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(x.ljust(w) for x, w in zip(cells, widths, strict=True)).rstrip()

    return "\n".join([line(head), line(["-" * w for w in widths]), *(line(row) for row in rows)])


def _print(r: dict[str, Any]) -> None:
    g = r["gate"]
    budget = f"; encoder budget: {r['forward_ms']:g} ms per admitted frame, share {g['encoder_share']:g}" if r["forward_ms"] > 0 else "; no encoder budget (gate alone)"
    print(f"videorag bench gate: {len(r['clips'])} clip(s) from {r['footage']}; gate.* from {r['params']}{budget}")
    print(format_table(r))
    t = r["targets"]
    print(
        f"targets: ongoing motion <= {t['ongoing_share_max']:.0%} admitted, static stretches <= {t['static_share_max']:.0%}, "
        f"every onset admitted within {t['onset_delay_max_s']} s; peer: plain absolute difference (> 20 grey levels on >= 2 % "
        "of a 64 px thumbnail), >= 0.25 s apart, keyframe every 2 s"
    )
    for c in r["clips"]:
        s = c["shipped"]
        reasons = ", ".join(f"{k} {v}" for k, v in sorted(s["admitted_by_reason"].items()))
        print(f"  {c['clip']}: admitted for {reasons}" + ("" if s["passed"] else f"; MISSED: {'; '.join(s['reasons'])}"))
    for name, why in r["missing"].items():
        print(f"  {name}: missing ({why})")


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments, run, print the table and (with --json) one JSON line; 1 on errors."""
    parser = argparse.ArgumentParser(prog="videorag bench gate", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--footage", type=Path, default=DEFAULT_FOOTAGE, help="clip annotations (default: %(default)s)")
    parser.add_argument("--real-dir", type=Path, default=DEFAULT_REAL_DIR, help="where the 'real' clips are (default: %(default)s)")
    parser.add_argument("--params", type=Path, help="parameter file whose gate.* to use (default: the shipped config/edge.yaml)")
    parser.add_argument("--clip", action="append", metavar="NAME", help="only this clip (repeatable)")
    parser.add_argument("--forward-ms", type=float, default=0.0, help="apply the encoder budget for this encoder cost per frame (default: off)")
    parser.add_argument("--json", action="store_true", help="print the result as one JSON object on the last line")
    args = parser.parse_args(argv)
    if not 0.0 <= args.forward_ms < 1e5:
        print(f"error: --forward-ms must be >= 0 (and finite); got {args.forward_ms}", file=sys.stderr)
        return 2

    from videorag_ros.core.errors import VideoragError

    try:
        result = run_bench(args)
    except VideoragError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    _print(result)
    if args.json:
        print(json.dumps(result))
    return 0
