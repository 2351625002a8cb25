"""ROS 2 parameter files: read (bounded, any namespace key) and written, flattened to dotted names."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from videorag_ros.core.config.table import (
    NODE_NAME,
)
from videorag_ros.core.errors import ConfigError, VideoragError
from videorag_ros.core.safe_files import read_regular_file
from videorag_ros.core.safe_yaml import load_yaml


def flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Flatten nested dicts into dotted names, as ROS does for parameter files."""
    out: dict[str, Any] = {}
    for key, val in tree.items():
        name = f"{prefix}{key}"
        if isinstance(val, Mapping):
            out.update(flatten(val, name + "."))
        else:
            out[name] = val
    return out


def load_params_file(path: str | Path, node_name: str = NODE_NAME) -> dict[str, Any]:
    """Read a ROS 2 parameter file and return the flat parameters of one node.

    Accepts ``<node_name>: {ros__parameters: ...}``, the ``/**`` wildcard, or namespaced
    node keys ending in ``/<node_name>``.

    Raises:
        ConfigError: File missing, not YAML, or without a section for the node.
    """
    p = Path(path)
    what = f"parameter file '{p}'"
    try:
        doc = load_yaml(read_regular_file(p, what="parameter file"), what=what)
    except VideoragError as err:
        raise ConfigError(str(err)) from err
    if not isinstance(doc, dict):
        msg = f"parameter file '{p}' must map node names to 'ros__parameters'"
        raise ConfigError(msg)
    merged: dict[str, Any] = {}
    for key, section in doc.items():
        matches = key in ("/**", node_name) or str(key).rstrip("/").endswith("/" + node_name)
        if matches and isinstance(section, dict) and isinstance(section.get("ros__parameters"), dict):
            merged.update(flatten(section["ros__parameters"]))
    if not merged:
        msg = f"parameter file '{p}' has no '{node_name}: ros__parameters:' section"
        raise ConfigError(msg)
    return merged


def dump_params_file(values: Mapping[str, Any], path: str | Path, node_name: str = NODE_NAME) -> Path:
    """Write flat, dotted parameters as a ROS 2 parameter file (the inverse of ``load_params_file``).

    Returns:
        ``path`` as a ``Path``.
    """
    p = Path(path)
    plain = {k: list(v) if isinstance(v, tuple) else v for k, v in values.items()}
    p.write_text(yaml.safe_dump({node_name: {"ros__parameters": plain}}))
    return p


def override_model(values: dict[str, Any], model: str | None) -> dict[str, Any]:
    """Set flat parameter ``model`` from a command line (``--model``); None leaves it.

    A model given as a directory on the command line is the user's explicit choice, so when
    ``security.allowed_dirs`` confines paths, that directory's parent is allowed too.
    """
    if model:
        values["model"] = model
        allowed = list(values.get("security.allowed_dirs") or [])
        if allowed and ("/" in model or model.startswith((".", "~"))):
            values["security.allowed_dirs"] = [*allowed, str(Path(model).expanduser().resolve().parent)]
    return values
