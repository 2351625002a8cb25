"""Per-camera conversion threads: latest-wins input, a CPU budget per camera, bad input counted."""

from __future__ import annotations

import threading
import time

import pytest

from videorag_ros.core.converter import CpuBudget, FrameConverter
from videorag_ros.core.errors import FrameError


def test_budget_refills_at_its_share_and_blocks_while_in_debt() -> None:
    b = CpuBudget(0.5, burst_s=1.0, now=0.0)
    assert b.allows(0.0)
    b.charge(0.9, now=0.0)  # 0.5 in the bucket, 0.9 spent: 0.4 in debt
    assert not b.allows(0.5)  # 0.25 refilled: still -0.15
    assert b.allows(0.81)  # 0.405 refilled: out of debt
    b.charge(0.0, now=100.0)
    assert b._tokens == pytest.approx(0.5)  # never holds more than share x burst


def _busy(seconds: float) -> None:
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass


def test_a_costly_camera_is_held_to_its_share_and_others_are_unaffected() -> None:
    delivered: dict[str, int] = {"cheap": 0, "costly": 0}
    lock = threading.Lock()

    def deliver(cam: str, item: object, rgb: object, ms: float) -> None:
        with lock:
            delivered[cam] += 1

    def reject(cam: str, item: object, err: FrameError) -> None:  # pragma: no cover - not expected here
        raise AssertionError(err)

    cheap = FrameConverter("cheap", lambda item: item, deliver, reject, cpu_share=0.3)
    costly = FrameConverter("costly", lambda item: _busy(0.05) or item, deliver, reject, cpu_share=0.3, burst_s=0.2)
    try:
        t_end = time.monotonic() + 1.5
        sent = 0
        while time.monotonic() < t_end:
            cheap.put(sent)
            costly.put(sent)
            sent += 1
            time.sleep(1 / 60)
        time.sleep(0.2)
    finally:
        cheap.close()
        costly.close()
    c = costly.stats()
    assert c.over_budget > 0  # the costly camera ran into its budget ...
    assert c.cpu_s <= 0.3 * 1.7 + 0.2 * 0.3 + 0.06  # ... and never used much more than its share of a core
    assert cheap.stats().over_budget == 0 and delivered["cheap"] >= 0.6 * sent  # the cheap camera kept up


def test_bad_input_and_decoder_bugs_are_rejected_not_fatal() -> None:
    rejected: list[str] = []

    def convert(item: str) -> object:
        if item == "bad":
            raise FrameError("not an image")
        if item == "bug":
            raise ZeroDivisionError("decoder bug")
        return item

    conv = FrameConverter("cam", convert, lambda *a: None, lambda cam, item, err: rejected.append(str(err)), cpu_share=1.0)
    try:
        for item in ("bad", "bug", "ok"):
            conv.put(item)
            time.sleep(0.05)
        time.sleep(0.1)
        assert conv.is_alive()
    finally:
        conv.close()
    assert rejected[0] == "not an image" and "unexpected ZeroDivisionError" in rejected[1]
    s = conv.stats()
    assert (s.rejected, s.converted) == (2, 1)
