"""Run a videorag node graph as real processes over real DDS, and watch its outputs.

Used by ``videorag demo``, ``videorag bench pipeline`` and the integration tests: the
nodes run as separate processes started through the package's own entry points (what
``ros2 launch`` would start), and a ``Monitor`` node in the calling process records
what a downstream consumer would see.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from diagnostic_msgs.msg import DiagnosticArray
from rclpy.node import Node
from std_msgs.msg import Bool

from videorag.msg import SemanticTrigger
from videorag_ros.core.stamps import stamp_to_ns
from videorag_ros.core.triggers import ENTER, EXIT, HOLD
from videorag_ros.ros import qos
from videorag_ros.ros.dds import DISCOVERY_RANGE, LOCALHOST_ONLY, PROFILE_VARIABLES, confine_to_localhost, use_profiles_file

STATE_NAMES = {SemanticTrigger.ENTER: ENTER, SemanticTrigger.HOLD: HOLD, SemanticTrigger.EXIT: EXIT}


def large_frames_profile() -> Path | None:
    """The shipped Fast DDS profile that lets raw camera frames use shared memory."""
    for base in (Path(__file__).resolve().parents[2] / "config", *_share_dirs()):
        f = base / "fastdds_large_frames.xml"
        if f.is_file():
            return f
    return None


def _share_dirs() -> list[Path]:
    return [Path(p) / "share" / "videorag" / "config" for p in os.environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep) if p]


def local_ros_env(domain_id: int | None = None) -> dict[str, str]:
    """The current environment with DDS discovery confined to this machine.

    Also points Fast DDS at the shipped large-frame profile unless one is set already.

    Args:
        domain_id: ``ROS_DOMAIN_ID`` to use; keeps the existing one when None.
    """
    env = dict(os.environ)
    profile = large_frames_profile()
    if profile is not None:
        use_profiles_file(str(profile), env)
    confine_to_localhost(env)
    if domain_id is not None:
        env["ROS_DOMAIN_ID"] = str(domain_id)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def videorag_command(*args: str) -> list[str]:
    """Command line running ``videorag <args>`` with this interpreter's installation."""
    exe = shutil.which("videorag")
    if exe is not None:
        return [sys.executable, exe, *args]
    return [sys.executable, "-m", "videorag_ros.cli.main", *args]


def start(args: list[str], env: dict[str, str], *, log_path: str | None = None) -> subprocess.Popen[bytes]:
    """Start ``videorag <args>`` as a child process (stdout+stderr to ``log_path`` or inherited)."""
    if log_path is None:
        return subprocess.Popen(videorag_command(*args), env=env)
    with open(log_path, "wb") as out:  # the child keeps its own descriptor
        return subprocess.Popen(videorag_command(*args), env=env, stdout=out, stderr=subprocess.STDOUT)


def stop(proc: subprocess.Popen[bytes], timeout_s: float = 10.0) -> int:
    """Interrupt a child like Ctrl-C, then kill it if it does not exit in time."""
    if proc.poll() is None:
        proc.send_signal(2)
        try:
            proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


@dataclass(slots=True)
class TriggerRecord:
    """A SemanticTrigger as a consumer received it."""

    trigger: str
    state: str
    camera_id: str
    stamp_ns: int
    score: float
    latency_ms: float
    wire_latency_ms: float
    frame_seq: int


@dataclass(slots=True)
class MonitorLog:
    """Everything the monitor saw, in arrival order."""

    triggers: list[TriggerRecord] = field(default_factory=list)
    estop: list[tuple[float, bool]] = field(default_factory=list)
    twists: int = 0
    diagnostics: list[DiagnosticArray] = field(default_factory=list)


class Monitor(Node):
    """Subscribes to the edge node's outputs like a downstream consumer would."""

    def __init__(
        self,
        *,
        edge_name: str = "/videorag_edge",
        estop_topic: str = "/estop",
        cmd_vel_topic: str = "/cmd_vel_safety",
        context: Any = None,
    ) -> None:
        """Subscribe to ``<edge>/triggers``, the e-stop, the zero-Twist topic and /diagnostics."""
        super().__init__("videorag_monitor", context=context)
        from geometry_msgs.msg import Twist

        self.log = MonitorLog()
        self._lock = threading.Lock()
        self.create_subscription(SemanticTrigger, f"{edge_name}/triggers", self._on_trigger, qos.EVENTS)
        self.create_subscription(Bool, estop_topic, self._on_estop, qos.LATCHED_SAFETY)
        self.create_subscription(Twist, cmd_vel_topic, self._on_twist, qos.COMMAND)
        self.create_subscription(DiagnosticArray, "/diagnostics", self._on_diag, 10)

    def _on_trigger(self, msg: SemanticTrigger) -> None:
        now = time.time_ns()
        stamp = stamp_to_ns(msg.header.stamp)
        rec = TriggerRecord(msg.trigger, STATE_NAMES.get(msg.state, str(msg.state)), msg.camera_id, stamp, msg.score, msg.latency_ms, (now - stamp) * 1e-6, msg.frame_seq)
        with self._lock:
            self.log.triggers.append(rec)

    def _on_estop(self, msg: Bool) -> None:
        with self._lock:
            self.log.estop.append((time.time(), bool(msg.data)))

    def _on_twist(self, _msg: Any) -> None:
        with self._lock:
            self.log.twists += 1

    def _on_diag(self, msg: DiagnosticArray) -> None:
        with self._lock:
            self.log.diagnostics.append(msg)

    def pipeline_values(self) -> dict[str, str]:
        """Key/values of the newest 'videorag: pipeline' diagnostic status (empty if none yet)."""
        with self._lock:
            for arr in reversed(self.log.diagnostics):
                for st in arr.status:
                    if st.name == "videorag: pipeline":
                        return {kv.key: kv.value for kv in st.values}
        return {}

    def camera_values(self, camera_id: str) -> dict[str, str]:
        """Key/values of the newest status of one camera (empty if none yet)."""
        with self._lock:
            for arr in reversed(self.log.diagnostics):
                for st in arr.status:
                    if st.name == f"videorag: camera {camera_id}":
                        level = st.level[0] if isinstance(st.level, bytes) else int(st.level)
                        return {kv.key: kv.value for kv in st.values} | {"_level": str(level), "_message": st.message}
        return {}


def stage_table(values: dict[str, str]) -> dict[str, dict[str, float]]:
    """Turn diagnostic key/values ``<stage>.p50_ms`` ... into ``{stage: {p50, p95, p99, n}}``."""
    out: dict[str, dict[str, float]] = {}
    for key, val in values.items():
        if "." not in key:
            continue
        stage, stat = key.rsplit(".", 1)
        if stat in ("p50_ms", "p95_ms", "p99_ms", "n"):
            out.setdefault(stage, {})[stat.replace("_ms", "")] = float(val)
    return out


def wait_until(pred: Any, timeout_s: float, *, spin: Any = None, step_s: float = 0.05) -> bool:
    """Poll ``pred()`` (spinning ``spin(step_s)`` if given) until true or the deadline passes."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if spin is not None:
            spin(step_s)
        else:
            time.sleep(step_s)
        if pred():
            return True
    return bool(pred())


class EdgeGraph:
    """The edge node as a child process, plus a monitor and camera publishers in this process.

    ``close()`` stops the child first, so a failing teardown never leaves a node running.
    """

    def __init__(
        self,
        params: Path,
        *,
        domain_id: int,
        log_path: Path,
        estop_topic: str = "/estop",
        cmd_vel_topic: str = "/cmd_vel_safety",
        extra_env: dict[str, str] | None = None,
    ) -> None:
        """Start ``videorag edge --params params`` and create the local nodes.

        Args:
            params: Parameter file for the edge node.
            domain_id: ROS domain shared by the child and the local nodes.
            log_path: Where the child's output goes.
            estop_topic: E-stop topic the monitor watches.
            cmd_vel_topic: Zero-Twist topic the monitor counts.
            extra_env: Added to the child's environment.
        """
        import rclpy
        from rclpy.executors import SingleThreadedExecutor

        env = local_ros_env(domain_id) | (extra_env or {})
        # This process's participants need the same transport and discovery settings.
        for key in (*PROFILE_VARIABLES, DISCOVERY_RANGE, LOCALHOST_ONLY):
            if key in env:
                os.environ[key] = env[key]
        self.log_path = log_path
        self.params = params
        self.domain_id = domain_id
        self.proc = start(["edge", "--params", str(params)], env, log_path=str(log_path))
        try:
            self.ctx = rclpy.Context()
            rclpy.init(context=self.ctx, domain_id=domain_id)
            self.monitor = Monitor(context=self.ctx, estop_topic=estop_topic, cmd_vel_topic=cmd_vel_topic)
            self.node = rclpy.create_node("videorag_test_cameras", context=self.ctx)
            self.executor = SingleThreadedExecutor(context=self.ctx)
            self.executor.add_node(self.monitor)
            self.executor.add_node(self.node)
        except BaseException:
            stop(self.proc)
            raise

    def publisher(self, msg_type: Any, topic: str) -> Any:
        """A camera publisher (sensor-data QoS, depth 1) on the local node."""
        return self.node.create_publisher(msg_type, topic, qos.CAMERA)

    def spin(self, seconds: float) -> None:
        """Process callbacks for ``seconds``."""
        end = time.monotonic() + seconds
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return
            self.executor.spin_once(timeout_sec=min(0.01, left))

    def wait_ready(self, publishers: list[Any], timeout_s: float = 90.0) -> None:
        """Wait for the node's first diagnostics and for every publisher to be matched.

        Raises:
            RuntimeError: With the tail of the node's log, if it does not come up.
        """
        ok = wait_until(
            lambda: bool(self.monitor.pipeline_values()) and all(p.get_subscription_count() > 0 for p in publishers),
            timeout_s,
            spin=self.spin,
        )
        if not ok:
            msg = f"edge node not ready within {timeout_s:.0f} s (exit code {self.proc.poll()}); log:\n{self.log_path.read_text()[-4000:]}"
            raise RuntimeError(msg)

    def close(self) -> None:
        """Stop the child, then tear down the local nodes and context."""
        import rclpy

        stop(self.proc)
        self.executor.shutdown()
        self.monitor.destroy_node()
        self.node.destroy_node()
        rclpy.shutdown(context=self.ctx)
