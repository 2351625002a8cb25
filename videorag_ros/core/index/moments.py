"""Hits to moments: each hit grows to the frames within ±context on its camera; overlaps merge.

Pure functions: the neighbour lookup is passed in, so these are tested without an index.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from videorag_ros.core.index.types import Hit, Moment

# (camera_id, lo_ns, hi_ns) -> [(stamp_ns, frame_seq), ...] of remembered frames in [lo, hi]
NeighbourLookup = Callable[[str, int, int], Sequence[tuple[int, int]]]


# A merged moment never grows past this many context half-widths: on a clip where every frame
# matches (a person in view for minutes) overlapping windows would otherwise chain into one
# moment the length of the memory, which answers "when?" with "always".
MAX_SPAN_CONTEXTS = 4


@dataclass
class _Span:
    lo: int
    hi: int
    hits: list[Hit]


def merge_spans(hits: Sequence[Hit], context_ns: int, *, max_span_ns: int | None = None) -> list[tuple[str, int, int, list[Hit]]]:
    """Group hits per camera into disjoint spans grown around the best hits.

    Hits are taken best score first. Each hit's window ``[stamp - context, stamp + context]``
    merges with the spans it overlaps or touches on the same camera, as long as the merged
    span stays within ``max_span_ns``. When it would not, a hit inside a span just joins it,
    and a hit outside starts its own span, clipped so that spans never overlap.

    Args:
        hits: Search hits (any order).
        context_ns: Half-width of each hit's window; 0 keeps one span per distinct stamp.
        max_span_ns: Longest merged span (default ``MAX_SPAN_CONTEXTS * context_ns``).

    Returns:
        ``(camera_id, lo_ns, hi_ns, hits)`` per span, ordered by camera then time.
    """
    limit = MAX_SPAN_CONTEXTS * context_ns if max_span_ns is None else max_span_ns
    by_cam: dict[str, list[_Span]] = {}  # per camera: disjoint spans sorted by time
    for h in sorted(hits, key=lambda h: (-h.score, h.payload.stamp_ns)):
        t = h.payload.stamp_ns
        spans = by_cam.setdefault(h.payload.camera_id, [])
        lo, hi = t - context_ns, t + context_ns
        # Spans are disjoint and sorted, so the ones touching [lo, hi] are a contiguous run
        # ending just before the first span that starts after hi.
        end = bisect.bisect_right(spans, hi, key=lambda sp: sp.lo)
        start = end
        while start > 0 and spans[start - 1].hi >= lo:
            start -= 1
        near = spans[start:end]
        if near and max(hi, near[-1].hi) - min(lo, near[0].lo) <= limit:
            merged = near[0]
            merged.lo, merged.hi = min(lo, merged.lo), max(hi, near[-1].hi)
            for sp in near[1:]:
                merged.hits += sp.hits
            merged.hits.append(h)
            del spans[start + 1 : end]
            continue
        home = next((sp for sp in near if sp.lo <= t <= sp.hi), None)
        if home is not None:
            home.hits.append(h)
            continue
        for sp in near:  # too long to merge: stay clear of the neighbours
            if sp.hi < t:
                lo = max(lo, sp.hi + 1)
            else:
                hi = min(hi, sp.lo - 1)
        spans.insert(bisect.bisect_right(spans, lo, key=lambda sp: sp.lo), _Span(lo, hi, [h]))
    return [(cam, sp.lo, sp.hi, sp.hits) for cam in sorted(by_cam) for sp in by_cam[cam]]


def build_moments(hits: Sequence[Hit], context_ns: int, neighbours: NeighbourLookup, k: int) -> list[Moment]:
    """The ``k`` best moments around ``hits``, best score first.

    Args:
        hits: Search hits.
        context_ns: Frames within this many ns of a hit (same camera) join its moment.
        neighbours: Remembered ``(stamp_ns, frame_seq)`` of a camera in ``[lo, hi]`` ns.
        k: Moments wanted.

    Returns:
        Moments; ``start_ns``/``end_ns`` are the stamps of the first and last remembered frame
        inside the merged span (the hits themselves when nothing else is remembered there).
    """
    moments: list[Moment] = []
    for cam, lo, hi, span_hits in merge_spans(hits, context_ns):
        best = max(span_hits, key=lambda h: (h.score, -h.payload.stamp_ns))
        frames = sorted(set(neighbours(cam, lo, hi)) | {(h.payload.stamp_ns, h.payload.frame_seq) for h in span_hits})
        moments.append(
            Moment(
                camera_id=cam,
                start_ns=frames[0][0],
                end_ns=frames[-1][0],
                best_ns=best.payload.stamp_ns,
                score=best.score,
                frame_seqs=tuple(seq for _, seq in frames),
                best=best.payload,
                hits=len(span_hits),
            )
        )
    moments.sort(key=lambda m: (-m.score, m.best_ns))
    return moments[:k]
