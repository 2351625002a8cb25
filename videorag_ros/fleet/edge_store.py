"""The embedded store: a Qdrant Edge shard (``qdrant-edge-py``) in a directory, in this process.

Qdrant's own storage, HNSW, payload indexes, scalar quantization and filtered search, without a
server: the robot's fleet memory keeps working with no network, and ``videorag fleet query`` reads
the same directory. A shard is opened by one process at a time (its write-ahead log is locked);
a second opener gets a ``FleetError`` saying so. Edge indexes only when asked: ``optimize`` (the
exporter calls it after each TTL sweep and at shutdown; ``fleet ingest`` at its end) turns the
appended segments into HNSW-indexed ones; until then search is exact over them.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from videorag_ros.core.config import FleetConfig
from videorag_ros.fleet.errors import FleetError, SchemaMismatch, StoreRejected, require
from videorag_ros.fleet.point import INDEXED_FIELDS, FleetPoint, StoredPoint
from videorag_ros.fleet.store import FleetFilter, StoreStats

CONFIG_FILE = "edge_config.json"
MAX_CONFIG_BYTES = 1 << 20


def _filter(flt: FleetFilter) -> Any:
    """A qdrant_edge Filter for ``flt`` (None when it has no condition)."""
    from qdrant_edge import FieldCondition, Filter, MatchAny, MatchValue, RangeFloat

    must: list[Any] = []
    for key, values in (("robot_id", flt.robots), ("camera_id", flt.cameras), ("kind", flt.kinds)):
        if values:
            must.append(FieldCondition(key=key, match=MatchValue(values[0]) if len(values) == 1 else MatchAny(list(values))))
    if flt.model:
        must.append(FieldCondition(key="model", match=MatchValue(flt.model)))
    if flt.since_ns is not None or flt.until_ns is not None or flt.before_ns is not None:
        rng = RangeFloat(
            gte=float(flt.since_ns) if flt.since_ns is not None else None,
            lte=float(flt.until_ns) if flt.until_ns is not None else None,
            lt=float(flt.before_ns) if flt.before_ns is not None else None,
        )
        must.append(FieldCondition(key="stamp_ns", range=rng))
    return Filter(must=must) if must else None


def read_shard_config(directory: Path) -> tuple[int, str] | None:
    """``(vector size, distance)`` of an existing shard, from its ``edge_config.json``; None when there is none.

    Raises:
        FleetError: The file exists but is not a readable shard configuration.
    """
    from videorag_ros.core.errors import VideoragError
    from videorag_ros.core.safe_files import read_regular_file

    path = directory / CONFIG_FILE
    if not path.exists():
        return None
    try:
        doc = json.loads(read_regular_file(path, what="Qdrant Edge shard configuration", max_bytes=MAX_CONFIG_BYTES))
        vec = doc["vectors"][""]
        return int(vec["size"]), str(vec["distance"])
    except (VideoragError, ValueError, KeyError, TypeError) as err:
        msg = f"'{path}' is not a Qdrant Edge shard configuration ({type(err).__name__}: {err}); is fleet.path another store's directory?"
        raise FleetError(msg) from err


class EdgeStore:
    """A ``FleetStore`` on a Qdrant Edge shard. Thread-safe (one lock around the shard)."""

    def __init__(self, shard: Any, directory: Path, dim: int) -> None:
        """Wrap an open shard (use ``EdgeStore.open``)."""
        self._shard = shard
        self._dir = directory
        self.dim = dim
        self._lock = threading.Lock()

    @classmethod
    def open(cls, directory: Path, cfg: FleetConfig, *, dim: int, create: bool = True) -> EdgeStore:
        """Open (or create) the shard in ``directory``.

        Raises:
            SchemaMismatch: The shard holds vectors of another size or metric.
            FleetError: No shard there (and ``create`` is False), or another process has it open.
        """
        require("qdrant_edge")
        from qdrant_edge import (
            Distance,
            EdgeConfig,
            EdgeShard,
            EdgeVectorParams,
            IntegerIndexParams,
            KeywordIndexParams,
            Memory,
            ScalarQuantizationConfig,
            ScalarType,
            UpdateOperation,
        )

        existing = read_shard_config(directory)
        if existing is not None:
            size, distance = existing
            if size != dim or distance.lower() != "cosine":
                msg = (f"the embedded fleet store '{directory}' holds {size}-d vectors ({distance}), but this model embeds {dim}-d (Cosine); "
                       "use the model that filled it, or another fleet.collection / fleet.path")  # fmt: skip
                raise SchemaMismatch(msg)
            try:
                shard = EdgeShard.load(str(directory))
            except Exception as err:  # qdrant_edge raises plain Exception with the engine's message
                raise FleetError(_open_error(directory, err)) from err
            return cls(shard, directory, dim)
        if not create:
            msg = f"no embedded fleet store at '{directory}' (nothing was exported or ingested there yet; see fleet.path / --path)"
            raise FleetError(msg)
        quant = ScalarQuantizationConfig(type=ScalarType.Int8, quantile=0.99, memory=Memory.Pinned) if cfg.quantization == "int8" else None
        vectors = EdgeVectorParams(size=dim, distance=Distance.Cosine, memory=Memory.Cold if quant is not None else None, quantization_config=quant)
        try:
            directory.parent.mkdir(parents=True, exist_ok=True)
            shard = EdgeShard.create(str(directory), EdgeConfig(vectors=vectors, payload_memory=Memory.Cold))
            for name, kind in INDEXED_FIELDS.items():
                schema = IntegerIndexParams(lookup=False, range=True, is_principal=True) if kind == "integer" else KeywordIndexParams()
                shard.update(UpdateOperation.create_field_index(name, schema))
        except OSError as err:
            msg = f"cannot create the embedded fleet store '{directory}': {err.strerror or err}"
            raise FleetError(msg) from err
        except Exception as err:
            raise FleetError(_open_error(directory, err)) from err
        return cls(shard, directory, dim)

    def describe(self) -> str:
        """``qdrant-edge <dir>``."""
        return f"qdrant-edge {self._dir}"

    def upsert(self, points: Sequence[FleetPoint]) -> None:
        """Write points (see ``FleetStore.upsert``)."""
        from qdrant_edge import Point, UpdateOperation

        batch = [Point(p.point_id, p.vector_list(), p.payload()) for p in points]
        self._call("upsert", lambda s: s.update(UpdateOperation.upsert_points(batch)))

    def search(self, vector: npt.NDArray[np.float32], flt: FleetFilter, limit: int) -> list[StoredPoint]:
        """Nearest points (see ``FleetStore.search``)."""
        from qdrant_edge import Query, QueryRequest

        req = QueryRequest(limit=limit, query=Query.Nearest([float(v) for v in vector]), filter=_filter(flt), with_payload=True)
        hits = self._call("query", lambda s: s.query(req))
        out = (StoredPoint.from_payload(h.id, float(h.score), h.payload) for h in hits)
        return [p for p in out if p is not None]

    def count(self, flt: FleetFilter) -> int:
        """Points passing ``flt``."""
        from qdrant_edge import CountRequest

        return int(self._call("count", lambda s: s.count(CountRequest(exact=True, filter=_filter(flt)))))

    def delete(self, flt: FleetFilter) -> None:
        """Delete by filter."""
        from qdrant_edge import UpdateOperation

        f = _filter(flt)
        if f is None:
            raise StoreRejected("refusing a delete without a condition (it would empty the store)")
        self._call("delete", lambda s: s.update(UpdateOperation.delete_points_by_filter(f)))

    def _facet(self, key: str, flt: FleetFilter | None = None) -> dict[str, int]:
        from qdrant_edge import FacetRequest

        resp = self._call("facet", lambda s: s.facet(FacetRequest(key=key, limit=10_000, exact=True, filter=_filter(flt) if flt else None)))
        return {str(h.value): int(h.count) for h in resp.hits}

    def models(self) -> list[str]:
        """Model names, most points first."""
        return [m for m, _ in sorted(self._facet("model").items(), key=lambda kv: -kv[1])]

    def _edge_stamp(self, direction: str) -> int | None:
        from qdrant_edge import Direction, OrderBy, ScrollRequest

        order = OrderBy(key="stamp_ns", direction=Direction.Asc if direction == "asc" else Direction.Desc)
        records, _ = self._call("scroll", lambda s: s.scroll(ScrollRequest(limit=1, order_by=order, with_payload=["stamp_ns"])))
        if not records or not isinstance(records[0].payload, dict):
            return None
        v = records[0].payload.get("stamp_ns")
        return v if isinstance(v, int) else None

    def stats(self) -> StoreStats:
        """Counts, stamp range, segments."""
        info = self._call("info", lambda s: s.info())
        robots = self._facet("robot_id")
        cameras: dict[str, int] = {}
        for robot in robots:
            for cam, n in self._facet("camera_id", FleetFilter(robots=(robot,))).items():
                cameras[f"{robot}/{cam}"] = n
        size = sum(f.stat().st_size for f in self._dir.rglob("*") if f.is_file())
        return StoreStats(
            engine=self.describe(), dim=self.dim, points=int(info.points_count), robots=robots, cameras=cameras, models=self._facet("model"),
            oldest_ns=self._edge_stamp("asc"), newest_ns=self._edge_stamp("desc"),
            extra={"segments": int(info.segments_count), "indexed_vectors": int(info.indexed_vectors_count), "disk_bytes": size},
        )  # fmt: skip

    def optimize(self) -> None:
        """Build HNSW over the appended segments (blocking)."""
        self._call("optimize", lambda s: s.optimize())

    def close(self) -> None:
        """Flush and close the shard."""
        with self._lock:
            if self._shard is None:
                return
            try:
                self._shard.flush()
                self._shard.close()
            finally:
                self._shard = None

    def _call(self, what: str, fn: Any) -> Any:
        with self._lock:
            if self._shard is None:
                msg = f"the embedded fleet store '{self._dir}' is closed"
                raise FleetError(msg)
            try:
                return fn(self._shard)
            except Exception as err:  # qdrant_edge raises plain Exception: a rejected operation (bad filter, disk full)
                msg = f"qdrant-edge {what} on '{self._dir}' failed: {str(err).splitlines()[0] if str(err) else type(err).__name__}"
                raise StoreRejected(msg) from err


def _open_error(directory: Path, err: Exception) -> str:
    text = str(err).splitlines()[0] if str(err) else type(err).__name__
    if "WouldBlock" in text or "lock" in text.lower():
        return f"the embedded fleet store '{directory}' is open in another process (an edge node with fleet.enabled, or another command); stop it or use a server (fleet.url)"
    return f"cannot open the embedded fleet store '{directory}': {text}"
