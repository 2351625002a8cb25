"""Timeline of an offline run: trigger scores, thresholds, events, and what the gate admitted.

Reads the report of ``recordings.offline.run_frames`` (or its JSON file), so a saved report can be
plotted again without re-running the model. Matplotlib's object API with the Agg canvas:
no pyplot, no global backend switch, no display needed.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

MAX_EVENT_LABELS = 24  # per panel; beyond this the ENTER/EXIT markers stay, their text labels go
_CAMERA_COLOURS = ("tab:blue", "tab:purple", "tab:brown", "tab:olive", "tab:cyan", "tab:pink", "tab:gray", "tab:green")
_REASON_COLOURS = {
    # admitted
    "first": "#6639ba",
    "onset": "#1a7f37",
    "motion": "#2da44e",
    "lighting": "#d4a72c",
    "trigger": "#bf3989",
    "keyframe": "#7ee2a8",
    # rejected by the gate
    "rate": "#9a9a9a",
    "budget": "#57606a",
    "static": "#6cb6ff",
    "blur": "#bf8700",
    # never reached the gate
    "input": "#cf222e",
}
_ENTER_COLOUR, _EXIT_COLOUR = "#cf222e", "#0969da"


def _t0(report: Mapping[str, Any]) -> float:
    stamps = [f["stamp"] for f in report["frames"]] + [e["stamp"] for e in report.get("input_errors", [])]
    return min(stamps) if stamps else 0.0


def _origin_label(t0: float) -> str:
    if t0 > 1e8:  # a wall-clock stamp (bags), not a file time (videos)
        when = dt.datetime.fromtimestamp(t0, dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
        return f"seconds from the first frame ({when} UTC)"
    return f"seconds from the first frame (file time {t0:.2f} s)"


def _spans(events: Sequence[Mapping[str, Any]], end: float) -> list[tuple[float, float]]:
    """ENTER→EXIT intervals of one trigger on one camera; an open one runs to ``end``."""
    spans, start = [], None
    for ev in events:
        if ev["state"] == "ENTER" and start is None:
            start = ev["stamp"]
        elif ev["state"] == "EXIT" and start is not None:
            spans.append((start, ev["stamp"]))
            start = None
    if start is not None:
        spans.append((start, end))
    return spans


def _trigger_panel(ax: Axes, name: str, settings: Mapping[str, Any], report: Mapping[str, Any], *, cameras: list[str], colours: dict[str, str], t0: float) -> None:
    watched = settings.get("cameras") or cameras
    end = max((f["stamp"] for f in report["frames"]), default=t0)
    events_by_cam: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for ev in report["triggers"]:
        if ev["name"] == name:
            events_by_cam[ev.get("camera", cameras[0])].append(ev)
    n_events = sum(len(v) for v in events_by_cam.values())
    handles: list[Any] = []
    for cam in watched:
        pts = [(f["stamp"] - t0, f["scores"][name]) for f in report["frames"] if f.get("camera", cameras[0]) == cam and name in f.get("scores", {})]
        colour = colours.get(cam, "tab:blue")
        label = f"score, camera {cam}" if len(watched) > 1 else "score (admitted frames)"
        if pts:
            xs, ys = zip(*pts, strict=True)
            (line,) = ax.plot(xs, ys, "-", color=colour, lw=1.0, marker=".", ms=2.5, label=label)
            handles.append(line)
        for a, b in _spans(events_by_cam.get(cam, []), end):
            ax.axvspan(a - t0, b - t0, color=colour, alpha=0.13, lw=0)
        for ev in events_by_cam.get(cam, []):
            enter = ev["state"] == "ENTER"
            c = _ENTER_COLOUR if enter else _EXIT_COLOUR
            ax.plot(ev["stamp"] - t0, ev["score"], "^" if enter else "v", color=c, ms=8, mec="black", mew=0.6, zorder=5)
            if n_events <= MAX_EVENT_LABELS:
                ax.annotate(ev["state"], (ev["stamp"] - t0, ev["score"]), xytext=(0, 9 if enter else -14), textcoords="offset points",
                            ha="center", fontsize=7, color=c, fontweight="bold")  # fmt: skip
    enter_t, exit_t = settings["enter_threshold"], settings["exit_threshold"]
    handles.append(ax.axhline(enter_t, color=_ENTER_COLOUR, ls="--", lw=1.0, label=f"enter threshold {enter_t:g}"))
    handles.append(ax.axhline(exit_t, color=_EXIT_COLOUR, ls=":", lw=1.2, label=f"exit threshold {exit_t:g}"))
    handles.append(Patch(color="grey", alpha=0.25, label="trigger active"))
    handles.append(Line2D([], [], ls="", marker="^", color=_ENTER_COLOUR, mec="black", label="ENTER"))
    handles.append(Line2D([], [], ls="", marker="v", color=_EXIT_COLOUR, mec="black", label="EXIT"))
    if settings.get("scoring") == "softmax":
        ax.set_ylim(-0.04, 1.12)  # headroom for the ENTER labels
    else:
        ax.margins(y=0.15)
    enters = sum(ev["state"] == "ENTER" for evs in events_by_cam.values() for ev in evs)
    note = "" if n_events <= MAX_EVENT_LABELS else f"; {n_events} events, labels hidden"
    ax.set_title(f"trigger '{name}' ({settings.get('scoring', '?')} scoring): {enters} ENTER{note}", loc="left", fontsize=10)
    ax.set_ylabel("score")
    ax.grid(True, alpha=0.3)
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.005, 1.0), fontsize=8, frameon=False)


def _gate_strip(ax: Axes, report: Mapping[str, Any], cameras: list[str], t0: float) -> None:
    rows = {cam: i for i, cam in enumerate(reversed(cameras))}
    by_reason: dict[str, tuple[list[float], list[float]]] = defaultdict(lambda: ([], []))
    counts: Counter[str] = Counter()
    for f in report["frames"]:
        y = rows.get(f.get("camera", cameras[0]), 0)
        key = f["reason"]
        xs, ys = by_reason[key]
        xs.append(f["stamp"] - t0)
        ys.append(y + (0.18 if f["admitted"] else -0.18))
        counts[key] += 1
    for e in report.get("input_errors", []):
        xs, ys = by_reason["input"]
        xs.append(e["stamp"] - t0)
        ys.append(rows.get(e["camera"], 0) - 0.18)
        counts["input"] += 1
    admitted = {f["reason"] for f in report["frames"] if f["admitted"]}
    handles = []
    for key in sorted(by_reason, key=lambda k: (k not in admitted, list(_REASON_COLOURS).index(k) if k in _REASON_COLOURS else 99, k)):
        xs, ys = by_reason[key]
        kind = "admitted" if key in admitted else ("bad input" if key == "input" else "rejected")
        label = f"{kind}: {'unconvertible message' if key == 'input' else key} ({counts[key]})"
        handles.append(ax.scatter(xs, ys, marker="|", s=90, linewidths=1.0, color=_REASON_COLOURS.get(key, "black"), label=label))
    ax.set_yticks(list(rows.values()), [f"{cam}\nadmitted ↑ / rejected ↓" for cam in rows], fontsize=8)
    ax.set_ylim(-0.6, len(rows) - 0.4)
    ax.set_title("frame gate: each tick is one frame", loc="left", fontsize=10)
    ax.grid(True, axis="x", alpha=0.3)
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.005, 1.0), fontsize=8, frameon=False)


def plot_timeline(report: Mapping[str, Any], path: str | Path, *, title: str = "", dpi: int = 110) -> Path:
    """Draw one panel per trigger (score over time, thresholds, active spans, ENTER/EXIT) over a gate strip.

    Args:
        report: A run report (``recordings.offline.run_frames``; ``source`` and ``encoder`` name it).
        path: Output image; the format follows the suffix (``.png``, ``.svg``, ``.pdf``).
        title: Figure title; default names the report's source and encoder.
        dpi: Raster resolution.

    Returns:
        ``path`` as a ``Path``.

    Raises:
        ValueError: The report lacks ``frames`` / ``triggers`` / ``trigger_settings``.
        OSError: The file cannot be written.
    """
    missing = [k for k in ("frames", "triggers", "trigger_settings") if k not in report]
    if missing:
        msg = f"report lacks {missing}: plot the report of 'videorag run' (recordings.offline.run_frames)"
        raise ValueError(msg)
    cameras = list(report.get("cameras") or dict.fromkeys(f.get("camera", "camera") for f in report["frames"])) or ["camera"]
    colours = {cam: _CAMERA_COLOURS[i % len(_CAMERA_COLOURS)] for i, cam in enumerate(cameras)}
    settings: Mapping[str, Mapping[str, Any]] = report["trigger_settings"]
    t0 = _t0(report)
    strip_h = 0.9 + 0.55 * len(cameras)
    heights = [2.6] * len(settings) + [strip_h]
    fig = Figure(figsize=(13, sum(heights) + 1.0), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(len(heights), 1, sharex=True, height_ratios=heights, squeeze=False)[:, 0]
    for ax, (name, s) in zip(axes, settings.items(), strict=False):
        _trigger_panel(ax, name, s, report, cameras=cameras, colours=colours, t0=t0)
    _gate_strip(axes[-1], report, cameras, t0)
    axes[-1].set_xlabel(_origin_label(t0))
    if not settings:
        axes[-1].set_title("frame gate: each tick is one frame (no triggers configured)", loc="left", fontsize=10)
    n = len(report["frames"])
    admitted = sum(f["admitted"] for f in report["frames"])
    head = title or f"{report.get('source', 'recording')}: {report.get('encoder', '')}"
    fig.suptitle(f"{head}\n{n} frames, {admitted} admitted by the gate, {len(report['triggers'])} trigger events", fontsize=11)
    out = Path(path)
    fig.savefig(out, dpi=dpi)
    return out
