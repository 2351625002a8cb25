"""One request to a running node's service from a short-lived command (``videorag query --node``, ``videorag ask --node``)."""

from __future__ import annotations

import time
from typing import Any

from videorag_ros.core.errors import VideoragError


class ServiceUnavailable(VideoragError):
    """The node's service did not answer."""


class ServiceRefused(VideoragError):
    """The node answered with success = false."""


def call_service(srv_type: Any, service: str, request: Any, *, node_name: str, wait_s: float, timeout_s: float, unavailable: str) -> tuple[Any, float]:
    """Start rclpy, send ``request`` to ``service`` once, shut rclpy down.

    Args:
        srv_type: The service type (``videorag.srv.Ask``, ...).
        service: Fully qualified service name.
        request: The filled request.
        node_name: Name of this command's node.
        wait_s: How long to wait for the service to appear.
        timeout_s: How long to wait for the answer.
        unavailable: The message when the service does not appear (says what to check).

    Returns:
        The response (``success`` true) and the round trip in ms (call to answer).

    Raises:
        ServiceUnavailable: No service within ``wait_s``, or no answer within ``timeout_s``.
        ServiceRefused: The node answered with ``success`` false (its ``message`` is the error).
    """
    import rclpy

    rclpy.init(args=None)
    try:
        node = rclpy.create_node(node_name)
        client: Any = node.create_client(srv_type, service)
        if not client.wait_for_service(timeout_sec=wait_s):
            raise ServiceUnavailable(unavailable)
        t0 = time.perf_counter()
        future = client.call_async(request)
        rclpy.spin_until_future_complete(node, future, timeout_sec=timeout_s)
        rtt_ms = (time.perf_counter() - t0) * 1e3
        resp = future.result()
        if resp is None:
            msg = f"no answer from {service} within {timeout_s:g} s"
            raise ServiceUnavailable(msg)
        if not resp.success:
            raise ServiceRefused(resp.message)
        node.destroy_node()
    finally:
        rclpy.shutdown()
    return resp, rtt_ms
