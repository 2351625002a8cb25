"""``videorag query "text"``: ask the robot's memory for moments.

Against a running edge node through its ``~/query_moments`` service (default), or against a
memory snapshot file with ``--index PATH`` (no ROS needed). Prints a table of moments (best
first); ``--json`` adds one JSON line for scripts; ``--sheet out.png`` draws a contact sheet.

Times (``--since``/``--until``): ``--since=-5m`` (before now), seconds (``12.5``), a clock
time (``14:02:11``) or ISO 8601; ``--last 5m`` is ``--since=-5m``. "Now" is the wall clock
for a node, and the newest remembered frame for a snapshot.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from videorag_ros.cli.time_range import add_time_range_args, time_range
from videorag_ros.core.errors import VideoragError
from videorag_ros.core.index import Moment
from videorag_ros.core.printable import printable
from videorag_ros.core.query import DEFAULT_K, MomentQuery, QueryAnswer
from videorag_ros.core.safe_files import check_output_path
from videorag_ros.core.timefmt import format_stamp
from videorag_ros.slowloop.sanitize import escape_line

# The node refuses compressed payloads over its max_compressed_bytes (16 MiB by default).
QUERY_IMAGE_MAX_BYTES = 16 * 1024 * 1024


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="videorag query", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("text", nargs="?", default="", help='what to look for, e.g. "a person near the pallet"')
    p.add_argument("--image", type=Path, help="query with an image instead of a text (find frames that look like it)")
    add_time_range_args(p)
    p.add_argument("--camera", action="append", default=[], help="only this camera id (repeatable)")
    p.add_argument("--k", type=int, default=DEFAULT_K, help=f"moments wanted (default {DEFAULT_K})")
    p.add_argument("--context", type=float, default=2.0, help="seconds of context around each hit; overlapping moments merge (default 2)")
    src = p.add_argument_group("memory")
    src.add_argument("--index", type=Path, help="query this snapshot file instead of a running node")
    src.add_argument("--node", default="/videorag_edge", help="edge node to ask (default /videorag_edge)")
    src.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for the service (default 10)")
    src.add_argument("--model", help="with --index: the model that built the memory (default: the parameter file's)")
    src.add_argument("--params", type=Path, help="with --index: parameter file naming the model (default: shipped config/edge.yaml)")
    out = p.add_argument_group("output")
    out.add_argument("--json", action="store_true", help="print the result as one JSON object on the last line")
    out.add_argument("--sheet", type=Path, help="write a contact sheet PNG of the moments")
    out.add_argument("--no-thumbnails", action="store_true", help="ask the node to leave thumbnails out")
    return p


def _read_image(path: Path) -> Any:
    import cv2

    from videorag_ros.core.frames import bgr_to_rgb
    from videorag_ros.core.query import QueryError

    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        msg = f"cannot read query image '{path}' (missing, or not an image OpenCV decodes)"
        raise QueryError(msg)
    return bgr_to_rgb(bgr)


def _build_query(args: argparse.Namespace, now_ns: int, *, decode_image: bool = True) -> MomentQuery:
    since_ns, until_ns = time_range(args, now_ns)
    return MomentQuery(
        text=args.text,
        image=_read_image(args.image) if args.image and decode_image else None,
        since_ns=since_ns,
        until_ns=until_ns,
        cameras=tuple(args.camera),
        k=args.k,
        context_s=args.context,
    )


def query_snapshot(args: argparse.Namespace) -> tuple[QueryAnswer, MomentQuery]:
    """Load the snapshot (exact search only: no graph for one query) and answer."""
    from videorag_ros.cli.edge import default_params
    from videorag_ros.core.config import build_edge_config, load_params_file
    from videorag_ros.core.encoder.encoder import load_encoder
    from videorag_ros.core.index import TemporalIndex, read_snapshot
    from videorag_ros.core.query import answer_query

    data = read_snapshot(args.index)
    model = args.model or build_edge_config(load_params_file(args.params or default_params())).model
    encoder = load_encoder(model, backend="cpu")
    thumbs = sum(len(t) for t in data.thumbnails if t)
    with TemporalIndex(dim=data.dim, capacity=max(1, len(data)), ttl_s=0.0, recall_floor=0.0, thumbnail_budget_bytes=thumbs) as index:
        index.load_data(data, source=str(args.index), approximate=False)
        now_ns = int(data.stamps.max()) if len(data) else time.time_ns()
        query = _build_query(args, now_ns)
        return answer_query(index, encoder, query, known_cameras=index.camera_ids()), query


def _query_image_file(path: Path) -> tuple[bytes, str]:
    """A query image file's bytes and format, sent to the node as they are (no decode and re-JPEG here).

    Raises:
        QueryError: Not a regular file, too large, or neither JPEG nor PNG (by its magic bytes).
    """
    from videorag_ros.core.errors import VideoragError
    from videorag_ros.core.query import QueryError
    from videorag_ros.core.safe_files import read_regular_file

    try:
        data = read_regular_file(path, what="query image", max_bytes=QUERY_IMAGE_MAX_BYTES)
    except VideoragError as err:
        raise QueryError(str(err)) from err
    if data.startswith(b"\xff\xd8\xff"):
        return data, "jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return data, "png"
    msg = f"query image '{path}' is neither a JPEG nor a PNG file (the node decodes only those)"
    raise QueryError(msg)


def query_service(args: argparse.Namespace) -> tuple[QueryAnswer, MomentQuery]:
    """Ask a running node through ``<node>/query_moments``."""
    from videorag.srv import QueryMoments
    from videorag_ros.cli.service_call import call_service
    from videorag_ros.ros.conversions import msg_to_moment, query_to_request

    image, image_format = _query_image_file(args.image) if args.image else (b"", "")
    query = _build_query(args, time.time_ns(), decode_image=False)
    if not image:
        query.validate()
    req = query_to_request(query, image_jpeg_or_png=image, image_format=image_format, no_thumbnails=args.no_thumbnails)
    service = f"{args.node.rstrip('/')}/query_moments"
    unavailable = f"service {service} not available after {args.timeout:g} s: is the edge node running in this ROS_DOMAIN_ID (--node names another node)?"
    resp, rtt_ms = call_service(QueryMoments, service, req, node_name="videorag_query", wait_s=args.timeout, timeout_s=args.timeout, unavailable=unavailable)
    moments = [msg_to_moment(m) for m in resp.moments]
    answer = QueryAnswer(moments, encode_ms=float(resp.encode_ms), search_ms=float(resp.search_ms), remembered=int(resp.remembered), notes=[f"round trip {rtt_ms:.1f} ms"])
    return answer, query


def moment_row(m: Moment) -> dict[str, Any]:
    """A moment as JSON-ready values (stamps in seconds and ns)."""
    return {
        "camera_id": m.camera_id, "start": m.start_ns / 1e9, "end": m.end_ns / 1e9, "best": m.best_ns / 1e9,
        "start_ns": m.start_ns, "end_ns": m.end_ns, "best_ns": m.best_ns, "score": round(m.score, 5),
        "best_frame_seq": m.best.frame_seq, "frame_seqs": list(m.frame_seqs), "hits": m.hits, "thumbnail": m.best.thumbnail is not None,
        "description": m.description, "description_source": m.description_source, "text_score": round(m.text_score, 3),
    }  # fmt: skip


def print_table(moments: list[Moment]) -> None:
    """Moments as an aligned table, best first."""
    if not moments:
        print("no moments")
        return
    print(f"{'#':>2}  {'camera':<10} {'from':>14} {'to':>14} {'length':>8} {'best frame':>14} {'score':>7} {'frames':>6} {'hits':>4}")
    for i, m in enumerate(moments, 1):
        length = f"{(m.end_ns - m.start_ns) / 1e9:.1f} s"
        print(
            f"{i:>2}  {printable(m.camera_id, max_chars=40):<10} {format_stamp(m.start_ns):>14} {format_stamp(m.end_ns):>14} {length:>8} "
            f"{format_stamp(m.best_ns):>14} {m.score:>7.3f} {len(m.frame_seqs):>6} {m.hits:>4}"
        )
        if m.description:  # the slow loop's text (escaped: it came from a model or a snapshot file)
            print(f"    described by {escape_line(m.description_source)} (text match {m.text_score:.2f}): {escape_line(m.description)}")


def main(argv: Sequence[str] | None = None) -> int:
    """Answer one query; exit 0 with moments (or none), 1 on an error, 2 on bad arguments."""
    args = _parser().parse_args(argv)
    if not args.text.strip() and args.image is None:
        print('error: give a text ("a person on the left") or --image PATH', file=sys.stderr)
        return 2
    try:
        if args.sheet:  # a bad output path fails now, not after the search
            check_output_path(args.sheet, what="--sheet")
        answer, query = query_snapshot(args) if args.index else query_service(args)
    except VideoragError as err:
        print(f"error: {printable(err)}", file=sys.stderr)
        return 1
    source = str(args.index) if args.index else f"{args.node.rstrip('/')}/query_moments"
    what = f"image {args.image}" if args.image else repr(query.text)
    # Camera names and the node's message come from a snapshot or another process: escaped.
    print(printable(f"query {what} on {source}: {answer.summary()}"))
    print_table(answer.moments)
    if args.sheet:
        from videorag_ros.viz.contact_sheet import write_contact_sheet

        write_contact_sheet(answer.moments, args.sheet, title=f"{what} — {source}")
        print(f"contact sheet: {printable(args.sheet)}")
    if args.json:
        costs = {"encode_ms": round(answer.encode_ms, 3), "search_ms": round(answer.search_ms, 3), "remembered": answer.remembered}
        print(json.dumps({"query": what, "source": source, **costs, "notes": answer.notes, "moments": [moment_row(m) for m in answer.moments]}))
    return 0
