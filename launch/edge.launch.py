"""ros2 launch videorag edge.launch.py [params_file:=...] [namespace:=...] [camera_topic:=...]

Starts the videorag edge node with config/edge.yaml. Off-robot, `videorag edge --params
config/edge.yaml` runs the same node with the same file.
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
        DeclareLaunchArgument("params_file", default_value=os.path.join(share, "config", "edge.yaml"),
                              description="Parameter file of the edge node"),
        DeclareLaunchArgument("namespace", default_value="", description="Namespace of the node"),
        DeclareLaunchArgument("camera_topic", default_value="camera/front/image_raw",
                              description="Remap the front camera topic"),
        DeclareLaunchArgument("log_level", default_value="info"),
        Node(
            package="videorag",
            executable="edge_node",
            name="videorag_edge",
            namespace=LaunchConfiguration("namespace"),
            parameters=[LaunchConfiguration("params_file")],
            remappings=[("camera/front/image_raw", LaunchConfiguration("camera_topic"))],
            arguments=["--ros-args", "--log-level", LaunchConfiguration("log_level")],
            output="screen",
            emulate_tty=True,
        ),
    ])
