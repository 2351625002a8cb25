"""Writes index_v1_fa881c3.vrag: a snapshot in format version 1 as the release before the run level wrote it.

The committed file was written by this script run against commit fa881c3 (the segmented-HNSW
index): ``git archive fa881c3 | tar -x -C /tmp/before && PYTHONPATH=/tmp/before python
test/unit/data/make_index_v1.py OUT``. test_index_snapshot.py loads it with today's build and
checks every entry, so snapshots saved by robots running that release keep loading.
"""

from __future__ import annotations

import sys

import numpy as np

from videorag_ros.core.index import Payload, TemporalIndex


def vectors() -> np.ndarray:
    """The 60 unit vectors written (the test recomputes them)."""
    v = np.random.default_rng(42).standard_normal((60, 8)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def payload(i: int) -> Payload:
    """The payload of frame ``i`` (the test recomputes it)."""
    thumb = bytes([i]) * 10 if i % 5 == 0 else None
    return Payload("front" if i % 3 else "rear", 1_700_000_000_000_000_000 + i * 100_000_000, 1000 + i, ("motion", "keyframe")[i % 2], thumb)


def main(out: str) -> None:
    """Fill a 48-entry index with 60 frames (12 evicted, some thumbnails dropped by the 64-byte budget) and save it."""
    idx = TemporalIndex(dim=8, capacity=48, ttl_s=0, thumbnail_budget_bytes=64, background=False)
    for i, v in enumerate(vectors()):
        idx.add(v, payload(i))
    idx.save(out)


if __name__ == "__main__":
    main(sys.argv[1])
