"""Errors of the slow loop: one subtree under ``VideoragError``."""

from __future__ import annotations

from videorag_ros.core.errors import VideoragError

# What went wrong with a request, as counted in /diagnostics ('slowloop.errors.<kind>').
CONNECT, TIMEOUT, RATE_LIMITED, SERVER_ERROR, REJECTED, MALFORMED, TOO_LARGE, PROTOCOL = (
    "connect", "timeout", "rate_limited", "server_error", "rejected", "malformed", "too_large", "protocol",
)  # fmt: skip
RETRYABLE = frozenset({CONNECT, TIMEOUT, RATE_LIMITED, SERVER_ERROR, PROTOCOL})


class SlowLoopError(VideoragError):
    """The slow loop could not do what was asked (no model, no frames, stopped)."""


class ModelServerError(SlowLoopError):
    """A chat-completions request failed.

    Attributes:
        kind: One of ``connect``, ``timeout``, ``rate_limited``, ``server_error``, ``rejected``,
            ``malformed``, ``too_large``, ``protocol``.
        status: The HTTP status, or 0 when there was no response.
        retry_after_s: The server's Retry-After in seconds, when it sent a valid one.
    """

    def __init__(self, message: str, *, kind: str, status: int = 0, retry_after_s: float | None = None) -> None:
        """Create the error (``message`` must already be safe to print)."""
        super().__init__(message)
        self.kind, self.status, self.retry_after_s = kind, status, retry_after_s

    @property
    def retryable(self) -> bool:
        """Whether the same request may succeed later (429, 5xx, timeouts, refused connections)."""
        return self.kind in RETRYABLE


class CircuitOpenError(SlowLoopError):
    """The circuit breaker is open: no request is sent until its reset time."""


class StoppedError(SlowLoopError):
    """The slow loop is shutting down."""
