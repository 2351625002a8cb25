"""Ask the memory: a validated moment query, answered with the encoder and the temporal index.

The same function serves the edge node's ``~/query_moments`` service and ``videorag query
--index`` on a snapshot file, so both give the same moments for the same memory.

Fusion with the slow loop's descriptions (stored with their spans in the memory): every moment
carries the description of its span that best matches the query text (``text_score``, the share
of the query's content words it contains, 0..1). Moments are ranked by
``score + TEXT_WEIGHT * text_score`` (cosine plus at most 0.25): on CLIP-like models matching and
non-matching frames differ by a few hundredths of cosine, so a description that covers the whole
query lifts its moment above undescribed ones, and a partial match proportionally less. A
description covering at least half of the query whose span no embedding candidate reached adds
its own moment (the best frame of its span). ``score`` itself stays the cosine. The weight is a
design choice, not fitted to data.
"""

from __future__ import annotations

import time
from collections.abc import Collection
from dataclasses import dataclass, field, replace

import numpy as np
import numpy.typing as npt

from videorag_ros.core.encoder.encoder import Encoder
from videorag_ros.core.errors import VideoragError
from videorag_ros.core.index import Description, Moment, TemporalIndex, text_match

DEFAULT_K = 5
MAX_K = 100
MAX_CONTEXT_S = 600.0
MAX_TEXT_CHARS = 1000
TEXT_WEIGHT = 0.25  # fused = cosine + TEXT_WEIGHT * text match (see the module docstring)
TEXT_ONLY_MIN_MATCH = 0.5  # a description alone adds a moment when it covers this share of the query


class QueryError(VideoragError):
    """A query that cannot be answered as asked (empty, out of range, unknown camera)."""


@dataclass(frozen=True)
class MomentQuery:
    """What a person asks the memory.

    Attributes:
        text: Natural-language query; used unless ``image`` is given.
        image: ``(H, W, 3)`` uint8 RGB query image (find frames that look like it).
        since_ns: Only moments whose best frame is stamped at or after this (None = unbounded).
        until_ns: Only moments whose best frame is stamped at or before this (None = unbounded).
        cameras: Only these camera ids (empty = all).
        k: Moments wanted (1..``MAX_K``).
        context_s: Frames within this many seconds of a hit on its camera join its moment;
            overlapping moments merge.
    """

    text: str = ""
    image: npt.NDArray[np.uint8] | None = None
    since_ns: int | None = None
    until_ns: int | None = None
    cameras: tuple[str, ...] = ()
    k: int = DEFAULT_K
    context_s: float = 2.0

    def validate(self, known_cameras: Collection[str] | None = None) -> None:
        """Check the query before any work is done.

        Args:
            known_cameras: Camera ids the memory can hold; a filter naming another id is an error
                (a typo would otherwise return nothing, silently). None skips the check.

        Raises:
            QueryError: Naming the field and the accepted range.
        """
        if self.image is None and not self.text.strip():
            msg = "the query needs a text or an image"
            raise QueryError(msg)
        if len(self.text) > MAX_TEXT_CHARS:
            msg = f"query text is {len(self.text)} characters; at most {MAX_TEXT_CHARS}"
            raise QueryError(msg)
        if self.image is not None and (self.image.ndim != 3 or self.image.shape[2] != 3 or self.image.dtype != np.uint8 or 0 in self.image.shape):
            msg = f"query image must be (H, W, 3) uint8 RGB, got {self.image.shape} {self.image.dtype}"
            raise QueryError(msg)
        if not 1 <= self.k <= MAX_K:
            msg = f"k = {self.k}: ask for 1..{MAX_K} moments"
            raise QueryError(msg)
        if not 0.0 <= self.context_s <= MAX_CONTEXT_S:
            msg = f"context_s = {self.context_s}: must be within 0..{MAX_CONTEXT_S:g} s"
            raise QueryError(msg)
        if self.since_ns is not None and self.until_ns is not None and self.since_ns > self.until_ns:
            msg = f"time range is empty: since ({self.since_ns / 1e9:.3f} s) is after until ({self.until_ns / 1e9:.3f} s)"
            raise QueryError(msg)
        if known_cameras is not None:
            unknown = sorted(set(self.cameras) - set(known_cameras))
            if unknown:
                msg = f"unknown camera id(s) {unknown}; this memory has {sorted(known_cameras)}"
                raise QueryError(msg)


@dataclass
class QueryAnswer:
    """Moments (best first) plus what it cost and anything the asker should know."""

    moments: list[Moment]
    encode_ms: float
    search_ms: float
    remembered: int
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line for logs and the service's ``message``."""
        text = f"{len(self.moments)} moment(s) from {self.remembered} remembered frames; encode {self.encode_ms:.2f} ms, search {self.search_ms:.2f} ms"
        return "; ".join([text, *self.notes])


def encode_query(encoder: Encoder, query: MomentQuery) -> tuple[npt.NDArray[np.float32], list[str]]:
    """The query's unit vector and notes (e.g. words the model does not know).

    Raises:
        QueryError: No word of the text is known to the model (its vector would be noise).
        EncoderError: The model has no text tower, or the forward pass failed.
    """
    if query.image is not None:
        return encoder.encode_images([query.image]).vectors[0], []
    if encoder.knows_no_word_of(query.text):
        msg = f"none of the words in {query.text!r} are known to model '{encoder.name}'; try other words"
        raise QueryError(msg)
    unknown = encoder.unknown_words(query.text)
    notes = [f"words unknown to the model (ignored): {', '.join(sorted(set(unknown)))}"] if unknown else []
    return encoder.encode_texts([query.text])[0], notes


def answer_query(index: TemporalIndex, encoder: Encoder, query: MomentQuery, *, known_cameras: Collection[str] | None = None) -> QueryAnswer:
    """Validate, encode and search: the ``k`` best moments for ``query``.

    Args:
        index: The memory.
        encoder: The model that embedded the memory (same embedding space).
        query: The question.
        known_cameras: Camera ids the memory can hold (see ``MomentQuery.validate``).

    Raises:
        QueryError: Invalid query.
        EncoderError: Text tower missing or failing.
    """
    query.validate(known_cameras)
    t0 = time.perf_counter()
    vector, notes = encode_query(encoder, query)
    t1 = time.perf_counter()
    described = len(index.descriptions) > 0
    fetch = min(2 * query.k, MAX_K) if described else query.k  # room for fusion to reorder
    moments = index.search_moments(
        vector, fetch, context_s=query.context_s, since_ns=query.since_ns, until_ns=query.until_ns, cameras=query.cameras or None
    )
    if described:
        moments = fuse_descriptions(index, vector, query, moments)
        matched = sum(1 for m in moments if m.text_score > 0)
        if matched:
            notes.append(f"{matched} moment(s) matched stored descriptions (ranked by cosine + {TEXT_WEIGHT:g} x text match)")
    moments = moments[: query.k]
    t2 = time.perf_counter()
    remembered = len(index)
    if remembered == 0:
        notes.append("the memory is empty")
    return QueryAnswer(moments, (t1 - t0) * 1e3, (t2 - t1) * 1e3, remembered, notes)


def fused_score(m: Moment) -> float:
    """The ranking score of a moment: cosine + ``TEXT_WEIGHT`` x text match."""
    return m.score + TEXT_WEIGHT * m.text_score


def fuse_descriptions(index: TemporalIndex, vector: npt.NDArray[np.float32], query: MomentQuery, moments: list[Moment]) -> list[Moment]:
    """Attach stored descriptions to ``moments``, add moments found by text alone, rank by ``fused_score``.

    Args:
        index: The memory (its ``descriptions`` store).
        vector: The query's unit vector.
        query: The query (its text, filters, context).
        moments: Embedding candidates.

    Returns:
        All candidates, best fused score first (the caller keeps ``k``).
    """
    text = query.text if query.image is None else ""
    store = index.descriptions

    def attach(m: Moment, preferred: Description | None = None) -> Moment:
        near = store.overlapping(m.camera_id, m.start_ns, m.end_ns)
        if preferred is not None:
            near.append(preferred)
        if not near:
            return m
        best = max(near, key=lambda d: (text_match(text, d.text) if text else 0.0, d.end_ns))
        return replace(m, description=best.text, description_source=best.source, text_score=text_match(text, best.text) if text else 0.0)

    out = [attach(m) for m in moments]
    if text:
        extra = 0
        for d, match in store.match(text, since_ns=query.since_ns, until_ns=query.until_ns, cameras=query.cameras or None):
            if match < TEXT_ONLY_MIN_MATCH or extra >= query.k:
                break
            if any(m.camera_id == d.camera_id and m.start_ns <= d.end_ns and m.end_ns >= d.start_ns for m in out):
                continue
            found = index.search_moments(vector, 1, context_s=query.context_s, since_ns=d.start_ns, until_ns=d.end_ns, cameras=(d.camera_id,))
            if found:
                out.append(attach(found[0], d))
                extra += 1
    out.sort(key=lambda m: (-fused_score(m), m.best_ns))
    return out
