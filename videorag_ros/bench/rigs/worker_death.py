"""An edge node in this process whose frame worker can be killed, watched from another context.

Used by the worker-death test and ``videorag bench watchdog``. The node spins on a
``SingleThreadedExecutor`` on its own thread, as ``edge_node.main`` runs it (its queries have
their own executor inside the node), and a watcher node in a second rclpy context subscribes to
the e-stop and /diagnostics and publishes camera frames, as another process would.
"""

from __future__ import annotations

import ctypes
import threading
import time
from collections.abc import Mapping
from typing import Any

from videorag_ros.bench.rigs.patterns import pattern_frame


class WorkerKilled(BaseException):
    """Raised asynchronously in the worker thread: nothing a frame can cause ends the worker."""


class WorkerDeathRig:
    """The node, its executor thread, and a watcher; use as a context manager."""

    def __init__(self, domain: int, overrides: Mapping[str, Any], *, estop_topic: str = "/estop") -> None:
        """Start the node with ``overrides`` as parameters, and the watcher, on ``domain``."""
        import rclpy
        from diagnostic_msgs.msg import DiagnosticArray
        from rclpy.executors import SingleThreadedExecutor
        from rclpy.parameter import Parameter
        from sensor_msgs.msg import Image
        from std_msgs.msg import Bool

        from videorag_ros.ros import qos
        from videorag_ros.ros.edge_node import EdgeNode

        self._rclpy = rclpy
        self.node_ctx, self.watch_ctx = rclpy.Context(), rclpy.Context()
        rclpy.init(context=self.node_ctx, domain_id=domain)
        rclpy.init(context=self.watch_ctx, domain_id=domain)
        self.node = EdgeNode(context=self.node_ctx, parameter_overrides=[Parameter(k, value=v) for k, v in {"allow_no_triggers": True, **overrides, "estop_topic": estop_topic}.items()])
        self.node_exec = SingleThreadedExecutor(context=self.node_ctx)
        self.node_exec.add_node(self.node)
        self._spinner = threading.Thread(target=self.node_exec.spin, name="rig-node-executor", daemon=True)
        self._spinner.start()
        self.watcher = rclpy.create_node("estop_watcher", context=self.watch_ctx)
        self.watch_exec = SingleThreadedExecutor(context=self.watch_ctx)
        self.watch_exec.add_node(self.watcher)
        self.estop: list[tuple[float, bool]] = []
        self.statuses: list[Any] = []
        self.watcher.create_subscription(Bool, estop_topic, lambda m: self.estop.append((time.time(), bool(m.data))), qos.LATCHED_SAFETY)
        self.watcher.create_subscription(DiagnosticArray, "/diagnostics", self.statuses.append, 10)
        self.camera = self.watcher.create_publisher(Image, "camera/front/image_raw", qos.CAMERA)
        self._image = Image

    def spin(self, seconds: float, *, send_frame: bool = False) -> None:
        """Spin the watcher for ``seconds`` (sending one camera frame first when asked)."""
        if send_frame:
            from videorag_ros.ros.conversions import ns_to_stamp

            rgb = pattern_frame("stripes", seed=int(time.monotonic() * 30))
            msg = self._image(height=rgb.shape[0], width=rgb.shape[1], encoding="rgb8", step=rgb.shape[1] * 3, data=rgb.tobytes())
            msg.header.stamp = ns_to_stamp(time.time_ns())
            self.camera.publish(msg)
        end = time.monotonic() + seconds
        while True:
            self.watch_exec.spin_once(timeout_sec=max(0.0, min(0.002, end - time.monotonic())))
            if time.monotonic() >= end:
                return

    def kill_worker(self, name: str = "videorag-worker") -> float:
        """Raise ``WorkerKilled`` inside the node's frame worker; returns the wall time it was posted."""
        [thread] = [t for t in threading.enumerate() if t.name == name]
        t0 = time.time()
        n = ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread.ident or 0), ctypes.py_object(WorkerKilled))
        if n != 1:
            msg = f"could not post an exception into thread {name} ({n})"
            raise RuntimeError(msg)
        return t0

    def close(self) -> None:
        """Stop both executors, destroy both nodes, shut both contexts down."""
        self.node_exec.shutdown()
        self.node.destroy_node()
        self.watch_exec.shutdown()
        self.watcher.destroy_node()
        self._rclpy.shutdown(context=self.node_ctx)
        self._rclpy.shutdown(context=self.watch_ctx)

    def __enter__(self) -> WorkerDeathRig:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
