"""admission: the encoder's budget per camera and over all cameras, from the measured cost."""

from __future__ import annotations

import itertools
import math

import pytest

from videorag_ros.core.admission import COST_WINDOW, AdmissionBudget

MS = 1_000_000


def admit_all(budget: AdmissionBudget, cameras: list[str], *, fps: float, seconds: float) -> dict[str, list[int]]:
    """Every camera offers a frame at ``fps`` (phases spread); what a gate that always wants to admit gets."""
    last: dict[str, int | None] = dict.fromkeys(cameras)
    got: dict[str, list[int]] = {c: [] for c in cameras}
    period = round(1e9 / fps)
    for k in range(round(seconds * fps)):
        for j, cam in enumerate(cameras):
            stamp = k * period + j * period // len(cameras)
            prev = last[cam]
            if prev is not None and (stamp - prev) * 1e-9 < budget.camera_interval_s(cam, stamp) - 1e-6:
                continue
            if budget.allows(stamp):
                budget.spend(cam, stamp)
                got[cam].append(stamp)
                last[cam] = stamp
    return got


def test_one_camera_never_outpaces_the_encoder() -> None:
    budget = AdmissionBudget(["a"], share=0.5, cost_s=0.1)  # the encoder drains 10 frames/s; half of it: 5
    assert budget.camera_interval_s() == pytest.approx(0.2)
    got = admit_all(budget, ["a"], fps=30, seconds=10)["a"]
    assert 49 <= len(got) <= 51
    assert min(b - a for a, b in itertools.pairwise(got)) >= 200 * MS - MS  # one frame of jitter


def test_a_camera_alone_may_use_the_whole_share_busy_cameras_split_it() -> None:
    budget = AdmissionBudget(["a", "b"], share=0.5, cost_s=0.1)
    assert budget.camera_interval_s("a", 0) == pytest.approx(0.2)
    budget.spend("b", 0)
    assert budget.camera_interval_s("a", 500 * MS) == pytest.approx(0.4)  # b is busy: half each
    assert budget.camera_interval_s("a", 1500 * MS) == pytest.approx(0.2)  # b has been idle for a second


def test_cameras_share_the_encoder() -> None:
    budget = AdmissionBudget(["a", "b", "c"], share=0.5, cost_s=0.05)  # 20 frames/s; half: 10 over all cameras
    got = admit_all(budget, ["a", "b", "c"], fps=30, seconds=10)
    total = sum(len(v) for v in got.values())
    assert total <= 10 * 10 + 3  # the rate, plus the initial burst of one per camera
    assert total >= 10 * 10 - 3
    assert min(len(v) for v in got.values()) >= total // 3 - 3  # nobody starves


def test_a_burst_of_one_per_camera_is_allowed_at_once() -> None:
    budget = AdmissionBudget(["a", "b"], share=0.5, cost_s=1.0)
    for cam, stamp in (("a", 0), ("b", 1)):
        assert budget.allows(stamp)
        budget.spend(cam, stamp)
    assert not budget.allows(2)
    assert budget.allows(2_000_000_000)  # refilled at share / cost = 0.5 tokens/s


def test_cost_is_the_median_of_recent_measurements() -> None:
    budget = AdmissionBudget(["a"], share=1.0)
    assert budget.cost_s == 0.0 and budget.camera_interval_s() == 0.0 and budget.allows(0)
    budget.record_cost(0.040)
    assert budget.cost_s == pytest.approx(0.040)  # the first measurement is all there is
    budget.record_cost(1.5)  # one stalled pass (the watchdog's business) ...
    budget.record_cost(0.042)
    assert budget.cost_s == pytest.approx(0.042)  # ... does not make a new throughput
    for _ in range(COST_WINDOW):
        budget.record_cost(0.2)  # a lasting slowdown does
    assert budget.cost_s == pytest.approx(0.2)
    for bad in (math.nan, math.inf, -1.0):
        budget.record_cost(bad)  # not a measurement
    assert budget.cost_s == pytest.approx(0.2)


def test_time_going_back_starts_over() -> None:
    budget = AdmissionBudget(["a"], share=0.5, cost_s=1.0)
    budget.spend("a", 100 * 10**9)
    assert not budget.allows(100 * 10**9 + 1)
    assert budget.allows(5 * 10**9)  # a looped recording: a fresh bucket


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"share": 0.0}, "0 < share <= 1"),  # nothing could ever be admitted
        ({"share": 1.5}, "0 < share <= 1"),  # faster than the encoder drains
        ({"share": 0.5, "cost_s": -0.1}, "cost_s >= 0"),
    ],
)
def test_bad_settings_are_refused(kwargs: dict[str, float], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        AdmissionBudget(["a"], **kwargs)
    with pytest.raises(ValueError, match="a camera"):
        AdmissionBudget([], share=0.5)
