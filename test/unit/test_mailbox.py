"""mailbox: latest-wins per camera, drops counted, the camera waiting longest served first."""

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


def test_camera_waiting_longest_first() -> None:
    box: LatestWinsMailbox[str] = LatestWinsMailbox()
    box.put("rear", "r1")
    time.sleep(0.002)
    box.put("front", "f1")
    box.put("rear", "r2")  # replaces r1 (counted) but rear has been waiting since r1
    assert box.take(0.1) == ("rear", "r2")
    assert box.take(0.1) == ("front", "f1")


def test_no_camera_starves_when_the_consumer_is_slower_than_the_cameras() -> None:
    box: LatestWinsMailbox[int] = LatestWinsMailbox()
    served: dict[str, int] = dict.fromkeys(("cam0", "cam1", "cam2", "cam3"), 0)
    for tick in range(400):  # every tick all four cameras deliver, in the same order; one frame is served
        for cam in served:
            box.put(cam, tick)
        got = box.take(0.1)
        assert got is not None
        served[got[0]] += 1
    assert set(served.values()) == {100}
    assert sum(box.dropped.values()) == 4 * 400 - 400 - 3  # the last tick's three are still waiting


def test_close_wakes_waiters() -> None:
    box: LatestWinsMailbox[int] = LatestWinsMailbox()
    out = []
    t = threading.Thread(target=lambda: out.append(box.take(5.0)))
    t.start()
    box.close()
    t.join(1.0)
    assert not t.is_alive() and out == [None]
