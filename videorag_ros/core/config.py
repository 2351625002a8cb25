"""Typed configuration: one table of parameters, their defaults, ranges and docs.

The edge node declares its ROS parameters from ``EDGE_PARAMS`` / ``CAMERA_PARAMS`` /
``TRIGGER_PARAMS``; the offline runner reads the same YAML file through
``load_params_file``. Both build the config with ``build_edge_config``, which
validates every value and names the parameter in its error.

Cameras and triggers follow the Nav2 "observation_sources" pattern: a list of ids
(``cameras: [front]``) and a block of parameters per id (``front.topic``).
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from videorag_ros.core.errors import ConfigError, VideoragError
from videorag_ros.core.frames import FrameLimits
from videorag_ros.core.printable import bounded_repr
from videorag_ros.core.safe_files import read_regular_file
from videorag_ros.core.safe_yaml import load_yaml

NODE_NAME = "videorag_edge"
# What a trigger can drive while it is active (see core/actions.py). 'estop' is the full stop:
# the e-stop Bool and every enabled stop adapter (twist_mux, collision_monitor); the adapter
# names alone drive only that adapter; 'slow_down' is a Nav2 speed limit, never a stop.
ESTOP, TWIST_MUX, COLLISION_MONITOR, SLOW_DOWN, JSON, LOG = "estop", "twist_mux", "collision_monitor", "slow_down", "json", "log"
ACTIONS = (ESTOP, TWIST_MUX, COLLISION_MONITOR, SLOW_DOWN, JSON, LOG)
# Actions that stop or slow the robot (the others only report).
STOPPING_ACTIONS = frozenset({ESTOP, TWIST_MUX, COLLISION_MONITOR, SLOW_DOWN})
# What a watchdog does when its fault is active: engage the e-stop, or only report it.
POLICIES = ("stop", "warn")
# Frames the memory may hold: 10M x 512-d fp32 is already 20 GB; anything above is a typo.
MAX_INDEX_CAPACITY = 10_000_000


@dataclass(frozen=True, slots=True)
class ParamSpec:
    """One parameter: dotted name, default (its type is the parameter's type), docs, range."""

    name: str
    default: Any
    description: str
    min: float | None = None
    max: float | None = None
    choices: tuple[str, ...] = ()
    read_only: bool = True
    unit: str = ""
    range_text: str = ""  # the README's "range" column where min/max/choices cannot say it


def _p(name: str, default: Any, description: str, **kw: Any) -> ParamSpec:
    return ParamSpec(name, default, description, **kw)


# The fleet exporter (videorag_ros/fleet/, docs/fleet.md): selected frames to Qdrant, off the frame path.
FLEET_PARAMS: tuple[ParamSpec, ...] = (
    _p("fleet.enabled", False, "Export selected frames (keyframes, trigger moments' best frames) to the fleet store from the node's own thread."),
    _p("fleet.robot_id", "", "This robot's id in the fleet store (letters, digits, '_', '-'); required when fleet.enabled."),
    _p("fleet.url", "", "Qdrant server or cluster, e.g. http://qdrant.local:6333; empty: an embedded on-disk store at fleet.path."),
    _p("fleet.api_key_file", "", "File holding the Qdrant API key (absolute path; never logged); empty: no key."),
    _p("fleet.path", "", "Directory of the embedded store (absolute); empty: ~/.ros/videorag/fleet."),
    _p("fleet.embedded_engine", "edge", "Embedded store: 'edge' = Qdrant Edge (qdrant-edge-py), 'local' = qdrant-client's local mode (see docs/fleet.md).", choices=("edge", "local")),
    _p("fleet.collection", "videorag_moments", "Collection name (server) or sub-directory (embedded)."),
    _p("fleet.isolation", "process", "Where the store runs: 'process' = a child process (Qdrant Edge holds the GIL while it indexes: seconds), 'thread' = a thread of the node.", choices=("process", "thread")),
    _p("fleet.keyframe_interval_s", 1.0, "At most one keyframe per camera this often (stamp time); 0 exports every admitted frame.", min=0.0, max=86400.0, unit="s"),
    _p("fleet.moment_max_s", 10.0, "A trigger moment exports its best frame at its EXIT, or every this long while it lasts.", min=0.1, max=86400.0, unit="s"),
    _p("fleet.thumbnails", True, "Send each point's JPEG thumbnail (the memory's, 160 px wide) in its payload."),
    _p("fleet.outbox_capacity", 3600, "Points waiting to be sent at most; beyond it the oldest are dropped and counted.", min=1, max=1_000_000),
    _p("fleet.batch_size", 64, "Points per upsert request.", min=1, max=10_000),
    _p("fleet.flush_interval_s", 1.0, "A partial batch is sent after waiting this long.", min=0.01, max=3600.0, unit="s"),
    _p("fleet.timeout_s", 5.0, "Timeout of each request to the store.", min=0.1, max=600.0, unit="s"),
    _p("fleet.backoff_initial_s", 0.5, "First retry delay after a failed request (doubles per failure, jittered).", min=0.01, max=3600.0, unit="s"),
    _p("fleet.backoff_max_s", 30.0, "Largest retry delay.", min=0.01, max=3600.0, unit="s"),
    _p("fleet.ttl_s", 7 * 86400.0, "Points older than this (by stamp) are deleted by a periodic delete-by-filter of this robot's points; 0 = keep.", min=0.0, max=3660 * 86400.0, unit="s"),
    _p("fleet.ttl_sweep_period_s", 600.0, "Period of the TTL sweep.", min=1.0, max=86400.0, unit="s"),
    _p("fleet.shard_number", 1, "Server: shards of a new collection (spread over the cluster's nodes).", min=1, max=1000),
    _p("fleet.replication_factor", 1, "Server: copies of each shard in a new collection.", min=1, max=100),
    _p("fleet.quantization", "int8", "New collection: 'int8' scalar quantization in RAM with originals on disk (rescored), or 'none'.", choices=("int8", "none")),
    _p("fleet.pose_topic", "", "Odometry or pose topic whose latest pose goes with each point; empty: no pose."),
    _p("fleet.pose_type", "odometry", "Type of fleet.pose_topic: nav_msgs/Odometry, geometry_msgs/PoseStamped or PoseWithCovarianceStamped.", choices=("odometry", "pose", "pose_with_covariance")),
    _p("fleet.pose_max_age_s", 1.0, "A pose further than this from a frame's stamp is not attached to it.", min=0.0, max=3600.0, unit="s"),
)

# The slow loop (videorag_ros/slowloop/): describe, verify and answer with a multimodal model,
# off the reflex path. Only the names of the API key's environment variable or file are
# parameters; the key itself never is (nor is it logged or put in /diagnostics).
SLOWLOOP_PARAMS: tuple[ParamSpec, ...] = (
    _p("slowloop.enabled", True, "Run the slow loop (descriptions, trigger verification, ~/ask) on its own thread."),
    _p("slowloop.base_url", "", "OpenAI-compatible API base URL (e.g. http://127.0.0.1:8000/v1); empty = the offline describer (caption ranking with the loaded image-text model)."),
    _p("slowloop.model", "", "Model name sent with each chat-completions request (needed with slowloop.base_url)."),
    _p("slowloop.api_key_env", "", "Name of the environment variable holding the API key; empty = none."),
    _p("slowloop.api_key_file", "", "Absolute path of a file holding the API key (a regular file, at most 4 KiB); empty = none."),
    _p("slowloop.period_s", 10.0, "Describe the latest moment of each camera this often (round robin); 0 = only on trigger ENTER.", min=0.0, max=3600.0, unit="s"),
    _p("slowloop.rate_limit_per_min", 12.0, "Requests per minute the token bucket allows (retries included).", min=0.01, max=6000.0, unit="1/min"),
    _p("slowloop.burst", 3, "Token bucket size: requests that may go out back to back.", min=1, max=100),
    _p("slowloop.timeout_s", 30.0, "Longest one request may take (connect, send, wait, read); then it counts as a timeout.", min=0.1, max=600.0, unit="s"),
    _p("slowloop.connect_timeout_s", 3.0, "Longest the TCP/TLS connect may take.", min=0.05, max=60.0, unit="s"),
    _p("slowloop.max_retries", 2, "Retries of a request after a 429, a 5xx, a timeout or a refused connection.", min=0, max=10),
    _p("slowloop.backoff_s", 1.0, "First retry delay after a 5xx or timeout; doubles per retry, with full jitter.", min=0.0, max=600.0, unit="s"),
    _p("slowloop.backoff_max_s", 30.0, "Longest retry delay; a longer Retry-After still pauses every request but that one is not retried.", min=0.0, max=3600.0, unit="s"),
    _p("slowloop.breaker_failures", 3, "Consecutive failed requests that open the circuit breaker (no requests while open).", min=1, max=1000),
    _p("slowloop.breaker_reset_s", 30.0, "How long the breaker stays open before one trial request.", min=0.1, max=3600.0, unit="s"),
    _p("slowloop.queue_size", 8, "Pending jobs (descriptions, verifications); the oldest is dropped and counted when full.", min=1, max=1024),
    _p("slowloop.history_tokens", 512, "Token budget of the rolling history of earlier answers sent with each request (oldest dropped first).", min=0, max=65536),
    _p("slowloop.frames_per_request", 4, "Downscaled JPEG frames sent per request, around the moment's best frame.", min=1, max=16),
    _p("slowloop.frame_width", 384, "Width the frames sent to the model are downscaled to.", min=32, max=2048, unit="px"),
    _p("slowloop.jpeg_quality", 80, "JPEG quality of the frames sent to the model.", min=10, max=100),
    _p("slowloop.frame_cache_s", 10.0, "Seconds of downscaled frames kept per camera for requests (one per 0.2 s, at most 128; older moments use the memory's thumbnails).", min=0.5, max=600.0, unit="s"),
    _p("slowloop.max_tokens", 200, "Completion tokens asked for per request.", min=1, max=8192),
    _p("slowloop.max_response_bytes", 1048576, "Largest response body read; a larger one is refused and counted.", min=1024, max=67108864, unit="B"),
    _p("slowloop.prompt", "", "Describe prompt; empty = the built-in one."),
    _p("slowloop.offline_captions", "", "Absolute path of a caption file (one per line) for the offline describer; empty = the model's own (videorag-tiny: its scene grammar; others: generic robot-scene captions)."),
)

EDGE_PARAMS: tuple[ParamSpec, ...] = (
    _p("cameras", ["front"], "Camera ids; each id has a '<id>.*' parameter block."),
    _p("triggers", [], "Trigger names; each has a '<name>.*' parameter block."),
    _p("allow_no_triggers", False, "Start with no triggers (a memory-only node). Off by default: a node with no triggers usually means its parameter file did not apply (e.g. a root key that does not match the node's namespace)."),
    _p("debug_image.enabled", False, "Publish ~/debug_image (sensor_msgs/Image): the last decided frame with the gate decision and each trigger's score and state drawn on it, on its own thread, never delaying a decision."),
    _p("debug_image.rate_hz", 2.0, "Most debug images a second (all cameras together).", min=0.1, max=30.0, unit="Hz", read_only=False),
    _p("latency_budget_ms", 100.0, "Glass-to-action budget; frames over it are counted.", min=1.0, max=60_000.0, unit="ms", read_only=False),
    _p("max_width", 4096, "Largest accepted image width.", min=1, max=16384, unit="px"),
    _p("max_height", 4096, "Largest accepted image height.", min=1, max=16384, unit="px"),
    _p("max_compressed_bytes", 16 * 1024 * 1024, "Largest accepted CompressedImage payload.", min=1, max=256 * 1024 * 1024, unit="B"),
    _p("estop_topic", "estop", "std_msgs/Bool e-stop output (true = stop), transient-local, reliable."),
    _p("estop_heartbeat_hz", 10.0, "Re-send rate of the e-stop state.", min=0.1, max=100.0, unit="Hz", read_only=False),
    _p("cmd_vel_topic", "cmd_vel_safety", "twist_mux adapter: zero geometry_msgs/Twist while a stop is active (wire to twist_mux's top-priority input)."),
    _p("cmd_vel_stamped", False, "twist_mux adapter: publish geometry_msgs/TwistStamped instead of Twist (Jazzy twist_mux use_stamped, Nav2 Kilted enable_stamped_cmd_vel)."),
    _p("cmd_vel_frame_id", "base_link", "header.frame_id of the zero TwistStamped (cmd_vel_stamped: true)."),
    _p("cmd_vel_rate_hz", 20.0, "Zero-Twist (and lock) rate; 0 disables the twist_mux adapter.", min=0.0, max=200.0, unit="Hz"),
    _p("cmd_vel_lock_topic", "", "twist_mux adapter: std_msgs/Bool lock re-sent at cmd_vel_rate_hz (true while stopped); empty = no lock."),
    _p("collision_monitor.topic", "", "Nav2 collision_monitor polygon source: geometry_msgs/PolygonInstanceStamped heartbeat; empty disables it."),
    _p("collision_monitor.frame_id", "base_link", "Frame of the virtual obstacle polygon (the robot's base frame)."),
    _p("collision_monitor.polygon", [0.1, 0.25, 0.4, 0.25, 0.4, -0.25, 0.1, -0.25], "Virtual obstacle vertices x1, y1, x2, y2, ... in collision_monitor.frame_id (write 0.0, not 0).", unit="m", range_text="≥ 3 vertices"),
    _p("speed_limit.topic", "", "Nav2 nav2_msgs/SpeedLimit output of slow_down triggers (e.g. /speed_limit); needs nav2_msgs; empty disables it."),
    _p("speed_limit.percentage", True, "Triggers' speed_limit is a percentage of the maximum speed (true) or m/s (false)."),
    _p("json_topic", "~/actions", "std_msgs/String JSON events of triggers with the 'json' action."),
    _p("action_heartbeat_hz", 10.0, "Re-send rate of the collision polygon, an active speed limit and active JSON states.", min=0.1, max=100.0, unit="Hz", read_only=False),
    _p("diagnostics_period_s", 1.0, "Period of /diagnostics.", min=0.05, max=3600.0, unit="s", read_only=False),
    _p("model", "videorag-tiny", "Encoder model: a name under the model path or a model directory."),
    _p("encoder_backend", "auto", "Encoder backend.", choices=("auto", "tensorrt", "cuda", "cpu")),
    _p("encoder_threads", 0, "onnxruntime threads of the image tower on the CPU (idle ones sleep, never spin); 0 = auto: one less than the usable CPUs (affinity, cgroup quota), at least 1, at most 4.", min=0, max=64),
    _p("gate.thumbnail_width", 96, "Width of the grey thumbnail on which change and blur are measured.", min=8, max=512, unit="px"),
    _p("gate.motion_pixel_delta", 12, "Least grey-level change (after a global brightness match) that counts a thumbnail pixel as changed; raised automatically above the measured noise.", min=1, max=255, read_only=False),
    _p("gate.motion_threshold", 0.005, "Fraction of the thumbnail that must change against the last admitted frame to admit a frame for motion.", min=0.0, max=1.0, read_only=False),
    _p("gate.onset_threshold", 0.0015, "Fraction of the thumbnail that must start moving (since the previous frame, where the image had been still) to admit a frame at once as an onset of new motion.", min=0.0, max=1.0, read_only=False),
    _p("gate.blur_min_variance", 0.0, "Laplacian variance under which a frame is rejected as blurry; 0 disables.", min=0.0, max=1e6, read_only=False),
    _p("gate.keyframe_interval_s", 5.0, "Admit a frame at least this often, even when nothing changes; 0 admits every frame the rate limits allow.", min=0.0, max=3600.0, unit="s", read_only=False),
    _p("gate.max_rate_hz", 10.0, "Maximum admission rate per camera, for any reason (onsets included); 0 = no limit but the encoder budget.", min=0.0, max=1000.0, unit="Hz", read_only=False),
    _p("gate.motion_rate_hz", 5.0, "Maximum admission rate while the scene keeps changing (onsets are admitted ahead of it); 0 = up to max_rate_hz.", min=0.0, max=1000.0, unit="Hz", read_only=False),
    _p("gate.onset_frames", 3, "Frames admitted at up to max_rate_hz from an onset of new motion in a still scene (the onset frame included), so triggers' N-of-M debounce decides quickly.", min=1, max=30, read_only=False),
    _p("gate.encoder_share", 0.5, "Share of the encoder's measured throughput (1 / the running mean of preprocessing + forward time) that admissions may use, per camera and over all cameras; never admit faster than the encoder drains.", min=0.05, max=1.0, read_only=False),
    _p("index.capacity", 20000, "Frames remembered (ring size).", min=1, max=MAX_INDEX_CAPACITY),
    _p("index.ttl_s", 600.0, "Frames older than this are forgotten.", min=0.0, max=366 * 86400.0, unit="s"),
    _p("index.snapshot_path", "", "Absolute path of the memory snapshot file; empty disables snapshots."),
    _p("index.snapshot_period_s", 0.0, "Snapshot period; 0 = only at shutdown.", min=0.0, max=86400.0, unit="s"),
    _p("index.load_on_start", True, "Reload the snapshot at start (a corrupt one is logged and skipped)."),
    _p("index.thumbnail_budget_bytes", 8 * 1024 * 1024, "Total bytes of JPEG thumbnails kept with the memory (oldest dropped first); 0 keeps none.", min=0, max=1 << 30, unit="B"),
    _p("index.recall_floor", 0.9, "Sampled recall@10 wanted from the run level: under it more runs are probed within index.search_budget_ms, then queries are answered exactly; 0 disables.", min=0.0, max=1.0),
    _p("index.search_budget_ms", 3.0, "Predicted cost of a global query through the run level up to which more runs are probed for recall; beyond it, exact scans.", min=0.0, max=1000.0, unit="ms"),
    _p("security.allowed_dirs", [], "Directories the node may read models and reference images from and keep its snapshot in (symlinks and '..' resolved); the model search path is always allowed. Empty: unconfined (logged at start-up). The shipped config/edge.yaml allows /var/lib/videorag and ~/.ros/videorag."),
    _p("watchdog.period_s", 0.05, "How often the watchdogs are evaluated (also after every frame).", min=0.005, max=1.0, unit="s"),
    _p("watchdog.encoder_deadline_ms", 1000.0, "Longest one frame may spend in gate + preprocessing + forward pass + scoring, checked while it runs; 0 disables.", min=0.0, max=600_000.0, unit="ms"),
    _p("watchdog.on_encoder_fault", "stop", "An encoder that raises or misses its deadline: 'stop' engages the e-stop until it recovers, 'warn' only reports.", choices=POLICIES),
    _p("watchdog.encoder_recovery_frames", 3, "Consecutive good, in-time frames that clear an encoder fault.", min=1, max=1000),
    _p("watchdog.worker_stall_s", 2.0, "A frame worker that makes no progress this long (outside a deadline-watched forward pass) has stalled.", min=0.1, max=3600.0, unit="s"),
    _p("watchdog.on_worker_fault", "stop", "A frame worker that died or stalled: 'stop' engages the e-stop, 'warn' only reports.", choices=POLICIES),
    *FLEET_PARAMS,
    *SLOWLOOP_PARAMS,
)

CAMERA_PARAMS: tuple[ParamSpec, ...] = (
    _p("topic", "", "Image topic (relative names honour the node namespace); default 'camera/<id>/image_raw'."),
    _p("transport", "raw", "sensor_msgs/Image ('raw') or sensor_msgs/CompressedImage ('compressed').", choices=("raw", "compressed")),
    _p("timeout_s", 1.0, "A camera silent this long is a fault (diagnostic ERROR).", min=0.01, max=3600.0, unit="s"),
    _p("on_silence", "warn", "A silent camera: 'stop' engages the e-stop until frames return, 'warn' only reports.", choices=POLICIES),
    _p("decode_cpu_share", 0.3, "Fraction of one CPU core this camera's decoding may use on average; frames beyond it are dropped and counted (dropped_over_decode_budget), so one camera cannot starve the others. A 1080p JPEG camera at 30 Hz needs about 0.25.", min=0.01, max=1.0),
)

TRIGGER_PARAMS: tuple[ParamSpec, ...] = (
    _p("enabled", True, "Whether the trigger is evaluated; disabling an active trigger ends it (EXIT) on its camera's next frame.", read_only=False),
    _p("prompts", [], "Text prompts; the trigger fires when a frame matches them.", read_only=False),
    _p("negative_prompts", [], "Text prompts the frame is contrasted with (softmax scoring).", read_only=False),
    _p("reference_images", [], "Image files whose embeddings are goals too (absolute paths)."),
    _p("scoring", "cosine", "'cosine': max cosine to a goal; 'softmax': probability mass of goals vs negatives.", choices=("cosine", "softmax"), read_only=False),
    _p("enter_threshold", 0.3, "Score at or above which a frame counts as a hit.", min=-1.0, max=1.0, read_only=False),
    _p("exit_threshold", 0.25, "Score under which a frame counts as a miss (hysteresis).", min=-1.0, max=1.0, read_only=False),
    _p("debounce_n", 2, "Hits (or misses) needed in the last debounce_m frames to enter (or exit).", min=1, max=1000, read_only=False),
    _p("debounce_m", 3, "Window of the N-of-M debounce.", min=1, max=1000, read_only=False),
    _p("min_hold_s", 0.5, "Minimum time the trigger stays active once entered.", min=0.0, max=3600.0, unit="s", read_only=False),
    _p("cooldown_s", 0.0, "Time after an exit before it may enter again.", min=0.0, max=3600.0, unit="s", read_only=False),
    _p(
        "actions",
        ["estop"],
        "Actions while active: 'estop' = full stop (e-stop Bool + every enabled stop adapter); an adapter name drives that adapter only; see \"Watchdogs and action adapters\".",
        range_text=", ".join(ACTIONS),
    ),
    _p("speed_limit", 0.0, "Speed limit of the slow_down action (% or m/s, see speed_limit.percentage); must be > 0.", min=0.0, max=1e6),
    _p("cameras", [], "Cameras this trigger watches; empty = all."),
    _p("verify", False, "Ask the slow loop's model to confirm each ENTER; its verdict may only add caution (slow_down escalated to a stop, a stop kept latched until the verdict and the trigger both clear), never release a stop."),
)


@dataclass(frozen=True, slots=True)
class GateConfig:
    """Frame gate settings (see ``EDGE_PARAMS`` 'gate.*')."""

    thumbnail_width: int = 96
    motion_pixel_delta: int = 12
    motion_threshold: float = 0.005
    onset_threshold: float = 0.0015
    blur_min_variance: float = 0.0
    keyframe_interval_s: float = 5.0
    max_rate_hz: float = 10.0
    motion_rate_hz: float = 5.0
    onset_frames: int = 3
    encoder_share: float = 0.5


@dataclass(frozen=True, slots=True)
class CameraConfig:
    """One camera input."""

    id: str
    topic: str
    transport: str = "raw"
    timeout_s: float = 1.0
    on_silence: str = "warn"
    decode_cpu_share: float = 0.3


@dataclass(frozen=True, slots=True)
class TriggerConfig:
    """One standing semantic trigger (see ``TRIGGER_PARAMS``)."""

    name: str
    prompts: tuple[str, ...] = ()
    negative_prompts: tuple[str, ...] = ()
    reference_images: tuple[str, ...] = ()
    scoring: str = "cosine"
    enter_threshold: float = 0.3
    exit_threshold: float = 0.25
    debounce_n: int = 2
    debounce_m: int = 3
    min_hold_s: float = 0.5
    cooldown_s: float = 0.0
    actions: tuple[str, ...] = ("estop",)
    cameras: tuple[str, ...] = ()
    speed_limit: float = 0.0
    enabled: bool = True
    verify: bool = False


@dataclass(frozen=True, slots=True)
class WatchdogConfig:
    """Encoder and worker watchdogs (see ``EDGE_PARAMS`` 'watchdog.*'); camera silence is per camera."""

    period_s: float = 0.05
    encoder_deadline_ms: float = 1000.0
    on_encoder_fault: str = "stop"
    encoder_recovery_frames: int = 3
    worker_stall_s: float = 2.0
    on_worker_fault: str = "stop"


@dataclass(frozen=True, slots=True)
class SlowLoopConfig:
    """The slow loop (see ``SLOWLOOP_PARAMS`` 'slowloop.*'); the API key is read by the slow loop, never stored here."""

    enabled: bool = True
    base_url: str = ""
    model: str = ""
    api_key_env: str = ""
    api_key_file: str = ""
    period_s: float = 10.0
    rate_limit_per_min: float = 12.0
    burst: int = 3
    timeout_s: float = 30.0
    connect_timeout_s: float = 3.0
    max_retries: int = 2
    backoff_s: float = 1.0
    backoff_max_s: float = 30.0
    breaker_failures: int = 3
    breaker_reset_s: float = 30.0
    queue_size: int = 8
    history_tokens: int = 512
    frames_per_request: int = 4
    frame_width: int = 384
    jpeg_quality: int = 80
    frame_cache_s: float = 10.0
    max_tokens: int = 200
    max_response_bytes: int = 1048576
    prompt: str = ""
    offline_captions: str = ""


@dataclass(frozen=True, slots=True)
class AdapterConfig:
    """Where the action adapters publish (an empty topic disables an adapter)."""

    cmd_vel_lock_topic: str = ""
    collision_topic: str = ""
    collision_frame_id: str = "base_link"
    collision_polygon: tuple[float, ...] = (0.1, 0.25, 0.4, 0.25, 0.4, -0.25, 0.1, -0.25)
    speed_limit_topic: str = ""
    speed_limit_percentage: bool = True
    json_topic: str = "~/actions"
    heartbeat_hz: float = 10.0


@dataclass(frozen=True, slots=True)
class FleetConfig:
    """The fleet exporter (see ``FLEET_PARAMS``; videorag_ros/fleet/ uses it, the core never does)."""

    enabled: bool = False
    robot_id: str = ""
    url: str = ""
    api_key_file: str = ""
    path: str = ""
    embedded_engine: str = "edge"
    isolation: str = "process"
    collection: str = "videorag_moments"
    keyframe_interval_s: float = 1.0
    moment_max_s: float = 10.0
    thumbnails: bool = True
    outbox_capacity: int = 3600
    batch_size: int = 64
    flush_interval_s: float = 1.0
    timeout_s: float = 5.0
    backoff_initial_s: float = 0.5
    backoff_max_s: float = 30.0
    ttl_s: float = 7 * 86400.0
    ttl_sweep_period_s: float = 600.0
    shard_number: int = 1
    replication_factor: int = 1
    quantization: str = "int8"
    pose_topic: str = ""
    pose_type: str = "odometry"
    pose_max_age_s: float = 1.0


@dataclass(frozen=True, slots=True)
class EdgeConfig:
    """Everything the edge pipeline needs, validated."""

    cameras: tuple[CameraConfig, ...]
    triggers: tuple[TriggerConfig, ...]
    gate: GateConfig = field(default_factory=GateConfig)
    limits: FrameLimits = field(default_factory=FrameLimits)
    latency_budget_ms: float = 100.0
    estop_topic: str = "estop"
    estop_heartbeat_hz: float = 10.0
    cmd_vel_topic: str = "cmd_vel_safety"
    cmd_vel_rate_hz: float = 20.0
    cmd_vel_stamped: bool = False
    cmd_vel_frame_id: str = "base_link"
    diagnostics_period_s: float = 1.0
    model: str = "videorag-tiny"
    encoder_backend: str = "auto"
    encoder_threads: int = 0
    index_capacity: int = 20000
    index_ttl_s: float = 600.0
    index_snapshot_path: str = ""
    security_allowed_dirs: tuple[str, ...] = ()
    index_snapshot_period_s: float = 0.0
    index_load_on_start: bool = True
    index_thumbnail_budget_bytes: int = 8 * 1024 * 1024
    index_recall_floor: float = 0.9
    index_search_budget_ms: float = 3.0
    adapters: AdapterConfig = field(default_factory=AdapterConfig)
    watchdog: WatchdogConfig = field(default_factory=WatchdogConfig)
    allow_no_triggers: bool = False
    debug_image_enabled: bool = False
    debug_image_rate_hz: float = 2.0
    fleet: FleetConfig = field(default_factory=FleetConfig)
    slowloop: SlowLoopConfig = field(default_factory=SlowLoopConfig)


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
    for name in ("path", "api_key_file"):
        value = getattr(cfg, name)
        if value and not Path(value).is_absolute():
            msg = f"parameter 'fleet.{name}' = {bounded_repr(value)} must be an absolute path (or empty)"
            raise ConfigError(msg)
    if cfg.backoff_initial_s > cfg.backoff_max_s:
        msg = f"parameter 'fleet.backoff_initial_s' = {cfg.backoff_initial_s} exceeds 'fleet.backoff_max_s' = {cfg.backoff_max_s}"
        raise ConfigError(msg)
    return cfg


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
    for name in ("api_key_file", "offline_captions"):
        value = getattr(cfg, name)
        if value and not Path(value).is_absolute():
            msg = f"parameter 'slowloop.{name}' = {bounded_repr(value)} must be an absolute path (or empty)"
            raise ConfigError(msg)
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
