"""index health: sampled recall, the probe-count controller, exact mode, bounded memory, background sampling."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from videorag_ros.core.index import CostModel, Payload, ProbeController, RecallTracker, TemporalIndex, probe_ladder, recall_at_k

S = 1_000_000_000
# exact scans priced out, the run level nearly free: every query goes through the runs, and the
# recall controller may try every probe count
RUNS_ALWAYS = CostModel(exact_ns_per_element=0.001, exact_base_ns=1e9, runs_base_ns=0.0, gather_ns_per_element=0.001)


def _unit(rng: np.random.Generator, n: int, d: int) -> np.ndarray:
    v = rng.standard_normal((n, d)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _walk(rng: np.random.Generator, n: int, d: int, step: float = 0.15, cut_every: int = 200) -> np.ndarray:
    out = np.empty((n, d), np.float32)
    v = _unit(rng, 1, d)[0]
    for i in range(n):
        v = _unit(rng, 1, d)[0] if i % cut_every == 0 else v + rng.standard_normal(d).astype(np.float32) * step / np.sqrt(d)
        v /= np.linalg.norm(v)
        out[i] = v
    return out


def test_recall_helpers() -> None:
    assert recall_at_k([1, 2, 3], [1, 2, 4, 5]) == 0.5
    assert recall_at_k([], []) == 1.0
    tr = RecallTracker(window=3)
    for r in (0.2, 1.0, 1.0, 0.7):
        tr.add(r)
    assert tr.last == 0.7 and tr.mean == pytest.approx(0.9) and len(tr) == 3 and tr.total == 4
    tr.clear()
    assert tr.mean is None and tr.total == 4


def test_memory_stays_bounded_over_many_turnovers() -> None:
    idx = TemporalIndex(dim=4, capacity=50, ttl_s=0.3, thumbnail_budget_bytes=500, run_frames=4, background=False)
    data = _unit(np.random.default_rng(7), 64, 4)
    for i in range(5_000):  # bursts and gaps: TTL and capacity eviction alternate
        t = (i // 100) * S + (i % 100) * S // 1000
        idx.add(data[i % 64], Payload(f"cam{i % 3}", t, i, "motion", b"j" * 40))
        st = idx.stats()
        assert st.live <= 50 and st.thumbnail_bytes <= 500
        assert st.runs <= 50 // 4 + 3 and st.open_frames <= 3 * 3  # one straddling run per camera at most; open runs < run_frames
    assert len(idx._ring._thumb_order) <= 50 and idx._runs.slots <= 2 * (50 // 4 + 8)


def _controller(samples: dict[int, list[float]]) -> ProbeController:
    ctl = ProbeController(margin=0.02)
    for p, rs in samples.items():
        for r in rs:
            ctl.add(p, r)
    return ctl


@pytest.mark.parametrize(
    ("samples", "current", "expected"),
    [
        ({16: [0.5] * 2, 32: [0.95] * 2}, 16, None),  # too few samples to decide anything
        ({16: [0.5] * 3, 32: [0.92] * 3, 64: [0.99] * 3}, 16, 32),  # the smallest count reaching the floor
        ({16: [0.5] * 3, 32: [0.7] * 3, 64: [0.8] * 3}, 16, 0),  # none within the budget: answer exactly
        ({16: [0.91] * 3, 32: [0.99] * 3}, 32, 32),  # 16 is over the floor but not by the margin: stay
        ({16: [0.95] * 3, 32: [0.99] * 3}, 32, 16),  # 16 clears floor + margin: step down
    ],
)
def test_probe_controller_choice(samples: dict[int, list[float]], current: int, expected: int | None) -> None:
    assert _controller(samples).choose([16, 32, 64][: len(samples)], floor=0.9, min_samples=3, current=current) == expected


def test_probe_ladder_and_budget() -> None:
    assert probe_ladder(32, 300) == [32, 64, 128, 256]
    assert probe_ladder(32, 10) == [32]  # the configured count is always sampled
    cost = CostModel(exact_ns_per_element=0.2, exact_base_ns=0.0, runs_base_ns=100_000.0, gather_ns_per_element=1.0)
    # 3 ms - 0.1 ms base - 1 000 centroids x 512 x 0.2 ns (0.1024 ms) = 2.7976 ms left; a probe scores 64 rows in place: 6.5536 us
    assert cost.max_probes(budget_ns=3e6, runs=1_000, per_probe=(64.0, 0.0), fixed=(0.0, 0.0), dim=512) == 426
    assert cost.max_probes(budget_ns=3e6, runs=1_000, per_probe=(0.0, 32.0), fixed=(0.0, 0.0), dim=512) == 170  # gathered: 16.384 us
    assert cost.max_probes(budget_ns=1e5, runs=10, per_probe=(64.0, 0.0), fixed=(0.0, 0.0), dim=512) == 0


def _walk_index(**kw: object) -> tuple[TemporalIndex, np.ndarray]:
    """1 200 video-like 32-d frames of one camera in a 1 200 ring, runs of 8 (150 runs)."""
    rng = np.random.default_rng(11)
    args: dict = {"dim": 32, "capacity": 1_200, "ttl_s": 0, "run_frames": 8, "probes": 1, "recall_floor": 0.9}
    args |= {"recall_sample_every": 1, "recall_min_samples": 4, "background": False, "cost": RUNS_ALWAYS} | kw
    idx = TemporalIndex(**args)
    data = _walk(rng, 1_200, 32)
    for i, v in enumerate(data):
        idx.add(v, Payload("front", i, i, "motion"))
    return idx, data


def _queries(rng: np.random.Generator, data: np.ndarray, n: int) -> np.ndarray:
    q = data[rng.integers(0, len(data), n)] + rng.standard_normal((n, data.shape[1])).astype(np.float32) * 0.03
    return q / np.linalg.norm(q, axis=1, keepdims=True)


def test_recall_controller_raises_the_probe_count_until_the_floor() -> None:
    idx, data = _walk_index()
    rng = np.random.default_rng(12)
    for q in _queries(rng, data, 24):
        idx.search(q, 10)
    st = idx.stats()
    assert st.mean_recall is not None and st.mean_recall < 0.9  # one run cannot hold a query's ten neighbours
    assert st.global_mode == "runs" and st.probes > 1 and st.effective_recall is not None and st.effective_recall >= 0.9
    recalls = []
    for q in _queries(rng, data, 20):
        exact = {h.payload.frame_seq for h in idx.search(q, 10, method="exact")}
        got = idx.search(q, 10)
        # the plan probes what the controller chose, or more when that holds fewer than 2 k = 20 rows (3 runs of 8)
        assert idx.last_plan is not None and idx.last_plan.method == "runs" and idx.last_plan.probes == max(st.probes, 3)
        recalls.append(len(exact & {h.payload.frame_seq for h in got}) / 10)
    assert np.mean(recalls) >= 0.85  # what users get now (the controller aims at 0.9 on its samples)


def test_recall_controller_answers_exactly_when_no_count_in_budget_reaches_the_floor() -> None:
    """i.i.d. vectors: a run's centroid says nothing about its frames; a 1 us budget allows the configured 8 probes only."""
    rng = np.random.default_rng(13)
    idx = TemporalIndex(
        dim=48, capacity=1_200, ttl_s=0, run_frames=8, probes=8, recall_floor=0.99, recall_sample_every=1, recall_min_samples=4,
        background=False, cost=RUNS_ALWAYS, search_budget_ms=0.000001,
    )  # fmt: skip
    for i, v in enumerate(_unit(rng, 1_200, 48)):
        idx.add(v, Payload("front", i, i, "motion"))
    for q in _unit(rng, 12, 48):
        idx.search(q, 10)
    st = idx.stats()
    assert st.global_mode == "exact" and "at 8 probes" in st.mode_reason and "under the floor 0.99" in st.mode_reason
    for q in _unit(rng, 5, 48):
        exact = [h.payload.frame_seq for h in idx.search(q, 10, method="exact")]
        assert [h.payload.frame_seq for h in idx.search(q, 10)] == exact  # exact answers, never silent low recall
        plan = idx.last_plan
        assert plan is not None and plan.method == "exact" and "under the floor 0.99: exact scan" in plan.reason
    idx.recall_floor = 0.0001  # easier data (here: an easier floor): sampling continues and the run level comes back
    for q in _unit(rng, 6, 48):
        idx.search(q, 10)
    assert idx.stats().global_mode == "runs" and idx.stats().mode_reason == ""


def test_filtered_queries_are_sampled_with_their_filters() -> None:
    idx, data = _walk_index(probes=2, recall_floor=0.0)
    rng = np.random.default_rng(14)
    for q in _queries(rng, data, 10):
        idx.search(q, 10, since_ns=200, until_ns=900)  # 700 frames: the run level answers (cost model)
    st = idx.stats()
    assert st.recall_samples == 10 and st.mean_recall is not None and st.mean_recall > 0.5


def test_background_sampling_while_inserting() -> None:
    rng = np.random.default_rng(6)
    data = _walk(rng, 6_000, 16)
    idx = TemporalIndex(dim=16, capacity=3_000, ttl_s=0, run_frames=8, cost=RUNS_ALWAYS, recall_sample_every=1)
    try:
        for i in range(3_000):
            idx.add(data[i], Payload("front", i, i, "motion"))
        done = threading.Event()

        def writer() -> None:
            for i in range(3_000, 6_000):
                idx.add(data[i], Payload("front", i, i, "motion"))
            done.set()

        t = threading.Thread(target=writer)
        t.start()
        searches = 0
        while not done.is_set() or searches < 20:  # a fast writer may finish before the first search
            searches += 1
            q = data[int(rng.integers(6_000))]
            for h in idx.search(q, 5):
                assert h.score == pytest.approx(float(data[h.payload.frame_seq] @ q), abs=1e-4)
        t.join()
        assert idx.wait_idle(30.0)
        st = idx.stats()
        assert st.live == 3_000 and st.recall_samples > 0
        for i in (3_000, 4_500, 5_999):
            assert idx.search(data[i], 1, method="runs")[0].payload.frame_seq == i
    finally:
        idx.close()
