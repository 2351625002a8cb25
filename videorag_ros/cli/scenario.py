"""``videorag scenario``: scenario bags with annotated events.

  list                               the catalogue of procedural scenarios
  make --all OUTDIR                  the standard set: person, pallet, smoke and two controls
  make --scenario NAME [--scenario NAME ...] OUTDIR
                                     chosen catalogue scenarios
  make --from-video PATH [--events YAML] OUTDIR
                                     a real video as a bag (annotations from YAML, or none)
  check [--params FILE]              score the catalogue with a trigger set; timelines and margins

Bags are rosbag2 directories (mcap) ``OUTDIR/<name>/`` with their annotation sidecar
``scenario.yaml`` (events with their trigger and times, and negative segments).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from videorag_ros.core.printable import printable
from videorag_ros.scenarios.score import DEFAULT_BUDGET_S


def scenarios_params() -> Path:
    """The shipped ``config/scenarios.yaml`` (source checkout or installed share directory)."""
    here = Path(__file__).resolve().parents[2] / "config" / "scenarios.yaml"
    if here.is_file():
        return here
    from ament_index_python.packages import get_package_share_directory

    return Path(get_package_share_directory("videorag")) / "config" / "scenarios.yaml"


def _add_render_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--seconds", type=float, default=10.0, help="length of each procedural scenario (default 10 s)")
    p.add_argument("--fps", type=float, default=15.0, help="frame rate of procedural scenarios (default 15)")
    p.add_argument("--width", type=int, help="frame width (procedural default 640; video: resize to this width, aspect kept)")
    p.add_argument("--height", type=int, default=480, help="procedural frame height (default 480)")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="videorag scenario", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("list", help="list the catalogue")

    make = sub.add_parser("make", help="write scenario bags (mcap) with their sidecar")
    src = make.add_mutually_exclusive_group(required=True)
    src.add_argument("--all", action="store_true", help="the standard set")
    src.add_argument("--scenario", action="append", metavar="NAME", help="a catalogue scenario (repeat for more)")
    src.add_argument("--from-video", type=Path, metavar="PATH", help="a video file (anything OpenCV reads)")
    make.add_argument("outdir", type=Path, help="directory for the bags (each bag is OUTDIR/<name>/)")
    make.add_argument("--events", type=Path, help="with --from-video: YAML with events [{name, trigger, start, end}] and negatives [{start, end}], seconds")
    make.add_argument("--name", help="with --from-video: bag name (default: the video's file stem)")
    make.add_argument("--encoding", choices=("rgb8", "bgr8", "jpeg"), default="rgb8", help="rgb8/bgr8 (sensor_msgs/Image) or jpeg (CompressedImage)")
    make.add_argument("--topic", help="camera topic (default /camera/front/image_raw; with jpeg, image_transport's /camera/front/image_raw/compressed)")
    make.add_argument("--start-stamp", type=float, metavar="SEC", help="stamp of the first frame, seconds since the epoch (default: the recording ends now)")
    _add_render_args(make)

    check = sub.add_parser("check", help="score the catalogue with a trigger set (no ROS): timelines and margins")
    check.add_argument("--params", type=Path, help="edge parameter file (default: config/scenarios.yaml)")
    check.add_argument("--scenario", nargs="+", metavar="NAME", help="scenarios to check (default: the standard set)")
    check.add_argument("--seeds", type=int, default=1, metavar="K", help="render each scenario with K seeds: its own and the next K-1 (held-out rooms)")
    check.add_argument("--seed-offset", type=int, default=0, metavar="N", help="add N to every seed (check on rooms the thresholds were not tuned on)")
    check.add_argument("--step", type=float, default=0.5, help="timeline row every STEP seconds (0: no timeline)")
    check.add_argument("--tolerance", type=float, default=DEFAULT_BUDGET_S, help="an event's trigger may ENTER up to this long after the event ends (default: %(default)s s)")
    check.add_argument("--json", action="store_true", help="print the margins as JSON (last line)")
    _add_render_args(check)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run a ``scenario`` subcommand; 0 on success, 1 on errors (or a failed check), 2 on usage errors."""
    args = _parser().parse_args(argv)
    from videorag_ros.core.errors import VideoragError

    try:
        if args.cmd == "list":
            return _list()
        if args.cmd == "make":
            return _make(args)
        return _check(args)
    except VideoragError as err:
        print(f"error: {printable(err)}", file=sys.stderr)
        return 1


def _list() -> int:
    from videorag_ros.scenarios.catalogue import CATALOGUE, STANDARD_SET

    width = max(map(len, CATALOGUE))
    for spec in CATALOGUE.values():
        what = f"event '{spec.event}' -> trigger '{spec.trigger}'" if spec.event else "control: no trigger may fire"
        star = "*" if spec.name in STANDARD_SET else " "
        print(f"{star} {spec.name:<{width}}  {what}\n  {'':<{width}}  {spec.description} (sequence {spec.sequence}, seed {spec.seed})")
    print("* = in the standard set (videorag scenario make --all OUTDIR)")
    return 0


def _progress(total: int | None, desc: str) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, unit="frame", file=sys.stderr, disable=None, desc=desc, leave=False)


def _make(args: argparse.Namespace) -> int:
    from videorag_ros.scenarios.catalogue import DEFAULT_TOPIC, STANDARD_SET
    from videorag_ros.scenarios.maker import make_standard_set, make_video_bag

    start_ns = None if args.start_stamp is None else round(args.start_stamp * 1e9)
    topic = args.topic or (DEFAULT_TOPIC + "/compressed" if args.encoding == "jpeg" else DEFAULT_TOPIC)
    if args.from_video is None and (args.events or args.name):
        print("error: --events and --name go with --from-video", file=sys.stderr)
        return 2
    made = []
    if args.from_video is not None:
        with _progress(None, args.from_video.name) as bar:
            made.append(
                make_video_bag(
                    args.from_video,
                    args.outdir,
                    name=args.name,
                    events_file=args.events,
                    encoding=args.encoding,
                    topic=topic,
                    width=args.width,
                    first_stamp_ns=start_ns,
                    on_frame=lambda n: bar.update(1),
                )
            )
    else:
        names = list(STANDARD_SET if args.all else args.scenario)
        n_frames = max(2, round(args.seconds * args.fps))
        with _progress(n_frames * len(names), "render + write") as bar:
            made = make_standard_set(
                args.outdir,
                names=names,
                seconds=args.seconds,
                fps=args.fps,
                width=args.width or 640,
                height=args.height,
                encoding=args.encoding,
                topic=topic,
                start_ns=start_ns,
                on_frame=lambda n: bar.update(1),
            )
    for bag, ann in made:
        events = ", ".join(f"{e.name} -> {e.trigger} {e.segment.start_s:.2f}-{e.segment.end_s:.2f} s" for e in ann.events) or "no events"
        negatives = ", ".join(f"{s.start_s:.2f}-{s.end_s:.2f} s" for s in ann.negatives) or "none"
        print(printable(f"{bag}: {ann.frames} frames at {ann.fps:g} fps on {', '.join(ann.topics)}; events: {events}; negatives: {negatives}"))
    return 0


def _check(args: argparse.Namespace) -> int:
    import dataclasses

    from videorag_ros.core.config import build_edge_config, load_params_file
    from videorag_ros.core.encoder.encoder import load_encoder
    from videorag_ros.core.pipeline import EdgePipeline
    from videorag_ros.scenarios.catalogue import STANDARD_SET, annotate, frame_stamps, get_spec, render
    from videorag_ros.scenarios.check import check_scenario, margins, score_frames

    params = args.params or scenarios_params()
    config = build_edge_config(load_params_file(params))
    encoder = load_encoder(config.model, backend=config.encoder_backend, threads=config.encoder_threads)
    camera = config.cameras[0].id
    names = args.scenario or list(STANDARD_SET)
    width = args.width or 640
    print(f"{params}: triggers {[t.name for t in config.triggers]}; encoder {encoder.describe()}; {width}x{args.height} at {args.fps:g} fps, {args.seconds:g} s")
    checks = []
    for name in names:
        base = get_spec(name)
        for k in range(args.seeds):
            spec = dataclasses.replace(base, seed=base.seed + args.seed_offset + k)
            rendered = list(render(spec, seconds=args.seconds, fps=args.fps, width=width, height=args.height))
            stamps = frame_stamps(len(rendered), args.fps, 0)
            ann = annotate(spec, [c for _, c in rendered], fps=args.fps, first_stamp_ns=0)
            pipeline = EdgePipeline(config, encoder)  # fresh trigger state per scenario
            frames = score_frames(pipeline, ((rgb, s, c) for (rgb, c), s in zip(rendered, stamps, strict=True)), camera_id=camera, first_stamp_ns=0)
            check = check_scenario(ann, frames, tolerance_s=args.tolerance)
            checks.append(check)
            _print_check(check, f"{name} (seed {spec.seed})", args.step)
    thresholds = {t.name: t.enter_threshold for t in config.triggers}
    result = margins(checks, thresholds)
    print("\nmargins (scores are the trigger's own: softmax probability or cosine):")
    print(f"  {'trigger':<18}{'enter':>7}{'max outside events':>20}  {'where':<28}{'below':>7}{'event p10':>11}{'above':>7}{'worst delay':>13}")
    for m in result:
        p10 = "-" if m.event_p10 is None else f"{m.event_p10:.3f}"
        above = "-" if m.above is None else f"{m.above:+.3f}"
        delay = "-" if m.first_enter_delay_s is None else f"{m.first_enter_delay_s:.2f} s"
        print(f"  {m.trigger:<18}{m.enter_threshold:>7.2f}{m.quiet_max[0]:>20.3f}  {m.quiet_max[1]:<28}{m.below:>+7.3f}{p10:>11}{above:>7}{delay:>13}")
    failed = [c.annotation.scenario for c in checks if not c.passed]
    print("verdict: " + ("ok: every event fired its trigger in its window and nothing fired outside one" if not failed else f"FAILED: {failed}"))
    if args.json:
        print(json.dumps({m.trigger: {"enter_threshold": m.enter_threshold, "quiet_max": m.quiet_max[0], "quiet_where": m.quiet_max[1], "below": m.below, "event_p10": m.event_p10, "above": m.above, "worst_delay_s": m.first_enter_delay_s} for m in result}))
    return 1 if failed else 0


def _print_check(check: Any, title: str, step: float) -> None:
    ann = check.annotation
    triggers = list(check.frames[0].scores) if check.frames else []
    print(printable(f"\n== {title}: " + ("; ".join(f"event {e.name} -> {e.trigger} {e.segment.start_s:.2f}-{e.segment.end_s:.2f} s" for e in ann.events) or "control"), multiline=True))
    if step > 0:
        print(f"  {'t (s)':>6}  {'ground truth':<16}{'':<4}" + "".join(f"{t:>17}" for t in triggers))
        next_t = 0.0
        for f in check.frames:
            marks = " ".join(f"{tr} {st}" for tr, st in f.transitions)
            if f.t_s + 1e-9 >= next_t or marks:
                zone = "neg" if any(s.contains(f.t_s) for s in ann.negatives) else ("EV" if any(e.segment.contains(f.t_s) for e in ann.events) else "")
                print(f"  {f.t_s:6.2f}  {f.label:<16}{zone:<4}" + "".join(f"{f.scores[t]:>17.3f}" for t in triggers) + (f"   <- {marks}" if marks else ""))
                if f.t_s + 1e-9 >= next_t:
                    next_t += step
    for e in check.events:
        fired = f"ENTER at {e.first_enter_s:.2f} s (+{e.first_enter_s - e.start_s:.2f} s)" if e.first_enter_s is not None else "NEVER FIRED"
        print(printable(f"  event {e.name}: {e.trigger} {fired}; peak {e.peak:.3f}, settled p10 {e.settled_p10:.3f}"))
    for trigger, t in check.stray_enters:
        print(printable(f"  STRAY ENTER of {trigger} at {t:.2f} s (outside its events)"))
    print(printable("  max outside events: " + ", ".join(f"{tr} {v:.3f} @ {t:.2f} s" for tr, (v, t) in check.quiet_max.items())))
