"""``--last`` / ``--since`` / ``--until``: the time range of the commands that search a memory (query, ask, fleet query)."""

from __future__ import annotations

import argparse

from videorag_ros.core.timefmt import parse_time


def add_time_range_args(parser: argparse.ArgumentParser) -> None:
    """Add ``--last``, ``--since`` and ``--until`` (``--since`` wins over ``--last``)."""
    parser.add_argument("--last", metavar="DURATION", help="only the last DURATION: 30s, 5m, 1h (same as --since=-DURATION)")
    parser.add_argument("--since", help="only at or after this time (a relative time needs '=': --since=-5m)")
    parser.add_argument("--until", help="only at or before this time")


def time_range(args: argparse.Namespace, now_ns: int) -> tuple[int | None, int | None]:
    """``(since_ns, until_ns)`` from the arguments, relative times counted back from ``now_ns``; None = unbounded.

    Raises:
        TimeSpecError: A time or duration that does not parse (or is not finite).
    """
    since = parse_time(args.since or f"-{args.last}", now_ns=now_ns) if args.since or args.last else None
    until = parse_time(args.until, now_ns=now_ns) if args.until else None
    return since, until
