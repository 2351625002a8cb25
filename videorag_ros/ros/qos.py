"""Named QoS profiles."""

from __future__ import annotations

from rclpy.qos import (
    DurabilityPolicy,
    HistoryPolicy,
    QoSProfile,
    ReliabilityPolicy,
    qos_profile_sensor_data,
)

# Cameras: best effort, keep only the newest frame. Deep queues are how vision nodes end
# up deciding on seconds-old frames.
CAMERA = QoSProfile(
    history=HistoryPolicy.KEEP_LAST,
    depth=1,
    reliability=qos_profile_sensor_data.reliability,
    durability=qos_profile_sensor_data.durability,
)

# The edge node's camera subscriptions: a few frames of reader history, drained at once into
# the latest-wins slot. With depth 1, a frame that arrives while the executor is busy
# overwrites the previous one inside DDS, lost without a trace; with a little history the
# callback sees it and the slot counts it as dropped. Decisions still use the newest frame.
CAMERA_SUBSCRIPTION = QoSProfile(
    history=HistoryPolicy.KEEP_LAST,
    depth=4,
    reliability=qos_profile_sensor_data.reliability,
    durability=qos_profile_sensor_data.durability,
)

# Safety outputs (e-stop state): reliable, and a late joiner gets the current state.
LATCHED_SAFETY = QoSProfile(
    history=HistoryPolicy.KEEP_LAST,
    depth=1,
    reliability=ReliabilityPolicy.RELIABLE,
    durability=DurabilityPolicy.TRANSIENT_LOCAL,
)

# Command outputs (zero Twist): reliable, volatile, like any cmd_vel publisher.
COMMAND = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=1, reliability=ReliabilityPolicy.RELIABLE)

# Events (SemanticTrigger): reliable with a little history so bursts of ENTER/EXIT survive.
EVENTS = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=10, reliability=ReliabilityPolicy.RELIABLE)
