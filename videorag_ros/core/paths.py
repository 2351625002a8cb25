"""Confine file paths from parameters to configured directories.

A parameter file or a ``ros2 param set`` names files the node will read (models, reference
images) and write (memory snapshots). Resolving the path (symlinks and ``..`` included) and
requiring it to lie under an allowed directory keeps a wrong or hostile value from reading
or overwriting anything else on the robot.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from videorag_ros.core.errors import ConfigError


def expand_dirs(dirs: Iterable[str]) -> list[Path]:
    """Allowed directories as absolute, resolved paths (``~`` and ``$VARS`` expanded)."""
    return [Path(os.path.expandvars(os.path.expanduser(d))).resolve() for d in dirs if d.strip()]


def confine(path: str | Path, allowed: Iterable[Path], *, what: str, param: str) -> Path:
    """The resolved ``path`` if it lies inside one of ``allowed``.

    Args:
        path: The path from a parameter.
        allowed: Resolved directories (see ``expand_dirs``).
        what: What the file is, for the message ("memory snapshot").
        param: The parameter that lists the allowed directories, for the message.

    Raises:
        ConfigError: The path resolves outside every allowed directory (or none is allowed).
    """
    dirs = list(allowed)
    resolved = Path(os.path.expanduser(str(path))).resolve()
    for d in dirs:
        if resolved == d or d in resolved.parents:
            return resolved
    shown = f"{path}" if str(path) == str(resolved) else f"{path} (resolves to {resolved})"
    msg = f"{what} {shown} is outside the allowed directories {[str(d) for d in dirs]}; add its directory to '{param}'"
    raise ConfigError(msg)
