"""``videorag ask "question"``: ask the robot's recent past, answered from retrieved moments.

Against a running edge node through its ``~/ask`` service (default), or against a memory
snapshot with ``--index PATH`` (no ROS needed). Moments are retrieved like ``videorag query``
(embedding + the slow loop's stored descriptions); the describer (the node's; with ``--index``,
the one the parameter file names: an OpenAI-compatible server at ``slowloop.base_url``, else the
offline caption ranker) answers from their frames and cites them as [n]. The answer, the
moments (camera, time span, best frame) and who answered are printed; ``--sheet`` draws the
cited moments' thumbnails, ``--json`` adds one JSON line. Model text is printed with control
characters escaped.
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
from videorag_ros.core.timefmt import format_stamp
from videorag_ros.slowloop.ask import DEFAULT_ASK_K, AskAnswer
from videorag_ros.slowloop.sanitize import escape_control, escape_line


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="videorag ask", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("question", help='e.g. "did anyone walk past the charger?"')
    add_time_range_args(p)
    p.add_argument("--camera", action="append", default=[], help="only this camera id (repeatable)")
    p.add_argument("--k", type=int, default=DEFAULT_ASK_K, help=f"moments retrieved and shown to the describer (default {DEFAULT_ASK_K}, at most 8)")
    p.add_argument("--context", type=float, default=2.0, help="seconds of context around each hit (default 2)")
    src = p.add_argument_group("memory")
    src.add_argument("--index", type=Path, help="answer from this snapshot file instead of a running node")
    src.add_argument("--node", default="/videorag_edge", help="edge node to ask (default /videorag_edge)")
    src.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for the node's answer (default 120: a model may be slow)")
    src.add_argument("--params", type=Path, help="with --index: parameter file naming the model and the slow loop (default: shipped config/edge.yaml)")
    src.add_argument("--model", help="with --index: the image-text model that built the memory")
    src.add_argument("--offline", action="store_true", help="with --index: use the offline caption ranker even if the parameters name a server")
    out = p.add_argument_group("output")
    out.add_argument("--json", action="store_true", help="print the result as one JSON object on the last line")
    out.add_argument("--sheet", type=Path, help="write a contact sheet PNG of the cited moments")
    out.add_argument("--no-thumbnails", action="store_true", help="ask the node to leave thumbnails out")
    return p


def ask_snapshot(args: argparse.Namespace) -> AskAnswer:
    """Answer from a snapshot file with the describer the parameters name."""
    from dataclasses import replace

    from videorag_ros.cli.edge import default_params
    from videorag_ros.core.config import build_edge_config, load_params_file
    from videorag_ros.core.encoder.encoder import load_encoder
    from videorag_ros.core.index import TemporalIndex, read_snapshot
    from videorag_ros.slowloop import answer_question, build_describer

    cfg = build_edge_config(load_params_file(args.params or default_params()))
    slow = replace(cfg.slowloop, base_url="") if args.offline else cfg.slowloop
    data = read_snapshot(args.index)
    encoder = load_encoder(args.model or cfg.model, backend="cpu")
    describer, _ = build_describer(slow, encoder)
    try:
        describer.prepare()
        thumbs = sum(len(t) for t in data.thumbnails if t)
        with TemporalIndex(dim=data.dim, capacity=max(1, len(data)), ttl_s=0.0, recall_floor=0.0, thumbnail_budget_bytes=thumbs) as index:
            index.load_data(data, source=str(args.index), approximate=False)
            since, until = time_range(args, int(data.stamps.max()) if len(data) else time.time_ns())
            return answer_question(
                args.question, index=index, encoder=encoder, describer=describer, since_ns=since, until_ns=until,
                cameras=tuple(args.camera), k=args.k, context_s=args.context, known_cameras=index.camera_ids(),
            )  # fmt: skip
    finally:
        describer.close()


def ask_node(args: argparse.Namespace) -> AskAnswer:
    """Ask a running node through ``<node>/ask``."""
    from videorag.srv import Ask
    from videorag_ros.cli.service_call import call_service
    from videorag_ros.ros.conversions import msg_to_moment, ns_to_stamp

    since, until = time_range(args, time.time_ns())
    req = Ask.Request()
    req.question, req.camera_ids, req.k, req.context_s, req.no_thumbnails = args.question, list(args.camera), args.k, args.context, args.no_thumbnails
    if since is not None:
        req.since = ns_to_stamp(since)
    if until is not None:
        req.until = ns_to_stamp(until)
    service = f"{args.node.rstrip('/')}/ask"
    unavailable = f"service {service} not available: is the edge node running in this ROS_DOMAIN_ID with slowloop.enabled (--node names another node)?"
    resp, _ = call_service(Ask, service, req, node_name="videorag_ask", wait_s=min(args.timeout, 10.0), timeout_s=args.timeout, unavailable=unavailable)
    moments = [msg_to_moment(m) for m in resp.moments]
    return AskAnswer(args.question, resp.answer, resp.source, moments, float(resp.retrieval_ms), float(resp.answer_ms), [resp.message])


def moment_lines(moments: Sequence[Moment]) -> list[str]:
    """The cited moments, one line each: ``[n] camera from–to (length) best frame, score, description``."""
    lines = []
    for i, m in enumerate(moments, 1):
        line = (
            f"  [{i}] camera {escape_line(m.camera_id)}  {format_stamp(m.start_ns)} to {format_stamp(m.end_ns)} "
            f"({(m.end_ns - m.start_ns) / 1e9:.1f} s), best frame {format_stamp(m.best_ns)}, score {m.score:.3f}"
        )
        if m.best.thumbnail:
            line += ", thumbnail"
        if m.description:
            line += f"\n      described by {escape_line(m.description_source)}: {escape_line(m.description)}"
        lines.append(line)
    return lines


def _row(m: Moment, i: int) -> dict[str, Any]:
    return {
        "n": i, "camera_id": m.camera_id, "start": m.start_ns / 1e9, "end": m.end_ns / 1e9, "best": m.best_ns / 1e9, "score": round(m.score, 5),
        "text_score": round(m.text_score, 3), "description": m.description, "description_source": m.description_source, "thumbnail": m.best.thumbnail is not None,
    }  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    """Ask one question; exit 0 with an answer, 1 on an error, 2 on bad arguments."""
    args = _parser().parse_args(argv)
    if not args.question.strip():
        print('error: give a question, e.g. "what was in front of the robot?"', file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    try:
        answer = ask_snapshot(args) if args.index else ask_node(args)
    except VideoragError as err:
        print(f"error: {escape_line(str(err))}", file=sys.stderr)
        return 1
    total_ms = (time.perf_counter() - t0) * 1e3
    where = str(args.index) if args.index else f"{args.node.rstrip('/')}/ask"
    print(f"question {escape_line(repr(args.question))} on {escape_line(where)}")
    print(f"answered by {escape_line(answer.source)}:")
    print("\n".join("  " + line for line in escape_control(answer.text).splitlines() or [""]))
    print("moments:" if answer.moments else "moments: none")
    for line in moment_lines(answer.moments):
        print(line)
    notes = [n for n in answer.notes if n]
    print(f"retrieval {answer.retrieval_ms:.1f} ms, answer {answer.answer_ms:.0f} ms, end to end {total_ms:.0f} ms" + (f"; {escape_line('; '.join(notes))}" if notes else ""))
    if args.sheet:
        from videorag_ros.viz.contact_sheet import write_contact_sheet

        write_contact_sheet(answer.moments, args.sheet, title=f"{escape_line(args.question)[:80]} — {escape_line(where)}")
        print(f"contact sheet: {args.sheet}")
    if args.json:
        print(json.dumps({
            "question": args.question, "source": answer.source, "answer": answer.text, "moments": [_row(m, i) for i, m in enumerate(answer.moments, 1)],
            "retrieval_ms": answer.retrieval_ms, "answer_ms": answer.answer_ms, "total_ms": total_ms, "notes": notes,
        }))  # fmt: skip
    return 0
