"""mailbox: latest-wins per camera, drops counted, oldest camera served first."""

from __future__ import annotations

import threading
import time

from videorag_ros.core.mailbox import LatestWinsMailbox


def test_latest_wins_and_drop_count() -> None:
    box: LatestWinsMailbox[int] = LatestWinsMailbox()
    assert box.put("front", 1) is False
    assert box.put("front", 2) is True
    assert box.put("front", 3) is True
    assert box.take(0.1) == ("front", 3)
    assert box.dropped["front"] == 2
    assert box.take(0.01) is None


def test_oldest_camera_first() -> None:
    box: LatestWinsMailbox[str] = LatestWinsMailbox()
    box.put("rear", "r1")
    time.sleep(0.002)
    box.put("front", "f1")
    box.put("rear", "r2")  # replaces, but keeps its waiting time fair: newest arrival now
    assert box.take(0.1) == ("front", "f1")
    assert box.take(0.1) == ("rear", "r2")


def test_close_wakes_waiters() -> None:
    box: LatestWinsMailbox[int] = LatestWinsMailbox()
    out = []
    t = threading.Thread(target=lambda: out.append(box.take(5.0)))
    t.start()
    box.close()
    t.join(1.0)
    assert not t.is_alive() and out == [None]
