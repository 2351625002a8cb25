"""The edge node: camera topics → gate → embed → triggers → e-stop, SemanticTrigger, diagnostics.

Threads: a single-threaded executor runs the subscriptions (which only park the message in a
latest-wins slot), the safety timers (watchdogs, e-stop and adapter heartbeats), diagnostics
and snapshots — every callback is short. The ``~/query_moments`` service runs on its own node,
executor and thread (ros/query_server.py), so a query (text encoder + index search) never
delays a frame or a heartbeat. One worker thread converts, gates, embeds, decides and
publishes. Nothing on the worker waits for the executor. (rclpy's MultiThreadedExecutor was
measured to lose two thirds of 4 x 30 Hz frames on two cores; see query_server.py.)

Fail-safe: watchdogs (core/watchdog.py) watch each camera's silence, the encoder (errors and a
deadline checked while a frame runs) and the worker thread (death, stalls); a fault with policy
``stop`` engages the e-stop until it clears. The heartbeats keep flowing, so a consumer's own
timeout notices if the node itself dies.

Two node classes share this code: ``EdgeNode`` (configures and activates itself in its
constructor, what ``ros2 run videorag edge_node`` starts) and ``ManagedEdgeNode`` (an
rclpy lifecycle node, ``edge_node --managed``: configure loads the model and encodes the
prompts, activate subscribes and starts publishing, deactivate publishes a stop and ends the
heartbeats, cleanup releases the model and memory).

Clocks: latencies are measured in one clock domain. Under ``use_sim_time`` the frame stamps
are simulated time, so the time from the glass to our callback is taken on the node's ROS
clock (``/clock``) and the time spent in the node on the monotonic wall clock, and their sum
is what ``latency_budget_ms`` is compared with.
"""

from __future__ import annotations

import itertools
import logging
import os
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any

import rclpy
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup
from rclpy.exceptions import InvalidTopicNameException
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.impl.implementation_singleton import rclpy_implementation as _rclpy
from rclpy.lifecycle import LifecycleNode, LifecycleState, TransitionCallbackReturn
from rclpy.node import Node
from rclpy.timer import Timer
from sensor_msgs.msg import CompressedImage, Image

from videorag.msg import SemanticTrigger
from videorag_ros.core import stages
from videorag_ros.core.actions import ESTOP, LOG, ActionRouter, Outputs
from videorag_ros.core.config import NODE_NAME, CameraConfig, EdgeConfig, build_edge_config
from videorag_ros.core.converter import FrameConverter
from videorag_ros.core.errors import ConfigError, FrameError, VideoragError
from videorag_ros.core.frames import frame_reject_reason
from videorag_ros.core.live_params import LiveUpdate
from videorag_ros.core.mailbox import LatestWinsMailbox
from videorag_ros.core.pipeline import EdgePipeline, FrameResult
from videorag_ros.core.preflight import prepare_pipeline, topic_parameters
from videorag_ros.core.printable import printable
from videorag_ros.core.safe_files import read_regular_file
from videorag_ros.core.safe_yaml import load_yaml
from videorag_ros.core.stamps import stamp_to_ns
from videorag_ros.core.triggers import HOLD
from videorag_ros.core.watchdog import CAMERA_SILENT, Watchdog, describe
from videorag_ros.ros import qos
from videorag_ros.ros.actions import ActionAdapters
from videorag_ros.ros.conversions import compressed_to_rgb_msg, image_to_rgb, moment_to_msg, request_to_query, trigger_event_to_msg
from videorag_ros.ros.debug_image import DebugImagePublisher
from videorag_ros.ros.diagnostics import build_diagnostics
from videorag_ros.ros.fleet_tap import FleetTap
from videorag_ros.ros.live_tuning import LiveTuning
from videorag_ros.ros.logging_bridge import forward_core_logs
from videorag_ros.ros.params import declare_edge_parameters
from videorag_ros.ros.query_server import QueryServer
from videorag_ros.ros.slowloop_bridge import SlowLoopBridge
from videorag_ros.ros.stop_signals import SIGNAL_POLL_S, StopSignals, init_without_signal_handlers


@dataclass(slots=True)
class _Converted:
    """A camera message and the RGB frame its converter made of it."""

    msg: Any
    rgb: Any
    rx_ns: int  # wall clock at our callback
    rx_clock_ns: int  # the node's ROS clock at our callback (= rx_ns unless use_sim_time)
    seq: int
    convert_ms: float

    def since_glass_ms(self, stamp_ns: int) -> float:
        """Glass to now: stamp to our callback on the stamps' clock, callback to now on the wall clock."""
        return ((self.rx_clock_ns - stamp_ns) + (time.time_ns() - self.rx_ns)) * 1e-6


class _EdgeRuntime(Node):
    """What both edge node classes do, in four steps: set up, start, stop, tear down."""

    def _init_fields(self) -> None:
        """What the other steps and destroy_node look at, set before anything can fail (a constructor that fails half-way is still destroyed cleanly)."""
        self._running = False
        self._started = False  # the worker thread runs
        self._set_up = False
        self._converters: dict[str, FrameConverter[tuple[Any, int, int, int]]] = {}
        self._save_thread: threading.Thread | None = None
        self._queries: QueryServer | None = None
        self._tuning: LiveTuning | None = None
        self._debug: DebugImagePublisher | None = None
        self.fleet: FleetTap | None = None
        self._active_handles: list[Any] = []  # subscriptions and timers of the active state
        self.actions: ActionAdapters | None = None
        self.slowloop: SlowLoopBridge | None = None
        self._diag_timer: Timer | None = None
        self._sim_time = False

    def _init_runtime(self) -> None:
        """Forward the core's log lines to this node's logger and declare the parameters."""
        forward_core_logs(self.get_logger())
        self._param_values = declare_edge_parameters(self)

    # --- set up (configure) ---------------------------------------------------------------------
    def _setup(self) -> None:
        """Validate parameters, load the encoder, encode the prompts, reload the memory; create the publishers.

        Raises:
            VideoragError: Bad parameters, missing model, unreadable trigger images.
        """
        values = {name: self.get_parameter(name).value for name in self._param_values}
        self.config: EdgeConfig = build_edge_config(values, strict=False)
        cfg = self.config
        self._sim_time = bool(self.get_parameter("use_sim_time").value)
        self._resolve_topics()
        self.pipeline: EdgePipeline
        self.pipeline, warnings = prepare_pipeline(cfg)  # the same checks as `videorag edge --check`
        encoder = self.pipeline.encoder
        for warning in warnings:
            self.get_logger().warning(warning)
        self.get_logger().info(
            f"encoder {encoder.describe()}; cameras {[c.id for c in cfg.cameras]}; triggers {[t.name for t in cfg.triggers]}"
            + ("; clock: sim time (/clock)" if self._sim_time else "")
        )
        self._saved_inserts = 0
        if cfg.index_snapshot_path and cfg.index_load_on_start:
            self._load_snapshot(cfg.index_snapshot_path)
        self._watchdog_lock = threading.Lock()
        self._router = ActionRouter.for_config(cfg)
        self._trigger_pub = self.create_publisher(SemanticTrigger, "~/triggers", qos.EVENTS)
        self._diag_pub = self.create_publisher(_diag_type(), "/diagnostics", 10)
        self._queries = QueryServer(self, self._on_query)
        self._tuning = LiveTuning(self, values, self.pipeline, self._tuned)
        if cfg.debug_image_enabled:
            self._debug = DebugImagePublisher(self, cfg.debug_image_rate_hz)
        # Selected frames to the fleet store: a bounded outbox here, the store in a child process (ros/fleet_tap.py).
        self.fleet = FleetTap(self, cfg, self.pipeline) if cfg.fleet.enabled else None
        self._set_up = True

    def _resolve_topics(self) -> None:
        """Expand every topic name in this node's namespace; an invalid one is a ConfigError naming its parameter."""
        for param, topic in topic_parameters(self.config).items():
            try:
                self.resolve_topic_name(topic)
            except (InvalidTopicNameException, ValueError) as err:
                first = str(err).splitlines()[0] if str(err) else type(err).__name__
                msg = f"parameter '{param}' = '{printable(topic, max_chars=80)}' is not a valid topic name in namespace '{self.get_namespace()}': {first}"
                raise ConfigError(msg) from err

    def _tuned(self, update: LiveUpdate) -> None:
        """Executor thread, after a live parameter change is queued: the node-side settings."""
        cfg = update.config
        self.config = cfg
        if self.actions is not None:
            self.actions.set_heartbeat_rates(cfg.estop_heartbeat_hz, cfg.adapters.heartbeat_hz)
        if self._diag_timer is not None:
            self._diag_timer.timer_period_ns = round(cfg.diagnostics_period_s * 1e9)
        if self._debug is not None:
            self._debug.set_rate(cfg.debug_image_rate_hz)

    # --- start (activate) ----------------------------------------------------------------------
    def _start(self) -> None:
        """Publish the outputs' state, subscribe to the cameras, start the timers and the worker."""
        cfg = self.config
        self._mailbox: LatestWinsMailbox[_Converted] = LatestWinsMailbox()  # converted frames, for the worker
        self._seq = {c.id: 0 for c in cfg.cameras}
        # _running stays False until the worker starts: the watchdog timer judges nothing before.
        safety = MutuallyExclusiveCallbackGroup()  # their own group, should the node run in a multi-threaded executor
        self.watchdog = Watchdog(cfg.watchdog, cfg.cameras, now_ns=time.monotonic_ns())
        self._worker_error: str | None = None
        if self.actions is None:
            self.actions = ActionAdapters(self, cfg, self._router, callback_group=safety)
            self.get_logger().info(f"outputs: {self.actions.describe()}")
        else:
            self.actions.resume()
        if cfg.slowloop.enabled and self._queries is not None:  # while active; the worker only hands it frames
            self.slowloop = SlowLoopBridge(self, self.pipeline, self.actions, cfg, known_cameras=self.pipeline.known_cameras)
            self.slowloop.serve_ask(self._queries)
            if self.fleet is not None:  # the fleet's points carry the descriptions of their moments
                self.slowloop.on_description = self.fleet.describe
        for cam in cfg.cameras:
            self._subscribe(cam)
        self._active_handles.append(self.create_timer(cfg.watchdog.period_s, self._check_watchdogs, callback_group=safety))
        self._diag_timer = self.create_timer(cfg.diagnostics_period_s, self._publish_diagnostics)
        self._active_handles.append(self._diag_timer)
        if cfg.index_snapshot_path and cfg.index_snapshot_period_s > 0:
            self._active_handles.append(self.create_timer(cfg.index_snapshot_period_s, self._save_snapshot_in_background))
        self._running = True
        self._worker = threading.Thread(target=self._run_worker, name="videorag-worker", daemon=True)
        self._worker.start()
        self._started = True

    # --- stop (deactivate) -----------------------------------------------------------------------
    def _stop(self) -> None:
        """Stop the worker and the converters; unsubscribe; cancel the active timers."""
        self._running = False
        for converter in self._converters.values():
            converter.close()
        self._converters = {}
        if self._started:
            self._mailbox.close()
            self._worker.join(timeout=2.0)
            self._started = False
        if self.slowloop is not None:
            self.slowloop.close()
            self.slowloop = None
        for handle in self._active_handles:
            if isinstance(handle, Timer):
                self.destroy_timer(handle)
            else:
                self.destroy_subscription(handle)
        self._active_handles = []
        self._diag_timer = None

    # --- tear down (cleanup) -------------------------------------------------------------------
    def _teardown(self) -> None:
        """Save the memory, release the model, the query service, the publishers."""
        if self._save_thread is not None:
            self._save_thread.join(timeout=30.0)
        pipeline: EdgePipeline | None = getattr(self, "pipeline", None)
        if pipeline is not None:
            if self._set_up and self.config.index_snapshot_path:
                self._save_snapshot()
            pipeline.close()
        if self._queries is not None:
            self._queries.close()
            self._queries = None
        if self._tuning is not None:
            self._tuning.close()
            self._tuning = None
        if self._debug is not None:
            self._debug.close()
            self._debug = None
        if self.fleet is not None:
            self.fleet.close()
            self.fleet = None
        self._set_up = False

    # --- input ---------------------------------------------------------------------------
    def _subscribe(self, cam: CameraConfig) -> None:
        msg_type = CompressedImage if cam.transport == "compressed" else Image
        limits = self.config.limits

        def convert(item: tuple[Any, int, int, int]) -> Any:
            msg = item[0]
            return compressed_to_rgb_msg(msg, limits) if isinstance(msg, CompressedImage) else image_to_rgb(msg, limits)

        converter = FrameConverter(cam.id, convert, self._converted, self._rejected, cpu_share=cam.decode_cpu_share)
        self._converters[cam.id] = converter
        clock, sim = self.get_clock(), self._sim_time

        def on_frame(msg: Any, cam_id: str = cam.id) -> None:
            rx = time.time_ns()
            rx_clock = clock.now().nanoseconds if sim else rx
            self.watchdog.frame_received(cam_id, time.monotonic_ns())
            self._seq[cam_id] += 1
            self.pipeline.count(cam_id, "received")
            converter.put((msg, rx, rx_clock, self._seq[cam_id]))

        self._active_handles.append(self.create_subscription(msg_type, cam.topic, on_frame, qos.CAMERA_SUBSCRIPTION))
        self.get_logger().info(f"camera '{cam.id}': {msg_type.__name__} on {self.resolve_topic_name(cam.topic)}")

    def _converted(self, cam_id: str, item: tuple[Any, int, int, int], rgb: Any, convert_ms: float) -> None:
        """A camera's converter thread: hand the finished frame to the worker."""
        msg, rx_ns, rx_clock_ns, seq = item
        self._mailbox.put(cam_id, _Converted(msg, rgb, rx_ns, rx_clock_ns, seq, convert_ms))

    def _rejected(self, cam_id: str, item: tuple[Any, int, int, int], err: FrameError) -> None:
        """A camera's converter thread: a message that is not a usable frame is counted (in total and by reason) and logged."""
        self.pipeline.count(cam_id, "rejected_input")
        self.pipeline.count(cam_id, f"rejected_input.{frame_reject_reason(err)}")
        self.get_logger().warning(f"camera '{cam_id}': frame {item[3]} rejected: {err}", throttle_duration_sec=2.0)

    def _run_worker(self) -> None:
        """The worker thread: if it ever ends by an exception, record why and engage the watchdog at once."""
        try:
            self._work()
        except BaseException as err:  # the thread is dying: say why, and let the watchdog act now
            self._worker_error = _describe_error(err)
            self.get_logger().fatal(f"frame worker died: {self._worker_error}")
            self._check_watchdogs(worker_alive=False)

    def _work(self) -> None:
        while self._running:
            self.watchdog.worker_tick(time.monotonic_ns())
            item = self._mailbox.take(timeout_s=0.2)
            if item is None:
                continue
            cam_id, frame = item
            seq = frame.seq
            try:
                self._handle(cam_id, frame)
            except VideoragError as err:
                self.get_logger().error(f"camera '{cam_id}': frame {seq} failed: {err}", throttle_duration_sec=2.0)
            except Exception as err:  # the worker must survive anything a frame can cause
                self.pipeline.count(cam_id, "internal_errors")
                self.get_logger().error(f"camera '{cam_id}': frame {seq}: unexpected {type(err).__name__}: {err}", throttle_duration_sec=2.0)

    def _handle(self, cam_id: str, frame: _Converted) -> None:
        pipeline = self.pipeline
        msg, rgb, seq = frame.msg, frame.rgb, frame.seq
        stamp_ns = stamp_to_ns(msg.header.stamp)
        t_take = time.time_ns()
        pipeline.record(stages.RECEIVE, (frame.rx_clock_ns - stamp_ns) * 1e-6)
        pipeline.record(stages.CONVERT, frame.convert_ms)
        pipeline.record(stages.QUEUE, (t_take - frame.rx_ns) * 1e-6 - frame.convert_ms)  # waiting, in the converter's slot and the mailbox
        self.watchdog.inference_started(cam_id, seq, time.monotonic_ns())
        try:
            result = pipeline.process(cam_id, rgb, stamp_ns, seq)
        except Exception as err:
            self.watchdog.inference_finished(time.monotonic_ns(), error=_describe_error(err))
            self._check_watchdogs()
            raise
        self.watchdog.inference_finished(time.monotonic_ns(), encoded=result.vector is not None)
        if result.vector is not None:
            self._publish_decision(result, msg.header.frame_id, frame)
            g2d = frame.since_glass_ms(stamp_ns)
            pipeline.record(stages.GLASS_TO_DECISION, g2d)
            if g2d > self.config.latency_budget_ms:
                pipeline.count(cam_id, "over_budget")
            # From our callback to the published decision, minus the encoder's forward pass:
            # what this package adds around the model (DDS transport is the 'receive' stage).
            pipeline.record(stages.OVERHEAD_EXCL_FORWARD, (time.time_ns() - frame.rx_ns) * 1e-6 - result.stage_ms[stages.EMBED])
        if self._tuning is not None:
            since_set = self._tuning.frame_decided(result.config_generation)
            if since_set is not None:
                pipeline.record(stages.PARAM_SET_TO_DECISION, since_set)
                self.get_logger().info(f"parameters of generation {result.config_generation} in force from camera '{cam_id}' frame {seq}, {since_set:.1f} ms after the set request")
        self._check_watchdogs()  # a late frame raises, a good one may clear: after the decision is out
        if self._debug is not None:
            self._debug.offer(result, rgb, pipeline.triggers, msg.header.frame_id, msg.header.stamp)
        remembered = pipeline.remember(result, rgb)
        if self.fleet is not None:
            self.fleet.offer(result, remembered)
        if self.slowloop is not None:
            self.slowloop.offer(result, rgb)

    # --- queries (service thread, off the trigger path) --------------------------------------
    def _on_query(self, request: Any, response: Any) -> Any:
        """``~/query_moments``: encode the text (or image), search the memory, return moments."""
        t0 = time.perf_counter()
        pipeline = self.pipeline
        pipeline.count("query", "requests")
        try:
            answer = pipeline.answer(request_to_query(request, self.config.limits))
        except VideoragError as err:
            pipeline.count("query", "rejected")
            response.success, response.message = False, str(err)
            self.get_logger().warning(f"query rejected: {err}", throttle_duration_sec=2.0)
            return response
        except Exception as err:  # a query must never take the node down
            pipeline.count("query", "internal_errors")
            response.success, response.message = False, f"internal error: {type(err).__name__}: {err}"
            self.get_logger().error(f"query failed: {type(err).__name__}: {err}", throttle_duration_sec=2.0)
            return response
        response.success, response.message = True, answer.summary()
        response.moments = [moment_to_msg(m, thumbnail=not request.no_thumbnails) for m in answer.moments]
        response.encode_ms, response.search_ms, response.remembered = answer.encode_ms, answer.search_ms, max(0, answer.remembered)
        pipeline.record(stages.QUERY_ENCODE, answer.encode_ms)
        pipeline.record(stages.QUERY_SEARCH, answer.search_ms)
        pipeline.record(stages.QUERY_TOTAL, (time.perf_counter() - t0) * 1e3)
        return response

    # --- memory snapshots -----------------------------------------------------------------
    def _load_snapshot(self, path: str) -> None:
        """Reload the memory; a missing or bad snapshot is logged and the node starts with an empty memory."""
        if not os.path.exists(path):
            self.get_logger().info(f"index snapshot {path} does not exist yet; starting with an empty memory")
            return
        try:
            n = self.pipeline.load_memory(path)
        except VideoragError as err:
            self.pipeline.count("index", "snapshot_load_failures")
            self.get_logger().error(f"{err}; starting with an empty memory (the last good snapshot, if any, stays in {path}.prev)")
            return
        self.get_logger().info(f"memory reloaded from {path}: {n} frames (HNSW graph rebuilding in the background)")

    def _save_snapshot(self) -> None:
        path = self.config.index_snapshot_path
        t0 = time.perf_counter()
        try:
            nbytes = self.pipeline.save_memory(path)
        except VideoragError as err:
            self.pipeline.count("index", "snapshot_failures")
            self.get_logger().error(f"memory snapshot failed: {err}", throttle_duration_sec=30.0)
            return
        self.pipeline.count("index", "snapshot_saves")
        self.get_logger().debug(f"memory snapshot {path}: {nbytes / 1e6:.1f} MB in {time.perf_counter() - t0:.2f} s")

    def _save_snapshot_in_background(self) -> None:
        """Timer callback: save on a helper thread so neither the executor nor the worker waits for the disk."""
        if self._save_thread is not None and self._save_thread.is_alive():
            return  # the previous save is still writing
        inserts = self.pipeline.memory_inserts
        if inserts == self._saved_inserts:
            return  # nothing new since the last save
        self._saved_inserts = inserts
        self._save_thread = threading.Thread(target=self._save_snapshot, name="videorag-snapshot", daemon=True)
        self._save_thread.start()

    # --- output --------------------------------------------------------------------------
    def _publish_decision(self, result: FrameResult, frame_id: str, frame: _Converted) -> None:
        t0 = time.perf_counter()
        actions = self.actions
        assert actions is not None  # created before the worker starts
        before, after = actions.on_events(result.events) if result.events else (actions.state, actions.state)
        for ev in result.events:
            latency_ms = frame.since_glass_ms(ev.stamp_ns)
            self._trigger_pub.publish(trigger_event_to_msg(ev, frame_id=frame_id, latency_ms=latency_ms))
            self.pipeline.record(stages.GLASS_TO_ACTION, latency_ms)
        if result.events:
            self.pipeline.record(stages.PUBLISH, (time.perf_counter() - t0) * 1e3)
        # Logged after publishing, so logging can never delay or block the stop.
        for ev in result.events:
            if ev.state == HOLD:
                continue
            text = f"'{ev.trigger}' on camera '{ev.camera_id}' score {ev.score:.3f} frame stamp {ev.stamp_ns / 1e9:.3f}"
            if ESTOP in ev.actions and after.estop != before.estop:
                if after.estop:
                    self.get_logger().warning(f"e-stop ENGAGED by {text}")
                else:
                    self.get_logger().info(f"e-stop released: {text}")
            elif LOG in ev.actions:
                self.get_logger().info(f"trigger {ev.state} {text}")

    def _check_watchdogs(self, *, worker_alive: bool | None = None) -> None:
        """Evaluate the watchdogs (timer, and the worker after each frame); apply and log what changed."""
        if not self._running:
            return
        actions = self.actions
        if actions is None:
            return
        with self._watchdog_lock:
            alive = self._worker.is_alive() if worker_alive is None else worker_alive
            transitions = self.watchdog.evaluate(time.monotonic_ns(), worker_alive=alive, worker_error=self._worker_error)
            if not transitions:
                return
            before, after = actions.on_watchdog(self.watchdog.stop_reasons())
        log = self.get_logger()
        for tr in transitions:  # each fault is logged once when raised and once when cleared
            f = tr.fault
            if tr.raised:
                who = f.key.split(":", 1)[1] if f.kind == CAMERA_SILENT else "watchdog"
                self.pipeline.count(who, "silent_periods" if f.kind == CAMERA_SILENT else f"{f.kind}_faults")
                if f.stops:
                    log.error(f"watchdog: {describe(f)}; stopping until it clears (policy 'stop')")
                else:
                    log.warning(f"watchdog: {describe(f)}; not stopping (policy 'warn')")
            else:
                log.info(f"watchdog cleared: {f.kind} ({f.key}) after {(time.monotonic_ns() - f.since_ns) * 1e-9:.1f} s")
        if after.estop != before.estop:
            if after.estop:
                log.warning(f"e-stop ENGAGED by watchdog: {'; '.join(after.causes)}")
            else:
                log.info("e-stop released: watchdog faults cleared")

    def _publish_diagnostics(self) -> None:
        conversions = {cam: c.stats() for cam, c in self._converters.items()}
        extra: dict[str, object] = {"clock": "sim time" if self._sim_time else "system"}
        for part in (self._tuning, self._debug):
            if part is not None:
                extra.update(part.diagnostics())
        state = self.actions.state if self.actions is not None else Outputs()
        msg = build_diagnostics(self.pipeline, self._mailbox.dropped, conversions, self.watchdog.active(), self.config, outputs=state, extra=extra)
        if self.fleet is not None:
            msg.status.append(self.fleet.diagnostic_status())
        if self.slowloop is not None:
            msg.status.append(self.slowloop.diagnostic_status())
        msg.header.stamp = self.get_clock().now().to_msg()
        self._diag_pub.publish(msg)

    def destroy_node(self) -> None:
        """Stop the worker, save and release everything, then destroy the node (also after a constructor that failed half-way)."""
        self._stop()
        self._teardown()
        super().destroy_node()


class EdgeNode(_EdgeRuntime):
    """Semantic reflexes for one robot's cameras, running from construction. See README 'Node interface'."""

    def __init__(self, **kwargs: Any) -> None:
        """Declare and validate parameters, load the encoder, wire topics and start the worker.

        Raises:
            VideoragError: Bad parameters, missing model, unreadable trigger images.
        """
        self._init_fields()  # destroy_node works whatever fails below
        super().__init__(NODE_NAME, **kwargs)
        try:
            self._init_runtime()
            self._setup()
            self._start()
        except BaseException:
            # The caller never gets this node to destroy (a bad parameter, or Ctrl-C during
            # start-up): stop the threads already started, or they outlive the interpreter.
            self.destroy_node()
            raise


class ManagedEdgeNode(_EdgeRuntime, LifecycleNode):
    """The edge node as a managed (lifecycle) node: ``edge_node --managed``; see README 'Lifecycle'.

    unconfigured -> configure (model loaded, prompts encoded, memory reloaded, query service up)
    -> inactive -> activate (outputs published, cameras subscribed, worker running) -> active.
    Deactivate publishes a stop (e-stop true, latched; zero Twist and lock; the polygon) once and
    ends the heartbeats, so a consumer fails safe whether it reads the value or watches the beat.
    """

    def __init__(self, **kwargs: Any) -> None:
        """Declare the parameters (settable while unconfigured); nothing is loaded before configure."""
        self._init_fields()
        super().__init__(NODE_NAME, **kwargs)
        self._init_runtime()

    def on_configure(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Load the model, encode the prompts, reload the memory."""
        try:
            self._setup()
        except VideoragError as err:
            self.get_logger().error(f"configure failed: {printable(err)}")
            self._teardown()
            return TransitionCallbackReturn.FAILURE
        return TransitionCallbackReturn.SUCCESS

    def on_activate(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Publish the outputs, subscribe, start the worker."""
        self._start()
        self.get_logger().info("active: subscribed, publishing")
        return super().on_activate(state)

    def on_deactivate(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Stop the worker, unsubscribe, publish a stop and end the heartbeats."""
        self._stop()
        if self.actions is not None:
            self.actions.pause()
        self.get_logger().warning("inactive: e-stop published (latched), heartbeats stopped")
        return super().on_deactivate(state)

    def on_cleanup(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Save the memory and release the model, the service and the outputs."""
        self._teardown_outputs()
        self._teardown()
        return TransitionCallbackReturn.SUCCESS

    def on_shutdown(self, state: LifecycleState) -> TransitionCallbackReturn:
        """From any state: stop (publishing a stop if it was active) and release everything."""
        was_active = self._started
        self._stop()
        if was_active and self.actions is not None:
            self.actions.pause()
        self._teardown()
        return TransitionCallbackReturn.SUCCESS

    def on_error(self, state: LifecycleState) -> TransitionCallbackReturn:
        """An exception in a transition: publish a stop, release, and go back to unconfigured."""
        self._stop()
        if self.actions is not None:
            self.actions.pause()
        self._teardown_outputs()
        self._teardown()
        return TransitionCallbackReturn.SUCCESS

    def _teardown_outputs(self) -> None:
        if self.actions is not None:
            self.actions.close()
            self.actions = None
        for pub in ("_trigger_pub", "_diag_pub"):
            if getattr(self, pub, None) is not None:
                self.destroy_publisher(getattr(self, pub))
                setattr(self, pub, None)


def _describe_error(err: BaseException) -> str:
    """``"EncoderError: forward pass failed ..."``, or just the type when it has no message."""
    return f"{type(err).__name__}: {err}" if str(err) else type(err).__name__


def _diag_type() -> Any:
    from diagnostic_msgs.msg import DiagnosticArray

    return DiagnosticArray


def _check_params_files(args: list[str]) -> None:
    """Read every ``--params-file`` with our bounded, non-blocking YAML reader before rcl does.

    rcl's parser would block on a FIFO, read /dev/zero until memory runs out and expand YAML
    aliases without limit; a file refused here never reaches it.

    Raises:
        ConfigError: A parameter file that is not a regular, bounded, valid YAML file.
    """
    for flag, value in itertools.pairwise(args):
        if flag == "--params-file":
            try:
                load_yaml(read_regular_file(value, what="parameter file"), what=f"parameter file '{value}'")
            except VideoragError as err:
                raise ConfigError(str(err)) from err


def main(args: list[str] | None = None) -> int:
    """``ros2 run videorag edge_node [--managed]``: spin the edge node (or its lifecycle variant) until
    SIGINT / SIGTERM, then stop the worker, save the memory and shut down, in that order."""
    logging.basicConfig(level=logging.INFO)
    log = logging.getLogger("videorag")
    argv = list(sys.argv if args is None else args)
    managed = "--managed" in argv
    argv = [a for a in argv if a != "--managed"]
    with StopSignals() as signals:
        try:
            _check_params_files(argv)
            init_without_signal_handlers(argv)
        except (VideoragError, _rclpy.RCLError) as err:
            log.fatal("cannot start: %s", printable(str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__))
            return 1
        node: _EdgeRuntime | None = None
        executor = SingleThreadedExecutor()  # queries spin on their own thread (ros/query_server.py)
        try:
            node = ManagedEdgeNode() if managed else EdgeNode()
            executor.add_node(node)
            # Short slices: a signal's flag is read between them (rclpy's handler, which would wake
            # the wait, is off; see ros/stop_signals.py). Timers wake it sooner anyway.
            while not signals.requested and rclpy.ok():
                executor.spin_once(timeout_sec=SIGNAL_POLL_S)
        except VideoragError as err:
            log.fatal("cannot start: %s", printable(err))
            return 1
        except (KeyboardInterrupt, ExternalShutdownException):  # rclpy's handler, where it could not be turned off
            pass
        finally:
            signals.stopping()
            executor.shutdown()
            if node is not None:
                node.destroy_node()
            if rclpy.ok():
                rclpy.shutdown()
    return 0
