"""The README's robot commands, run for real: ``ros2 launch videorag edge.launch.py`` and the ``ros2`` CLI.

Each launch runs as a child process group on the test's own ROS domain (DDS on loopback) and is
torn down at the end; every CLI call is bounded. Skips with a reason where the ``ros2`` CLI is
not installed (``make setup`` installs it from ../shared/ros2-tools where that exists).
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

pytest.importorskip("rclpy", reason="ROS 2 not installed: run through `make test`")

from test.cli.ros2 import Launched, launched, missing, retry, ros2, ros2_env

_why = missing()
if _why is not None:
    pytest.skip(_why, allow_module_level=True)

pytestmark = pytest.mark.integration

EDGE_NODES = ("videorag_edge", "videorag_edge_query")
QUERY = "{text: 'a person', k: 3}"
# Each CLI call is a fresh DDS participant: give discovery time on a busy machine (default 0.5 s).
NO_DAEMON = ["--no-daemon", "--spin-time", "3"]


def shipped_params() -> dict:
    """``ros__parameters`` of the installed config/edge.yaml (what the launch file loads)."""
    from ament_index_python.packages import get_package_share_directory

    data = yaml.safe_load((Path(get_package_share_directory("videorag")) / "config" / "edge.yaml").read_text())
    return data["/**"]["ros__parameters"]


def _has_nodes(namespace: str) -> object:
    want = {f"{namespace}/{n}" for n in EDGE_NODES}
    return lambda r: r.returncode == 0 and want <= set(r.stdout.split())


def wait_for_edge(run: Launched, namespace: str = "") -> None:
    """Until ``ros2 node list`` shows the edge node and its query node; fails with the launch log."""
    result = retry(["node", "list", *NO_DAEMON], run.env, _has_nodes(namespace))
    assert run.proc.poll() is None, f"ros2 launch exited with {run.proc.returncode}:\n{run.log_tail()}"
    assert _has_nodes(namespace)(result), f"nodes seen: {result.stdout!r} {result.stderr[-500:]}\nlaunch log:\n{run.log_tail()}"


def param_value(result: subprocess.CompletedProcess[str]) -> str:
    """The value printed by ``ros2 param get`` ("Double value is: 0.6" -> "0.6")."""
    assert result.returncode == 0, result.stderr
    m = re.search(r"values? (?:is|are): (.*)", result.stdout)
    assert m is not None, result.stdout
    return m.group(1).strip()


def echo_estop(env: dict[str, str], topic: str) -> subprocess.CompletedProcess[str]:
    """``ros2 topic echo --once <topic> std_msgs/msg/Bool`` until it prints ``data: true``."""
    args = ["topic", "echo", *NO_DAEMON, "--once", "--timeout", "10", topic, "std_msgs/msg/Bool"]
    return retry(args, env, lambda r: r.returncode == 0 and "data: true" in r.stdout)


@pytest.fixture(scope="module")
def edge(ros_domain: int, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Launched]:
    """``ros2 launch videorag edge.launch.py`` with the shipped parameter file, no namespace."""
    tmp = tmp_path_factory.mktemp("ros2_launch")
    with launched(["videorag", "edge.launch.py"], ros2_env(ros_domain, tmp / "log"), tmp / "launch.log") as run:
        wait_for_edge(run)
        yield run


def test_node_list_shows_the_edge_node(edge: Launched) -> None:
    result = ros2(["node", "list", *NO_DAEMON], edge.env)
    assert result.returncode == 0, result.stderr
    assert {"/videorag_edge", "/videorag_edge_query"} <= set(result.stdout.split()), result.stdout


def test_param_list_shows_the_parameter_file(edge: Launched) -> None:
    result = ros2(["param", "list", *NO_DAEMON, "/videorag_edge"], edge.env)
    assert result.returncode == 0, result.stderr
    names = set(result.stdout.split())
    for name in ("cameras", "triggers", "front.topic", "person_ahead.enter_threshold", "estop_topic", "cmd_vel_topic", "gate.max_rate_hz"):
        assert name in names, f"{name} not in `ros2 param list`: {sorted(names)}"


def test_param_get_returns_the_shipped_file_values(edge: Launched) -> None:
    params = shipped_params()
    threshold = ros2(["param", "get", *NO_DAEMON, "/videorag_edge", "person_ahead.enter_threshold"], edge.env)
    assert float(param_value(threshold)) == pytest.approx(params["person_ahead"]["enter_threshold"])
    triggers = ros2(["param", "get", *NO_DAEMON, "/videorag_edge", "triggers"], edge.env)
    assert params["triggers"] == ["person_ahead"]
    assert "person_ahead" in param_value(triggers)


def test_topic_echo_estop_is_engaged_while_the_camera_is_silent(edge: Launched) -> None:
    # No camera publishes: the front camera's watchdog (on_silence: stop) holds the e-stop.
    result = echo_estop(edge.env, "/estop")
    assert "data: true" in result.stdout, f"{result.stdout!r} {result.stderr[-500:]}\n{edge.log_tail()}"


def test_service_call_query_moments(edge: Launched) -> None:
    result = ros2(["service", "call", "/videorag_edge/query_moments", "videorag/srv/QueryMoments", QUERY], edge.env)
    assert result.returncode == 0, f"{result.stdout[-1000:]} {result.stderr[-1000:]}"
    assert "text='a person'" in result.stdout and "k=3" in result.stdout, result.stdout
    response = result.stdout.split("response:", 1)[-1]
    assert "success=True" in response, response
    assert "moments=[]" in response and "the memory is empty" in response, response  # no frames arrived


def test_launch_under_a_namespace_applies_the_parameter_file(own_ros_domain: int, tmp_path: Path) -> None:
    env = ros2_env(own_ros_domain, tmp_path / "log")
    with launched(["videorag", "edge.launch.py", "namespace:=robot1"], env, tmp_path / "launch.log") as run:
        wait_for_edge(run, "/robot1")
        got = ros2(["param", "get", *NO_DAEMON, "/robot1/videorag_edge", "person_ahead.enter_threshold"], env)
        assert float(param_value(got)) == pytest.approx(shipped_params()["person_ahead"]["enter_threshold"]), run.log_tail()
        topics = ros2(["topic", "list", *NO_DAEMON], env)
        assert topics.returncode == 0, topics.stderr
        names = set(topics.stdout.split())
        assert {"/robot1/estop", "/robot1/cmd_vel_safety", "/robot1/videorag_edge/triggers"} <= names, names
        assert "/estop" not in names and "/cmd_vel_safety" not in names, names  # two robots never share one e-stop
        echo = echo_estop(env, "/robot1/estop")
        assert "data: true" in echo.stdout, f"{echo.stdout!r} {echo.stderr[-500:]}\n{run.log_tail()}"
        call = ros2(["service", "call", "/robot1/videorag_edge/query_moments", "videorag/srv/QueryMoments", QUERY], env)
        assert call.returncode == 0 and "success=True" in call.stdout.split("response:", 1)[-1], call.stdout[-1000:]
    assert run.proc.returncode is not None


def test_param_set_tunes_live_and_refuses_what_the_start_up_rules_refuse(edge: Launched) -> None:
    def set_(name: str, value: str) -> subprocess.CompletedProcess[str]:
        return retry(["param", "set", *NO_DAEMON, "/videorag_edge", name, value], edge.env, lambda r: "Node not found" not in r.stdout + r.stderr)

    ok = set_("person_ahead.enter_threshold", "0.7")
    assert "Set parameter successful" in ok.stdout, ok.stdout + ok.stderr
    assert param_value(ros2(["param", "get", *NO_DAEMON, "/videorag_edge", "person_ahead.enter_threshold"], edge.env)) == "0.7"
    refusals = {
        ("person_ahead.enter_threshold", ".nan"): "nan",
        ("person_ahead.exit_threshold", "0.9"): "must not exceed enter_threshold",
        ("person_ahead.debounce_n", "'two'"): "must be a int",
        ("model", "elsewhere"): "read-only",
    }
    for (name, value), why in refusals.items():
        result = set_(name, value)
        said = result.stdout + result.stderr  # ros2cli prints a refusal on stderr
        assert "Setting parameter failed" in said and why in said, (name, value, said)
    assert param_value(ros2(["param", "get", *NO_DAEMON, "/videorag_edge", "person_ahead.exit_threshold"], edge.env)) == str(shipped_params()["person_ahead"]["exit_threshold"])


def test_lifecycle_set_configures_activates_and_deactivates_to_a_latched_stop(own_ros_domain: int, tmp_path: Path) -> None:
    from ament_index_python.packages import get_package_share_directory

    doc = yaml.safe_load((Path(get_package_share_directory("videorag")) / "config" / "edge.yaml").read_text())
    doc["/**"]["ros__parameters"]["front"]["on_silence"] = "warn"  # no camera here: only the lifecycle decides the stop
    params = tmp_path / "edge.yaml"
    params.write_text(yaml.safe_dump(doc))
    env = ros2_env(own_ros_domain, tmp_path / "log")
    node = "/videorag_edge"
    latched = ["--qos-durability", "transient_local", "--qos-reliability", "reliable"]

    def lifecycle(*args: str) -> subprocess.CompletedProcess[str]:
        return retry(["lifecycle", *args[:1], *NO_DAEMON, node, *args[1:]], env, lambda r: r.returncode == 0)

    def estop(value: str) -> subprocess.CompletedProcess[str]:
        args = ["topic", "echo", *NO_DAEMON, "--once", "--timeout", "10", *latched, "/estop", "std_msgs/msg/Bool"]
        return retry(args, env, lambda r: r.returncode == 0 and f"data: {value}" in r.stdout)

    with launched(["videorag", "edge.launch.py", "managed:=true", "autostart:=false", f"params_file:={params}"], env, tmp_path / "launch.log") as run:
        assert "unconfigured" in lifecycle("get").stdout, run.log_tail()
        assert "Transitioning successful" in lifecycle("set", "configure").stdout, run.log_tail()
        assert "inactive" in lifecycle("get").stdout
        assert "Transitioning successful" in lifecycle("set", "activate").stdout, run.log_tail()
        assert "data: false" in estop("false").stdout, run.log_tail()
        assert "Transitioning successful" in lifecycle("set", "deactivate").stdout, run.log_tail()
        assert "data: true" in estop("true").stdout, run.log_tail()  # a late subscriber reads the latched stop
        assert "inactive" in lifecycle("get").stdout  # and stays inactive (autostart does not re-activate it)
