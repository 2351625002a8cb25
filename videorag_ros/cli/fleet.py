"""``videorag fleet ingest | query | stats``: the fleet memory in Qdrant (see docs/fleet.md).

ingest  backfill from a recording: the edge pipeline runs over a bag or a video file (as
        ``videorag run`` does) and the frames the fleet keeps (keyframes, trigger moments' best
        frames) are written to the store as robot ``--robot``.
query   the k best moments across robots and cameras for a text, with filters.
stats   what the store holds: points per robot, camera and model, stamp range, engine facts.

The store is the one the parameter file's ``fleet.*`` names (the shipped config/edge.yaml by
default): the embedded store under ``fleet.path`` or a server at ``fleet.url``; ``--url``,
``--path``, ``--engine``, ``--collection`` and ``--api-key-file`` override it. An embedded store
is opened by one process at a time: stop an edge node exporting into it first.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from videorag_ros.cli.time_range import add_time_range_args, time_range
from videorag_ros.core.printable import printable

if TYPE_CHECKING:
    from videorag_ros.core.config import EdgeConfig
    from videorag_ros.fleet.query import FleetMoment
    from videorag_ros.fleet.store import FleetStore

BAG_SUFFIXES = (".bag", ".mcap", ".db3")


def _store_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("store (default: the parameter file's fleet.*)")
    g.add_argument("--params", type=Path, help="edge parameter file (default: the shipped config/edge.yaml)")
    g.add_argument("--url", help="Qdrant server, http(s)://host:port ('' = embedded)")
    g.add_argument("--api-key-file", help="file holding the server's API key")
    g.add_argument("--path", help="embedded store directory (absolute)")
    g.add_argument("--engine", choices=("edge", "local"), help="embedded engine")
    g.add_argument("--collection", help="collection name")
    g.add_argument("--model", help="encoder (default: the parameter file's model)")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="videorag fleet", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    ing = sub.add_parser("ingest", help="backfill the store from a bag or a video file")
    ing.add_argument("source", type=Path, help="rosbag2 directory, ROS 1 .bag, or a video file")
    ing.add_argument("--robot", required=True, help="robot id the points are stored under")
    ing.add_argument("--camera", help="video: camera id of the frames (default: the first configured camera)")
    ing.add_argument("--topic", action="append", default=[], metavar="CAM=/TOPIC", help="bag: read camera CAM from this topic (repeatable)")
    ing.add_argument("--start", help="video: wall-clock time of its first frame (ISO 8601, 14:02:11, or -2h); default: file modification time minus its length")
    ing.add_argument("--json", action="store_true", help="print the summary as one JSON object (last line)")
    _store_options(ing)
    q = sub.add_parser("query", help="the best moments across robots and cameras for a text")
    q.add_argument("text", help='what to look for, e.g. "a spill on the floor"')
    q.add_argument("--robot", action="append", default=[], help="only this robot (repeatable)")
    q.add_argument("--camera", action="append", default=[], help="only this camera id (repeatable)")
    add_time_range_args(q)
    q.add_argument("--k", type=int, default=5, help="moments wanted (default 5)")
    q.add_argument("--context", type=float, default=5.0, help="seconds within which hits on one camera merge (default 5)")
    q.add_argument("--json", action="store_true", help="print the result as one JSON object (last line)")
    q.add_argument("--sheet", type=Path, help="write a contact sheet PNG of the moments")
    _store_options(q)
    st = sub.add_parser("stats", help="what the store holds")
    st.add_argument("--json", action="store_true", help="print the stats as one JSON object (last line)")
    _store_options(st)
    return parser


def _config(args: argparse.Namespace, *, robot: str | None = None) -> EdgeConfig:
    """The edge configuration of the parameter file, with the command line's store options applied."""
    from videorag_ros.cli.edge import default_params
    from videorag_ros.core.config import build_edge_config, load_params_file

    values = load_params_file(args.params or default_params())
    overrides = {"url": args.url, "api_key_file": args.api_key_file, "path": args.path, "embedded_engine": args.engine, "collection": args.collection, "robot_id": robot}
    values.update({f"fleet.{k}": v for k, v in overrides.items() if v is not None})
    if args.model:
        values["model"] = args.model
    return build_edge_config(values)


def _open(cfg: EdgeConfig, *, create: bool) -> tuple[Any, FleetStore]:
    from videorag_ros.core.encoder.encoder import load_encoder
    from videorag_ros.fleet.store import open_store

    encoder = load_encoder(cfg.model, backend="cpu")
    return encoder, open_store(cfg.fleet, dim=encoder.dim, create=create)


# --- ingest --------------------------------------------------------------------------------
def _frames(args: argparse.Namespace, cfg: EdgeConfig, topic_map: dict[str, str], notes: list[str]) -> Iterator[tuple[str, Any, int]]:
    """``(camera, rgb, stamp_ns)`` of the recording, stamps on the wall clock."""
    src: Path = args.source
    if src.is_dir() or src.suffix in BAG_SUFFIXES:
        from videorag_ros.recordings.bag_reader import BagFrames

        cameras = {c.id: c.topic for c in cfg.cameras}
        with BagFrames(src, cameras, topic_map=topic_map, limits=cfg.limits) as bag:
            for cam, topic in bag.missing.items():
                notes.append(f"camera '{cam}': topic {topic} is not in the bag (map it with --topic {cam}=/topic)")
            yield from bag.frames()
            for (cam, reason), n in sorted(bag.rejected.items()):
                notes.append(f"camera '{cam}': {n} message(s) rejected ({reason})")
        return
    from videorag_ros.core.timefmt import parse_time
    from videorag_ros.recordings.offline import read_video

    frames, count, fps = read_video(src, limits=cfg.limits)
    camera = args.camera or cfg.cameras[0].id
    if args.start:
        start_ns = parse_time(args.start, now_ns=time.time_ns())
    else:
        start_ns = int(src.stat().st_mtime * 1e9) - int(count / fps * 1e9)
        notes.append(f"video stamps start at {_when(start_ns)} (file modification time minus its length; --start sets it)")
    for rgb, stamp_ns in frames:
        yield camera, rgb, start_ns + stamp_ns


def _when(ns: int) -> str:
    from videorag_ros.core.timefmt import format_stamp

    return format_stamp(ns, with_date=True)


def ingest(args: argparse.Namespace) -> dict[str, Any]:
    """Run the pipeline over the recording and write the selected frames; returns the summary."""
    from tqdm import tqdm

    from videorag_ros.core.errors import ConfigError
    from videorag_ros.core.pipeline import EdgePipeline
    from videorag_ros.fleet.selector import MomentSelector
    from videorag_ros.recordings.bag_reader import parse_topic_map

    try:
        topic_map = parse_topic_map(args.topic)
    except ValueError as err:
        raise ConfigError(str(err)) from err
    if not args.source.exists():
        msg = f"recording '{args.source}' does not exist"
        raise ConfigError(msg)
    cfg = _config(args, robot=args.robot)
    if topic_map:
        cams = [c.id for c in cfg.cameras]
        missing = [c for c in topic_map if c not in cams]
        if missing:
            msg = f"--topic names camera(s) {missing} that are not in the parameter file's cameras {cams}"
            raise ConfigError(msg)
    fc = cfg.fleet
    encoder, store = _open(cfg, create=True)
    pipeline = EdgePipeline(replace(cfg, index_ttl_s=0.0), encoder)  # the memory here only feeds thumbnails: never forget mid-recording
    selector = MomentSelector(robot_id=fc.robot_id, model=encoder.name, keyframe_interval_s=fc.keyframe_interval_s, moment_max_s=fc.moment_max_s)
    notes: list[str] = []
    batch: list[Any] = []
    kinds = {"keyframe": 0, "moment": 0}
    frames = admitted = 0
    first_ns: int | None = None
    last_ns = 0
    t0 = time.perf_counter()

    def flush() -> None:
        if batch:
            store.upsert(batch)
            batch.clear()

    try:
        seqs: dict[str, int] = {}
        with tqdm(unit="frame", file=sys.stderr, disable=None) as bar:
            for cam, rgb, stamp_ns in _frames(args, cfg, topic_map, notes):
                seq = seqs[cam] = seqs.get(cam, -1) + 1
                frames += 1
                first_ns = stamp_ns if first_ns is None else min(first_ns, stamp_ns)
                last_ns = max(last_ns, stamp_ns)
                result = pipeline.process(cam, rgb, stamp_ns, seq)
                payload = pipeline.remember(result, rgb)
                bar.update(1)
                if result.vector is None:
                    continue
                admitted += 1
                thumb = payload.thumbnail if payload is not None and fc.thumbnails else None
                for p in selector.observe(cam, stamp_ns, seq, result.decision.reason, result.vector, result.events, thumb):
                    kinds[p.kind] += 1
                    batch.append(p)
                if len(batch) >= fc.batch_size:
                    flush()
        for p in selector.flush():
            kinds[p.kind] += 1
            batch.append(p)
        flush()
        t_write = time.perf_counter()
        store.optimize()
        optimize_s = time.perf_counter() - t_write
        total = store.count(_robot_filter(fc.robot_id))
    finally:
        store.close()
        pipeline.index.close()
    wall = time.perf_counter() - t0
    if fc.ttl_s > 0 and first_ns is not None and first_ns < time.time_ns() - int(fc.ttl_s * 1e9):
        notes.append(f"some points are older than fleet.ttl_s ({fc.ttl_s:g} s): the next TTL sweep of robot '{fc.robot_id}' deletes them")
    return {
        "source": str(args.source), "robot_id": fc.robot_id, "store": store.describe(), "model": encoder.name, "frames": frames, "admitted": admitted,
        "points": kinds["keyframe"] + kinds["moment"], "keyframes": kinds["keyframe"], "moments": kinds["moment"], "robot_points_in_store": total,
        "first_ns": first_ns, "last_ns": last_ns if first_ns is not None else None, "wall_s": wall, "index_build_s": optimize_s, "notes": notes,
    }  # fmt: skip


def _robot_filter(robot: str) -> Any:
    from videorag_ros.fleet.store import FleetFilter

    return FleetFilter(robots=(robot,))


# --- query -----------------------------------------------------------------------------------
def query(args: argparse.Namespace) -> dict[str, Any]:
    """Answer a fleet query; returns the answer as JSON-ready values (and the moments for the sheet)."""
    from videorag_ros.fleet.query import FleetQuery, answer_fleet_query

    since, until = time_range(args, time.time_ns())
    q = FleetQuery(text=args.text, robots=tuple(args.robot), cameras=tuple(args.camera), since_ns=since,
                   until_ns=until, k=args.k, context_s=args.context)  # fmt: skip
    q.validate()
    cfg = _config(args)
    encoder, store = _open(cfg, create=False)
    try:
        answer = answer_fleet_query(store, encoder, q)
        where = store.describe()
    finally:
        store.close()
    return {"query": args.text, "store": where, "model": answer.model, "encode_ms": answer.encode_ms, "search_ms": answer.search_ms,
            "hits": answer.hits, "notes": answer.notes, "moments": answer.moments}  # fmt: skip


def moment_row(m: FleetMoment) -> dict[str, Any]:
    """A fleet moment as JSON-ready values (stamps in seconds and ns; texts as stored: JSON escapes them)."""
    b = m.best
    return {
        "robot_id": m.robot_id, "camera_id": m.camera_id, "start": m.start_ns / 1e9, "end": m.end_ns / 1e9, "best": b.stamp_ns / 1e9,
        "start_ns": m.start_ns, "end_ns": m.end_ns, "best_ns": b.stamp_ns, "score": round(m.score, 5), "hits": m.hits, "kind": b.kind,
        "triggers": list(m.triggers), "best_frame_seq": b.frame_seq, "gate_reason": b.gate_reason, "description": b.description,
        "description_source": b.description_source, "thumbnail": b.thumbnail is not None, "pose": b.pose.as_dict() if b.pose else None,
    }  # fmt: skip


def print_moments(moments: Sequence[FleetMoment]) -> None:
    """Moments as a table; every stored text escaped (it may hold terminal escape sequences)."""
    from videorag_ros.core.timefmt import format_stamp

    if not moments:
        print("no moments")
        return
    print(f"{'#':>2}  {'robot':<12} {'camera':<10} {'best frame':>23} {'length':>8} {'score':>7} {'hits':>4}  what")
    for i, m in enumerate(moments, 1):
        b = m.best
        what = ", ".join(m.triggers) if m.triggers else b.kind
        line = (f"{i:>2}  {printable(m.robot_id, max_chars=40):<12} {printable(m.camera_id, max_chars=40):<10} {format_stamp(b.stamp_ns, with_date=True):>23} "
                f"{(m.end_ns - m.start_ns) / 1e9:>6.1f} s {m.score:>7.3f} {m.hits:>4}  {printable(what, max_chars=80)}")  # fmt: skip
        if b.pose is not None:
            line += printable(f"  pose {b.pose.frame_id} ({b.pose.x:.2f}, {b.pose.y:.2f})", max_chars=120)
        print(line)
        if b.description:
            print(f"      {printable(b.description, max_chars=300)}")


def _sheet(moments: Sequence[FleetMoment], path: Path, title: str) -> None:
    from videorag_ros.core.index import Moment, Payload
    from videorag_ros.viz.contact_sheet import write_contact_sheet

    core = [
        Moment(camera_id=f"{m.robot_id}/{m.camera_id}", start_ns=m.start_ns, end_ns=m.end_ns, best_ns=m.best.stamp_ns, score=m.score,
               frame_seqs=(m.best.frame_seq,) * m.hits, best=Payload(m.camera_id, m.best.stamp_ns, m.best.frame_seq, m.best.kind, m.best.thumbnail), hits=m.hits)
        for m in moments
    ]  # fmt: skip
    write_contact_sheet(core, path, title=title)


# --- stats -----------------------------------------------------------------------------------
def stats(args: argparse.Namespace) -> dict[str, Any]:
    """What the store holds."""
    cfg = _config(args)
    _encoder, store = _open(cfg, create=False)
    try:
        s = store.stats()
    finally:
        store.close()
    return {"engine": s.engine, "dim": s.dim, "points": s.points, "robots": s.robots, "cameras": s.cameras, "models": s.models,
            "oldest_ns": s.oldest_ns, "newest_ns": s.newest_ns, "extra": s.extra}  # fmt: skip


def _print_stats(r: dict[str, Any]) -> None:
    print(printable(f"{r['engine']}: {r['points']} points, {r['dim']}-d"))
    if r["oldest_ns"] is not None and r["newest_ns"] is not None:
        print(f"  from {_when(r['oldest_ns'])} to {_when(r['newest_ns'])}")
    for title, counts in (("robots", r["robots"]), ("cameras", r["cameras"]), ("models", r["models"])):
        print(f"  {title}: " + (", ".join(printable(f"{k} {v}", max_chars=120) for k, v in sorted(counts.items())) or "none"))
    print("  " + printable(", ".join(f"{k} {v}" for k, v in r["extra"].items()), max_chars=400))


def main(argv: Sequence[str] | None = None) -> int:
    """``videorag fleet …``: 0 on success, 1 on an error (one line on stderr), 2 on bad arguments."""
    args = _parser().parse_args(argv)
    from videorag_ros.core.errors import VideoragError
    from videorag_ros.core.safe_files import check_output_path

    try:
        if args.command == "ingest":
            r = ingest(args)
            print(printable(f"{r['source']}: {r['frames']} frames, {r['admitted']} admitted, {r['points']} points to {r['store']} as robot '{r['robot_id']}' "
                            f"({r['keyframes']} keyframes, {r['moments']} moment best frames) in {r['wall_s']:.1f} s; index build {r['index_build_s']:.1f} s; "
                            f"robot '{r['robot_id']}' now has {r['robot_points_in_store']} points"))  # fmt: skip
            for note in r["notes"]:
                print(f"note: {printable(note)}", file=sys.stderr)
        elif args.command == "query":
            if args.sheet:
                check_output_path(args.sheet, what="--sheet")
            r = query(args)
            print(printable(f"fleet query {r['query']!r} on {r['store']} (model {r['model']}): {r['hits']} hits; encode {r['encode_ms']:.1f} ms, search {r['search_ms']:.1f} ms"))
            for note in r["notes"]:
                print(f"note: {printable(note)}")
            print_moments(r["moments"])
            if args.sheet:
                _sheet(r["moments"], args.sheet, title=f"{r['query']!r} — {r['store']}")
                print(f"contact sheet: {printable(args.sheet)}")
            r = {**r, "moments": [moment_row(m) for m in r["moments"]]}
        else:
            r = stats(args)
            _print_stats(r)
    except VideoragError as err:
        print(f"error: {printable(err)}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(r))
    return 0
