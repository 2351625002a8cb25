"""Index snapshots: one self-checking file, written atomically, the last good one kept.

Layout (all integers little-endian)::

    magic    8 B   b"VRAGIDX\\0"
    version  u32   FORMAT_VERSION
    hlen     u32   length of the JSON header
    blen     u64   length of the body
    sha256   32 B  of header + body
    header   hlen  UTF-8 JSON: dim, count, camera/reason tables, section offsets, metadata,
                   and (version 2) the slow loop's descriptions of moments
    body     blen  vectors <f4 (count x dim), stamps <i8, cameras <i4, frame seqs <i8,
                   reasons <i4, thumbnail lengths <i8 (-1 = none), thumbnail bytes

Entries are stored oldest first; the HNSW graph is not stored (it is rebuilt from the vectors
on load, in the background). No pickle anywhere: the arrays are raw buffers read with
``np.frombuffer`` after the length and checksum checks.

Version 2 added ``descriptions`` to the header (a list of objects, see
``descriptions.Description``); version 1 files are still read (with no descriptions).

Writing goes to a temporary file in the same directory, is fsynced, and renamed over the
target, then the directory is fsynced. Before the rename the current file, when it verifies,
becomes ``<name>.prev``; a corrupt current file is left to be replaced, so ``.prev`` always
holds the last good snapshot.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import numpy.typing as npt

from videorag_ros.core.errors import TemporalIndexError
from videorag_ros.core.index.descriptions import Description
from videorag_ros.core.printable import bounded_repr

MAGIC = b"VRAGIDX\x00"
FORMAT_VERSION = 2
READABLE_VERSIONS = (1, 2)  # version 1: no descriptions
MAX_DESCRIPTIONS = 100_000
_PREFIX = struct.Struct("<8sIIQ32s")
_MAX_HEADER = 64 * 1024 * 1024
MAX_DIM = 16384  # as a model manifest's embedding_dim
MAX_NAMES = 100_000
MAX_NAME_CHARS = 1024
_SECTIONS = (("vectors", "<f4"), ("stamps", "<i8"), ("cameras", "<i4"), ("seqs", "<i8"), ("reasons", "<i4"), ("thumb_lens", "<i8"))


@dataclass(slots=True)
class SnapshotData:
    """Everything a snapshot holds, oldest entry first.

    Attributes:
        dim: Vector dimension.
        vectors: ``(N, dim)`` float32.
        stamps: ``(N,)`` int64 stamps (ns).
        cameras: ``(N,)`` int32 codes into ``camera_names``.
        seqs: ``(N,)`` int64 frame sequence numbers.
        reasons: ``(N,)`` int32 codes into ``reason_names``.
        thumbnails: N JPEG byte strings or None.
        camera_names: Camera id per code.
        reason_names: Gate reason per code.
        meta: Free-form JSON metadata (counters, settings, creation time).
        descriptions: The slow loop's descriptions of moments, oldest first.
    """

    dim: int
    vectors: npt.NDArray[np.float32]
    stamps: npt.NDArray[np.int64]
    cameras: npt.NDArray[np.int32]
    seqs: npt.NDArray[np.int64]
    reasons: npt.NDArray[np.int32]
    thumbnails: list[bytes | None]
    camera_names: list[str]
    reason_names: list[str]
    meta: dict[str, Any] = field(default_factory=dict)
    descriptions: list[Description] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.stamps)


def prev_path(path: str | Path) -> Path:
    """Where the previous good snapshot of ``path`` is kept."""
    p = Path(path)
    return p.with_name(p.name + ".prev")


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _fail(path: Path, what: str) -> TemporalIndexError:
    return TemporalIndexError(f"index snapshot '{path}' {what}")


def _columns(data: SnapshotData) -> list[bytes | memoryview]:
    n = len(data)
    lens = np.asarray([-1 if t is None else len(t) for t in data.thumbnails], "<i8")
    cols: list[npt.NDArray[Any]] = [
        np.ascontiguousarray(data.vectors, "<f4").reshape(n, data.dim),
        np.ascontiguousarray(data.stamps, "<i8"),
        np.ascontiguousarray(data.cameras, "<i4"),
        np.ascontiguousarray(data.seqs, "<i8"),
        np.ascontiguousarray(data.reasons, "<i4"),
        lens,
    ]
    return [c.reshape(-1).view(np.uint8).data for c in cols] + [t for t in data.thumbnails if t]


def write_snapshot(path: str | Path, data: SnapshotData) -> int:
    """Write ``data`` to ``path`` atomically and keep the previous good file as ``<name>.prev``.

    Args:
        path: Target file; its directory must exist.
        data: The snapshot.

    Returns:
        Bytes written.

    Raises:
        TemporalIndexError: Inconsistent data, or the file could not be written (the target
            and its ``.prev`` are left as they were).
    """
    p = Path(path)
    n = len(data)
    if data.vectors.shape != (n, data.dim) or not (len(data.cameras) == len(data.seqs) == len(data.reasons) == len(data.thumbnails) == n):
        raise _fail(p, f"not written: columns disagree (vectors {data.vectors.shape}, {n} stamps, dim {data.dim})")
    parts = _columns(data)
    sections: dict[str, list[int]] = {}
    offset = 0
    for (name, _), part in zip(_SECTIONS, parts, strict=False):
        sections[name] = [offset, len(part)]
        offset += len(part)
    thumbs_total = sum(len(x) for x in parts[len(_SECTIONS) :])
    sections["thumbs"] = [offset, thumbs_total]
    body_len = offset + thumbs_total
    header = json.dumps(
        {"dim": data.dim, "count": n, "camera_names": data.camera_names, "reason_names": data.reason_names, "sections": sections, "meta": data.meta,
         "descriptions": [d.as_dict() for d in data.descriptions]},
        sort_keys=True,
    ).encode()
    tmp = p.with_name(f".{p.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            f.write(_PREFIX.pack(MAGIC, FORMAT_VERSION, len(header), body_len, b"\0" * 32))
            h = hashlib.sha256(header)
            f.write(header)
            for part in parts:
                h.update(part)
                f.write(part)
            f.seek(0)
            f.write(_PREFIX.pack(MAGIC, FORMAT_VERSION, len(header), body_len, h.digest()))
            f.flush()
            os.fsync(f.fileno())
        _keep_previous(p)
        os.replace(tmp, p)
        _fsync_dir(p.parent)
    except OSError as err:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise _fail(p, f"could not be written: {err}") from err
    _verified[str(p)] = _signature(p)
    return _PREFIX.size + len(header) + body_len


def _signature(p: Path) -> tuple[int, int, int] | None:
    try:
        st = p.stat()
    except OSError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


# Files this process wrote or read back intact, by path -> stat signature: rotating such a
# file to .prev needs no re-hash.
_verified: dict[str, tuple[int, int, int] | None] = {}


def _keep_previous(p: Path) -> None:
    """Make the current ``p`` the ``.prev`` copy when it is a good snapshot; leave ``.prev`` alone otherwise."""
    if not p.exists():
        return
    sig = _signature(p)
    if sig is None or _verified.get(str(p)) != sig:
        try:
            read_snapshot(p)
        except TemporalIndexError:
            return  # a bad current file is replaced, the last good .prev stays
    prev = prev_path(p)
    link = prev.with_name(f".{prev.name}.tmp-{os.getpid()}")
    with contextlib.suppress(FileNotFoundError):
        link.unlink()
    try:
        os.link(p, link)
    except OSError:  # no hard links on this filesystem: copy
        import shutil

        shutil.copyfile(p, link)
    os.replace(link, prev)


def _fsync_dir(d: Path) -> None:
    try:
        fd = os.open(d, os.O_RDONLY)
    except OSError:  # not possible on every platform; the rename is still atomic
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _read_exact(f: BinaryIO, n: int) -> bytes:
    chunks, left = [], n
    while left > 0:
        b = f.read(min(left, 1 << 24))
        if not b:
            break
        chunks.append(b)
        left -= len(b)
    return b"".join(chunks)


def read_snapshot(path: str | Path, *, max_bytes: int | None = None) -> SnapshotData:
    """Read and verify a snapshot.

    Args:
        path: The snapshot file (a regular file: a FIFO or device is refused without blocking).
        max_bytes: Largest file accepted (None: no limit); the node passes what its own
            capacity could ever write, so a planted giant file cannot exhaust its memory.

    Returns:
        The snapshot's data (arrays are read-only views of the file's bytes).

    Raises:
        TemporalIndexError: Missing, not a regular file, too large, truncated, corrupt, of
            another format version, or inconsistent; the message names the file and what is wrong.
    """
    p = Path(path)
    try:
        fd = os.open(p, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except FileNotFoundError as err:
        raise _fail(p, "does not exist") from err
    except OSError as err:
        raise _fail(p, f"cannot be opened: {err.strerror or err}") from err
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise _fail(p, "is not a regular file (a FIFO, device or directory); refusing to read it")
    with os.fdopen(fd, "rb") as f:
        size = st.st_size
        if max_bytes is not None and size > max_bytes:
            raise _fail(p, f"is {size} bytes, more than the {max_bytes} this memory could ever have written")
        prefix = f.read(_PREFIX.size)
        if len(prefix) < _PREFIX.size:
            raise _fail(p, f"is truncated: {size} bytes, shorter than the {_PREFIX.size}-byte prefix")
        magic, version, hlen, blen, digest = _PREFIX.unpack(prefix)
        if magic != MAGIC:
            raise _fail(p, f"is not a videorag index snapshot (magic {magic!r}, expected {MAGIC!r})")
        if version not in READABLE_VERSIONS:
            raise _fail(p, f"has format version {version}; this build reads version {FORMAT_VERSION} (and older: {', '.join(map(str, READABLE_VERSIONS[:-1]))})")
        expected = _PREFIX.size + hlen + blen
        if hlen > _MAX_HEADER or size != expected:
            state = "is truncated" if size < expected else "has trailing bytes"
            raise _fail(p, f"{state}: {size} bytes, the prefix says {expected}")
        header_bytes = _read_exact(f, hlen)
        body = _read_exact(f, blen)
    if len(header_bytes) != hlen or len(body) != blen:
        raise _fail(p, "changed while it was read")
    if hashlib.sha256(header_bytes + body).digest() != digest:
        raise _fail(p, "is corrupt: sha256 of header and body does not match the stored checksum")
    data = _parse(p, header_bytes, body)
    _verified[str(p)] = _signature(p)
    return data


def _parse(p: Path, header_bytes: bytes, body: bytes) -> SnapshotData:
    # The checksum proves the file is what its writer wrote, not that its writer was us: every
    # header value is checked for type and range before it sizes anything.
    try:
        header = json.loads(header_bytes.decode())
        dim, n = header["dim"], header["count"]
        cams, reasons = header["camera_names"], header["reason_names"]
        sections = {str(k): (v[0], v[1]) for k, v in header["sections"].items()}
        meta = header.get("meta") or {}
        raw_descriptions = header.get("descriptions", [])
    except (ValueError, KeyError, TypeError, AttributeError, IndexError, RecursionError) as err:
        raise _fail(p, f"has an unreadable header: {type(err).__name__}: {str(err)[:200]}") from err
    if not (_is_int(dim) and 0 < dim <= MAX_DIM and _is_int(n) and 0 <= n <= len(body) // (4 * dim)):
        raise _fail(p, f"has an invalid header (dim {bounded_repr(dim)}, count {bounded_repr(n)}; dim must be 1..{MAX_DIM})")
    names_ok = all(isinstance(x, list) and len(x) <= MAX_NAMES and all(isinstance(v, str) and len(v) <= MAX_NAME_CHARS for v in x) for x in (cams, reasons))
    if not names_ok or not isinstance(meta, dict) or not all(_is_int(o) and _is_int(b) for o, b in sections.values()):
        raise _fail(p, "has an invalid header (camera/reason tables, sections or meta of the wrong type or size)")
    if not isinstance(raw_descriptions, list) or len(raw_descriptions) > MAX_DESCRIPTIONS:
        raise _fail(p, f"has a 'descriptions' entry that is not a list of at most {MAX_DESCRIPTIONS} objects")
    try:
        descriptions = [Description.from_dict(d) for d in raw_descriptions]
    except TemporalIndexError as err:
        raise _fail(p, f"has an invalid description: {err}") from err
    arrays: dict[str, npt.NDArray[Any]] = {}
    for name, dtype in _SECTIONS:
        want = n * np.dtype(dtype).itemsize * (dim if name == "vectors" else 1)
        off, nbytes = sections.get(name, (-1, -1))
        if nbytes != want or off < 0 or off + nbytes > len(body):
            raise _fail(p, f"section '{name}' is {nbytes} bytes at {off}, expected {want} within a {len(body)}-byte body")
        arrays[name] = np.frombuffer(body, dtype=dtype, count=want // np.dtype(dtype).itemsize, offset=off)
    lens = arrays["thumb_lens"]
    t_off, t_len = sections.get("thumbs", (-1, -1))
    if t_off < 0 or t_off + t_len > len(body) or int(lens[lens > 0].sum()) != t_len or (lens < -1).any():
        raise _fail(p, "has inconsistent thumbnail lengths")
    if n and ((arrays["cameras"] < 0).any() or (arrays["cameras"] >= len(cams)).any() or (arrays["reasons"] < 0).any() or (arrays["reasons"] >= len(reasons)).any()):
        raise _fail(p, "has camera or reason codes outside its tables")
    thumbs: list[bytes | None] = []
    pos = t_off
    for ln in lens.tolist():
        if ln < 0:
            thumbs.append(None)
        else:
            thumbs.append(body[pos : pos + ln])
            pos += ln
    vectors = arrays["vectors"].reshape(n, dim).astype(np.float32, copy=False)
    if n and not np.isfinite(vectors).all():
        raise _fail(p, "holds non-finite vectors (NaN or inf)")
    return SnapshotData(
        dim=dim,
        vectors=vectors,
        stamps=arrays["stamps"].astype(np.int64, copy=False),
        cameras=arrays["cameras"].astype(np.int32, copy=False),
        seqs=arrays["seqs"].astype(np.int64, copy=False),
        reasons=arrays["reasons"].astype(np.int32, copy=False),
        thumbnails=thumbs,
        camera_names=cams,
        reason_names=reasons,
        meta=meta,
        descriptions=descriptions,
    )
