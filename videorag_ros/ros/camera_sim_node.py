"""A camera driver stand-in: publishes a scripted procedural scene sequence as a camera topic.

Frames are rendered once up front, then published at ``fps`` with ``header.stamp`` set
to the publish time (the "glass"), as sensor_msgs/Image (rgb8/bgr8) or
CompressedImage (jpeg). The ground-truth scene class of each frame goes out on
``~/ground_truth`` (std_msgs/String: JSON ``{"stamp_ns", "class"}`` of each frame) for demos and tests.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np
import rclpy
from rclpy.node import Node
from sensor_msgs.msg import CompressedImage, Image
from std_msgs.msg import String

from videorag_ros.ros import qos
from videorag_ros.ros.conversions import ns_to_stamp
from videorag_ros.sim import SEQUENCE_KINDS, sequence


def render_frames(kind: str, *, seconds: float, fps: float, width: int, height: int, seed: int) -> list[tuple[np.ndarray, str]]:
    """Render a scripted sequence: ``[(rgb frame, ground-truth class), ...]``."""
    n = max(1, round(seconds * fps))
    return list(sequence(kind, n_frames=n, fps=fps, width=width, height=height, seed=seed))


class CameraSimNode(Node):
    """Publishes pre-rendered frames on a camera topic at a fixed rate."""

    def __init__(
        self,
        frames: list[tuple[np.ndarray, str]],
        *,
        topic: str,
        fps: float,
        encoding: str,
        loop: bool,
        frame_id: str = "camera",
        wait_for_subscribers: int = 0,
        wait_timeout_s: float = 30.0,
    ) -> None:
        """Create the publisher and its timer.

        Args:
            frames: ``(rgb, class)`` pairs to publish in order.
            topic: Output topic.
            fps: Publish rate.
            encoding: ``rgb8``, ``bgr8`` or ``jpeg`` (CompressedImage).
            loop: Start over at the end instead of stopping.
            frame_id: ``header.frame_id`` of every frame.
            wait_for_subscribers: Hold the first frame until this many subscribers match both
                the image and the ground-truth topic (a real camera does not wait; a scripted
                scene should not start before anyone watches).
            wait_timeout_s: Start anyway after this long.
        """
        super().__init__("camera_sim")
        self._shape = frames[0][0].shape[:2]
        self._frames = [(self._encode(f, encoding), c) for f, c in frames]
        self._compressed = encoding == "jpeg"
        self._pub = self.create_publisher(CompressedImage if self._compressed else Image, topic, qos.CAMERA)
        self._truth = self.create_publisher(String, "~/ground_truth", 10)
        self._encoding, self._frame_id, self._loop = encoding, frame_id, loop
        self._i = 0
        self.done = False
        self._wait_for = wait_for_subscribers
        self._wait_until = time.monotonic() + wait_timeout_s
        self.create_timer(1.0 / fps, self._tick)

    @staticmethod
    def _encode(rgb: np.ndarray, encoding: str) -> Any:
        if encoding == "jpeg":
            ok, buf = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 90])
            if not ok:
                msg = f"JPEG encoding of a {rgb.shape} frame failed"
                raise RuntimeError(msg)
            return buf.tobytes()
        return (rgb[:, :, ::-1] if encoding == "bgr8" else rgb).tobytes()

    def _tick(self) -> None:
        if self._wait_for and self._i == 0 and time.monotonic() < self._wait_until:
            matched = min(self._pub.get_subscription_count(), self._truth.get_subscription_count())
            if matched < self._wait_for:
                return
        if self._i >= len(self._frames):
            if not self._loop:
                self.done = True
                return
            self._i = 0
        data, cls = self._frames[self._i]
        shape = self._shape
        msg: Any = CompressedImage(format="jpeg") if self._compressed else Image(height=shape[0], width=shape[1], encoding=self._encoding, step=shape[1] * 3)
        msg.header.frame_id = self._frame_id
        msg.data = data
        stamp_ns = time.time_ns()
        msg.header.stamp = ns_to_stamp(stamp_ns)
        self._pub.publish(msg)
        self._truth.publish(String(data=json.dumps({"stamp_ns": stamp_ns, "class": cls})))
        self._i += 1


def main(argv: Sequence[str] | None = None) -> int:
    """``videorag camera-sim`` / ``ros2 run videorag camera_sim_node``."""
    parser = argparse.ArgumentParser(prog="videorag camera-sim", description=__doc__)
    parser.add_argument("--sequence", choices=SEQUENCE_KINDS, default="person_steps_in")
    parser.add_argument("--topic", default="camera/front/image_raw")
    parser.add_argument("--fps", type=float, default=30.0)
    parser.add_argument("--seconds", type=float, default=8.0, help="length of the rendered sequence")
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=480)
    parser.add_argument("--encoding", choices=("rgb8", "bgr8", "jpeg"), default="rgb8")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--loop", action="store_true", help="repeat the sequence until interrupted")
    parser.add_argument("--wait-for-subscribers", type=int, default=0, metavar="N", help="start once N subscribers match (30 s at most)")
    args, ros_args = parser.parse_known_args(argv if argv is not None else sys.argv[1:])
    print(f"rendering {args.seconds:.0f} s of '{args.sequence}' at {args.width}x{args.height}...", file=sys.stderr)
    frames = render_frames(args.sequence, seconds=args.seconds, fps=args.fps, width=args.width, height=args.height, seed=args.seed)
    rclpy.init(args=["camera_sim", *ros_args])
    node = CameraSimNode(frames, topic=args.topic, fps=args.fps, encoding=args.encoding, loop=args.loop, wait_for_subscribers=args.wait_for_subscribers)
    print(f"publishing {len(frames)} frames on {node.resolve_topic_name(args.topic)} at {args.fps:g} Hz", file=sys.stderr)
    try:
        while rclpy.ok() and not node.done:
            rclpy.spin_once(node, timeout_sec=0.1)
    except KeyboardInterrupt:
        pass
    finally:
        node.destroy_node()
        if rclpy.ok():
            rclpy.shutdown()
    return 0
