"""videorag: short-term visual memory and semantic reflexes for ROS 2 robots."""

from videorag_ros._version import __version__

__all__ = ["__version__"]
