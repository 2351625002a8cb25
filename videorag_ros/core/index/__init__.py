"""The temporal index: the robot's bounded visual memory.

A ring of frame embeddings over hnswlib with capacity and TTL eviction, a payload store per
entry (camera, stamp, frame seq, gate reason, optional JPEG thumbnail within a byte budget),
the slow loop's descriptions of moments, a query planner that answers time-window and camera filters by the cheaper of an exact numpy
scan and HNSW (per graph segment), hit-to-moment expansion, a recall controller (beam width,
exact fallback, background rebuilds), and atomic, checksummed snapshots. See docs/index.md.
"""

from __future__ import annotations

from videorag_ros.core.index.descriptions import Description, DescriptionStore, text_match
from videorag_ros.core.index.maintenance import EfController, RecallTracker, compaction_reason, ef_ladder, recall_at_k
from videorag_ros.core.index.moments import build_moments, merge_spans
from videorag_ros.core.index.planner import CostModel, Plan, plan_query, top_k
from videorag_ros.core.index.snapshot import FORMAT_VERSION, SnapshotData, prev_path, read_snapshot, write_snapshot
from videorag_ros.core.index.temporal import TemporalIndex
from videorag_ros.core.index.types import Hit, IndexStats, Moment, Payload

__all__ = [
    "FORMAT_VERSION",
    "CostModel",
    "Description",
    "DescriptionStore",
    "EfController",
    "Hit",
    "IndexStats",
    "Moment",
    "Payload",
    "Plan",
    "RecallTracker",
    "SnapshotData",
    "TemporalIndex",
    "build_moments",
    "compaction_reason",
    "ef_ladder",
    "merge_spans",
    "plan_query",
    "prev_path",
    "read_snapshot",
    "recall_at_k",
    "text_match",
    "top_k",
    "write_snapshot",
]
