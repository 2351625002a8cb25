"""ros2 launch videorag ws_ingest.launch.py token_file:=/etc/videorag/ingest.token [params_file:=...] [namespace:=...]

Starts the WebSocket door: edge clients (`videorag stream-client --url ws://…`) become
ingest/<client>/image_raw/compressed; their trigger events go back on the same socket.
Off-robot: `videorag ingest ws --token-file …`.
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
        DeclareLaunchArgument("params_file", default_value=os.path.join(share, "config", "ws_ingest.yaml"), description="Parameter file of the door"),
        DeclareLaunchArgument("token_file", description="File holding the shared token (chmod 600)"),
        DeclareLaunchArgument("namespace", default_value="", description="Namespace of the node"),
        Node(
            package="videorag",
            executable="ws_ingest_node",
            name="videorag_ws_ingest",
            namespace=LaunchConfiguration("namespace"),
            parameters=[LaunchConfiguration("params_file"), {"token_file": LaunchConfiguration("token_file")}],
            output="screen",
            emulate_tty=True,
        ),
    ])
