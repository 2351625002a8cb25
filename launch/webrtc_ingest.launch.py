"""ros2 launch videorag webrtc_ingest.launch.py token_file:=/etc/videorag/ingest.token [params_file:=...] [namespace:=...]

Starts the WebRTC door: peers POST SDP offers to http://<host>:<port>/whip/<client>; their video
becomes ingest/<client>/image_raw and trigger events go back on their data channel. STUN/TURN
settings for real networks are in the parameter file. Off-robot: `videorag ingest webrtc --token-file …`.
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
        DeclareLaunchArgument("params_file", default_value=os.path.join(share, "config", "webrtc_ingest.yaml"), description="Parameter file of the door"),
        DeclareLaunchArgument("token_file", description="File holding the bearer token (chmod 600)"),
        DeclareLaunchArgument("namespace", default_value="", description="Namespace of the node"),
        Node(
            package="videorag",
            executable="webrtc_ingest_node",
            name="videorag_webrtc_ingest",
            namespace=LaunchConfiguration("namespace"),
            parameters=[LaunchConfiguration("params_file"), {"token_file": LaunchConfiguration("token_file")}],
            output="screen",
            emulate_tty=True,
        ),
    ])
