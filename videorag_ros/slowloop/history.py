"""The rolling history: earlier answers sent with each request as temporal context, within a token budget.

Each entry is counted with the server's own ``usage.completion_tokens`` when it reported them
(that is the answer's length in the model's tokenizer), else estimated as one token per three
UTF-8 bytes (conservative for English BPE vocabularies, ~4 bytes per token). When an entry would
push the total over ``max_tokens`` the oldest entries are dropped (counted); an entry larger
than the whole budget is not kept.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from dataclasses import dataclass


def estimate_tokens(text: str) -> int:
    """A conservative token count of ``text`` (one per three UTF-8 bytes, at least one)."""
    return max(1, math.ceil(len(text.encode("utf-8")) / 3))


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One earlier answer: its text and token count."""

    text: str
    tokens: int


class RollingHistory:
    """Thread-safe, token-bounded FIFO of earlier answers."""

    def __init__(self, max_tokens: int) -> None:
        """Create an empty history; ``max_tokens`` 0 keeps nothing."""
        self.max_tokens = max(0, int(max_tokens))
        self._entries: deque[HistoryEntry] = deque()
        self._tokens = 0
        self._lock = threading.Lock()
        self.evicted = 0
        self.refused = 0
        self.peak_tokens = 0

    def add(self, text: str, tokens: int | None = None) -> bool:
        """Append an answer (``tokens`` from the server's usage, else estimated).

        Returns:
            Whether it was kept (False when it alone exceeds the budget).
        """
        n = tokens if tokens is not None and tokens > 0 else estimate_tokens(text)
        with self._lock:
            if n > self.max_tokens:
                self.refused += 1
                return False
            self._entries.append(HistoryEntry(text, n))
            self._tokens += n
            while self._tokens > self.max_tokens:
                old = self._entries.popleft()
                self._tokens -= old.tokens
                self.evicted += 1
            self.peak_tokens = max(self.peak_tokens, self._tokens)
            return True

    def entries(self) -> list[HistoryEntry]:
        """The kept entries, oldest first."""
        with self._lock:
            return list(self._entries)

    @property
    def tokens(self) -> int:
        """Tokens held now (never above ``max_tokens``)."""
        with self._lock:
            return self._tokens

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)
