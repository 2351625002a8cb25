"""``videorag <command>``: one entry point, one module per command (imported lazily)."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence

COMMANDS = {
    "edge": ("videorag_ros.cli.edge", "run the edge node (the graph edge.launch.py starts)"),
    "camera-sim": ("videorag_ros.ros.camera_sim_node", "publish a procedural camera stream"),
    "demo": ("videorag_ros.cli.demo", "the main job: edge node + simulated camera, prints triggers and latency"),
    "run": ("videorag_ros.cli.run", "run the pipeline offline on a video file or a bag; report, memory snapshot, timeline plot"),
    "query": ("videorag_ros.cli.query", "ask the memory for moments: a running node (service) or a snapshot file"),
    "ask": ("videorag_ros.cli.ask", "ask a question about the recent past: moments retrieved, answered by the slow loop's describer"),
    "replay": ("videorag_ros.cli.replay", "publish the camera topics of a rosbag2 / ROS 1 bag (no ROS install needed)"),
    "scenario": ("videorag_ros.cli.scenario", "scenario bags with annotated events: make, list, check"),
    "bridge": ("videorag_ros.cli.bridge", "RTSP / HTTP / TCP / UDP / file / webcam source as a camera topic (PyAV)"),
    "ingest": ("videorag_ros.cli.ingest", "doors for remote cameras: ingest ws (WebSocket edge clients) | ingest webrtc (WHIP peers)"),
    "stream-client": ("videorag_ros.cli.stream_client", "the edge side: extract, downscale, JPEG-encode and stream a source to a door"),
    "fleet": ("videorag_ros.cli.fleet", "the fleet memory in Qdrant: fleet ingest BAG|VIDEO --robot ID | fleet query TEXT | fleet stats"),
    "bench": ("videorag_ros.cli.bench", "benchmarks: pipeline, model, index, query, soak, watchdog, replay, ingest"),
    "model": ("videorag_ros.cli.model", "model tools: train-demo, eval, export, quantize, build-engine"),
}


def main(argv: Sequence[str] | None = None) -> int:
    """Dispatch to a command's ``main(argv)``; returns its exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        width = max(map(len, COMMANDS))
        lines = [f"  {name:<{width}}  {help_}" for name, (_, help_) in COMMANDS.items()]
        print("usage: videorag <command> [args]\n\ncommands:\n" + "\n".join(lines))
        return 0 if args else 2
    if args[0] in ("--version", "-V"):
        from videorag_ros import __version__

        print(__version__)
        return 0
    if args[0] not in COMMANDS:
        print(f"error: unknown command '{args[0]}'; try 'videorag --help'", file=sys.stderr)
        return 2
    try:
        module = importlib.import_module(COMMANDS[args[0]][0])
        return int(module.main(args[1:]) or 0)
    except KeyboardInterrupt:  # Ctrl-C before a command's own handling starts (imports, argument checks)
        print(f"videorag {args[0]}: interrupted", file=sys.stderr)
        return 130  # the shell's 128 + SIGINT


if __name__ == "__main__":
    sys.exit(main())
