"""The WebRTC door node: WHIP peers → ``<namespace>/<client>/image_raw``; their triggers → their data channel."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from videorag_ros.ingest.config import WEBRTC_PARAMS
from videorag_ros.ros.client_door_node import ClientDoorNode
from videorag_ros.ros.ingest_common import overrides, spin_door

NODE_NAME = "videorag_webrtc_ingest"


def _make_server(p: dict[str, Any], on_frame: Callable[..., None]) -> Any:
    from videorag_ros.ingest.webrtc_server import WebRtcConfig, WebRtcIngestServer

    return WebRtcIngestServer(WebRtcConfig.from_params(p), on_frame)


def make_node(parameter_overrides: list[Any] | None = None) -> ClientDoorNode:
    """The node (parameters: ``WEBRTC_PARAMS``)."""
    return ClientDoorNode(NODE_NAME, "webrtc", WEBRTC_PARAMS, _make_server, parameter_overrides=parameter_overrides)


def main(args: list[str] | None = None, *, values: Mapping[str, Any] | None = None) -> int:
    """``ros2 run videorag webrtc_ingest_node`` or ``videorag ingest webrtc``."""
    return spin_door(lambda: make_node(overrides(values or {})), args)
