"""Fleet queries: text → the k best moments across robots and cameras, with their robot ids.

The store returns the nearest points passing the filter (robots, cameras, time range, and always
the model the query is encoded with: vectors of two models are not comparable). Hits on the same
robot and camera within ``context_s`` of each other merge into one moment (the core's rule,
``core/index/moments.merge_spans``), best score first. The store holds selected frames only
(about one a second per camera), so a moment spans the hits it merged and, for a trigger moment's
best frame, the span the trigger was active.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from videorag_ros.core.encoder.encoder import Encoder
from videorag_ros.core.index import Hit, Payload
from videorag_ros.core.index.moments import merge_spans
from videorag_ros.core.query import MAX_CONTEXT_S, MAX_TEXT_CHARS, QueryError
from videorag_ros.fleet.point import StoredPoint
from videorag_ros.fleet.store import FleetFilter, FleetStore

MAX_K = 100
OVERFETCH = 8  # hits asked per moment wanted: neighbouring hits merge


@dataclass(frozen=True)
class FleetQuery:
    """What an operator asks the fleet.

    Attributes:
        text: Natural-language query.
        robots: Only these robot ids (empty = all).
        cameras: Only these camera ids (empty = all).
        since_ns: Only points stamped at or after this.
        until_ns: Only points stamped at or before this.
        k: Moments wanted (1..``MAX_K``).
        context_s: Hits within this many seconds on the same robot and camera merge.
    """

    text: str
    robots: tuple[str, ...] = ()
    cameras: tuple[str, ...] = ()
    since_ns: int | None = None
    until_ns: int | None = None
    k: int = 5
    context_s: float = 5.0

    def validate(self) -> None:
        """Check the query before any work.

        Raises:
            QueryError: Naming the field and the accepted range.
        """
        if not self.text.strip():
            raise QueryError("the fleet query needs a text")
        if len(self.text) > MAX_TEXT_CHARS:
            msg = f"query text is {len(self.text)} characters; at most {MAX_TEXT_CHARS}"
            raise QueryError(msg)
        if not 1 <= self.k <= MAX_K:
            msg = f"k = {self.k}: ask for 1..{MAX_K} moments"
            raise QueryError(msg)
        if not 0.0 <= self.context_s <= MAX_CONTEXT_S:
            msg = f"context = {self.context_s} s: must be within 0..{MAX_CONTEXT_S:g} s"
            raise QueryError(msg)
        if self.since_ns is not None and self.until_ns is not None and self.since_ns > self.until_ns:
            msg = f"time range is empty: since ({self.since_ns / 1e9:.3f} s) is after until ({self.until_ns / 1e9:.3f} s)"
            raise QueryError(msg)


@dataclass(frozen=True)
class FleetMoment:
    """A span of one robot's camera around one or more hits.

    Attributes:
        robot_id: The robot.
        camera_id: Its camera.
        start_ns: Earliest stamp of the span.
        end_ns: Latest stamp of the span.
        score: Cosine score of the best hit.
        best: The best hit (payload, thumbnail, pose, description).
        hits: Hits merged into it.
        triggers: Triggers whose moments are among the hits.
    """

    robot_id: str
    camera_id: str
    start_ns: int
    end_ns: int
    score: float
    best: StoredPoint
    hits: int
    triggers: tuple[str, ...] = ()


@dataclass
class FleetAnswer:
    """Moments (best first), what was searched and what it cost."""

    moments: list[FleetMoment]
    model: str
    encode_ms: float
    search_ms: float
    hits: int
    notes: list[str] = field(default_factory=list)


def moments_from_hits(points: list[StoredPoint], context_s: float, k: int) -> list[FleetMoment]:
    """Merge hits per robot and camera into at most ``k`` moments, best first."""
    by_key: dict[tuple[str, int, int], StoredPoint] = {}
    hits = []
    for p in points:
        key = f"{p.robot_id}/{p.camera_id}"
        by_key[(key, p.stamp_ns, p.frame_seq)] = p
        hits.append(Hit(p.score, Payload(key, p.stamp_ns, p.frame_seq, p.kind)))
    out = []
    for key, _lo, _hi, span in merge_spans(hits, int(context_s * 1e9)):
        members = [by_key[(key, h.payload.stamp_ns, h.payload.frame_seq)] for h in span]
        best = max(members, key=lambda m: (m.score, -m.stamp_ns))
        out.append(
            FleetMoment(
                robot_id=best.robot_id, camera_id=best.camera_id,
                start_ns=min(min(m.stamp_ns, m.moment_start_ns) for m in members), end_ns=max(max(m.stamp_ns, m.moment_end_ns) for m in members),
                score=best.score, best=best, hits=len(members), triggers=tuple(sorted({m.trigger for m in members if m.trigger})),
            )
        )  # fmt: skip
    out.sort(key=lambda m: (-m.score, m.start_ns))
    return out[:k]


def answer_fleet_query(store: FleetStore, encoder: Encoder, query: FleetQuery) -> FleetAnswer:
    """Validate, encode, search and merge: the ``k`` best fleet moments for ``query``.

    Raises:
        QueryError: Invalid query, no known word, or the store holds only another model's points.
        StoreUnavailable: The store did not answer.
    """
    query.validate()
    models = store.models()
    if models and encoder.name not in models:
        msg = f"the fleet store holds points embedded by {models[:5]}, not by '{encoder.name}'; query with --model {models[0]}"
        raise QueryError(msg)
    if encoder.knows_no_word_of(query.text):
        msg = f"none of the words in {query.text!r} are known to model '{encoder.name}'; try other words"
        raise QueryError(msg)
    notes = []
    unknown = encoder.unknown_words(query.text)
    if unknown:
        notes.append(f"words unknown to the model (ignored): {', '.join(sorted(set(unknown)))}")
    t0 = time.perf_counter()
    vector = encoder.encode_texts([query.text])[0]
    t1 = time.perf_counter()
    flt = FleetFilter(robots=query.robots, cameras=query.cameras, since_ns=query.since_ns, until_ns=query.until_ns, model=encoder.name)
    points = store.search(vector, flt, min(1000, query.k * OVERFETCH))
    t2 = time.perf_counter()
    if not models:
        notes.append("the fleet store is empty")
    return FleetAnswer(moments_from_hits(points, query.context_s, query.k), encoder.name, (t1 - t0) * 1e3, (t2 - t1) * 1e3, len(points), notes)
