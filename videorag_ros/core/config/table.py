"""The parameter table: every edge parameter once, with its default (and so its type), docs, range and unit.

The node declares its ROS parameters from it, the README's tables are generated from it
(tools/readme_params.py) and ``build_edge_config`` validates against it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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
    _p("gate.max_rate_hz", 30.0, "Maximum admission rate per camera, for any reason (onsets included); 0 = no limit but the encoder budget.", min=0.0, max=1000.0, unit="Hz", read_only=False),
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
