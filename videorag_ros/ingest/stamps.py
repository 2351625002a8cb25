"""Capture stamps: when the light hit the sensor, as well as the stream lets us know it.

Three sources, best first, and the mapper says which one each frame got:

- ``rtcp``: the sender's wall clock. An RTSP camera sends RTCP sender reports that tie its RTP
  timestamps to NTP time; FFmpeg turns the first one into ``start_time_realtime``, the wall-clock
  time of PTS 0, so a frame's capture time is ``start_time_realtime + pts``. Needs the camera's clock to be
  synchronised with ours (NTP/PTP); a stamp in the future or implausibly old is refused.
- ``pts``: the stream's presentation timestamps mapped onto our clock. The offset ``rx - pts``
  is smallest for the frame that travelled fastest; we keep that minimum (re-anchoring on a
  PTS jump, or when the stream's clock falls more than a second behind ours), so stamps advance at the stream's own pace, never lie in the future, and jitter in
  delivery does not show up in them. What the fastest frame spent in transit is not seen.
- ``receive``: when the frame came out of the demuxer here (no timing in the stream).
"""

from __future__ import annotations

import math

STAMP_SOURCES = ("rtcp", "pts", "receive")
# A PTS step larger than this (or backwards) is a discontinuity: a looped file, a restarted
# encoder. The mapping is anchored again.
MAX_PTS_JUMP_S = 5.0
# A pts-mapped stamp further than this behind the receive time means the stream's clock runs
# slow against ours (or its timestamps are made up); the mapping is anchored again.
MAX_PTS_LAG_NS = 1_000_000_000
# rtcp stamps outside [rx - MAX_AGE, rx + MAX_SKEW] mean unsynchronised clocks; such a frame
# falls back to the pts mapping.
MAX_RTCP_SKEW_NS = 500_000_000
MAX_RTCP_AGE_NS = 10_000_000_000


class StampMapper:
    """Maps a stream's timing onto the wall clock, per frame.

    Not thread-safe: one per stream.
    """

    def __init__(self, *, realtime_start_us: int | None = None) -> None:
        """Create a mapper.

        Args:
            realtime_start_us: FFmpeg's ``start_time_realtime``: the wall-clock time of PTS 0 in µs
                since the epoch (from RTCP), or None.
        """
        self._rt_ns = realtime_start_us * 1000 if realtime_start_us and realtime_start_us > 0 else None
        self._offset_ns: int | None = None
        self._last_pts: float | None = None
        self.rtcp_refused = 0
        self.reanchored = 0

    def stamp(self, pts_s: float | None, rx_ns: int) -> tuple[int, str]:
        """The capture stamp of a frame.

        Args:
            pts_s: The frame's presentation time in seconds (None or NaN when it has none).
            rx_ns: When it was received here (``time.time_ns()``).

        Returns:
            ``(stamp_ns, source)`` with ``source`` one of ``STAMP_SOURCES``.
        """
        if pts_s is None or not math.isfinite(pts_s):
            return rx_ns, "receive"
        if self._rt_ns is not None:
            st = self._rt_ns + round(pts_s * 1e9)
            if rx_ns - MAX_RTCP_AGE_NS <= st <= rx_ns + MAX_RTCP_SKEW_NS:
                return min(st, rx_ns), "rtcp"
            self.rtcp_refused += 1
        pts_ns = round(pts_s * 1e9)
        jumped = self._last_pts is not None and not (0 <= pts_s - self._last_pts <= MAX_PTS_JUMP_S)
        self._last_pts = pts_s
        offset = rx_ns - pts_ns
        lagging = self._offset_ns is not None and offset - self._offset_ns > MAX_PTS_LAG_NS
        if self._offset_ns is None or jumped or lagging:
            self.reanchored += jumped or lagging
            self._offset_ns = offset
        else:
            self._offset_ns = min(self._offset_ns, offset)
        return pts_ns + self._offset_ns, "pts"
