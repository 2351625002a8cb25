"""Hits to moments: each hit grows to the frames within ±context on its camera; overlaps merge.

Pure functions: the neighbour lookup is passed in, so these are tested without an index.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from videorag_ros.core.index.types import Hit, Moment

# (camera_id, lo_ns, hi_ns) -> [(stamp_ns, frame_seq), ...] of remembered frames in [lo, hi]
NeighbourLookup = Callable[[str, int, int], Sequence[tuple[int, int]]]


def merge_spans(hits: Sequence[Hit], context_ns: int) -> list[tuple[str, int, int, list[Hit]]]:
    """Group hits per camera into disjoint spans ``[stamp - context, stamp + context]``, merged when they overlap.

    Args:
        hits: Search hits (any order).
        context_ns: Half-width of each hit's span; 0 keeps one span per distinct stamp.

    Returns:
        ``(camera_id, lo_ns, hi_ns, hits)`` per merged span; spans touching or overlapping
        on the same camera are one span.
    """
    by_cam: dict[str, list[Hit]] = {}
    for h in hits:
        by_cam.setdefault(h.payload.camera_id, []).append(h)
    spans: list[tuple[str, int, int, list[Hit]]] = []
    for cam, cam_hits in by_cam.items():
        cam_hits.sort(key=lambda h: h.payload.stamp_ns)
        cur: tuple[int, int, list[Hit]] | None = None
        for h in cam_hits:
            lo, hi = h.payload.stamp_ns - context_ns, h.payload.stamp_ns + context_ns
            if cur is not None and lo <= cur[1]:
                cur = (cur[0], max(cur[1], hi), [*cur[2], h])
            else:
                if cur is not None:
                    spans.append((cam, *cur))
                cur = (lo, hi, [h])
        if cur is not None:
            spans.append((cam, *cur))
    return spans


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
