"""Live parameter changes (``ros2 param set``): validated by the start-up rules, planned as one swap.

The node keeps the flat parameter values it started with. A change request is merged into
them and the whole configuration is rebuilt by ``build_edge_config``, so a live value passes
exactly the checks a parameter file does (finite, in range, exit <= enter, n <= m, ...).
What cannot change while running (cameras, trigger names, model, index, topics) is declared
read-only in the parameter table and refused before it gets here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from videorag_ros.core.config import CAMERA_PARAMS, EDGE_PARAMS, TRIGGER_PARAMS, EdgeConfig, ParamSpec, build_edge_config
from videorag_ros.core.errors import ConfigError
from videorag_ros.core.printable import bounded_repr

_EDGE = {s.name: s for s in EDGE_PARAMS}
_CAMERA = {s.name: s for s in CAMERA_PARAMS}
_TRIGGER = {s.name: s for s in TRIGGER_PARAMS}
# Trigger fields whose goal vectors must be encoded again when they change.
_GOAL_FIELDS = ("prompts", "negative_prompts")


def param_spec(name: str, config: EdgeConfig) -> ParamSpec | None:
    """The table entry of a dotted parameter name of this configuration, or None if it is not one of ours."""
    if name in _EDGE:
        return _EDGE[name]
    block, _, leaf = name.partition(".")
    if block in {c.id for c in config.cameras}:
        return _CAMERA.get(leaf)
    if block in {t.name for t in config.triggers}:
        return _TRIGGER.get(leaf)
    return None


@dataclass(frozen=True, slots=True)
class ParameterChange:
    """One parameter's old and new value."""

    name: str
    old: Any
    new: Any

    def __str__(self) -> str:
        return f"{self.name}: {bounded_repr(self.old)} -> {bounded_repr(self.new)}"


@dataclass(frozen=True, slots=True)
class LiveUpdate:
    """A validated set of changes and the configuration they make.

    Attributes:
        config: The whole new configuration.
        values: The flat parameter values after the change.
        changes: What changed (values equal to the old ones are left out).
        reencode: Triggers whose prompts changed: their goals must be encoded before the swap.
    """

    config: EdgeConfig
    values: dict[str, Any]
    changes: tuple[ParameterChange, ...]
    reencode: tuple[str, ...]


def plan_live_update(values: Mapping[str, Any], requested: Mapping[str, Any], current: EdgeConfig) -> LiveUpdate:
    """Validate requested changes against the running configuration.

    Args:
        values: Flat parameter values in force (``{"person_ahead.enter_threshold": 0.6, ...}``).
        requested: The names and values to set.
        current: The configuration in force (built from ``values``).

    Returns:
        The new configuration and what changed.

    Raises:
        ConfigError: An unknown or read-only parameter, an unset value, or a value the
            start-up rules refuse; one line naming the parameter.
    """
    for name, value in requested.items():
        spec = param_spec(name, current)
        if spec is None:
            msg = f"'{name}' is not a parameter of this node"
            raise ConfigError(msg)
        if spec.read_only:
            msg = f"parameter '{name}' is read-only while running; change it in the parameter file and restart"
            raise ConfigError(msg)
        if value is None:
            msg = f"parameter '{name}' cannot be unset; give it a value (default {bounded_repr(spec.default)})"
            raise ConfigError(msg)
    merged = {**values, **requested}
    config = build_edge_config(merged, strict=False)
    changes = tuple(
        ParameterChange(name, values.get(name), value) for name, value in requested.items() if _normal(values.get(name)) != _normal(value)
    )
    old = {t.name: t for t in current.triggers}
    reencode = tuple(t.name for t in config.triggers if any(getattr(t, f) != getattr(old[t.name], f) for f in _GOAL_FIELDS))
    return LiveUpdate(config, merged, changes, reencode)


def _normal(value: Any) -> Any:
    """Lists and tuples compare equal; ints and floats compare by value."""
    return tuple(value) if isinstance(value, list) else value
