"""slowloop policy pieces: token bucket, backoff + Retry-After, circuit breaker, drop-oldest queue, history, the request policy."""

from __future__ import annotations

import random
import threading

import pytest

from videorag_ros.slowloop.backoff import Backoff, parse_retry_after
from videorag_ros.slowloop.circuit import CLOSED, HALF_OPEN, OPEN, CircuitBreaker
from videorag_ros.slowloop.drop_queue import DropOldestQueue
from videorag_ros.slowloop.errors import CONNECT, MALFORMED, RATE_LIMITED, SERVER_ERROR, CircuitOpenError, ModelServerError, StoppedError
from videorag_ros.slowloop.history import RollingHistory, estimate_tokens
from videorag_ros.slowloop.policy import RequestPolicy
from videorag_ros.slowloop.token_bucket import TokenBucket


class Clock:
    """A hand-driven monotonic clock."""

    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def test_token_bucket_allows_a_burst_then_the_rate() -> None:
    clock = Clock()
    bucket = TokenBucket(rate_per_s=0.5, burst=2, clock=clock)
    assert bucket.try_take() == 0.0 and bucket.try_take() == 0.0
    assert bucket.try_take() == pytest.approx(2.0)  # one token per 2 s
    clock.t += 1.0
    assert bucket.try_take() == pytest.approx(1.0)
    clock.t += 1.0
    assert bucket.try_take() == 0.0
    clock.t += 100.0  # refills to the burst, never beyond
    assert [bucket.try_take() for _ in range(3)][:2] == [0.0, 0.0] and bucket.taken == 5


def test_token_bucket_pause_holds_every_request() -> None:
    clock = Clock()
    bucket = TokenBucket(rate_per_s=10, burst=5, clock=clock)
    bucket.pause_until(clock.t + 7.0)
    assert bucket.try_take() == pytest.approx(7.0)
    clock.t += 7.0
    assert bucket.try_take() == 0.0


def test_token_bucket_reserve_keeps_a_token_for_questions_and_verifications() -> None:
    clock = Clock()
    bucket = TokenBucket(rate_per_s=1.0, burst=3, clock=clock)
    assert bucket.try_take(reserve=1) == 0.0 and bucket.try_take(reserve=1) == 0.0
    assert bucket.try_take(reserve=1) == pytest.approx(1.0)  # the last token is kept ...
    assert bucket.try_take() == 0.0  # ... for a request without reserve
    one = TokenBucket(rate_per_s=1.0, burst=1, clock=clock)
    assert one.try_take(reserve=5) == 0.0  # a reserve never exceeds burst - 1: background work still runs


@pytest.mark.parametrize(("rate", "burst"), [(0.0, 1), (-1.0, 1), (float("nan"), 1), (1.0, 0)])
def test_token_bucket_refuses_nonsense(rate: float, burst: int) -> None:
    with pytest.raises(ValueError, match="token bucket"):
        TokenBucket(rate, burst)


def test_backoff_is_full_jitter_under_an_exponential_ceiling() -> None:
    b = Backoff(0.5, 8.0, rng=random.Random(1))
    assert [b.ceiling(n) for n in range(6)] == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]
    for n in range(8):
        assert all(0.0 <= b.delay(n) <= b.ceiling(n) for _ in range(50))
    assert b.ceiling(10_000) == 8.0  # no overflow


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", 120.0),  # delay-seconds
        (" 3 ", 3.0),
        ("Wed, 21 Oct 2015 07:28:10 GMT", 10.0),  # HTTP-date, 10 s after "now"
        ("Wed, 21 Oct 2015 07:27:00 GMT", 0.0),  # a date in the past: now
        ("-5", None),  # not allowed by RFC 9110: ignored, not trusted
        ("1.5", None),
        ("1e9", None),
        ("soon", None),
        ("99999999999", None),  # more than 10 digits
        ("", None),
        (None, None),
    ],
)
def test_retry_after_parsing(value: str | None, expected: float | None) -> None:
    now = 1445412480.0  # 2015-10-21 07:28:00 UTC
    assert parse_retry_after(value, now_unix=now) == expected


def test_circuit_breaker_opens_after_consecutive_failures_and_half_opens_for_one_trial() -> None:
    clock = Clock()
    br = CircuitBreaker(3, 10.0, clock=clock)
    for _ in range(2):
        br.record_failure()
    br.record_success()  # resets the streak
    for _ in range(2):
        br.record_failure()
    assert br.state == CLOSED and br.allow()
    br.record_failure()
    assert br.state == OPEN and not br.allow() and br.opened == 1
    assert br.retry_in() == pytest.approx(10.0)
    clock.t += 10.0
    assert br.state == HALF_OPEN
    assert br.allow() and not br.allow()  # one trial at a time
    br.record_failure()  # the trial failed: open again, a new reset period
    assert br.state == OPEN and br.opened == 2
    clock.t += 10.0
    assert br.allow()
    br.record_success()
    assert br.state == CLOSED and br.allow() and br.allow()


def test_drop_oldest_queue_never_blocks_and_counts_drops() -> None:
    q: DropOldestQueue[int] = DropOldestQueue(3)
    dropped = [q.put(i) for i in range(5)]
    assert dropped == [False, False, False, True, True]
    assert q.dropped == 2 and q.put_count == 5
    assert [q.get(0.0) for _ in range(4)] == [2, 3, 4, None]
    assert q.remove_if(lambda x: True) == 0


def test_drop_oldest_queue_get_wakes_on_put_and_close() -> None:
    q: DropOldestQueue[str] = DropOldestQueue(2)
    got: list[str | None] = []
    t = threading.Thread(target=lambda: got.append(q.get(10.0)))
    t.start()
    q.put("x")
    t.join(5.0)
    assert got == ["x"]
    t = threading.Thread(target=lambda: got.append(q.get(10.0)))
    t.start()
    q.close()
    t.join(5.0)
    assert got == ["x", None] and not t.is_alive()


def test_history_stays_within_its_token_budget_oldest_first_out() -> None:
    h = RollingHistory(100)
    for i in range(30):
        h.add(f"answer {i}", tokens=15)
    assert h.tokens <= 100 and len(h) == 6 and h.evicted == 24
    assert [e.text for e in h.entries()] == [f"answer {i}" for i in range(24, 30)]
    assert not h.add("x" * 10, tokens=101) and h.refused == 1  # larger than the whole budget
    assert h.add("a" * 30) and h.entries()[-1].tokens == estimate_tokens("a" * 30) == 10  # no usage: estimated
    assert RollingHistory(0).add("anything", 1) is False


def _policy(clock: Clock | None = None, *, retries: int = 3, failures: int = 3) -> RequestPolicy:
    clk = clock or Clock()
    return RequestPolicy(TokenBucket(1000.0, 100, clock=clk), CircuitBreaker(failures, 30.0, clock=clk), Backoff(0.001, 0.01, rng=random.Random(0)), max_retries=retries, clock=clk)


def _failing(kinds: list[str], retry_after: float | None = None):
    calls = []

    def call() -> str:
        calls.append(1)
        if kinds:
            raise ModelServerError("scripted", kind=kinds.pop(0), retry_after_s=retry_after)
        return "ok"

    return call, calls


def test_policy_retries_5xx_and_connect_errors_then_succeeds() -> None:
    p = _policy()
    call, calls = _failing([SERVER_ERROR, CONNECT])
    assert p.run(call) == "ok" and len(calls) == 3
    c = p.counters()
    assert c["requests"] == 3 and c["retries"] == 2 and c["errors.server_error"] == 1 and c["errors.connect"] == 1 and c["succeeded"] == 1
    assert p.breaker.state == CLOSED


def test_policy_does_not_retry_malformed_answers() -> None:
    p = _policy()
    call, calls = _failing([MALFORMED])
    with pytest.raises(ModelServerError, match="scripted"):
        p.run(call)
    assert len(calls) == 1 and p.counters()["failed"] == 1


def test_policy_429_pauses_the_bucket_for_retry_after_and_spares_the_breaker() -> None:
    clock = Clock()
    p = _policy(clock, retries=0, failures=1)
    call, _ = _failing([RATE_LIMITED], retry_after=7.0)
    with pytest.raises(ModelServerError):
        p.run(call)
    assert p.breaker.state == CLOSED  # busy is not broken
    assert p.bucket.try_take() == pytest.approx(7.0)  # every request waits for the Retry-After


def test_policy_retries_a_short_retry_after_and_gives_up_on_a_long_one() -> None:
    p = _policy(retries=3)
    call, calls = _failing([RATE_LIMITED], retry_after=0.0)
    assert p.run(call) == "ok" and len(calls) == 2
    clock = Clock()
    p = _policy(clock, retries=3)
    call, calls = _failing([RATE_LIMITED, RATE_LIMITED], retry_after=60.0)  # longer than backoff max (0.01 s)
    with pytest.raises(ModelServerError):
        p.run(call)
    assert len(calls) == 1 and p.bucket.try_take() == pytest.approx(60.0)  # not retried, but honoured


def test_policy_does_not_believe_an_absurd_retry_after() -> None:
    clock = Clock()
    p = _policy(clock, retries=0)
    call, _ = _failing([RATE_LIMITED], retry_after=1e12)
    with pytest.raises(ModelServerError):
        p.run(call)
    assert p.bucket.try_take() == pytest.approx(3600.0)


def test_policy_opens_the_breaker_and_then_fails_fast_without_sending() -> None:
    p = _policy(retries=0, failures=2)
    call, calls = _failing([SERVER_ERROR, SERVER_ERROR, SERVER_ERROR])
    for _ in range(2):
        with pytest.raises(ModelServerError):
            p.run(call)
    with pytest.raises(CircuitOpenError, match="circuit breaker open"):
        p.run(call)
    assert len(calls) == 2 and p.counters()["circuit_open_skips"] == 1


def test_policy_waits_end_at_stop() -> None:
    clock = Clock()
    p = _policy(clock)
    p.bucket.pause_until(clock.t + 3600)
    p.stop.set()
    with pytest.raises(StoppedError):
        p.run(lambda: "never")
