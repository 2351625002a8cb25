"""ROS messages <-> core types."""

from __future__ import annotations

from typing import Any

import numpy as np
from builtin_interfaces.msg import Time

from videorag.msg import SemanticTrigger
from videorag_ros.core.frames import FrameLimits, RGBFrame, compressed_to_rgb, raw_to_rgb
from videorag_ros.core.index import Moment, Payload
from videorag_ros.core.query import DEFAULT_K, MomentQuery
from videorag_ros.core.stamps import ns_to_sec_nanosec, stamp_to_ns
from videorag_ros.core.triggers import ENTER, EXIT, HOLD, TriggerEvent

_STATES = {ENTER: SemanticTrigger.ENTER, HOLD: SemanticTrigger.HOLD, EXIT: SemanticTrigger.EXIT}


def ns_to_stamp(ns: int) -> Time:
    """Integer nanoseconds → builtin_interfaces/Time."""
    sec, nanosec = ns_to_sec_nanosec(ns)
    return Time(sec=sec, nanosec=nanosec)


def _buffer(data: Any) -> Any:
    # rclpy gives uint8[] as array.array / bytes (buffer protocol: zero-copy view);
    # fall back to a copy for anything else (e.g. a list).
    try:
        return np.frombuffer(data, dtype=np.uint8)
    except TypeError:
        return np.asarray(data, dtype=np.uint8)


def image_to_rgb(msg: Any, limits: FrameLimits) -> RGBFrame:
    """sensor_msgs/Image → ``(H, W, 3)`` uint8 RGB (a view of ``msg.data`` where possible).

    Raises:
        FrameError: Bad size, encoding or buffer length.
    """
    return raw_to_rgb(encoding=msg.encoding, width=msg.width, height=msg.height, step=msg.step, data=_buffer(msg.data), limits=limits)


def compressed_to_rgb_msg(msg: Any, limits: FrameLimits) -> RGBFrame:
    """sensor_msgs/CompressedImage → ``(H, W, 3)`` uint8 RGB.

    Raises:
        FrameError: Unsupported format or undecodable bytes.
    """
    return compressed_to_rgb(fmt=msg.format, data=_buffer(msg.data), limits=limits)


def trigger_event_to_msg(ev: TriggerEvent, *, frame_id: str, latency_ms: float) -> SemanticTrigger:
    """Core trigger event → videorag/SemanticTrigger."""
    msg = SemanticTrigger()
    msg.header.stamp = ns_to_stamp(ev.stamp_ns)
    msg.header.frame_id = frame_id
    msg.trigger = ev.trigger
    msg.state = _STATES[ev.state]
    msg.score = float(ev.score)
    msg.threshold = float(ev.threshold)
    msg.camera_id = ev.camera_id
    msg.latency_ms = float(latency_ms)
    msg.frame_seq = int(ev.frame_seq)
    msg.actions = list(ev.actions)
    return msg


def moment_to_msg(m: Moment, *, thumbnail: bool = True) -> Any:
    """Core moment → videorag/Moment (with the best frame's JPEG thumbnail when one was kept)."""
    from videorag.msg import Moment as MomentMsg

    msg = MomentMsg()
    msg.camera_id = m.camera_id
    msg.start, msg.end, msg.best = ns_to_stamp(m.start_ns), ns_to_stamp(m.end_ns), ns_to_stamp(m.best_ns)
    msg.best_frame_seq = int(m.best.frame_seq)
    msg.score = float(m.score)
    msg.frame_seqs = [int(s) for s in m.frame_seqs]
    msg.hits = int(m.hits)
    msg.description, msg.description_source, msg.text_score = m.description, m.description_source, float(m.text_score)
    if thumbnail and m.best.thumbnail:
        msg.thumbnail.header.stamp = msg.best
        msg.thumbnail.format = "jpeg"
        msg.thumbnail.data = m.best.thumbnail
    return msg


def msg_to_moment(msg: Any) -> Moment:
    """videorag/Moment → core moment (the client side of ``~/query_moments``)."""
    best = Payload(
        camera_id=msg.camera_id,
        stamp_ns=stamp_to_ns(msg.best),
        frame_seq=int(msg.best_frame_seq),
        reason="",
        thumbnail=bytes(msg.thumbnail.data) if len(msg.thumbnail.data) else None,
    )
    return Moment(
        camera_id=msg.camera_id, start_ns=stamp_to_ns(msg.start), end_ns=stamp_to_ns(msg.end), best_ns=best.stamp_ns,
        score=float(msg.score), frame_seqs=tuple(int(s) for s in msg.frame_seqs), best=best, hits=int(msg.hits),
        description=msg.description, description_source=msg.description_source, text_score=float(msg.text_score),
    )  # fmt: skip


def query_to_request(query: MomentQuery, *, image_jpeg_or_png: bytes = b"", image_format: str = "", no_thumbnails: bool = False) -> Any:
    """Core query → ``QueryMoments.Request`` (the client side of ``~/query_moments``).

    Args:
        query: The query (its ``image`` is ignored: send the file's bytes instead, not decoded and re-encoded).
        image_jpeg_or_png: A query image file's bytes, sent as they are.
        image_format: ``jpeg`` or ``png``.
        no_thumbnails: Leave the thumbnails out of the reply.
    """
    from videorag.srv import QueryMoments

    req = QueryMoments.Request()
    req.text = query.text
    if image_jpeg_or_png:
        req.image.format, req.image.data = image_format, image_jpeg_or_png
    if query.since_ns is not None:
        req.since = ns_to_stamp(query.since_ns)
    if query.until_ns is not None:
        req.until = ns_to_stamp(query.until_ns)
    req.camera_ids, req.k, req.context_s, req.no_thumbnails = list(query.cameras), query.k, query.context_s, no_thumbnails
    return req


def request_to_query(req: Any, limits: FrameLimits) -> MomentQuery:
    """``QueryMoments.Request`` → core query (the node side); the image is decoded under the node's frame limits.

    Raises:
        FrameError: The query image is not a JPEG or PNG within the limits.
    """
    image = None
    if not req.text.strip() and len(req.image.data):
        image = compressed_to_rgb_msg(req.image, limits)
    since, until = stamp_to_ns(req.since), stamp_to_ns(req.until)
    return MomentQuery(
        text=req.text, image=image, since_ns=since or None, until_ns=until or None,
        cameras=tuple(req.camera_ids), k=int(req.k) or DEFAULT_K, context_s=float(req.context_s),
    )  # fmt: skip
