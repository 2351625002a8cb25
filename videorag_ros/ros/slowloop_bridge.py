"""The edge node's slow loop on the ROS side: ``~/descriptions``, ``~/verdicts``, ``~/ask``, a diagnostics status.

The loop itself (videorag_ros/slowloop/) runs on its own threads; this module only wires it:
the frame worker calls ``offer`` after each decision is out (two appends to bounded drop-oldest
queues, timed into ``handoff`` so /diagnostics shows what it costs the frame path), verdicts act
through the action adapters (``ActionAdapters.on_verdict``: escalate a confirmed slow_down to a
stop, release a latched stop on a clear verdict after the trigger's EXIT), and ``~/ask`` is served
from the node, executor and thread that serve ``~/query_moments``. The API key never appears here:
diagnostics carry the describer's name (model and host) and counters only.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt
from diagnostic_msgs.msg import DiagnosticStatus, KeyValue
from rclpy.node import Node

from videorag.msg import Description as DescriptionMsg
from videorag.srv import Ask
from videorag_ros.core.config import EdgeConfig
from videorag_ros.core.errors import VideoragError
from videorag_ros.core.latency import StageStats
from videorag_ros.core.pipeline import EdgePipeline, FrameResult
from videorag_ros.core.stamps import stamp_to_ns
from videorag_ros.ros import qos
from videorag_ros.ros.actions import ActionAdapters
from videorag_ros.ros.conversions import moment_to_msg, ns_to_stamp
from videorag_ros.ros.query_server import QueryServer
from videorag_ros.slowloop import Output, SlowLoop, build_describer, escape_line
from videorag_ros.slowloop.ask import DEFAULT_ASK_K


def output_to_msg(out: Output) -> DescriptionMsg:
    """A slow-loop output → videorag/Description."""
    msg = DescriptionMsg()
    msg.header.stamp = ns_to_stamp(out.best_ns)
    msg.kind, msg.reason, msg.camera_id = out.kind, out.reason, out.camera_id
    msg.start, msg.end, msg.frames = ns_to_stamp(out.start_ns), ns_to_stamp(out.end_ns), int(out.frames)
    msg.text, msg.source = out.text, out.source
    msg.trigger, msg.verdict, msg.action = out.trigger, out.verdict, out.action
    msg.latency_ms = float(out.latency_ms)
    msg.prompt_tokens, msg.completion_tokens = int(out.prompt_tokens), int(out.completion_tokens)
    return msg


class _Verdicts:
    """The loop's verdict sink: the router, changed only through the adapters (which publish at once)."""

    def __init__(self, actions: ActionAdapters, node: Node) -> None:
        self._actions, self._node = actions, node

    def escalate(self, trigger: str, camera_id: str, stamp_ns: int) -> None:
        before, after = self._actions.on_verdict(lambda r: r.escalate(trigger, camera_id, stamp_ns))
        if after.estop and not before.estop:
            self._node.get_logger().warning(f"e-stop ENGAGED by verification: '{trigger}' on camera '{camera_id}' confirmed, slow_down escalated to a stop")

    def release_latch(self, trigger: str, camera_id: str, clear_since_ns: int) -> None:
        before, after = self._actions.on_verdict(lambda r: r.release_latch(trigger, camera_id, clear_since_ns))
        if before.estop and not after.estop:
            self._node.get_logger().info(f"e-stop released: verification found '{trigger}' on camera '{camera_id}' clear after the trigger's exit")

    def latched(self) -> dict[tuple[str, str], int]:
        return self._actions.router.latched()


class SlowLoopBridge:
    """Builds the describer and the loop, publishes outputs, serves ``~/ask``."""

    def __init__(self, edge: Node, pipeline: EdgePipeline, actions: ActionAdapters, config: EdgeConfig, *, known_cameras: Callable[[], set[str]]) -> None:
        """Create publishers, the ``~/ask`` service and the loop, and start it.

        Raises:
            ConfigError: The API key or caption file named by the parameters cannot be read.
        """
        cfg = config.slowloop
        self._node, self._known_cameras = edge, known_cameras
        describer, policy = build_describer(cfg, pipeline.encoder)
        self._desc_pub = edge.create_publisher(DescriptionMsg, "~/descriptions", qos.EVENTS)
        self._verdict_pub = edge.create_publisher(DescriptionMsg, "~/verdicts", qos.EVENTS)
        self.loop = SlowLoop(
            cfg, describer, policy=policy, index=pipeline.index, encoder=pipeline.encoder, triggers=config.triggers,
            verdicts=_Verdicts(actions, edge), on_output=self._publish,
        )  # fmt: skip
        self.handoff = StageStats(window=2048)
        # Called with each description (the loop's thread), e.g. to add it to the fleet's points.
        self.on_description: Callable[[str, int, int, str, str], None] | None = None
        self.ask_service = f"{edge.get_fully_qualified_name().rstrip('/')}/ask"
        self._ask: tuple[QueryServer, Any] | None = None
        self.loop.start()
        when = f"every {cfg.period_s:g} s and on trigger ENTER" if cfg.period_s > 0 else "on trigger ENTER"
        verify = [t.name for t in config.triggers if t.verify]
        edge.get_logger().info(
            f"slow loop: {describer.source}, {when}; verifying {verify or 'no triggers'}; "
            f"{self._desc_pub.topic_name}, {self._verdict_pub.topic_name}, {self.ask_service}"
        )

    def serve_ask(self, services: QueryServer) -> None:
        """Serve ``~/ask`` from the edge node's query node and thread (never the frame path's executor)."""
        self._ask = (services, services.add_service(Ask, "ask", self._on_ask))

    def offer(self, result: FrameResult, rgb: npt.NDArray[np.uint8] | None) -> None:
        """Hand a decided, embedded frame and its events to the loop (frame worker; never waits)."""
        if result.vector is None:
            return
        t0 = time.perf_counter()
        self.loop.offer(result.camera_id, stamp_ns=result.stamp_ns, seq=result.frame_seq, rgb=rgb, vector=result.vector, events=result.events)
        self.handoff.record("handoff", (time.perf_counter() - t0) * 1e3)

    def _publish(self, out: Output) -> None:
        (self._verdict_pub if out.kind == "verify" else self._desc_pub).publish(output_to_msg(out))
        if out.kind != "verify" and self.on_description is not None:
            self.on_description(out.camera_id, out.start_ns, out.end_ns, out.text, out.source)
        if out.kind == "verify":
            self._node.get_logger().info(f"verdict {out.verdict} for '{out.trigger}' on camera '{out.camera_id}' ({out.action}) from {out.source}")

    def _on_ask(self, request: Any, response: Any) -> Any:
        """``~/ask``: retrieve moments, ask the describer, return the answer and the moments."""
        try:
            since, until = stamp_to_ns(request.since), stamp_to_ns(request.until)
            answer = self.loop.ask(
                request.question, since_ns=since or None, until_ns=until or None, cameras=tuple(request.camera_ids),
                k=int(request.k) or DEFAULT_ASK_K, context_s=float(request.context_s), known_cameras=self._known_cameras(),
            )  # fmt: skip
        except VideoragError as err:
            self.loop.count("ask.rejected")
            response.success, response.message = False, escape_line(str(err))
            self._node.get_logger().warning(f"ask refused: {escape_line(str(err))}", throttle_duration_sec=2.0)
            return response
        except Exception as err:  # a question must never take the node down
            self.loop.count("ask.internal_errors")
            response.success, response.message = False, f"internal error: {type(err).__name__}: {escape_line(str(err))}"
            self._node.get_logger().error(f"ask failed: {type(err).__name__}: {escape_line(str(err))}", throttle_duration_sec=2.0)
            return response
        response.success = True
        response.message = "; ".join([f"{len(answer.moments)} moment(s) retrieved in {answer.retrieval_ms:.1f} ms, answered in {answer.answer_ms:.0f} ms", *answer.notes])
        response.answer, response.source = answer.text, answer.source
        response.moments = [moment_to_msg(m, thumbnail=not request.no_thumbnails) for m in answer.moments]
        response.retrieval_ms, response.answer_ms = float(answer.retrieval_ms), float(answer.answer_ms)
        return response

    def diagnostic_status(self) -> DiagnosticStatus:
        """The ``videorag: slow loop`` status: OK, WARN while the breaker is open or jobs fail, ERROR if the describer is unusable."""
        stats = self.loop.stats()
        for stage, s in self.handoff.summary().items():
            stats.update({f"slowloop.{stage}.p50_ms": round(s["p50"], 4), f"slowloop.{stage}.p99_ms": round(s["p99"], 4), f"slowloop.{stage}.max_ms": round(s["max"], 4)})
        level, message = DiagnosticStatus.OK, "running"
        if self.loop.prepare_error:
            level, message = DiagnosticStatus.ERROR, f"describer unusable: {escape_line(self.loop.prepare_error)}"
        elif stats.get("slowloop.breaker") == "open":
            level, message = DiagnosticStatus.WARN, "circuit breaker open: the model server keeps failing; no requests until its reset"
        elif not self.loop.prepared.is_set():
            message = "preparing the describer"
        values = [KeyValue(key=k, value=escape_line(str(v))) for k, v in stats.items()]
        return DiagnosticStatus(level=level, name="videorag: slow loop", message=message, hardware_id="videorag", values=values)

    def close(self) -> None:
        """Stop the loop's threads; remove ``~/ask`` and the publishers (the node may be activated again)."""
        self.loop.close()
        if self._ask is not None:
            services, service = self._ask
            services.node.destroy_service(service)
            self._ask = None
        for pub in (self._desc_pub, self._verdict_pub):
            self._node.destroy_publisher(pub)
