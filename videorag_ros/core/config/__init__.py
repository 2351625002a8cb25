"""Typed configuration: one table of parameters, their defaults, ranges and docs.

The edge node declares its ROS parameters from ``EDGE_PARAMS`` / ``CAMERA_PARAMS`` /
``TRIGGER_PARAMS``; the offline runner reads the same YAML file through
``load_params_file``. Both build the config with ``build_edge_config``, which
validates every value and names the parameter in its error.

Cameras and triggers follow the Nav2 "observation_sources" pattern: a list of ids
(``cameras: [front]``) and a block of parameters per id (``front.topic``).
"""

from __future__ import annotations

from videorag_ros.core.config.files import dump_params_file, flatten, load_params_file, override_model
from videorag_ros.core.config.settings import AdapterConfig, CameraConfig, EdgeConfig, FleetConfig, GateConfig, SlowLoopConfig, TriggerConfig, WatchdogConfig
from videorag_ros.core.config.table import (
    ACTIONS,
    CAMERA_PARAMS,
    COLLISION_MONITOR,
    EDGE_PARAMS,
    ESTOP,
    FLEET_PARAMS,
    JSON,
    LOG,
    MAX_INDEX_CAPACITY,
    NODE_NAME,
    POLICIES,
    SLOW_DOWN,
    SLOWLOOP_PARAMS,
    STOPPING_ACTIONS,
    TRIGGER_PARAMS,
    TWIST_MUX,
    ParamSpec,
)
from videorag_ros.core.config.validate import build_edge_config, build_fleet_config, check_param_value, enabled_adapters, known_names

__all__ = ["ACTIONS", "CAMERA_PARAMS", "COLLISION_MONITOR", "EDGE_PARAMS", "ESTOP", "FLEET_PARAMS", "JSON", "LOG", "MAX_INDEX_CAPACITY", "NODE_NAME", "POLICIES", "SLOWLOOP_PARAMS", "SLOW_DOWN", "STOPPING_ACTIONS", "TRIGGER_PARAMS", "TWIST_MUX", "AdapterConfig", "CameraConfig", "EdgeConfig", "FleetConfig", "GateConfig", "ParamSpec", "SlowLoopConfig", "TriggerConfig", "WatchdogConfig", "build_edge_config", "build_fleet_config", "check_param_value", "dump_params_file", "enabled_adapters", "flatten", "known_names", "load_params_file", "override_model"]
