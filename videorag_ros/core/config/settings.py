"""The validated settings the pipeline and the node read (frozen dataclasses built by ``build_edge_config``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from videorag_ros.core.frames import FrameLimits


@dataclass(frozen=True, slots=True)
class GateConfig:
    """Frame gate settings (see ``EDGE_PARAMS`` 'gate.*')."""

    thumbnail_width: int = 96
    motion_pixel_delta: int = 12
    motion_threshold: float = 0.005
    onset_threshold: float = 0.0015
    blur_min_variance: float = 0.0
    keyframe_interval_s: float = 5.0
    max_rate_hz: float = 30.0
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
