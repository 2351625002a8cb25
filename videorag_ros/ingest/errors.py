"""Errors of the ingest doors (all are ``VideoragError``)."""

from __future__ import annotations

from videorag_ros.core.errors import VideoragError


class IngestError(VideoragError):
    """A door could not be set up or run as configured."""


class SourceError(IngestError):
    """A video source is malformed, missing, of the wrong kind, or cannot be opened."""


class ProtocolError(IngestError):
    """A client sent something the door's protocol does not allow (bad header, not a JPEG, too big)."""


class AuthError(IngestError):
    """A client's token is missing or wrong, or the token file is unusable."""


class MissingDependencyError(IngestError):
    """An optional ``ingest`` dependency (av, websockets, aiortc, aiohttp) is not installed."""


def require(module: str) -> None:
    """Import ``module`` or raise a one-line error naming the ``ingest`` extra.

    Raises:
        MissingDependencyError: The module is not importable.
    """
    import importlib

    try:
        importlib.import_module(module)
    except ImportError as err:
        msg = f"the '{module}' package is needed for this door but is not installed; install the extra: pip install 'videorag[ingest]'"
        raise MissingDependencyError(msg) from err
