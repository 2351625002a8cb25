"""Ask the robot's recent past: retrieve moments (embedding + description fusion), then ask the describer.

The same function answers the edge node's ``~/ask`` service and ``videorag ask --index`` on a
snapshot: retrieval is ``core.query.answer_query`` (so ``~/query_moments`` and ``~/ask`` see the
same moments), and the describer gets the question, the moments' spans and stored descriptions,
and one frame per moment, and answers citing them as [n].
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field

from videorag_ros.core.encoder.encoder import Encoder
from videorag_ros.core.index import Moment, TemporalIndex
from videorag_ros.core.query import MomentQuery, QueryError, answer_query
from videorag_ros.slowloop.describer import AskMoment, Describer, FrameForModel

DEFAULT_ASK_K = 3
MAX_ASK_K = 8


@dataclass
class AskAnswer:
    """An answer and the moments it may cite, [1] first.

    Attributes:
        question: What was asked.
        text: The answer (escaped; cites moments as [n]).
        source: Who answered (a model, or the offline caption ranker).
        moments: The retrieved moments, in citation order.
        retrieval_ms: Query encoding + search.
        answer_ms: The describer's time (model round trips, retries and rate-limit waits included).
        notes: What the asker should know (unknown words, empty memory ...).
    """

    question: str
    text: str
    source: str
    moments: list[Moment]
    retrieval_ms: float
    answer_ms: float
    notes: list[str] = field(default_factory=list)


def answer_question(
    question: str,
    *,
    index: TemporalIndex,
    encoder: Encoder,
    describer: Describer,
    since_ns: int | None = None,
    until_ns: int | None = None,
    cameras: tuple[str, ...] = (),
    k: int = DEFAULT_ASK_K,
    context_s: float = 2.0,
    known_cameras: Collection[str] | None = None,
    frames_for: Callable[[Moment], list[FrameForModel]] | None = None,
) -> AskAnswer:
    """Retrieve the ``k`` best moments for ``question`` and have the describer answer from them.

    Args:
        question: The question (also the retrieval text).
        index: The memory.
        encoder: The model that embedded it.
        describer: Who answers.
        since_ns: Only moments whose best frame is at or after this.
        until_ns: Only moments whose best frame is at or before this.
        cameras: Only these cameras (empty = all).
        k: Moments retrieved and shown (1..8).
        context_s: Context around each hit.
        known_cameras: Camera ids the memory can hold (unknown filters are errors).
        frames_for: Frames to show for a moment (default: its best frame's thumbnail).

    Raises:
        QueryError: An invalid question or filter.
        SlowLoopError: The describer failed (ModelServerError, CircuitOpenError ...).
    """
    if not 1 <= k <= MAX_ASK_K:
        msg = f"k = {k}: ask with 1..{MAX_ASK_K} moments"
        raise QueryError(msg)
    query = MomentQuery(text=question, since_ns=since_ns, until_ns=until_ns, cameras=cameras, k=k, context_s=context_s)
    found = answer_query(index, encoder, query, known_cameras=known_cameras)
    pick = frames_for or _thumbnail
    asked = [AskMoment(m, pick(m)) for m in found.moments]
    t0 = time.perf_counter()
    out = describer.ask(question, asked)
    answer_ms = (time.perf_counter() - t0) * 1e3
    return AskAnswer(question, out.text, out.source, found.moments, found.encode_ms + found.search_ms, answer_ms, list(found.notes))


def _thumbnail(m: Moment) -> list[FrameForModel]:
    return [FrameForModel(m.camera_id, m.best_ns, jpeg=m.best.thumbnail)] if m.best.thumbnail else []
