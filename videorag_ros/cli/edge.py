"""``videorag edge --params FILE``: the edge node as ``edge.launch.py`` starts it."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from videorag_ros.core.config import NODE_NAME, build_edge_config, load_params_file
from videorag_ros.core.errors import VideoragError
from videorag_ros.core.preflight import prepare_pipeline
from videorag_ros.core.printable import printable


def default_params() -> Path:
    """The shipped ``config/edge.yaml`` (source checkout or installed share directory)."""
    here = Path(__file__).resolve().parents[2] / "config" / "edge.yaml"
    if here.is_file():
        return here
    from ament_index_python.packages import get_package_share_directory

    return Path(get_package_share_directory("videorag")) / "config" / "edge.yaml"


def main(argv: Sequence[str] | None = None) -> int:
    """Validate the parameter file with the core, then spin the edge node."""
    parser = argparse.ArgumentParser(prog="videorag edge", description=__doc__, epilog="Extra arguments after -- go to ROS (e.g. -- -r __ns:=/robot1).")
    parser.add_argument("--params", type=Path, default=None, help="ROS 2 parameter file (default: the shipped config/edge.yaml)")
    parser.add_argument("--check", action="store_true", help="only validate the parameter file and exit")
    args, extra = parser.parse_known_args(argv)
    params = args.params or default_params()
    try:
        # Strict here (unknown names are typos) so a bad file fails before any DDS start-up.
        config = build_edge_config(load_params_file(params, NODE_NAME), strict=True)
        if args.check:
            # Every check the node runs short of opening topics: paths, topic names, the model,
            # the index's memory, the prompts, the adapters' message types.
            from videorag_ros.ros.actions import check_adapter_types

            pipeline, warnings = prepare_pipeline(config)
            pipeline.index.close()
            check_adapter_types(config)
    except VideoragError as err:
        print(f"error: {printable(params)}: {printable(err)}", file=sys.stderr)
        return 1
    if args.check:
        for w in warnings:
            print(f"warning: {printable(w)}", file=sys.stderr)
        print(f"{printable(params)}: ok ({len(config.cameras)} cameras, {len(config.triggers)} triggers); model {pipeline.encoder.describe()}")
        return 0
    from videorag_ros.ros.edge_node import main as node_main

    ros_args = [a for a in extra if a != "--"]
    # rcl accepts several --ros-args sections, so user ROS arguments can simply follow.
    return node_main(["videorag_edge", "--ros-args", "--params-file", str(params), *ros_args])
