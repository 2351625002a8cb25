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

from videorag_ros.core.config import EdgeConfig
from videorag_ros.core.encoder.manifest import search_path
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


def check_config_paths(config: EdgeConfig) -> list[str]:
    """Check every file path of an edge configuration against ``security.allowed_dirs``.

    Checked: the model when given as a path (a name is looked up on the model search path,
    which is always allowed), each trigger's reference images, and the snapshot file.

    Returns:
        Warnings (non-empty when ``security.allowed_dirs`` is empty: nothing is confined).

    Raises:
        ConfigError: A path resolves outside the allowed directories.
    """
    if not config.security_allowed_dirs:
        return ["security.allowed_dirs is empty: model, reference image and snapshot paths are not confined"]
    allowed = expand_dirs(config.security_allowed_dirs) + [d.resolve() for d in search_path()]
    param = "security.allowed_dirs"
    if "/" in config.model or config.model.startswith((".", "~")):
        confine(config.model, allowed, what="model directory", param=param)
    for trig in config.triggers:
        for img in trig.reference_images:
            confine(img, allowed, what=f"trigger '{trig.name}' reference image", param=param)
    if config.index_snapshot_path:
        confine(config.index_snapshot_path, allowed, what="memory snapshot", param=param)
    return []
