"""How the slow loop sends a request: rate limit, circuit breaker, retries, counters.

For each attempt: the breaker must allow it (else ``CircuitOpenError`` at once), then a token is
taken from the bucket (waiting for one, interruptibly). A 429 pauses the whole bucket for the
server's Retry-After (the jittered backoff when it sent none; at most an hour is believed) and
does not count against the breaker (the server is alive, just busy). A 5xx, a timeout, a refused
connection or a protocol error counts as a failure and is retried after the jittered exponential
backoff (or a 503's Retry-After). A request whose wait would exceed ``backoff_max_s`` is not
retried (the pause still holds every later request). A rejected (4xx), malformed or oversized
answer counts as a failure and is not retried: the same request would get the same answer.
Every outcome is counted.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import TypeVar

from videorag_ros.slowloop.backoff import Backoff
from videorag_ros.slowloop.circuit import CircuitBreaker
from videorag_ros.slowloop.errors import RATE_LIMITED, CircuitOpenError, ModelServerError, StoppedError
from videorag_ros.slowloop.token_bucket import TokenBucket

T = TypeVar("T")
MAX_RETRY_AFTER_S = 3600.0  # a longer Retry-After is not believed


class RequestPolicy:
    """Thread-safe: the dispatcher and the ask service share one policy (one rate limit, one breaker)."""

    def __init__(
        self,
        bucket: TokenBucket,
        breaker: CircuitBreaker,
        backoff: Backoff,
        *,
        max_retries: int,
        stop: threading.Event | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Combine the pieces.

        Args:
            bucket: The rate limit.
            breaker: The circuit breaker.
            backoff: Retry delays (its ``max_s`` also caps a Retry-After).
            max_retries: Retries after the first attempt.
            stop: Set when the loop shuts down: waits end and ``StoppedError`` is raised.
            clock: Monotonic seconds (the bucket's and breaker's clock).
        """
        self.bucket, self.breaker, self.backoff, self.max_retries = bucket, breaker, backoff, max_retries
        self.stop = stop or threading.Event()
        self._clock = clock
        self._lock = threading.Lock()
        self.counts: Counter[str] = Counter()
        self.rate_wait_s = 0.0  # total time spent waiting for a token

    def count(self, name: str, n: int = 1) -> None:
        """Add to a named counter."""
        with self._lock:
            self.counts[name] += n

    def counters(self) -> dict[str, int]:
        """A copy of the counters."""
        with self._lock:
            return dict(self.counts)

    def _sleep(self, seconds: float) -> None:
        if seconds > 0 and self.stop.wait(seconds):
            raise StoppedError("the slow loop is stopping")
        if self.stop.is_set():
            raise StoppedError("the slow loop is stopping")

    def _take_token(self, reserve: int) -> None:
        waited = 0.0
        while True:
            wait = self.bucket.try_take(reserve)
            if wait <= 0:
                break
            waited += wait
            self._sleep(wait)
        if waited:
            self.count("rate_waits")
            with self._lock:
                self.rate_wait_s += waited

    def run(self, call: Callable[[], T], *, background: bool = False) -> T:
        """Run ``call`` (one request) under the policy.

        Args:
            call: Sends one request.
            background: Periodic work: it leaves one token of the burst for questions and
                verifications, which therefore never queue behind descriptions.

        Returns:
            What ``call`` returned.

        Raises:
            CircuitOpenError: The breaker is open (nothing was sent).
            ModelServerError: The last attempt's error, once retries are used up or not allowed.
            StoppedError: The loop is shutting down.
        """
        attempt = 0
        while True:
            if not self.breaker.allow():
                self.count("circuit_open_skips")
                msg = f"circuit breaker open after {self.breaker.failures} failed requests; next trial in {self.breaker.retry_in():.0f} s"
                raise CircuitOpenError(msg)
            self._take_token(1 if background else 0)
            self.count("requests")
            try:
                result = call()
            except ModelServerError as err:
                self.count(f"errors.{err.kind}")
                wait = min(err.retry_after_s, MAX_RETRY_AFTER_S) if err.retry_after_s is not None else self.backoff.delay(attempt)
                if err.kind == RATE_LIMITED:
                    self.bucket.pause_until(self._clock() + wait)  # honoured by every later request
                    self.breaker.record_success()  # alive; releases a half-open trial slot
                else:
                    self.breaker.record_failure()
                if not err.retryable or attempt >= self.max_retries or wait > self.backoff.max_s:
                    self.count("failed")
                    raise
                attempt += 1
                self.count("retries")
                self._sleep(wait)
                continue
            except BaseException:
                self.breaker.record_failure()
                raise
            self.breaker.record_success()
            self.count("succeeded")
            return result
