"""QueryMoments through the edge node over real DDS, on a memory of real footage.

The node reloads a snapshot built by the real pipeline from vtest.avi (Debian's opencv-doc),
then answers ``~/query_moments`` from a client in this process and from ``videorag query``
as a separate process, while its camera keeps being served.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest

pytest.importorskip("rclpy", reason="ROS 2 not installed: run through `make test`")

from sensor_msgs.msg import Image

from test.support.domains import child_env
from test.support.memory import S, build_clip_memory
from videorag_ros.cli.edge import default_params
from videorag_ros.core.config import dump_params_file, load_params_file
from videorag_ros.core.index import TemporalIndex, read_snapshot
from videorag_ros.core.query import MomentQuery, answer_query
from videorag_ros.core.stamps import stamp_to_ns
from videorag_ros.ros.conversions import ns_to_stamp
from videorag_ros.ros.graph import EdgeGraph, videorag_command, wait_until

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def node(footage, tmp_path_factory: pytest.TempPathFactory, ros_domain: int):
    tmp = tmp_path_factory.mktemp("query_node")
    snapshot = tmp / "memory.vrag"
    duration, encoder = build_clip_memory(footage, {"plaza": "vtest.avi"}, snapshot)
    values = load_params_file(default_params())
    values = {k: v for k, v in values.items() if not k.startswith("front.")}
    values.update({"cameras": ["plaza"], "plaza.topic": "plaza/image", "index.snapshot_path": str(tmp / "live.vrag"), "security.allowed_dirs": [str(tmp)], "diagnostics_period_s": 0.25})
    values.update({"gate.keyframe_interval_s": 0.0, "gate.max_rate_hz": 0.0})  # the live camera: every frame to the encoder, queries or not
    (tmp / "live.vrag").write_bytes(snapshot.read_bytes())
    params = dump_params_file(values, tmp / "edge.yaml")
    graph = EdgeGraph(params, domain_id=ros_domain, log_path=tmp / "edge.log", extra_env=child_env(ros_domain))
    try:
        from videorag.srv import QueryMoments

        camera = graph.publisher(Image, "plaza/image")
        graph.wait_ready([camera])
        client = graph.node.create_client(QueryMoments, "/videorag_edge/query_moments")
        assert wait_until(client.service_is_ready, 30, spin=graph.spin), graph.log_path.read_text()[-3000:]
        yield graph, client, camera, snapshot, duration, encoder
    finally:
        graph.close()


def _ask(graph: EdgeGraph, client, **fields):
    from videorag.srv import QueryMoments

    req = QueryMoments.Request()
    for k, v in fields.items():
        setattr(req, k, v)
    future = client.call_async(req)
    assert wait_until(future.done, 20, spin=graph.spin), "no answer from the service"
    return future.result()


def _offline(snapshot: Path, encoder, query: MomentQuery):
    data = read_snapshot(snapshot)
    with TemporalIndex(dim=data.dim, capacity=len(data), ttl_s=0, background=False) as idx:
        idx.load_data(data, approximate=False)
        return answer_query(idx, encoder, query).moments


def test_service_answers_like_the_snapshot(node) -> None:
    graph, client, _, snapshot, duration, encoder = node
    resp = _ask(graph, client, text="a person walking", k=4, context_s=2.0)
    assert resp.success, resp.message
    assert "moment(s) from" in resp.message and len(resp.moments) == 4
    assert resp.encode_ms > 0 and resp.search_ms > 0 and resp.remembered > 0  # what the CLI shows, no NaN
    scores = [m.score for m in resp.moments]
    assert scores == sorted(scores, reverse=True)
    for m in resp.moments:
        start, end, best = stamp_to_ns(m.start), stamp_to_ns(m.end), stamp_to_ns(m.best)
        assert m.camera_id == "plaza" and 0 <= start <= best <= end <= duration["plaza"] * S
        assert m.best_frame_seq in m.frame_seqs and m.hits >= 1
        thumb = cv2.imdecode(np.frombuffer(bytes(m.thumbnail.data), np.uint8), cv2.IMREAD_COLOR)
        assert m.thumbnail.format == "jpeg" and thumb is not None and thumb.shape[2] == 3
    offline = _offline(snapshot, encoder, MomentQuery(text="a person walking", k=4, context_s=2.0))
    assert stamp_to_ns(resp.moments[0].best) == offline[0].best_ns
    assert resp.moments[0].score == pytest.approx(offline[0].score, abs=1e-4)


def test_filters_thumbnails_and_errors(node) -> None:
    graph, client, _, _, _, _ = node
    window = _ask(graph, client, text="a person", since=ns_to_stamp(20 * S), until=ns_to_stamp(30 * S), k=3, context_s=1.0)
    assert window.success and window.moments
    assert all(20 * S <= stamp_to_ns(m.best) <= 30 * S for m in window.moments)
    bare = _ask(graph, client, text="a person", k=2, no_thumbnails=True)
    assert bare.success and all(len(m.thumbnail.data) == 0 for m in bare.moments)
    assert _ask(graph, client, text="a person", k=0).success  # 0 means the default
    for fields, why in (
        ({"text": "a person", "camera_ids": ["rear"]}, "unknown camera id(s) ['rear']"),
        ({"text": ""}, "needs a text or an image"),
        ({"text": "a person", "context_s": -2.0}, "context_s = -2"),
        ({"text": "a person", "since": ns_to_stamp(9 * S), "until": ns_to_stamp(8 * S)}, "time range is empty"),
    ):
        resp = _ask(graph, client, **fields)
        assert not resp.success and why in resp.message and not resp.moments
    img = _ask(graph, client, image=_jpeg_msg(np.full((60, 80, 3), 255, np.uint8)), k=1)
    assert img.success and len(img.moments) == 1
    garbage = _ask(graph, client, image=_raw_jpeg(b"not a jpeg"), k=1)
    assert not garbage.success
    assert wait_until(lambda: int(graph.monitor.pipeline_values().get("query.rejected", "0")) >= 5, 5, spin=graph.spin)
    assert graph.proc.poll() is None  # still running


def test_queries_do_not_stop_the_camera_being_served(node) -> None:
    graph, client, camera, _, duration, _ = node
    from videorag.srv import QueryMoments

    frame = np.zeros((120, 160, 3), np.uint8)
    futures = []
    for i in range(30):
        frame[:, :, :] = (i % 2) * 200  # the gate admits every frame (keyframe_interval_s 0)
        msg = Image(height=120, width=160, encoding="rgb8", step=480, data=frame.tobytes())
        # Stamped on the recording's clock, just after its end: a wall-clock stamp would make the
        # whole recording older than index.ttl_s, and TTL eviction would (rightly) forget it.
        msg.header.stamp = ns_to_stamp(int((duration["plaza"] + 1) * S) + i * S // 30)
        camera.publish(msg)
        futures.append(client.call_async(QueryMoments.Request(text="a person walking", k=5, context_s=2.0)))
        graph.spin(1 / 30)
    assert wait_until(lambda: all(f.done() for f in futures), 30, spin=graph.spin)
    assert all(f.result().success for f in futures)
    assert wait_until(lambda: int(graph.monitor.camera_values("plaza").get("embedded", "0")) >= 10, 10, spin=graph.spin)
    stages = graph.monitor.pipeline_values()
    assert float(stages["query_total.n"]) >= 30


def test_cli_asks_the_running_node(node, tmp_path: Path, ros_domain: int) -> None:
    env = child_env(ros_domain)
    sheet = tmp_path / "sheet.png"
    out = subprocess.run(
        [*videorag_command("query", "a person walking", "--k", "3", "--json", "--sheet", str(sheet))],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.splitlines()[-1])
    assert result["source"] == "/videorag_edge/query_moments" and len(result["moments"]) == 3
    assert all(m["thumbnail"] for m in result["moments"])
    assert cv2.imread(str(sheet)) is not None
    assert result["remembered"] > 0 and result["encode_ms"] > 0  # filled from the response, not NaN
    image = tmp_path / "white.png"
    cv2.imwrite(str(image), np.full((60, 80, 3), 255, np.uint8))
    by_image = subprocess.run(
        [*videorag_command("query", "--image", str(image), "--k", "1", "--json")], env=env, capture_output=True, text=True, timeout=60, check=False
    )  # the PNG file's bytes are sent as they are
    assert by_image.returncode == 0, by_image.stderr
    assert len(json.loads(by_image.stdout.splitlines()[-1])["moments"]) == 1
    lying = tmp_path / "lying.jpg"
    lying.write_bytes(b"GIF89a not a jpeg")
    refused = subprocess.run([*videorag_command("query", "--image", str(lying))], env=env, capture_output=True, text=True, timeout=60, check=False)
    assert refused.returncode == 1 and "neither a JPEG nor a PNG" in refused.stderr
    missing = subprocess.run(
        [*videorag_command("query", "a person", "--node", "/nobody", "--timeout", "1")], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert missing.returncode == 1 and "service /nobody/query_moments not available" in missing.stderr


def _jpeg_msg(rgb: np.ndarray):
    ok, buf = cv2.imencode(".jpg", rgb)
    assert ok
    return _raw_jpeg(buf.tobytes())


def _raw_jpeg(data: bytes):
    from sensor_msgs.msg import CompressedImage

    return CompressedImage(format="jpeg", data=data)
