"""Keep DDS discovery on this machine for tests, demos and benchmarks.

Fast DDS (and every other RMW) multicasts discovery on every network interface unless told
otherwise. Our own runs must never leave the machine, so each process that may start rclpy
sets these variables before ``rclpy.init``: ``ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST`` (Iron
and later) and, on Humble, ``ROS_LOCALHOST_ONLY=1`` (deprecated, and warned about, later).
The robot-facing node never calls this: its discovery is the user's choice. Importing this
module does not import rclpy.
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping

DISCOVERY_RANGE = "ROS_AUTOMATIC_DISCOVERY_RANGE"
LOCALHOST_ONLY = "ROS_LOCALHOST_ONLY"
# Distributions whose rmw reads only ROS_LOCALHOST_ONLY.
_LOCALHOST_ONLY_DISTROS = ("humble",)


def confine_to_localhost(env: MutableMapping[str, str] | None = None) -> MutableMapping[str, str]:
    """Set the discovery variables of ``env`` (default ``os.environ``) to this machine only.

    An explicit ``ROS_AUTOMATIC_DISCOVERY_RANGE`` other than LOCALHOST is overridden: a test or
    benchmark has no business discovering other machines.

    Returns:
        ``env``, changed in place.
    """
    target = os.environ if env is None else env
    target[DISCOVERY_RANGE] = "LOCALHOST"
    if target.get("ROS_DISTRO", "") in _LOCALHOST_ONLY_DISTROS:
        target[LOCALHOST_ONLY] = "1"
    return target


def is_confined(env: MutableMapping[str, str] | None = None) -> bool:
    """True when ``env`` (default ``os.environ``) keeps discovery on this machine."""
    e = os.environ if env is None else env
    if e.get("ROS_DISTRO", "") in _LOCALHOST_ONLY_DISTROS:
        return e.get(LOCALHOST_ONLY) == "1"
    return e.get(DISCOVERY_RANGE) == "LOCALHOST"


# Fast DDS 2.x (Humble, Iron, Jazzy) reads FASTRTPS_DEFAULT_PROFILES_FILE; Fast DDS 3 (Kilted and
# later) reads FASTDDS_DEFAULT_PROFILES_FILE and warns that the old name is deprecated.
_FASTDDS2_DISTROS = ("humble", "iron", "jazzy")
PROFILE_VARIABLES = ("FASTDDS_DEFAULT_PROFILES_FILE", "FASTRTPS_DEFAULT_PROFILES_FILE")


def profiles_variable(env: MutableMapping[str, str] | None = None) -> str:
    """The Fast DDS profiles variable the running distribution reads (``ROS_DISTRO``; Fast DDS 3 when unset)."""
    e = os.environ if env is None else env
    return PROFILE_VARIABLES[1] if e.get("ROS_DISTRO", "") in _FASTDDS2_DISTROS else PROFILE_VARIABLES[0]


def use_profiles_file(path: str, env: MutableMapping[str, str] | None = None) -> MutableMapping[str, str]:
    """Point Fast DDS at ``path`` through the variable this distribution reads, unless a profile is set already.

    Returns:
        ``env`` (default ``os.environ``), changed in place.
    """
    target = os.environ if env is None else env
    if not any(v in target for v in PROFILE_VARIABLES):
        target[profiles_variable(target)] = path
    return target
