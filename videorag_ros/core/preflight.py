"""Everything the edge node checks and loads before it opens a topic, in one place.

The node and ``videorag edge --check`` both call ``prepare_pipeline``, so a file that passes the
check starts the node (short of topics: the check opens none), and a file the node refuses
fails the check with the same one-line message.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from videorag_ros.core.config import STOPPING_ACTIONS, EdgeConfig
from videorag_ros.core.encoder.encoder import load_encoder
from videorag_ros.core.encoder.manifest import Manifest
from videorag_ros.core.errors import ConfigError
from videorag_ros.core.paths import check_config_paths
from videorag_ros.core.pipeline import EdgePipeline
from videorag_ros.core.ros_names import check_topic_name

# Per remembered frame besides its vector: the ring's payload columns (stamps, camera, seq, reason).
_INDEX_BYTES_PER_ENTRY = 64
# The run level keeps one fp32 centroid per this many frames (TemporalIndex's run_frames).
_INDEX_FRAMES_PER_CENTROID = 32
# The memory may take at most this share of the machine's RAM.
_INDEX_MAX_RAM_SHARE = 0.5


def topic_parameters(config: EdgeConfig) -> dict[str, str]:
    """Every topic the node would open, by the parameter that names it (disabled ones left out)."""
    a = config.adapters
    topics = {f"{c.id}.topic": c.topic for c in config.cameras}
    topics |= {"estop_topic": config.estop_topic, "json_topic": a.json_topic}
    if config.cmd_vel_rate_hz > 0:
        topics["cmd_vel_topic"] = config.cmd_vel_topic
        if a.cmd_vel_lock_topic:
            topics["cmd_vel_lock_topic"] = a.cmd_vel_lock_topic
    if a.collision_topic:
        topics["collision_monitor.topic"] = a.collision_topic
    if a.speed_limit_topic:
        topics["speed_limit.topic"] = a.speed_limit_topic
    return topics


def _physical_memory_bytes() -> int | None:
    try:
        return int(os.sysconf("SC_PHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None


def check_index_memory(config: EdgeConfig, dim: int) -> None:
    """Refuse an ``index.capacity`` whose memory would not fit in half of this machine's RAM.

    Raises:
        ConfigError: Naming the estimate, the machine's memory and the parameter.
    """
    vector = 4 * dim  # the ring holds the only fp32 copy; the run level adds one centroid per run
    need = config.index_capacity * (vector + vector // _INDEX_FRAMES_PER_CENTROID + _INDEX_BYTES_PER_ENTRY) + config.index_thumbnail_budget_bytes
    ram = _physical_memory_bytes()
    if ram is not None and need > _INDEX_MAX_RAM_SHARE * ram:
        msg = (
            f"parameter 'index.capacity' = {config.index_capacity} frames of {dim}-d embeddings needs about "
            f"{need / 2**30:.1f} GiB, more than half of this machine's {ram / 2**30:.1f} GiB; lower it"
        )
        raise ConfigError(msg)


def snapshot_warnings(config: EdgeConfig) -> list[str]:
    """What the node will say about ``index.snapshot_path`` at start (it never refuses to start for it)."""
    path = config.index_snapshot_path
    if not path or not config.index_load_on_start:
        return []
    try:
        mode = Path(path).stat().st_mode
    except FileNotFoundError:
        return []
    except OSError as err:
        return [f"index.snapshot_path '{path}' cannot be read ({err.strerror}); the node will start with an empty memory"]
    if not stat.S_ISREG(mode):
        return [f"index.snapshot_path '{path}' is not a regular file; the node will ignore it and replace it at its first save"]
    return []


def prepare_pipeline(config: EdgeConfig) -> tuple[EdgePipeline, list[str]]:
    """Run every start-up check of the edge node and build its pipeline.

    Checks, in order: file paths against ``security.allowed_dirs``, every topic name, the
    model (manifest, checksums, ONNX files), the memory the index would need, and every
    trigger's prompts and reference images (encoded into goals).

    Returns:
        The pipeline and the warnings to show (unconfined paths, an unusable snapshot file).

    Raises:
        VideoragError: The first problem found, in one line naming the parameter or file.
    """
    if not config.triggers and not config.allow_no_triggers:
        msg = (
            "no triggers: parameter 'triggers' is empty, so this node would never stop anything. If the parameter file"
            " has triggers, its root key does not match this node (use '/**:' or '/<namespace>/videorag_edge:');"
            " for a memory-only node set 'allow_no_triggers: true'"
        )
        raise ConfigError(msg)
    warnings = check_config_paths(config)
    for param, topic in topic_parameters(config).items():
        check_topic_name(topic, param=param)
    encoder = load_encoder(config.model, backend=config.encoder_backend, threads=config.encoder_threads)
    check_index_memory(config, encoder.dim)
    pipeline = EdgePipeline(config, encoder)
    return pipeline, warnings + snapshot_warnings(config) + demo_model_warnings(config, encoder.manifest)


def demo_model_warnings(config: EdgeConfig, manifest: Manifest) -> list[str]:
    """A warning when a demo (synthetic-data) model drives a trigger that can stop or slow the robot."""
    stopping = [t.name for t in config.triggers if set(t.actions) & STOPPING_ACTIONS]
    if not manifest.demo or not stopping:
        return []
    return [
        f"model '{manifest.name}' is a DEMO model trained on synthetic scenes only, and it drives the stopping trigger(s)"
        f" {', '.join(stopping)}: do not rely on it to stop a real robot (export a real image-text model: see models/README.md)"
    ]
