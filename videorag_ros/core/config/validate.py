"""Validation: flat parameter values -> ``EdgeConfig``, every value checked (type, finite, range, choices) and named in its error."""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from videorag_ros.core.config.settings import AdapterConfig, CameraConfig, EdgeConfig, FleetConfig, GateConfig, SlowLoopConfig, TriggerConfig, WatchdogConfig
from videorag_ros.core.config.table import (
    ACTIONS,
    CAMERA_PARAMS,
    COLLISION_MONITOR,
    EDGE_PARAMS,
    JSON,
    SLOW_DOWN,
    TRIGGER_PARAMS,
    TWIST_MUX,
    ParamSpec,
)
from videorag_ros.core.errors import ConfigError
from videorag_ros.core.frames import FrameLimits
from videorag_ros.core.printable import bounded_repr

_ID = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]{0,63}")


_GROUPS = frozenset(s.name.split(".", 1)[0] for s in EDGE_PARAMS if "." in s.name)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _check(spec: ParamSpec, full_name: str, value: Any) -> Any:
    """Coerce ``value`` to the type of ``spec.default`` and check it is finite, in range and allowed.

    Every number must be finite: NaN passes every ``<``/``>`` range test (each comparison is
    false), so a NaN threshold would silently disable a trigger and an infinite rate would
    flood a topic.
    """
    d = spec.default
    if isinstance(d, bool):
        ok = isinstance(value, bool)
    elif isinstance(d, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif isinstance(d, float):
        ok = _is_number(value)
        value = float(value) if ok else value
    elif isinstance(d, str):
        ok = isinstance(value, str)
    elif d and all(isinstance(v, float) for v in d):  # list of numbers
        ok = isinstance(value, (list, tuple)) and all(_is_number(v) for v in value)
        value = tuple(float(v) for v in value) if ok else value
    else:  # list of strings
        ok = isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value)
        value = tuple(value) if ok else value
    if not ok:
        kind = type(d).__name__
        if isinstance(d, list):
            kind = "list of numbers" if d and isinstance(d[0], float) else "list of strings"
        msg = f"parameter '{full_name}' must be a {kind}, got {bounded_repr(value)} ({type(value).__name__})"
        raise ConfigError(msg)
    numbers = value if isinstance(value, tuple) and value and isinstance(value[0], float) else (value,)
    if any(isinstance(v, float) and not math.isfinite(v) for v in numbers):
        msg = f"parameter '{full_name}' = {bounded_repr(value)} is not a finite number"
        raise ConfigError(msg)
    texts = value if isinstance(value, tuple) else (value,)
    if any(isinstance(t, str) and "\x00" in t for t in texts):
        msg = f"parameter '{full_name}' = {bounded_repr(value)} holds a NUL character"
        raise ConfigError(msg)
    if spec.min is not None and value < spec.min:
        msg = f"parameter '{full_name}' = {value} is below its minimum {spec.min}"
        raise ConfigError(msg)
    if spec.max is not None and value > spec.max:
        msg = f"parameter '{full_name}' = {value} is above its maximum {spec.max}"
        raise ConfigError(msg)
    if spec.choices and value not in spec.choices:
        msg = f"parameter '{full_name}' = {bounded_repr(value)} is not one of {', '.join(spec.choices)}"
        raise ConfigError(msg)
    return value


def check_param_value(spec: ParamSpec, full_name: str, value: Any) -> Any:
    """One parameter's value by the table's rules (type, finite, range, choices); returns it coerced.

    Raises:
        ConfigError: Naming the parameter, the value and what was expected.
    """
    return _check(spec, full_name, value)


def known_names(values: Mapping[str, Any]) -> list[str]:
    """All parameter names valid for these values (static + per-camera + per-trigger)."""
    names = [s.name for s in EDGE_PARAMS]

    def ids(key: str, default: Any) -> list[str]:  # a wrong type is reported by _check, not here
        v = values.get(key, default)
        return [x for x in v if isinstance(x, str)] if isinstance(v, (list, tuple)) else []

    for cam in ids("cameras", EDGE_PARAMS[0].default):
        names += [f"{cam}.{s.name}" for s in CAMERA_PARAMS]
    for trig in ids("triggers", []):
        names += [f"{trig}.{s.name}" for s in TRIGGER_PARAMS]
    return names


def build_edge_config(values: Mapping[str, Any], *, strict: bool = True) -> EdgeConfig:
    """Validate flat, dotted parameter values and build an ``EdgeConfig``.

    Args:
        values: ``{"gate.max_rate_hz": 10.0, "front.topic": "...", ...}``; missing names
            take their defaults; ``None`` means "not set".
        strict: Reject names that are not parameters (catches typos).

    Returns:
        The validated configuration.

    Raises:
        ConfigError: Naming the parameter, the value and what was expected.
    """
    values = {k: v for k, v in values.items() if v is not None}
    if strict:
        known = set(known_names(values))
        for name in values:
            if name not in known and name not in ("use_sim_time",):
                close = difflib.get_close_matches(name, known, n=1)
                hint = f"; did you mean '{close[0]}'?" if close else ""
                msg = f"unknown parameter '{name}'{hint}"
                raise ConfigError(msg)

    def get(spec: ParamSpec, prefix: str = "") -> Any:
        full = prefix + spec.name
        return _check(spec, full, values.get(full, spec.default))

    top = {s.name: get(s) for s in EDGE_PARAMS}
    cam_ids, trig_names = top["cameras"], top["triggers"]
    if not cam_ids:
        raise ConfigError("parameter 'cameras' is empty; name at least one camera id")
    for kind, ids in (("cameras", cam_ids), ("triggers", trig_names)):
        if len(set(ids)) != len(ids) or not all(_ID.fullmatch(i) for i in ids):
            msg = f"parameter '{kind}' = {bounded_repr(list(ids))} must hold unique, non-empty ids of letters, digits, '_' and '-' (they name parameter blocks and appear in logs)"
            raise ConfigError(msg)
        clash = sorted(set(ids) & _GROUPS)
        if clash:
            msg = f"parameter '{kind}' names '{clash[0]}', which is a parameter group of the node ({', '.join(sorted(_GROUPS))}); rename it"
            raise ConfigError(msg)
    if set(cam_ids) & set(trig_names):
        msg = f"'{sorted(set(cam_ids) & set(trig_names))[0]}' is both a camera id and a trigger name; their parameter blocks would clash"
        raise ConfigError(msg)
    cameras = []
    for cid in cam_ids:
        c = {s.name: get(s, f"{cid}.") for s in CAMERA_PARAMS}
        cameras.append(
            CameraConfig(
                id=cid, topic=c["topic"] or f"camera/{cid}/image_raw", transport=c["transport"], timeout_s=c["timeout_s"], on_silence=c["on_silence"], decode_cpu_share=c["decode_cpu_share"]
            )
        )
    triggers = [_build_trigger(name, {s.name: get(s, f"{name}.") for s in TRIGGER_PARAMS}, cam_ids) for name in trig_names]
    adapters = _build_adapters(top)
    slowloop = _build_slowloop(top)
    if top["index.snapshot_path"] and not Path(top["index.snapshot_path"]).is_absolute():
        msg = f"parameter 'index.snapshot_path' = {top['index.snapshot_path']!r} must be an absolute path (or empty to disable snapshots)"
        raise ConfigError(msg)
    if top["cmd_vel_stamped"] and not top["cmd_vel_frame_id"].strip():
        msg = "parameter 'cmd_vel_frame_id' is empty while 'cmd_vel_stamped' is true; give the robot's base frame, e.g. base_link"
        raise ConfigError(msg)
    gate = GateConfig(**{k.split(".", 1)[1]: v for k, v in top.items() if k.startswith("gate.")})
    config = EdgeConfig(
        cameras=tuple(cameras),
        triggers=tuple(triggers),
        gate=gate,
        limits=FrameLimits(top["max_width"], top["max_height"], top["max_compressed_bytes"]),
        latency_budget_ms=top["latency_budget_ms"],
        estop_topic=top["estop_topic"],
        estop_heartbeat_hz=top["estop_heartbeat_hz"],
        cmd_vel_topic=top["cmd_vel_topic"],
        cmd_vel_rate_hz=top["cmd_vel_rate_hz"],
        cmd_vel_stamped=top["cmd_vel_stamped"],
        cmd_vel_frame_id=top["cmd_vel_frame_id"],
        diagnostics_period_s=top["diagnostics_period_s"],
        model=top["model"],
        encoder_backend=top["encoder_backend"],
        encoder_threads=top["encoder_threads"],
        index_capacity=top["index.capacity"],
        index_ttl_s=top["index.ttl_s"],
        index_snapshot_path=top["index.snapshot_path"],
        security_allowed_dirs=tuple(top["security.allowed_dirs"]),
        index_snapshot_period_s=top["index.snapshot_period_s"],
        index_load_on_start=top["index.load_on_start"],
        index_thumbnail_budget_bytes=top["index.thumbnail_budget_bytes"],
        index_recall_floor=top["index.recall_floor"],
        index_search_budget_ms=top["index.search_budget_ms"],
        adapters=adapters,
        watchdog=WatchdogConfig(**{k.split(".", 1)[1]: v for k, v in top.items() if k.startswith("watchdog.")}),
        allow_no_triggers=top["allow_no_triggers"],
        debug_image_enabled=top["debug_image.enabled"],
        debug_image_rate_hz=top["debug_image.rate_hz"],
        fleet=build_fleet_config({k.split(".", 1)[1]: v for k, v in top.items() if k.startswith("fleet.")}),
        slowloop=slowloop,
    )
    for trig in config.triggers:
        _check_routes(trig, config)
        if trig.verify and not slowloop.enabled:
            msg = f"trigger '{trig.name}': '{trig.name}.verify' is true but 'slowloop.enabled' is false; enable the slow loop or drop verify"
            raise ConfigError(msg)
    return config


_URL = re.compile(r"https?://[^\s/?#@]+(:\d{1,5})?/?")


_COLLECTION = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]{0,254}")


def build_fleet_config(values: Mapping[str, Any]) -> FleetConfig:
    """Check the ``fleet.*`` values (already typed and ranged by ``_check``) as a whole.

    Args:
        values: ``{"enabled": True, "robot_id": "r1", ...}`` (names without the ``fleet.`` prefix).

    Raises:
        ConfigError: A missing robot id, a URL that is not http(s)://host[:port], a relative path.
    """
    cfg = FleetConfig(**values)
    if cfg.enabled and not cfg.robot_id:
        raise ConfigError("parameter 'fleet.robot_id' is empty but fleet.enabled is true; give this robot an id (e.g. its host name)")
    if cfg.robot_id and not _ID.fullmatch(cfg.robot_id):
        msg = f"parameter 'fleet.robot_id' = {bounded_repr(cfg.robot_id)} must be 1-64 letters, digits, '_' or '-' (it is a filter value and a key in the store)"
        raise ConfigError(msg)
    if cfg.url and not _URL.fullmatch(cfg.url):
        msg = f"parameter 'fleet.url' = {bounded_repr(cfg.url)} must be http(s)://host[:port] (credentials belong in fleet.api_key_file), or empty for the embedded store"
        raise ConfigError(msg)
    if not _COLLECTION.fullmatch(cfg.collection):
        msg = f"parameter 'fleet.collection' = {bounded_repr(cfg.collection)} must be letters, digits, '_' or '-'"
        raise ConfigError(msg)
    _absolute_or_empty(cfg, "fleet", ("path", "api_key_file"))
    if cfg.backoff_initial_s > cfg.backoff_max_s:
        msg = f"parameter 'fleet.backoff_initial_s' = {cfg.backoff_initial_s} exceeds 'fleet.backoff_max_s' = {cfg.backoff_max_s}"
        raise ConfigError(msg)
    return cfg


def _absolute_or_empty(cfg: Any, group: str, names: tuple[str, ...]) -> None:
    """Refuse a relative path in the string fields ``names`` of ``cfg`` (the parameters ``<group>.<name>``)."""
    for name in names:
        value = getattr(cfg, name)
        if value and not Path(value).is_absolute():
            msg = f"parameter '{group}.{name}' = {bounded_repr(value)} must be an absolute path (or empty)"
            raise ConfigError(msg)


def _build_slowloop(top: Mapping[str, Any]) -> SlowLoopConfig:
    cfg = SlowLoopConfig(**{k.split(".", 1)[1]: v for k, v in top.items() if k.startswith("slowloop.")})
    if cfg.base_url:
        from urllib.parse import urlsplit

        parts = urlsplit(cfg.base_url)
        if parts.username or parts.password:
            msg = "parameter 'slowloop.base_url' holds credentials (user:password@); give the key with 'slowloop.api_key_env' or 'slowloop.api_key_file'"
            raise ConfigError(msg)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
            msg = f"parameter 'slowloop.base_url' = {bounded_repr(cfg.base_url)} must be an http(s) URL without query or fragment, e.g. http://127.0.0.1:8000/v1"
            raise ConfigError(msg)
        if not cfg.model.strip():
            msg = "parameter 'slowloop.model' is empty; name the model the server at 'slowloop.base_url' should run (e.g. qwen2.5-vl-7b)"
            raise ConfigError(msg)
    if cfg.api_key_env and cfg.api_key_file:
        msg = "parameters 'slowloop.api_key_env' and 'slowloop.api_key_file' are both set; give the API key one way"
        raise ConfigError(msg)
    _absolute_or_empty(cfg, "slowloop", ("api_key_file", "offline_captions"))
    if len(cfg.prompt) > 4000:
        msg = f"parameter 'slowloop.prompt' is {len(cfg.prompt)} characters; at most 4000"
        raise ConfigError(msg)
    if cfg.backoff_max_s < cfg.backoff_s:
        msg = f"parameter 'slowloop.backoff_max_s' = {cfg.backoff_max_s} is below 'slowloop.backoff_s' = {cfg.backoff_s}"
        raise ConfigError(msg)
    return cfg


def _build_adapters(top: Mapping[str, Any]) -> AdapterConfig:
    poly = top["collision_monitor.polygon"]
    if len(poly) < 6 or len(poly) % 2:
        msg = f"parameter 'collision_monitor.polygon' has {len(poly)} numbers; give x1, y1, x2, y2, ... for at least 3 vertices"
        raise ConfigError(msg)
    return AdapterConfig(
        cmd_vel_lock_topic=top["cmd_vel_lock_topic"],
        collision_topic=top["collision_monitor.topic"],
        collision_frame_id=top["collision_monitor.frame_id"],
        collision_polygon=poly,
        speed_limit_topic=top["speed_limit.topic"],
        speed_limit_percentage=top["speed_limit.percentage"],
        json_topic=top["json_topic"],
        heartbeat_hz=top["action_heartbeat_hz"],
    )


# The parameter that switches each optional action adapter on, and how it reads when off.
_ADAPTER_SWITCHES = {
    TWIST_MUX: ("cmd_vel_rate_hz", "is 0"),
    COLLISION_MONITOR: ("collision_monitor.topic", "is empty"),
    SLOW_DOWN: ("speed_limit.topic", "is empty (e.g. /speed_limit)"),
    JSON: ("json_topic", "is empty"),
}


def enabled_adapters(config: EdgeConfig) -> frozenset[str]:
    """The optional action adapters this configuration switches on: the one place that decides it.

    The e-stop and ``log`` are always on; the validation, the action router and the ROS
    publishers all ask this function.
    """
    a = config.adapters
    on = {TWIST_MUX: config.cmd_vel_rate_hz > 0, COLLISION_MONITOR: bool(a.collision_topic), SLOW_DOWN: bool(a.speed_limit_topic), JSON: bool(a.json_topic)}
    return frozenset(action for action, enabled in on.items() if enabled)


def _check_routes(t: TriggerConfig, config: EdgeConfig) -> None:
    """Every action a trigger names must have its adapter enabled; slow-downs need a real limit."""
    enabled = enabled_adapters(config)
    a = config.adapters
    for action in t.actions:
        if action in _ADAPTER_SWITCHES and action not in enabled:
            param, why = _ADAPTER_SWITCHES[action]
            msg = f"trigger '{t.name}': action '{action}' in '{t.name}.actions' needs its adapter, but '{param}' {why}"
            raise ConfigError(msg)
    if "slow_down" in t.actions:
        if t.speed_limit <= 0:
            msg = f"trigger '{t.name}': action 'slow_down' needs '{t.name}.speed_limit' > 0 (Nav2 reads 0 as 'no limit'; use 'estop' or 'collision_monitor' to stop)"
            raise ConfigError(msg)
        if a.speed_limit_percentage and t.speed_limit > 100:
            msg = f"trigger '{t.name}': '{t.name}.speed_limit' = {t.speed_limit} is over 100 % (speed_limit.percentage is true)"
            raise ConfigError(msg)


def _build_trigger(name: str, t: dict[str, Any], cam_ids: tuple[str, ...]) -> TriggerConfig:
    if not t["prompts"] and not t["reference_images"]:
        msg = f"trigger '{name}' has neither '{name}.prompts' nor '{name}.reference_images'; give it at least one"
        raise ConfigError(msg)
    if any(not p.strip() for p in t["prompts"] + t["negative_prompts"]):
        msg = f"trigger '{name}' has an empty prompt in '{name}.prompts' or '{name}.negative_prompts'"
        raise ConfigError(msg)
    if t["scoring"] == "softmax" and not t["negative_prompts"]:
        msg = f"trigger '{name}' uses softmax scoring but '{name}.negative_prompts' is empty"
        raise ConfigError(msg)
    if t["exit_threshold"] > t["enter_threshold"]:
        msg = f"trigger '{name}': exit_threshold {t['exit_threshold']} must not exceed enter_threshold {t['enter_threshold']}"
        raise ConfigError(msg)
    if t["debounce_n"] > t["debounce_m"]:
        msg = f"trigger '{name}': debounce_n {t['debounce_n']} must not exceed debounce_m {t['debounce_m']}"
        raise ConfigError(msg)
    for a in t["actions"]:
        if a not in ACTIONS:
            msg = f"trigger '{name}': unknown action '{a}' in '{name}.actions'; known: {', '.join(ACTIONS)}"
            raise ConfigError(msg)
    for c in t["cameras"]:
        if c not in cam_ids:
            msg = f"trigger '{name}': camera '{c}' in '{name}.cameras' is not in 'cameras' {list(cam_ids)}"
            raise ConfigError(msg)
    for img in t["reference_images"]:
        if not Path(img).is_absolute():
            msg = f"trigger '{name}': reference image '{img}' must be an absolute path"
            raise ConfigError(msg)
    return TriggerConfig(name=name, **t)
