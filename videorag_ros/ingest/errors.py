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


# What each door imports, and the oldest release that has it.
_MODULES = {"websockets": ("websockets.asyncio.server", "websockets>=13"), "av": ("av", "av>=12"), "aiortc": ("aiortc", "aiortc>=1.9"), "aiohttp": ("aiohttp.web", "aiohttp>=3.9")}


def require(module: str) -> None:
    """Import ``module`` (at the version the doors need) or raise a one-line error naming the ``ingest`` extra.

    Raises:
        MissingDependencyError: The module is not importable, or too old.
    """
    import importlib

    name, wanted = _MODULES.get(module, (module, module))
    try:
        importlib.import_module(name)
    except ImportError as err:
        msg = f"this door needs {wanted} (module '{name}' is not importable); install the extra: pip install 'videorag[ingest]'"
        raise MissingDependencyError(msg) from err
