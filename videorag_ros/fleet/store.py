"""The fleet store's interface, the filter it takes, and ``open_store`` (which engine a configuration means).

Two engines implement ``FleetStore``:

- ``EdgeStore`` (``edge_store.py``): Qdrant Edge (``qdrant-edge-py``), an in-process shard on
  disk: the embedded default (``fleet.url: ""``, ``fleet.embedded_engine: edge``);
- ``ClientStore`` (``client_store.py``): ``qdrant-client`` against a Qdrant server or cluster
  (``fleet.url``), or in its local mode on disk (``fleet.embedded_engine: local``).

docs/fleet.md says why Edge is the embedded default (measured). Every store is used from one
thread at a time (the exporter's, or a command's).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt

from videorag_ros.core.config import FleetConfig
from videorag_ros.fleet.errors import FleetError
from videorag_ros.fleet.point import FleetPoint, StoredPoint

DEFAULT_EMBEDDED_DIR = "~/.ros/videorag/fleet"
MAX_API_KEY_BYTES = 4096


@dataclass(frozen=True, slots=True)
class FleetFilter:
    """Which points a search, count or delete considers (empty / None = no condition).

    Attributes:
        robots: Robot ids.
        cameras: Camera ids.
        since_ns: Stamp at or after.
        until_ns: Stamp at or before.
        before_ns: Stamp strictly before (the TTL sweep).
        model: Only points embedded by this model (never mix embedding spaces).
        kinds: ``keyframe`` and/or ``moment``.
    """

    robots: tuple[str, ...] = ()
    cameras: tuple[str, ...] = ()
    since_ns: int | None = None
    until_ns: int | None = None
    before_ns: int | None = None
    model: str = ""
    kinds: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class StoreStats:
    """What a store holds.

    Attributes:
        engine: Which engine and where (never credentials).
        dim: Vector size.
        points: Points stored.
        robots: Points per robot id.
        cameras: Points per ``robot/camera``.
        models: Points per model.
        oldest_ns: Smallest stamp (None when empty).
        newest_ns: Largest stamp (None when empty).
        extra: Engine facts (segments, indexed vectors, shards, replicas, on-disk bytes).
    """

    engine: str
    dim: int
    points: int
    robots: dict[str, int] = field(default_factory=dict)
    cameras: dict[str, int] = field(default_factory=dict)
    models: dict[str, int] = field(default_factory=dict)
    oldest_ns: int | None = None
    newest_ns: int | None = None
    extra: dict[str, object] = field(default_factory=dict)


class FleetStore(Protocol):
    """What the exporter and the commands need from a vector store."""

    dim: int

    def describe(self) -> str:
        """Engine and location, for logs and diagnostics (no credentials)."""

    def upsert(self, points: Sequence[FleetPoint]) -> None:
        """Write points (same id: overwritten).

        Raises:
            StoreUnavailable: Down, slow or 5xx (retry later).
            StoreRejected: Refused (do not retry).
        """

    def search(self, vector: npt.NDArray[np.float32], flt: FleetFilter, limit: int) -> list[StoredPoint]:
        """The ``limit`` nearest points (cosine) passing ``flt``, best first; unusable payloads are skipped.

        Raises:
            StoreUnavailable: Down, slow or 5xx.
            StoreRejected: Refused.
        """

    def count(self, flt: FleetFilter) -> int:
        """Points passing ``flt`` (exact)."""

    def delete(self, flt: FleetFilter) -> None:
        """Delete the points passing ``flt`` (a delete-by-filter; the TTL sweep)."""

    def models(self) -> list[str]:
        """Model names of the stored points, most points first."""

    def stats(self) -> StoreStats:
        """Counts per robot, camera and model, the stamp range, engine facts."""

    def optimize(self) -> None:
        """Let the engine index what was written (Edge builds HNSW here; a server does it by itself)."""

    def close(self) -> None:
        """Flush and release the store (files, connections)."""


def embedded_dir(cfg: FleetConfig) -> Path:
    """The embedded store's directory: ``fleet.path`` (default ``~/.ros/videorag/fleet``) / collection."""
    return Path(os.path.expanduser(cfg.path or DEFAULT_EMBEDDED_DIR)) / cfg.collection


def read_api_key(path: str) -> str:
    """The API key in ``path``: a regular file of at most 4 KiB, stripped; never logged.

    Raises:
        FleetError: Missing, not a regular file (a FIFO would block), too big, empty, or not one line.
    """
    from videorag_ros.core.errors import VideoragError
    from videorag_ros.core.safe_files import read_regular_file

    try:
        data = read_regular_file(path, what="fleet API key file", max_bytes=MAX_API_KEY_BYTES)
    except VideoragError as err:
        raise FleetError(str(err)) from err
    key = data.decode("utf-8", "replace").strip()
    if not key or any(c in key for c in "\r\n\x00") or not key.isprintable():
        msg = f"fleet API key file '{path}' must hold one line with the key"
        raise FleetError(msg)
    return key


def key_file_is_private(path: str) -> bool:
    """False when others than the owner may read the key file (worth a warning)."""
    try:
        return not (os.stat(path).st_mode & (stat.S_IRWXG | stat.S_IRWXO))
    except OSError:
        return True


def open_store(cfg: FleetConfig, *, dim: int, create: bool = True) -> FleetStore:
    """The store ``cfg`` names, with its collection checked (and created when ``create``).

    Args:
        cfg: The fleet parameters.
        dim: The encoder's vector size.
        create: Create a missing collection or embedded store (commands that only read pass False).

    Raises:
        SchemaMismatch: The existing collection holds vectors of another size or metric.
        FleetError: The store cannot be opened (missing, in use by another process, unreachable).
        MissingDependencyError: qdrant-client / qdrant-edge-py missing.
    """
    if cfg.url:
        from videorag_ros.fleet.client_store import ClientStore

        key = read_api_key(cfg.api_key_file) if cfg.api_key_file else None
        return ClientStore.connect(cfg, dim=dim, api_key=key, create=create)
    directory = embedded_dir(cfg)
    if cfg.embedded_engine == "local":
        from videorag_ros.fleet.client_store import ClientStore

        return ClientStore.local(directory, cfg, dim=dim, create=create)
    from videorag_ros.fleet.edge_store import EdgeStore

    return EdgeStore.open(directory, cfg, dim=dim, create=create)
