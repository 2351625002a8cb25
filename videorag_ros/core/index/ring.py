"""The ring: vectors and payload columns of the remembered frames, in insertion order.

Every entry gets a global number ``g`` (0, 1, 2, ... never reused) and lives in slot
``g % capacity``; the live entries are ``first <= g < next``. So the live entries are always
one logical run of the ring, at most two physical slices of the arrays when it wraps, and a
time window is a sub-run found by binary search (``np.searchsorted``) on a running maximum of
the stamps. The running maximum, not the stamp, is searched so that frames arriving slightly
out of order (several cameras) are still found: ``disorder_ns`` bounds how far a stamp lies
below the running maximum, and the window's upper end is widened by it before the exact stamp
mask is applied.

Not thread-safe by itself: ``TemporalIndex`` holds its lock around every mutation. Readers that
work off-lock (the exact search) only read rows of entries that were live when they started and
check afterwards, under the lock, that those entries are still live (a slot is only rewritten
after its entry was evicted).
"""

from __future__ import annotations

from collections import deque

import numpy as np
import numpy.typing as npt

from videorag_ros.core.errors import TemporalIndexError
from videorag_ros.core.index.snapshot import SnapshotData
from videorag_ros.core.index.types import Payload

MAX_CODES = 4096  # distinct camera ids / gate reasons the ring will intern


class _Codes:
    """Interns strings (camera ids, gate reasons) as small ints for numpy filtering."""

    def __init__(self, kind: str, names: list[str] | None = None) -> None:
        self.kind = kind
        self.names: list[str] = list(names or [])
        self.codes: dict[str, int] = {n: i for i, n in enumerate(self.names)}

    def code(self, name: str) -> int:
        c = self.codes.get(name)
        if c is None:
            if len(self.names) >= MAX_CODES:
                msg = f"index holds {MAX_CODES} distinct {self.kind}s already; cannot add {self.kind} {name!r} (expected a small fixed set)"
                raise TemporalIndexError(msg)
            c = self.codes[name] = len(self.names)
            self.names.append(name)
        return c


class Ring:
    """Fixed-capacity columns of vectors and payloads, addressed by global entry number."""

    def __init__(self, *, dim: int, capacity: int, thumbnail_budget_bytes: int = 0) -> None:
        """Allocate the columns.

        Args:
            dim: Vector dimension.
            capacity: Slots (maximum live entries).
            thumbnail_budget_bytes: Total bytes of JPEG thumbnails kept; the oldest are dropped
                first when a new one does not fit. 0 keeps none.
        """
        self.dim, self.capacity = dim, capacity
        self.thumbnail_budget_bytes = thumbnail_budget_bytes
        self.vectors = np.zeros((capacity, dim), np.float32)
        self.stamps = np.zeros(capacity, np.int64)
        self.runmax = np.zeros(capacity, np.int64)
        self.cams = np.zeros(capacity, np.int32)
        self.seqs = np.zeros(capacity, np.int64)
        self.reasons = np.zeros(capacity, np.int32)
        self.thumbs: list[bytes | None] = [None] * capacity
        self.camera_codes = _Codes("camera id")
        self.reason_codes = _Codes("gate reason")
        self.first = 0  # global number of the oldest live entry
        self.next = 0  # global number the next entry gets
        self.max_ns: int | None = None  # newest stamp seen (running maximum)
        self.disorder_ns = 0  # max over live entries of (running max - stamp)
        self.thumbnail_bytes = 0
        self.thumbnails_dropped = 0
        self._thumb_order: deque[int] = deque()  # g of live entries holding a thumbnail, oldest first

    def __len__(self) -> int:
        return self.next - self.first

    # --- mutation ------------------------------------------------------------------------
    def append(self, vector: npt.NDArray[np.float32], payload: Payload) -> int:
        """Store one entry in the next slot (the caller evicted first if full); returns its g."""
        if len(self) >= self.capacity:
            msg = f"ring is full ({self.capacity} entries); evict before appending"
            raise TemporalIndexError(msg)
        cam = self.camera_codes.code(payload.camera_id)
        reason = self.reason_codes.code(payload.reason)
        g = self.next
        s = g % self.capacity
        stamp = int(payload.stamp_ns)
        self.max_ns = stamp if self.max_ns is None else max(self.max_ns, stamp)
        self.disorder_ns = max(self.disorder_ns, self.max_ns - stamp)
        self.vectors[s] = vector
        self.stamps[s], self.runmax[s], self.cams[s] = stamp, self.max_ns, cam
        self.seqs[s], self.reasons[s] = payload.frame_seq, reason
        self.thumbs[s] = None
        self.next = g + 1
        if payload.thumbnail:
            self._keep_thumbnail(g, payload.thumbnail)
        return g

    def _keep_thumbnail(self, g: int, jpeg: bytes) -> None:
        if len(jpeg) > self.thumbnail_budget_bytes:
            self.thumbnails_dropped += 1
            return
        while self.thumbnail_bytes + len(jpeg) > self.thumbnail_budget_bytes and self._thumb_order:
            old = self._thumb_order.popleft()
            self._drop_thumbnail(old % self.capacity)
            self.thumbnails_dropped += 1
        self.thumbs[g % self.capacity] = jpeg
        self.thumbnail_bytes += len(jpeg)
        self._thumb_order.append(g)

    def _drop_thumbnail(self, s: int) -> None:
        t = self.thumbs[s]
        if t is not None:
            self.thumbnail_bytes -= len(t)
            self.thumbs[s] = None

    def evict_oldest(self) -> int:
        """Forget the oldest live entry (its slot is reused by a later append); returns its g."""
        g = self.first
        if self._thumb_order and self._thumb_order[0] == g:
            self._thumb_order.popleft()
        self._drop_thumbnail(g % self.capacity)
        self.first = g + 1
        return g

    def fill(self, data: SnapshotData) -> None:
        """Load entries into an empty ring, oldest first (the newest ``capacity`` are kept).

        Raises:
            TemporalIndexError: The ring is not empty.
        """
        if self.next:
            msg = f"ring already holds entries up to {self.next}; fill needs a fresh ring"
            raise TemporalIndexError(msg)
        cut = max(0, len(data) - self.capacity)
        n = len(data) - cut
        self.camera_codes = _Codes("camera id", data.camera_names)
        self.reason_codes = _Codes("gate reason", data.reason_names)
        self.vectors[:n] = data.vectors[cut:]
        self.stamps[:n] = data.stamps[cut:]
        self.runmax[:n] = np.maximum.accumulate(self.stamps[:n]) if n else self.runmax[:0]
        self.cams[:n], self.seqs[:n], self.reasons[:n] = data.cameras[cut:], data.seqs[cut:], data.reasons[cut:]
        self.next = n
        self.max_ns = int(self.runmax[n - 1]) if n else None
        self.disorder_ns = int((self.runmax[:n] - self.stamps[:n]).max()) if n else 0
        for g, t in enumerate(data.thumbnails[cut:]):
            if t:
                self._keep_thumbnail(g, t)

    def refresh_disorder(self) -> None:
        """Recompute ``disorder_ns`` over the live entries (it only grows between refreshes)."""
        worst = 0
        for a, b, _ in self.segments(self.first, self.next):
            if b > a:
                worst = max(worst, int((self.runmax[a:b] - self.stamps[a:b]).max()))
        self.disorder_ns = worst

    # --- addressing ----------------------------------------------------------------------
    def segments(self, g_lo: int, g_hi: int) -> list[tuple[int, int, int]]:
        """Physical slices ``(slot_start, slot_end, g_start)`` holding entries ``g_lo <= g < g_hi``, in order.

        At most two slices (one when the run does not wrap); empty when ``g_hi <= g_lo``.
        """
        if g_hi <= g_lo:
            return []
        cap = self.capacity
        a = g_lo % cap
        n = g_hi - g_lo
        if a + n <= cap:
            return [(a, a + n, g_lo)]
        return [(a, cap, g_lo), (0, a + n - cap, g_lo + cap - a)]

    def _find(self, value: int, side: str) -> int:
        """First live g whose running-max stamp is >= value (side 'left') or > value ('right')."""
        g = self.first
        for a, b, g0 in self.segments(self.first, self.next):
            i = int(np.searchsorted(self.runmax[a:b], value, side=side))  # type: ignore[call-overload]
            if i < b - a:
                return g0 + i
            g = g0 + (b - a)
        return g

    def window(self, since_ns: int | None, until_ns: int | None) -> tuple[int, int]:
        """The smallest run ``[g_lo, g_hi)`` of live entries that holds every stamp in ``[since_ns, until_ns]``.

        Entries inside the run may still lie outside the window (out-of-order stamps); apply
        the exact stamp mask on the run.
        """
        lo = self.first if since_ns is None else self._find(since_ns, "left")
        hi = self.next if until_ns is None else self._find(until_ns + self.disorder_ns, "right")
        return lo, max(lo, hi)

    def copy_rows(self, g_lo: int, g_hi: int) -> npt.NDArray[np.float32]:
        """``(g_hi - g_lo, D)`` float32 copy of the vectors of entries ``[g_lo, g_hi)`` (live ones)."""
        parts = [self.vectors[a:b] for a, b, _ in self.segments(g_lo, g_hi)]
        if not parts:
            return np.zeros((0, self.dim), np.float32)
        return np.concatenate(parts) if len(parts) > 1 else parts[0].copy()

    def column(self, col: npt.NDArray[np.int64] | npt.NDArray[np.int32], g_lo: int, g_hi: int) -> npt.NDArray[np.int64]:
        """Copy of one payload column over entries ``[g_lo, g_hi)`` as int64."""
        parts = [col[a:b] for a, b, _ in self.segments(g_lo, g_hi)]
        if not parts:
            return np.zeros(0, np.int64)
        return np.concatenate(parts).astype(np.int64, copy=False) if len(parts) > 1 else parts[0].astype(np.int64)

    def payload(self, g: int) -> Payload:
        """The payload of live entry ``g``."""
        s = g % self.capacity
        return Payload(
            camera_id=self.camera_codes.names[int(self.cams[s])],
            stamp_ns=int(self.stamps[s]),
            frame_seq=int(self.seqs[s]),
            reason=self.reason_codes.names[int(self.reasons[s])],
            thumbnail=self.thumbs[s],
        )

    def camera_mask_codes(self, cameras: list[str] | tuple[str, ...] | set[str] | frozenset[str] | None) -> npt.NDArray[np.int32] | None:
        """Codes of the given camera ids that the ring knows (``None`` = no camera filter)."""
        if cameras is None:
            return None
        return np.asarray(sorted(self.camera_codes.codes[c] for c in cameras if c in self.camera_codes.codes), np.int32)
