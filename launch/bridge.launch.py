"""ros2 launch videorag bridge.launch.py source:=rtsp://… [camera_id:=front] [params_file:=...] [namespace:=...]

Starts the stream bridge: the source decoded with PyAV in a child process and published as
camera/<camera_id>/image_raw (or .../compressed for MJPEG). Off-robot: `videorag bridge --source …`.
"""

import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node


def generate_launch_description():
    share = get_package_share_directory("videorag")
    return LaunchDescription([
        DeclareLaunchArgument("params_file", default_value=os.path.join(share, "config", "bridge.yaml"), description="Parameter file of the bridge"),
        DeclareLaunchArgument("source", description="rtsp://, http(s)://, tcp://, udp://, a video file or /dev/videoN"),
        DeclareLaunchArgument("camera_id", default_value="front", description="Topics go to camera/<camera_id>/image_raw[/compressed]"),
        DeclareLaunchArgument("namespace", default_value="", description="Namespace of the node"),
        Node(
            package="videorag",
            executable="bridge_node",
            name="videorag_bridge",
            namespace=LaunchConfiguration("namespace"),
            parameters=[LaunchConfiguration("params_file"), {"source": LaunchConfiguration("source"), "camera_id": LaunchConfiguration("camera_id")}],
            output="screen",
            emulate_tty=True,
        ),
    ])
