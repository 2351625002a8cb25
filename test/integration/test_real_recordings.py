"""Real ROS 1 bags nobody here made, replayed by `videorag replay` into the edge node over real DDS.

Spot (rgb8, mono8, fisheye mono8, 16UC1 depth, and the same scenes as image_transport
CompressedImage, including ``16UC1; png compressed`` and ``16UC1; compressedDepth``) and a
Raspberry Pi JPEG (``../shared/real/bags``, see its SOURCES.md). Every message is published; the
node embeds the colour and grey frames and counts depth as ``rejected_input.not_colour``
in /diagnostics, and keeps running. Skips with the reason where the bags are absent.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("rclpy", reason="ROS 2 not installed: run through `make test`")

from test.conftest import REPO
from test.support.domains import child_env
from test.support.real import real_dir, real_file
from videorag_ros.core.config import dump_params_file, load_params_file
from videorag_ros.ros.graph import EdgeGraph, start, stop, wait_until

pytestmark = pytest.mark.integration

NS = "/videorag_real"
SPOT = {"color": "/spot/camera/hand_color/image", "mono": "/spot/camera/hand_mono/image", "fish": "/spot/camera/frontleft/image", "depth": "/spot/depth/frontleft/image"}
# bag -> {camera id: (topic, transport)}
BAGS: dict[str, dict[str, tuple[str, str]]] = {
    "ctu_ros-utils__raw.bag": {f"r_{cam}": (topic, "raw") for cam, topic in SPOT.items()},
    "ctu_ros-utils__compressed.bag": {f"c_{cam}": (f"{topic}/compressed", "compressed") for cam, topic in SPOT.items()},
    "ctu_ros-utils__compressedDepth.bag": {"cd_depth": ("/spot/depth/frontleft/image/compressedDepth", "compressed")},
    "fiducials__aruco_images.bag": {"pi": ("/raspicam_node/image/compressed", "compressed")},
}
CAMERAS = {cam: spec for cams in BAGS.values() for cam, spec in cams.items()}


@pytest.fixture(scope="module")
def graph(tmp_path_factory: pytest.TempPathFactory, ros_domain: int) -> Iterator[EdgeGraph]:
    if not (real_dir() / "bags").is_dir():
        pytest.skip(f"real bags {real_dir() / 'bags'} are absent (set $VIDEORAG_SHARED_REAL to a copy of shared/real/)")
    tmp = tmp_path_factory.mktemp("real_recordings")
    values = {k: v for k, v in load_params_file(REPO / "config" / "edge.yaml").items() if not k.startswith("front.")}
    values.update({"cameras": list(CAMERAS), "estop_topic": f"{NS}/estop", "cmd_vel_topic": f"{NS}/cmd_vel_safety", "diagnostics_period_s": 0.5})
    for cam, (topic, transport) in CAMERAS.items():  # one frame per camera: silence is expected, never a stop
        values.update({f"{cam}.topic": topic, f"{cam}.transport": transport, f"{cam}.timeout_s": 3600.0, f"{cam}.on_silence": "warn"})
    params = dump_params_file(values, tmp / "real.yaml")
    g = EdgeGraph(params, domain_id=ros_domain, log_path=tmp / "edge.log", estop_topic=f"{NS}/estop", cmd_vel_topic=f"{NS}/cmd_vel_safety", extra_env=child_env(ros_domain))
    try:
        g.wait_ready([])
        yield g
    finally:
        g.close()


def _replay(graph: EdgeGraph, bag: Path, log: Path) -> dict[str, Any]:
    """`videorag replay --restamp` as a process once every topic has the node's subscription; its JSON summary.

    One message per topic, best effort: the replay sees the node's subscription a moment before the node
    accepts the replay's data, and on a loaded machine that moment has exceeded the default 0.5 s settle.
    """
    proc = start(["replay", str(bag), "--restamp", "--wait-for-subscribers", "1", "--settle", "2", "--json"], child_env(graph.domain_id), log_path=str(log))
    try:
        done = wait_until(lambda: proc.poll() is not None, 60.0, spin=graph.spin)
    finally:
        code = stop(proc)
    text = log.read_text()
    assert done and code == 0, f"replay of {bag.name} failed (exit {code}):\n{text[-3000:]}"
    return json.loads([line for line in text.splitlines() if line.startswith("{")][-1])


@pytest.mark.parametrize("bag_name", list(BAGS))
def test_real_bag_replayed_into_the_node(bag_name: str, graph: EdgeGraph, tmp_path: Path) -> None:
    bag = real_file(f"bags/{bag_name}")
    cameras = BAGS[bag_name]
    summary = _replay(graph, bag, tmp_path / "replay.log")
    assert summary["published"] == {topic: 1 for topic, _ in cameras.values()}
    assert sum(summary["skipped"].values()) == (15 if bag_name.startswith("fiducials") else 0)  # CameraInfo is not an image

    def settled() -> bool:
        return all(int(graph.monitor.camera_values(cam).get("received", 0)) >= 1 and _handled(graph.monitor.camera_values(cam)) >= 1 for cam in cameras)

    assert wait_until(settled, 30.0, spin=graph.spin), json.dumps({cam: graph.monitor.camera_values(cam) for cam in cameras})
    graph.spin(1.0)  # a fresh diagnostics message after the last decision
    assert graph.proc.poll() is None, "edge node died on a real recording"
    for cam in cameras:
        v = graph.monitor.camera_values(cam)
        assert int(v["received"]) == 1, v
        if cam.endswith("depth"):
            assert (int(v["rejected_input"]), int(v["rejected_input.not_colour"])) == (1, 1), v
            assert "not_colour 1" in v["_message"], v
            assert int(v.get("embedded", 0)) == 0, v
        else:
            assert int(v.get("rejected_input", 0)) == 0, v
            assert int(v.get("embedded", 0)) == 1, v  # the first frame of a camera is a keyframe


def _handled(v: dict[str, str]) -> int:
    """Received frames whose fate is known: rejected as input, rejected by the gate, admitted, or dropped."""
    return sum(int(float(n)) for k, n in v.items() if k in ("rejected_input", "admitted", "dropped") or k.startswith("gate_rejected."))
