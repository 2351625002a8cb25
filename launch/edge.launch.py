"""ros2 launch videorag edge.launch.py [params_file:=...] [namespace:=...] [camera_topic:=...]
       [managed:=true [autostart:=false]] [use_sim_time:=true] [respawn:=true] [log_level:=debug]

Starts the videorag edge node with config/edge.yaml (its `/**:` root key applies it under any
namespace). `managed:=true` starts the lifecycle variant (configure loads the model, activate
subscribes and publishes, deactivate publishes a stop); with `autostart:=true` (the default) this
launch file configures and activates it, otherwise a lifecycle manager or
`ros2 lifecycle set` does. Off-robot, `videorag edge --params config/edge.yaml` runs the same
node with the same file.
"""

import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, EmitEvent, OpaqueFunction, RegisterEventHandler
from launch.events import matches_action
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import LifecycleNode, Node
from launch_ros.event_handlers import OnStateTransition
from launch_ros.events.lifecycle import ChangeState
from lifecycle_msgs.msg import Transition


def _truthy(context, name):
    return LaunchConfiguration(name).perform(context).strip().lower() in ("1", "true", "yes", "on")


def _edge(context):
    common = dict(
        package="videorag",
        executable="edge_node",
        name="videorag_edge",
        namespace=LaunchConfiguration("namespace"),
        parameters=[LaunchConfiguration("params_file"), {"use_sim_time": _truthy(context, "use_sim_time")}],
        remappings=[("camera/front/image_raw", LaunchConfiguration("camera_topic"))],
        respawn=_truthy(context, "respawn"),
        respawn_delay=float(LaunchConfiguration("respawn_delay").perform(context)),
        output="screen",
        emulate_tty=True,
    )
    log_args = ["--ros-args", "--log-level", LaunchConfiguration("log_level")]
    if not _truthy(context, "managed"):
        return [Node(arguments=log_args, **common)]
    node = LifecycleNode(arguments=["--managed", *log_args], **common)
    actions = [node]
    if _truthy(context, "autostart"):
        actions += [
            RegisterEventHandler(
                OnStateTransition(
                    target_lifecycle_node=node,
                    start_state="configuring",  # not after a deactivate: that must stay inactive
                    goal_state="inactive",
                    entities=[EmitEvent(event=ChangeState(lifecycle_node_matcher=matches_action(node), transition_id=Transition.TRANSITION_ACTIVATE))],
                )
            ),
            EmitEvent(event=ChangeState(lifecycle_node_matcher=matches_action(node), transition_id=Transition.TRANSITION_CONFIGURE)),
        ]
    return actions


def generate_launch_description():
    share = get_package_share_directory("videorag")
    return LaunchDescription([
        DeclareLaunchArgument("params_file", default_value=os.path.join(share, "config", "edge.yaml"),
                              description="Parameter file of the edge node"),
        DeclareLaunchArgument("namespace", default_value="", description="Namespace of the node (one per robot)"),
        DeclareLaunchArgument("camera_topic", default_value="camera/front/image_raw",
                              description="Remap the front camera topic"),
        DeclareLaunchArgument("managed", default_value="false", description="Start the lifecycle (managed) variant"),
        DeclareLaunchArgument("autostart", default_value="true", description="managed:=true: configure and activate at once"),
        DeclareLaunchArgument("use_sim_time", default_value="false", description="Use /clock (bag replay with --clock)"),
        DeclareLaunchArgument("respawn", default_value="false", description="Restart the node if it exits"),
        DeclareLaunchArgument("respawn_delay", default_value="2.0", description="Seconds before a respawn"),
        DeclareLaunchArgument("log_level", default_value="info"),
        OpaqueFunction(function=_edge),
    ])
