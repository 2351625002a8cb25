"""Declare the edge node's ROS parameters from the core parameter table and read them once."""

from __future__ import annotations

from typing import Any

from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor
from rclpy.exceptions import InvalidParameterValueException
from rclpy.node import Node

from videorag_ros.core.config import CAMERA_PARAMS, EDGE_PARAMS, TRIGGER_PARAMS, ParamSpec, check_param_value
from videorag_ros.core.errors import ConfigError


def _descriptor(spec: ParamSpec) -> ParameterDescriptor:
    limits = []
    if spec.min is not None:
        limits.append(f">= {spec.min}")
    if spec.max is not None:
        limits.append(f"<= {spec.max}")
    if spec.choices:
        limits.append("one of " + ", ".join(spec.choices))
    unit = f" [{spec.unit}]" if spec.unit else ""
    # Types and ranges are checked by the core (build_edge_config), which accepts an int
    # where a float is meant and names the parameter in its error; hence dynamic typing.
    # The typed ranges are for tools: rqt_reconfigure draws sliders from them.
    desc = ParameterDescriptor(
        description=spec.description + unit,
        additional_constraints="; ".join(limits),
        read_only=spec.read_only,
        dynamic_typing=True,
    )
    if spec.min is not None and spec.max is not None:
        d = spec.default
        if isinstance(d, float):
            desc.floating_point_range = [FloatingPointRange(from_value=float(spec.min), to_value=float(spec.max), step=0.0)]
        elif isinstance(d, int) and not isinstance(d, bool):
            desc.integer_range = [IntegerRange(from_value=int(spec.min), to_value=int(spec.max), step=1)]
    return desc


def _declare(node: Node, name: str, spec: ParamSpec) -> Any:
    default = spec.default if spec.default != [] else None
    try:
        node.declare_parameter(name, default, _descriptor(spec))
    except InvalidParameterValueException as err:
        # rclpy refused a parameter-file value outside the typed range: say it our way, naming the limit.
        override = getattr(node, "_parameter_overrides", {}).get(name)
        if override is not None:
            check_param_value(spec, name, override.value)
        msg = f"parameter '{name}': {str(err).splitlines()[0] if str(err) else type(err).__name__}"
        raise ConfigError(msg) from err
    return node.get_parameter(name).value


def declare_edge_parameters(node: Node) -> dict[str, Any]:
    """Declare every edge parameter (static, per camera, per trigger) and return their values.

    Returns:
        Flat ``{dotted name: value}``; unset list parameters are ``None``.
    """
    values = {s.name: _declare(node, s.name, s) for s in EDGE_PARAMS}
    for cam in values["cameras"] or []:
        values.update({f"{cam}.{s.name}": _declare(node, f"{cam}.{s.name}", s) for s in CAMERA_PARAMS})
    for trig in values["triggers"] or []:
        values.update({f"{trig}.{s.name}": _declare(node, f"{trig}.{s.name}", s) for s in TRIGGER_PARAMS})
    return values
