"""Times as people type and read them: ``--since -5m``, ``--until 14:02:30``, "14:02:11.250".

Stamps are integer nanoseconds. A robot's memory is stamped in Unix time; a memory built
from a video file is stamped from the start of the file. Anything before ``EPOCH_CUTOFF_NS``
is treated as "seconds into a recording" when printed.
"""

from __future__ import annotations

import datetime as dt
import math
import re

from videorag_ros.core.errors import VideoragError
from videorag_ros.core.printable import printable

# 2001-09-09: no robot memory is older, no recording is longer.
EPOCH_CUTOFF_NS = 1_000_000_000 * 1_000_000_000
_RELATIVE = re.compile(r"^-(\d+(?:\.\d*)?)(ms|s|m|h)?$")
_UNITS_S = {"ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}


class TimeSpecError(VideoragError):
    """A time argument that cannot be parsed."""


# Stamps are int64 nanoseconds: about +-292 years around 1970.
_MAX_ABS_NS = 2**63 - 1


def _stamp(ns: float, spec: str) -> int:
    """A finite, int64-representable stamp, or ``TimeSpecError`` (``inf``, ``nan``, ``1e300``)."""
    if not math.isfinite(ns) or abs(ns) > _MAX_ABS_NS:
        msg = f"time {printable(spec, max_chars=60)!r} is not a finite time a stamp can hold (int64 nanoseconds)"
        raise TimeSpecError(msg)
    return round(ns)


def parse_time(spec: str, *, now_ns: int) -> int:
    """A time argument to a stamp in ns.

    Accepted forms:
        ``-30s``, ``-5m``, ``-1.5h``, ``-250ms``: relative to ``now_ns``;
        ``12.5``: an absolute stamp in seconds (Unix time, or seconds into a recording);
        ``14:02:11`` / ``14:02:11.250``: that local clock time on the day of ``now_ns``;
        ``2026-11-21T14:02:11`` (ISO 8601; local time unless it names an offset).

    Args:
        spec: The argument.
        now_ns: What "now" is: the newest remembered frame, or the wall clock.

    Raises:
        TimeSpecError: Naming the accepted forms.
    """
    s = spec.strip()
    rel = _RELATIVE.match(s)
    if rel:
        return now_ns - _stamp(float(rel.group(1)) * _UNITS_S[rel.group(2)] * 1e9, spec)
    try:
        seconds = float(s)
    except ValueError:
        pass
    else:
        return _stamp(seconds * 1e9, spec)
    try:
        if re.fullmatch(r"\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?", s):
            day = dt.datetime.fromtimestamp(now_ns / 1e9).date()
            when = dt.datetime.combine(day, dt.time.fromisoformat(s if s.count(":") == 2 else s + ":00"))
        else:
            when = dt.datetime.fromisoformat(s)
    except ValueError:
        pass
    else:
        return round(when.timestamp() * 1e9)
    msg = f"cannot read time {printable(spec, max_chars=60)!r}: use -30s / -5m / -1h (before now), seconds (12.5), a clock time (14:02:11) or ISO 8601 (2026-11-21T14:02:11)"
    raise TimeSpecError(msg)


def format_stamp(ns: int, *, with_date: bool = False) -> str:
    """``14:02:11.250`` (local time) for Unix stamps, ``12.250 s`` for stamps into a recording."""
    if ns < EPOCH_CUTOFF_NS:
        return f"{ns / 1e9:.3f} s"
    t = dt.datetime.fromtimestamp(ns / 1e9)
    text = t.strftime("%H:%M:%S.") + f"{t.microsecond // 1000:03d}"
    return f"{t.date().isoformat()} {text}" if with_date else text
