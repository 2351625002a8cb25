"""Retry delays: exponential backoff with full jitter, and the server's ``Retry-After``."""

from __future__ import annotations

import random
import re
import time
from email.utils import parsedate_to_datetime

_SECONDS = re.compile(r"\s*(\d{1,10})\s*")


class Backoff:
    """Delay before retry ``n`` (0-based): uniform in ``[0, min(max_s, base_s * 2**n)]`` (full jitter)."""

    def __init__(self, base_s: float, max_s: float, *, rng: random.Random | None = None) -> None:
        """Create a backoff policy; ``rng`` makes the jitter reproducible in tests."""
        self.base_s, self.max_s = base_s, max_s
        self._rng = rng or random.Random()

    def ceiling(self, attempt: int) -> float:
        """The largest delay retry ``attempt`` may get."""
        return min(self.max_s, self.base_s * (2.0 ** min(attempt, 60)))

    def delay(self, attempt: int) -> float:
        """A jittered delay for retry ``attempt``."""
        return self._rng.uniform(0.0, self.ceiling(attempt))


def parse_retry_after(value: str | None, *, now_unix: float | None = None) -> float | None:
    """Seconds to wait from an HTTP ``Retry-After`` value (delay-seconds or an HTTP-date).

    Returns:
        A non-negative number of seconds, or None when the header is missing or not one of the
        two forms RFC 9110 allows (negative, fractional, exponent or garbage values are ignored,
        not trusted).
    """
    if value is None:
        return None
    m = _SECONDS.fullmatch(value)
    if m:
        return float(int(m.group(1)))
    try:
        when = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when is None or when.tzinfo is None:
        return None
    now = time.time() if now_unix is None else now_unix
    return max(0.0, when.timestamp() - now)
