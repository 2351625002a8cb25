"""``qdrant-client`` as a fleet store: a Qdrant server or cluster (``fleet.url``), or its local mode on disk.

Server mode creates a missing collection with the fleet's options (docs/fleet.md, "Collection
options"): cosine vectors, ``shard_number`` and ``replication_factor`` from the parameters, payload
on disk, int8 scalar quantization kept in RAM with the originals on disk, and payload indexes on
``stamp_ns`` (integer, range, principal), ``robot_id``, ``camera_id`` and ``model`` (keyword). An
existing collection is checked: another vector size or metric is a ``SchemaMismatch``.

Errors are translated at this boundary: no answer, a timeout, 429 or 5xx → ``StoreUnavailable``
(the exporter retries with backoff); another 4xx or an answer it cannot read → ``StoreRejected``.
qdrant-client rounds request timeouts up to whole seconds.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from videorag_ros.core.config import FleetConfig
from videorag_ros.core.printable import printable
from videorag_ros.fleet.errors import FleetError, SchemaMismatch, StoreRejected, StoreUnavailable, require
from videorag_ros.fleet.point import INDEXED_FIELDS, FleetPoint, StoredPoint
from videorag_ros.fleet.store import FleetFilter, StoreStats

T = TypeVar("T")
MAX_ERROR_CHARS = 300


def _filter(flt: FleetFilter) -> Any:
    from qdrant_client import models

    must: list[Any] = []
    for key, values in (("robot_id", flt.robots), ("camera_id", flt.cameras), ("kind", flt.kinds)):
        if values:
            match = models.MatchValue(value=values[0]) if len(values) == 1 else models.MatchAny(any=list(values))
            must.append(models.FieldCondition(key=key, match=match))
    if flt.model:
        must.append(models.FieldCondition(key="model", match=models.MatchValue(value=flt.model)))
    if flt.since_ns is not None or flt.until_ns is not None or flt.before_ns is not None:
        must.append(models.FieldCondition(key="stamp_ns", range=models.Range(gte=flt.since_ns, lte=flt.until_ns, lt=flt.before_ns)))
    return models.Filter(must=must) if must else None


class ClientStore:
    """A ``FleetStore`` over ``QdrantClient``. Thread-safe (one lock around the client)."""

    def __init__(self, client: Any, collection: str, dim: int, where: str) -> None:
        """Wrap a client whose collection is checked (use ``connect`` or ``local``)."""
        self._client = client
        self._collection = collection
        self.dim = dim
        self._where = where
        self._lock = threading.Lock()

    @classmethod
    def connect(cls, cfg: FleetConfig, *, dim: int, api_key: str | None, create: bool = True) -> ClientStore:
        """A server or cluster at ``cfg.url``; the collection is checked or created.

        Raises:
            StoreUnavailable: The server does not answer (the exporter retries the whole open).
            SchemaMismatch: The collection holds vectors of another size or metric.
            FleetError: The collection is missing and ``create`` is False.
        """
        require("qdrant_client")
        from qdrant_client import QdrantClient

        timeout = max(1, math.ceil(cfg.timeout_s))
        client = QdrantClient(url=cfg.url, api_key=api_key, timeout=timeout, check_compatibility=False, prefer_grpc=False)
        store = cls(client, cfg.collection, dim, f"qdrant {cfg.url} collection '{cfg.collection}'")
        try:
            store._ensure_collection(cfg, create=create)
        except BaseException:
            client.close()
            raise
        return store

    @classmethod
    def local(cls, directory: Path, cfg: FleetConfig, *, dim: int, create: bool = True) -> ClientStore:
        """qdrant-client's local mode in ``directory`` (numpy search in this process, pickled to sqlite).

        Raises:
            FleetError: Missing and not ``create``, or locked by another process.
            SchemaMismatch: Another vector size or metric.
        """
        require("qdrant_client")
        from qdrant_client import QdrantClient

        if not create and not directory.exists():
            msg = f"no embedded fleet store at '{directory}' (engine 'local')"
            raise FleetError(msg)
        try:
            directory.mkdir(parents=True, exist_ok=True)
            client = QdrantClient(path=str(directory))
        except (RuntimeError, OSError) as err:  # portalocker: "Storage folder ... is already accessed by another instance"
            msg = f"cannot open the embedded fleet store '{directory}' (engine 'local'): {printable(err, max_chars=MAX_ERROR_CHARS)}"
            raise FleetError(msg) from err
        store = cls(client, cfg.collection, dim, f"qdrant-client local mode {directory}")
        try:
            store._ensure_collection(cfg, create=create, indexes=False)  # payload indexes have no effect in local mode (it warns)
        except BaseException:
            client.close()
            raise
        return store

    def _ensure_collection(self, cfg: FleetConfig, *, create: bool, indexes: bool = True) -> None:
        from qdrant_client import models

        exists = self._call("collection_exists", lambda c: c.collection_exists(self._collection))
        if exists:
            info = self._call("get_collection", lambda c: c.get_collection(self._collection))
            vectors = info.config.params.vectors
            size, distance = (vectors.size, vectors.distance) if isinstance(vectors, models.VectorParams) else (None, None)
            if size != self.dim or distance != models.Distance.COSINE:
                shown = f"{size}-d vectors ({distance})" if size is not None else "named vectors"
                msg = f"{self._where} holds {shown}, but this model embeds {self.dim}-d (Cosine); use the model that filled it, or another fleet.collection"
                raise SchemaMismatch(msg)
            return
        if not create:
            msg = f"{self._where} does not exist (nothing was exported there yet)"
            raise FleetError(msg)
        int8 = cfg.quantization == "int8"
        quant = models.ScalarQuantization(scalar=models.ScalarQuantizationConfig(type=models.ScalarType.INT8, quantile=0.99, always_ram=True)) if int8 else None
        self._call(
            "create_collection",
            lambda c: c.create_collection(
                self._collection, vectors_config=models.VectorParams(size=self.dim, distance=models.Distance.COSINE, on_disk=int8),
                shard_number=cfg.shard_number, replication_factor=cfg.replication_factor, on_disk_payload=True, quantization_config=quant,
            ),
        )  # fmt: skip
        for name, kind in INDEXED_FIELDS.items() if indexes else ():
            schema: Any = models.IntegerIndexParams(type=models.IntegerIndexType.INTEGER, lookup=False, range=True, is_principal=True) if kind == "integer" else models.PayloadSchemaType.KEYWORD
            self._create_index(name, schema)

    def _create_index(self, name: str, schema: Any) -> None:
        self._call("create_payload_index", lambda c: c.create_payload_index(self._collection, name, field_schema=schema, wait=True))

    def describe(self) -> str:
        """Engine and location (the URL as configured; the key is never shown)."""
        return self._where

    def upsert(self, points: Sequence[FleetPoint]) -> None:
        """Write points, waiting for the server to apply them."""
        from qdrant_client import models

        batch = [models.PointStruct(id=p.point_id, vector=p.vector_list(), payload=p.payload()) for p in points]
        self._call("upsert", lambda c: c.upsert(self._collection, points=batch, wait=True))

    def search(self, vector: npt.NDArray[np.float32], flt: FleetFilter, limit: int) -> list[StoredPoint]:
        """Nearest points, best first."""
        resp = self._call("query_points", lambda c: c.query_points(self._collection, query=[float(v) for v in vector], query_filter=_filter(flt), limit=limit, with_payload=True))
        out = (StoredPoint.from_payload(h.id, float(h.score), h.payload) for h in resp.points)
        return [p for p in out if p is not None]

    def count(self, flt: FleetFilter) -> int:
        """Points passing ``flt`` (exact)."""
        return int(self._call("count", lambda c: c.count(self._collection, count_filter=_filter(flt), exact=True)).count)

    def delete(self, flt: FleetFilter) -> None:
        """Delete by filter."""
        from qdrant_client import models

        f = _filter(flt)
        if f is None:
            raise StoreRejected("refusing a delete without a condition (it would empty the collection)")
        self._call("delete", lambda c: c.delete(self._collection, points_selector=models.FilterSelector(filter=f), wait=True))

    def _facet(self, key: str, flt: FleetFilter | None = None) -> dict[str, int]:
        resp = self._call("facet", lambda c: c.facet(self._collection, key=key, facet_filter=_filter(flt) if flt else None, limit=10_000, exact=True))
        return {str(h.value): int(h.count) for h in resp.hits}

    def models(self) -> list[str]:
        """Model names, most points first."""
        return [m for m, _ in sorted(self._facet("model").items(), key=lambda kv: -kv[1])]

    def _stamp(self, direction: str) -> int | None:
        from qdrant_client import models

        order = models.OrderBy(key="stamp_ns", direction=models.Direction.ASC if direction == "asc" else models.Direction.DESC)
        records, _ = self._call("scroll", lambda c: c.scroll(self._collection, limit=1, order_by=order, with_payload=["stamp_ns"]))
        v = records[0].payload.get("stamp_ns") if records and records[0].payload else None
        return v if isinstance(v, int) else None

    def stats(self) -> StoreStats:
        """Counts per robot, camera and model; stamp range; shards and replicas (server)."""
        info = self._call("get_collection", lambda c: c.get_collection(self._collection))
        robots = self._facet("robot_id")
        cameras: dict[str, int] = {}
        for robot in robots:
            for cam, n in self._facet("camera_id", FleetFilter(robots=(robot,))).items():
                cameras[f"{robot}/{cam}"] = n
        params = info.config.params
        extra: dict[str, object] = {"status": str(info.status), "segments": info.segments_count, "indexed_vectors": info.indexed_vectors_count,
                                    "shard_number": params.shard_number, "replication_factor": params.replication_factor}  # fmt: skip
        return StoreStats(engine=self._where, dim=self.dim, points=int(info.points_count or 0), robots=robots, cameras=cameras, models=self._facet("model"),
                          oldest_ns=self._stamp("asc"), newest_ns=self._stamp("desc"), extra=extra)  # fmt: skip

    def optimize(self) -> None:
        """Nothing to do: a server (and the local mode) index by themselves."""

    def close(self) -> None:
        """Close the client (local mode: releases the directory's lock)."""
        with self._lock:
            self._client.close()

    def _call(self, what: str, fn: Callable[[Any], T]) -> T:
        from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse

        with self._lock:
            try:
                return fn(self._client)
            except UnexpectedResponse as err:
                code = err.status_code or 0
                body = printable(err.content.decode("utf-8", "replace") if isinstance(err.content, bytes) else err.content, max_chars=MAX_ERROR_CHARS)
                msg = f"{self._where}: {what} answered HTTP {code} {printable(err.reason_phrase, max_chars=80)}: {body}"
                if code == 429 or code >= 500:
                    raise StoreUnavailable(msg) from err
                raise StoreRejected(msg) from err
            except ResponseHandlingException as err:  # connection refused, timeout, unreadable answer (httpx underneath)
                cause = err.source if getattr(err, "source", None) is not None else err
                msg = f"{self._where}: {what} failed: {type(cause).__name__}: {printable(str(cause) or '-', max_chars=MAX_ERROR_CHARS)}"
                raise StoreUnavailable(msg) from err
            except (OSError, TimeoutError) as err:
                msg = f"{self._where}: {what} failed: {type(err).__name__}: {printable(str(err) or '-', max_chars=MAX_ERROR_CHARS)}"
                raise StoreUnavailable(msg) from err
            except (ValueError, KeyError, AttributeError) as err:  # pydantic validation of an answer, local-mode errors
                msg = f"{self._where}: {what} failed: {type(err).__name__}: {printable(str(err).splitlines()[0] if str(err) else '-', max_chars=MAX_ERROR_CHARS)}"
                raise StoreRejected(msg) from err
