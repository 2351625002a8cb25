"""Value objects of the temporal index: what is remembered, what a search returns."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Payload:
    """What is remembered about one frame besides its vector.

    Attributes:
        camera_id: Camera the frame came from.
        stamp_ns: Capture stamp (integer nanoseconds).
        frame_seq: Sequence number of the frame on its camera.
        reason: Why the gate admitted it (``motion``, ``keyframe`` ...).
        thumbnail: Optional JPEG bytes of a small thumbnail; ``None`` when none was given or it
            was dropped to keep the thumbnail byte budget.
    """

    camera_id: str
    stamp_ns: int
    frame_seq: int
    reason: str
    thumbnail: bytes | None = None


@dataclass(frozen=True, slots=True)
class Hit:
    """One search result: cosine score (inner product of unit vectors) and payload."""

    score: float
    payload: Payload


@dataclass(frozen=True, slots=True)
class Moment:
    """A span of remembered video on one camera around one or more hits.

    Attributes:
        camera_id: Camera of every frame in the moment.
        start_ns: Stamp of the earliest remembered frame in the span.
        end_ns: Stamp of the latest remembered frame in the span.
        best_ns: Stamp of the best-scoring hit.
        score: Score of the best hit.
        frame_seqs: Sequence numbers of the remembered frames in ``[start_ns, end_ns]``, in time order.
        best: Payload of the best hit (with its thumbnail when one was kept).
        hits: Number of search hits merged into this moment.
        description: The slow loop's description of this span (the best text match to the query,
            else the latest), empty when none was stored.
        description_source: Who wrote ``description`` (a model, or the offline caption ranker).
        text_score: Text match (0..1) of ``description`` to the query; the ranking fuses it with
            ``score`` (see ``core/query.py``).
    """

    camera_id: str
    start_ns: int
    end_ns: int
    best_ns: int
    score: float
    frame_seqs: tuple[int, ...]
    best: Payload
    hits: int = 1
    description: str = ""
    description_source: str = ""
    text_score: float = 0.0


@dataclass(frozen=True, slots=True)
class IndexStats:
    """A consistent snapshot of the index's size, health and counters (for diagnostics).

    ``runs`` counts the closed runs (the coarse level) and ``open_frames`` the frames of runs
    still filling. ``last_recall``/``mean_recall`` are sampled recall@10 of the run level at the
    configured ``probes`` (its health). ``probes`` is the count the planner uses now (raised by
    the recall controller when the configured one misses ``recall_floor``), and
    ``effective_recall`` its sampled recall. ``global_mode`` is ``"exact"`` when no probe count
    within the latency budget reaches the floor and queries are answered by exact scans
    (``mode_reason`` says why), else ``"runs"``.
    """

    live: int
    capacity: int
    runs: int
    open_frames: int
    inserts: int
    evicted_ttl: int
    evicted_capacity: int
    thumbnail_bytes: int
    thumbnails_dropped: int
    exact_queries: int
    run_queries: int
    last_recall: float | None
    mean_recall: float | None
    recall_samples: int
    probes: int
    effective_recall: float | None
    global_mode: str
    mode_reason: str
