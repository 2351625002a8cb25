"""Errors of the fleet store and exporter (all are ``VideoragError``)."""

from __future__ import annotations

import importlib

from videorag_ros.core.errors import VideoragError


class FleetError(VideoragError):
    """The fleet store could not be used as configured."""


class StoreUnavailable(FleetError):
    """The store did not answer, answered too late, or answered 5xx: worth retrying later."""


class StoreRejected(FleetError):
    """The store refused a request (4xx, a malformed answer): the same request would fail again."""


class SchemaMismatch(FleetError):
    """An existing collection or embedded store holds vectors of another size or metric."""


class MissingDependencyError(FleetError):
    """An optional ``fleet`` dependency (qdrant-client, qdrant-edge-py) is not installed."""


# What each store imports, and the release it was written against.
_MODULES = {"qdrant_client": "qdrant-client>=1.12", "qdrant_edge": "qdrant-edge-py>=0.9"}


def require(module: str) -> None:
    """Import ``module`` or raise a one-line error naming the ``fleet`` extra.

    Raises:
        MissingDependencyError: The module is not importable.
    """
    wanted = _MODULES.get(module, module)
    try:
        importlib.import_module(module)
    except ImportError as err:
        msg = f"the fleet store needs {wanted} (module '{module}' is not importable); install the extra: pip install 'videorag[fleet]'"
        raise MissingDependencyError(msg) from err
