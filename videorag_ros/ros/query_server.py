"""``<edge node>/query_moments`` served from its own node, executor and thread.

Measured on the 2-core reference machine: with rclpy's MultiThreadedExecutor the edge node
received 296 of 900 frames per camera (4 cameras at 30 Hz) and glass-to-action p99 was
400 ms; with a SingleThreadedExecutor for the frame side and queries on their own
single-threaded executor, 900 of 900 at p99 27 ms. So the edge node spins single-threaded and
queries (text encoder + index search, milliseconds) run here, never on the frame path.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import rclpy
from rclpy.executors import ExternalShutdownException, ShutdownException, SingleThreadedExecutor
from rclpy.impl.implementation_singleton import rclpy_implementation as _rclpy
from rclpy.node import Node

from videorag.srv import QueryMoments


class QueryServer:
    """A small node (``<edge>_query``) serving ``<edge fully qualified name>/query_moments``."""

    def __init__(self, edge: Node, callback: Callable[[Any, Any], Any]) -> None:
        """Create the node and service and start spinning them on a daemon thread.

        Args:
            edge: The edge node; the service is named after it, in its context and namespace.
            callback: ``(request, response) -> response``.
        """
        # No global arguments: a command-line `-r __node:=name` must not rename this node too.
        self.node = rclpy.create_node(
            f"{edge.get_name()}_query", context=edge.context, namespace=edge.get_namespace(),
            use_global_arguments=False, start_parameter_services=False,
        )  # fmt: skip
        self.service_name = f"{edge.get_fully_qualified_name().rstrip('/')}/query_moments"
        self.node.create_service(QueryMoments, self.service_name, callback)
        self._executor = SingleThreadedExecutor(context=edge.context)
        self._executor.add_node(self.node)
        self._thread = threading.Thread(target=self._spin, name="videorag-queries", daemon=True)
        self._thread.start()

    def add_service(self, srv_type: Any, name: str, callback: Callable[[Any, Any], Any]) -> Any:
        """Serve another service of the edge node (``<edge>/<name>``, e.g. the slow loop's ``ask``) from
        this node and thread: one helper node and executor for every service off the frame path.

        Returns:
            The rclpy service (``node.destroy_service`` removes it).
        """
        return self.node.create_service(srv_type, f"{self.service_name.rsplit('/', 1)[0]}/{name}", callback)

    def _spin(self) -> None:
        try:
            self._executor.spin()
        except (ExternalShutdownException, ShutdownException):
            pass
        except _rclpy.RCLError:
            if self.node.context.ok():
                raise
            # Ctrl-C: rclpy's handler shut the context down between two waits of this executor.

    def close(self) -> None:
        """Stop spinning and destroy the node."""
        self._executor.shutdown(timeout_sec=2.0)
        self._thread.join(timeout=2.0)
        self.node.destroy_node()
