"""The encoder's admission budget: never admit frames faster than the encoder drains them.

One worker embeds the admitted frames of every camera, one after the other. Its throughput is
``1 / cost``, where ``cost`` is the running mean of what one admitted frame costs in the
encoder (preprocessing + forward pass), measured on every embedded frame. The gate may fill
``share`` of that throughput:

- per camera: two admissions on one camera are at least ``n * cost / share`` apart, where ``n``
  is the number of cameras that had a frame admitted in the last ``ACTIVE_WINDOW_S`` (this one
  included): a camera alone may use the whole share, busy cameras split it evenly;
- in total: a token bucket refilled at ``share / cost`` tokens a second over all cameras, holding
  up to one token per camera (so an onset on every camera at the same moment is admitted).

Time is the frames' stamps (the glass), so a recording replayed offline is gated as the live
camera would have been. The rest of the CPU (DDS, conversion, the gate, triggers, the memory)
keeps ``1 - share`` of the encoder's time.
"""

from __future__ import annotations

import statistics
import threading
from collections import deque
from collections.abc import Sequence

#: Embedded frames whose median cost is the encoder's cost.
COST_WINDOW = 15
#: A camera counts as busy (sharing the encoder) this long after its last admission.
ACTIVE_WINDOW_S = 1.0


class AdmissionBudget:
    """How fast admissions may come, from the measured encoder cost. Thread-safe."""

    def __init__(self, cameras: Sequence[str], *, share: float, cost_s: float = 0.0) -> None:
        """Create a budget.

        Args:
            cameras: Camera ids sharing the encoder.
            share: Share of the encoder's throughput admissions may use (0 < share <= 1).
            cost_s: Initial cost of one admitted frame in seconds (e.g. a warm-up measurement);
                0 until the first ``record_cost``.

        Raises:
            ValueError: ``share`` outside (0, 1], a negative cost or no camera.
        """
        if not 0.0 < share <= 1.0 or cost_s < 0 or not cameras:
            msg = f"admission budget needs 0 < share <= 1, cost_s >= 0 and a camera; got share {share}, cost_s {cost_s}, cameras {list(cameras)}"
            raise ValueError(msg)
        self._share = share
        self._costs: deque[float] = deque([cost_s] if cost_s > 0 else [], maxlen=COST_WINDOW)
        self._cost_s = cost_s
        self._capacity = float(len(cameras))
        self._tokens = self._capacity
        self._now_ns: int | None = None
        self._last_admit_ns: dict[str, int] = {}
        self._lock = threading.Lock()

    @property
    def cost_s(self) -> float:
        """One admitted frame's encoder cost in seconds: the median of the last ``COST_WINDOW`` (0 before any)."""
        return self._cost_s

    def set_share(self, share: float) -> None:
        """Change the share of the encoder's throughput admissions may use (live tuning).

        Raises:
            ValueError: ``share`` outside (0, 1].
        """
        if not 0.0 < share <= 1.0:
            msg = f"admission budget needs 0 < share <= 1; got {share}"
            raise ValueError(msg)
        with self._lock:
            self._share = share

    def record_cost(self, seconds: float) -> None:
        """Add one embedded frame's preprocessing + forward time.

        Non-finite or negative values are ignored (a clock that jumped is not a measurement).
        """
        if not 0.0 <= seconds < float("inf"):
            return
        with self._lock:
            self._costs.append(seconds)
            self._cost_s = statistics.median(self._costs)

    def camera_interval_s(self, camera_id: str = "", stamp_ns: int | None = None) -> float:
        """Shortest time between two admissions on a camera: ``n * cost / share`` (see the module docs).

        Args:
            camera_id: The camera asking; it always counts as busy.
            stamp_ns: Its frame's stamp; None counts every camera that ever had an admission as busy.
        """
        with self._lock:
            since = None if stamp_ns is None else stamp_ns - round(ACTIVE_WINDOW_S * 1e9)
            busy = {c for c, t in self._last_admit_ns.items() if since is None or t >= since} | {camera_id}
            return len(busy) * self._cost_s / self._share

    def allows(self, stamp_ns: int) -> bool:
        """Whether the shared bucket holds a token for a frame stamped ``stamp_ns`` (refills first)."""
        with self._lock:
            self._refill(stamp_ns)
            return self._cost_s == 0.0 or self._tokens >= 1.0 - 1e-6  # stamps are whole ns: allow their rounding

    def spend(self, camera_id: str, stamp_ns: int) -> None:
        """Take one token for a frame admitted on ``camera_id``."""
        with self._lock:
            self._refill(stamp_ns)
            self._tokens = max(self._tokens - 1.0, -self._capacity)
            self._last_admit_ns[camera_id] = stamp_ns

    def _refill(self, stamp_ns: int) -> None:
        if self._now_ns is None or stamp_ns < self._now_ns - 10**9:
            self._now_ns = stamp_ns  # first frame, or time went back (a looped recording): start over
            self._tokens = self._capacity
            self._last_admit_ns.clear()
            return
        if stamp_ns <= self._now_ns:
            return  # cameras' stamps interleave; time never runs backwards for the bucket
        if self._cost_s > 0.0:
            rate = self._share / self._cost_s
            self._tokens = min(self._capacity, self._tokens + (stamp_ns - self._now_ns) * 1e-9 * rate)
        else:
            self._tokens = self._capacity
        self._now_ns = stamp_ns
