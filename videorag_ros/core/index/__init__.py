"""The temporal index: the robot's bounded visual memory.

A ring of frame embeddings with capacity and TTL eviction, a payload store per entry (camera,
stamp, frame seq, gate reason, optional JPEG thumbnail within a byte budget), the slow loop's descriptions of
moments, a coarse level of
per-camera runs of consecutive frames (one centroid each), a query planner that answers global,
time-window and camera-filtered queries by the cheaper of an exact numpy scan and the run level
(best runs' frames scored exactly), hit-to-moment expansion, a recall controller (probe count,
exact fallback), and atomic, checksummed snapshots. See docs/index.md.
"""

from __future__ import annotations

from videorag_ros.core.index.descriptions import Description, DescriptionStore, text_match
from videorag_ros.core.index.maintenance import ProbeController, RecallTracker, probe_ladder, recall_at_k
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
    "Hit",
    "IndexStats",
    "Moment",
    "Payload",
    "Plan",
    "ProbeController",
    "RecallTracker",
    "SnapshotData",
    "TemporalIndex",
    "build_moments",
    "merge_spans",
    "plan_query",
    "prev_path",
    "probe_ladder",
    "read_snapshot",
    "recall_at_k",
    "text_match",
    "top_k",
    "write_snapshot",
]
