"""What the slow loop said about remembered moments, kept with the memory and matched by text.

A ``Description`` is a span of one camera plus the text a describer produced for it (a
multimodal model, or the offline caption ranker) and who produced it. The store is bounded
(``capacity`` entries, the oldest dropped and counted) and forgets with the frames (``forget_before``).

Text match (``text_match``): the share of the query's content words (lower-cased ``[a-z0-9]+``,
a short stop-word list removed, a plural ``s`` stripped) that occur in the description. It is
written here rather than taken from a fuzzy-matching library because what fusion needs is
*coverage of the query* by the description (0..1, order-free), not an edit-distance similarity
of two strings.
"""

from __future__ import annotations

import re
import threading
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

from videorag_ros.core.errors import TemporalIndexError
from videorag_ros.core.printable import bounded_repr

MAX_TEXT_CHARS = 4000
KINDS = ("describe", "verify")
_WORD = re.compile(r"[a-z0-9]+")
_STOP = frozenset(("a", "an", "the", "of", "in", "on", "at", "to", "and", "or", "is", "are", "was", "were", "be", "been", "it", "its",
                   "this", "that", "there", "here", "what", "which", "who", "when", "where", "how", "did", "does", "do", "any", "some",
                   "with", "for", "from", "by", "as", "into"))  # fmt: skip


@dataclass(frozen=True, slots=True)
class Description:
    """A text about a span of one camera.

    Attributes:
        camera_id: Camera of the span.
        start_ns: First frame stamp the describer saw.
        end_ns: Last frame stamp the describer saw.
        best_ns: The moment's best (central) frame.
        text: What the describer said (already stripped of control characters by the slow loop).
        source: Who said it, e.g. ``"openai-compatible qwen2.5-vl at 127.0.0.1"`` or
            ``"offline caption ranker (videorag-tiny; no language model)"``.
        kind: ``describe`` or ``verify``.
    """

    camera_id: str
    start_ns: int
    end_ns: int
    best_ns: int
    text: str
    source: str
    kind: str = "describe"

    def check(self) -> Description:
        """Validate the fields (a snapshot or a describer may hand in anything).

        Returns:
            Itself.

        Raises:
            TemporalIndexError: Naming the bad field.
        """
        if not isinstance(self.camera_id, str) or not self.camera_id or not isinstance(self.text, str) or not isinstance(self.source, str):
            msg = f"description needs a camera id, a text and a source as strings, got {bounded_repr(self.camera_id)}, {type(self.text).__name__}, {type(self.source).__name__}"
            raise TemporalIndexError(msg)
        stamps = (self.start_ns, self.end_ns, self.best_ns)
        if not all(isinstance(t, int) and not isinstance(t, bool) for t in stamps) or not self.start_ns <= self.best_ns <= self.end_ns:
            msg = f"description stamps must be integers with start <= best <= end, got {bounded_repr(stamps)}"
            raise TemporalIndexError(msg)
        if len(self.text) > MAX_TEXT_CHARS or len(self.source) > 400:
            msg = f"description text is {len(self.text)} characters (at most {MAX_TEXT_CHARS}), source {len(self.source)} (at most 400)"
            raise TemporalIndexError(msg)
        if self.kind not in KINDS:
            msg = f"description kind {bounded_repr(self.kind)} is not one of {', '.join(KINDS)}"
            raise TemporalIndexError(msg)
        return self

    def as_dict(self) -> dict[str, object]:
        """JSON-ready fields (snapshots)."""
        return {"camera_id": self.camera_id, "start_ns": self.start_ns, "end_ns": self.end_ns, "best_ns": self.best_ns, "text": self.text, "source": self.source, "kind": self.kind}

    @classmethod
    def from_dict(cls, d: object) -> Description:
        """The inverse of ``as_dict``.

        Raises:
            TemporalIndexError: Not a mapping with exactly the expected, valid fields.
        """
        if not isinstance(d, dict):
            msg = f"description must be a JSON object, got {type(d).__name__}"
            raise TemporalIndexError(msg)
        try:
            return cls(**d).check()
        except TypeError as err:
            msg = f"description has unexpected or missing fields: {bounded_repr(sorted(map(str, d)))}"
            raise TemporalIndexError(msg) from err


def content_words(text: str) -> set[str]:
    """Lower-cased words of ``text`` without stop words, a trailing plural ``s`` stripped."""
    out = set()
    for w in _WORD.findall(text.lower()):
        if w in _STOP:
            continue
        out.add(w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w)
    return out


def text_match(query: str, text: str) -> float:
    """Share (0..1) of the query's content words found in ``text``; 0 when the query has none."""
    q = content_words(query)
    if not q:
        return 0.0
    return len(q & content_words(text)) / len(q)


class DescriptionStore:
    """Bounded, thread-safe list of descriptions in insertion order."""

    def __init__(self, capacity: int = 4096) -> None:
        """Create an empty store holding at most ``capacity`` descriptions."""
        if capacity < 1:
            msg = f"description store capacity must be >= 1, got {capacity}"
            raise TemporalIndexError(msg)
        self.capacity = capacity
        self._items: deque[Description] = deque()
        self._lock = threading.Lock()
        self.dropped = 0  # pushed out by the capacity
        self.forgotten = 0  # older than the memory's horizon

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def add(self, d: Description) -> None:
        """Keep one description (validated); the oldest is dropped when full.

        Raises:
            TemporalIndexError: An invalid description.
        """
        d.check()
        with self._lock:
            self._items.append(d)
            while len(self._items) > self.capacity:
                self._items.popleft()
                self.dropped += 1

    def forget_before(self, horizon_ns: int) -> None:
        """Forget descriptions whose span ended before ``horizon_ns`` (the memory forgot those frames)."""
        with self._lock:
            keep = deque(d for d in self._items if d.end_ns >= horizon_ns)
            self.forgotten += len(self._items) - len(keep)
            self._items = keep

    def replace(self, items: Iterable[Description]) -> None:
        """Replace the contents (snapshot load); the newest ``capacity`` are kept."""
        checked = [d.check() for d in items]
        with self._lock:
            self._items = deque(checked[-self.capacity :])

    def all(self) -> list[Description]:
        """Every description, oldest first."""
        with self._lock:
            return list(self._items)

    def overlapping(self, camera_id: str, lo_ns: int, hi_ns: int) -> list[Description]:
        """Descriptions of ``camera_id`` whose span overlaps ``[lo_ns, hi_ns]``, oldest first."""
        with self._lock:
            return [d for d in self._items if d.camera_id == camera_id and d.start_ns <= hi_ns and d.end_ns >= lo_ns]

    def match(self, query: str, *, since_ns: int | None = None, until_ns: int | None = None, cameras: Iterable[str] | None = None) -> list[tuple[Description, float]]:
        """Descriptions with a positive ``text_match`` to ``query`` (best first), within the filters.

        Args:
            query: The query text.
            since_ns: Only descriptions whose best frame is at or after this.
            until_ns: Only descriptions whose best frame is at or before this.
            cameras: Only these cameras (None = all).
        """
        cams = None if cameras is None else set(cameras)
        q = content_words(query)
        if not q:
            return []
        out = []
        for d in self.all():
            if (cams is not None and d.camera_id not in cams) or (since_ns is not None and d.best_ns < since_ns) or (until_ns is not None and d.best_ns > until_ns):
                continue
            m = len(q & content_words(d.text)) / len(q)
            if m > 0:
                out.append((d, m))
        out.sort(key=lambda t: (-t[1], -t[0].best_ns))
        return out
