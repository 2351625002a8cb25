"""Parameter tables of the three doors, and their validation (one source of truth for nodes, CLI and docs)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from videorag_ros.core.config import ParamSpec
from videorag_ros.core.errors import ConfigError

TRIGGERS_TOPIC = "/videorag_edge/triggers"
_CLIENT_LIMITS = (
    ParamSpec("max_width", 1280, "Frames wider than this are refused (WebSocket) or scaled down (WebRTC).", min=16, max=8192, unit="px"),
    ParamSpec("max_height", 1280, "Frames taller than this are refused (WebSocket) or scaled down (WebRTC).", min=16, max=8192, unit="px"),
    ParamSpec("triggers_topic", TRIGGERS_TOPIC, "The edge node's videorag/SemanticTrigger topic; events of a client's camera go back to it."),
    ParamSpec("diagnostics_period_s", 1.0, "Period of /diagnostics.", min=0.05, unit="s"),
)

BRIDGE_PARAMS: tuple[ParamSpec, ...] = (
    ParamSpec("source", "", "rtsp://, http(s):// (MJPEG, HLS), tcp://, udp://, a video file or /dev/videoN."),
    ParamSpec("camera_id", "bridge", "Camera id: topics go to camera/<camera_id>/image_raw[/compressed] (relative to the node namespace)."),
    ParamSpec("frame_id", "", "header.frame_id of every frame; default '<camera_id>_optical_frame'."),
    ParamSpec("output", "auto", "'auto': MJPEG passed through as CompressedImage, anything else decoded to Image; 'raw': always Image; 'compressed': always CompressedImage (non-MJPEG frames JPEG-encoded).", choices=("auto", "raw", "compressed")),
    ParamSpec("max_width", 1280, "Frames are scaled down to fit (not for MJPEG passed through).", min=16, max=8192, unit="px"),
    ParamSpec("max_height", 720, "Frames are scaled down to fit (not for MJPEG passed through).", min=16, max=8192, unit="px"),
    ParamSpec("max_fps", 30.0, "Frame-rate cap (stream time); 0 = every frame.", min=0.0, unit="Hz"),
    ParamSpec("jpeg_quality", 85, "JPEG quality when 'output' is 'compressed' and frames are re-encoded.", min=1, max=100),
    ParamSpec("realtime", True, "Files: release frames at their presentation times (false: as fast as they decode)."),
    ParamSpec("loop", False, "Files: start over at the end."),
    ParamSpec("open_timeout_s", 10.0, "Longest wait for a source to open.", min=0.1, unit="s"),
    ParamSpec("stall_timeout_s", 5.0, "A source that delivers no frame this long is reconnected.", min=0.1, unit="s"),
    ParamSpec("backoff_initial_s", 0.5, "First reconnect delay (doubles per failure, jittered).", min=0.01, unit="s"),
    ParamSpec("backoff_max_s", 10.0, "Largest reconnect delay.", min=0.01, unit="s"),
    ParamSpec("rtsp_transport", "tcp", "RTSP transport.", choices=("tcp", "udp")),
    ParamSpec("rtsp_listen", False, "RTSP: accept a stream pushed to 'source' (ANNOUNCE/RECORD, e.g. ffmpeg -f rtsp rtsp://<this host>:8554/cam) instead of pulling from a camera."),
    ParamSpec("memory_limit_mb", 2048, "Address-space limit of the decoding child process.", min=256, unit="MB"),
    ParamSpec("max_source_pixels", 4096 * 4096, "Streams declaring more pixels per frame are refused before decoding.", min=1),
    ParamSpec("max_compressed_bytes", 8 * 1024 * 1024, "Largest MJPEG frame passed through.", min=1024, unit="B"),
    ParamSpec("diagnostics_period_s", 1.0, "Period of /diagnostics.", min=0.05, unit="s"),
)

WS_PARAMS: tuple[ParamSpec, ...] = (
    ParamSpec("host", "127.0.0.1", "Address to listen on (0.0.0.0 for every interface: put TLS in front, e.g. a reverse proxy)."),
    ParamSpec("port", 8765, "TCP port (0: any free port, logged).", min=0, max=65535),
    ParamSpec("token_file", "", "File holding the shared token clients must present (required; never logged)."),
    ParamSpec("namespace", "ingest", "Topic prefix: each client publishes <namespace>/<client>/image_raw/compressed."),
    ParamSpec("max_clients", 16, "Connected clients at most; more are refused.", min=1, max=1024),
    ParamSpec("max_frame_bytes", 2 * 1024 * 1024, "Largest message (frame) accepted; a bigger one closes that client's connection.", min=1024, unit="B"),
    ParamSpec("max_memory_bytes", 256 * 1024 * 1024, "Bound on frame bytes held by the server (checked against max_clients × max_frame_bytes × 3).", min=1024, unit="B"),
    ParamSpec("hello_timeout_s", 5.0, "A client must authenticate within this time.", min=0.1, unit="s"),
    ParamSpec("idle_timeout_s", 10.0, "A client that sends nothing this long is disconnected.", min=0.1, unit="s"),
    ParamSpec("send_timeout_s", 2.0, "A trigger event not written to a client within this time closes that client.", min=0.01, unit="s"),
    ParamSpec("max_bad_frames", 20, "Malformed frames one client may send before it is disconnected.", min=1),
    ParamSpec("max_clock_skew_s", 1.0, "A client stamp further in the future than this (or older than 10 s) is replaced by the receive time.", min=0.0, unit="s"),
    *_CLIENT_LIMITS,
)

WEBRTC_PARAMS: tuple[ParamSpec, ...] = (
    ParamSpec("host", "127.0.0.1", "Address the HTTP offer endpoint listens on."),
    ParamSpec("port", 8889, "TCP port of the offer endpoint (POST /whip/<client>; 0: any free port, logged).", min=0, max=65535),
    ParamSpec("token_file", "", "File holding the bearer token offers must carry (required; never logged)."),
    ParamSpec("namespace", "ingest", "Topic prefix: each peer publishes <namespace>/<client>/image_raw."),
    ParamSpec("max_peers", 8, "Connected peers at most; more offers get 503.", min=1, max=256),
    ParamSpec("max_offer_bytes", 65536, "Largest SDP offer accepted.", min=1024, unit="B"),
    ParamSpec("max_fps", 30.0, "Frames per second published per peer at most; 0 = all.", min=0.0, unit="Hz"),
    ParamSpec("idle_timeout_s", 10.0, "A peer whose track delivers no frame this long is closed.", min=0.5, unit="s"),
    ParamSpec("ice_servers", [], "STUN/TURN URLs for real networks (e.g. stun:stun.example.org:3478, turn:turn.example.org:3478?transport=udp); empty: host candidates only."),
    ParamSpec("ice_username", "", "TURN username."),
    ParamSpec("ice_credential_file", "", "File holding the TURN credential (never logged)."),
    ParamSpec("host_candidates", "loopback", "'loopback': media only over 127.0.0.1 (tests, same-machine peers); 'all': every interface (real networks).", choices=("loopback", "all")),
    *_CLIENT_LIMITS,
)


def _ok_type(default: Any, value: Any) -> tuple[bool, Any]:
    if isinstance(default, bool):
        return isinstance(value, bool), value
    if isinstance(default, int):
        return isinstance(value, int) and not isinstance(value, bool), value
    if isinstance(default, float):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        return ok, float(value) if ok else value
    if isinstance(default, str):
        return isinstance(value, str), value
    if value is None:  # ROS cannot declare an empty list parameter's type: unset means empty
        return True, ()
    ok = isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value)
    return ok, tuple(v for v in value if v) if ok else value


def check_params(specs: tuple[ParamSpec, ...], values: Mapping[str, Any]) -> dict[str, Any]:
    """Fill defaults, check types, ranges and choices, refuse unknown names.

    Args:
        specs: A door's parameter table.
        values: ``{name: value}``; missing names take their defaults.

    Returns:
        ``{name: value}`` for every parameter (lists as tuples without empty strings, numbers finite).

    Raises:
        ConfigError: An unknown name, a wrong type, a value out of range.
    """
    known = {s.name: s for s in specs}
    unknown = sorted(set(values) - set(known))
    if unknown:
        msg = f"unknown parameter(s) {', '.join(repr(u) for u in unknown)}; known: {', '.join(known)}"
        raise ConfigError(msg)
    out: dict[str, Any] = {}
    for s in specs:
        value = values.get(s.name, s.default)
        ok, value = _ok_type(s.default, value)
        if not ok:
            msg = f"parameter '{s.name}' must be a {type(s.default).__name__}, got {value!r:.80}"
            raise ConfigError(msg)
        if s.min is not None and value < s.min:
            msg = f"parameter '{s.name}' = {value} is below its minimum {s.min}"
            raise ConfigError(msg)
        if s.max is not None and value > s.max:
            msg = f"parameter '{s.name}' = {value} is above its maximum {s.max}"
            raise ConfigError(msg)
        if s.choices and value not in s.choices:
            msg = f"parameter '{s.name}' = {value!r:.80} is not one of {', '.join(s.choices)}"
            raise ConfigError(msg)
        out[s.name] = value
    return out
