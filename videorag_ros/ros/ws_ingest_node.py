"""The WebSocket door node: edge clients → ``<namespace>/<client>/image_raw/compressed``; their triggers → back to them."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from videorag_ros.ingest.config import WS_PARAMS
from videorag_ros.ros.client_door_node import ClientDoorNode
from videorag_ros.ros.ingest_common import overrides, spin_door

NODE_NAME = "videorag_ws_ingest"


def _make_server(p: dict[str, Any], on_frame: Callable[..., None]) -> Any:
    from videorag_ros.ingest.ws_server import WsConfig, WsIngestServer

    return WsIngestServer(WsConfig.from_params(p), on_frame)


def make_node(parameter_overrides: list[Any] | None = None) -> ClientDoorNode:
    """The node (parameters: ``WS_PARAMS``)."""
    return ClientDoorNode(NODE_NAME, "ws", WS_PARAMS, _make_server, parameter_overrides=parameter_overrides)


def main(args: list[str] | None = None, *, values: Mapping[str, Any] | None = None) -> int:
    """``ros2 run videorag ws_ingest_node`` or ``videorag ingest ws``."""
    return spin_door(lambda: make_node(overrides(values or {})), args)
