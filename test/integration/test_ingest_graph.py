"""The three doors in front of a real edge node, each as its own process over real DDS: a WebSocket client's
and a WebRTC peer's frames reach the edge node, its trigger comes back to that client only, and the bridge
publishes a file as a camera the edge node counts."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import pytest
import yaml

pytest.importorskip("rclpy", reason="ROS 2 not installed: run through `make test`")
pytest.importorskip("av", reason="the 'ingest' extra (av) is not installed: pip install 'videorag[ingest]'")
pytest.importorskip("websockets.asyncio.client", reason="the 'ingest' extra (websockets>=13) is not installed")
pytest.importorskip("aiortc", reason="the 'ingest' extra (aiortc) is not installed")

from websockets.asyncio.client import connect

from test.support.domains import child_env
from videorag_ros.bench.rigs.patterns import pattern_frame
from videorag_ros.bench.rigs.streams import free_port
from videorag_ros.ingest import ws_protocol as proto
from videorag_ros.ros.graph import EdgeGraph, start, stop, wait_until

pytestmark = pytest.mark.integration
TOKEN = "graph-token-0123456789abcdef"


def _params(tmp: Path, model_dir: Path) -> Path:
    ref = tmp / "disk.png"
    cv2.imwrite(str(ref), cv2.cvtColor(pattern_frame("disk"), cv2.COLOR_RGB2BGR))
    params = {
        "cameras": ["drone1", "drone2", "robot1", "bridged"],
        "drone1": {"topic": "/ingest/drone1/image_raw/compressed", "transport": "compressed", "timeout_s": 30.0},
        "drone2": {"topic": "/ingest/drone2/image_raw/compressed", "transport": "compressed", "timeout_s": 30.0},
        "robot1": {"topic": "/ingest/robot1/image_raw", "transport": "raw", "timeout_s": 30.0},
        "bridged": {"topic": "/camera/bridged/image_raw", "transport": "raw", "timeout_s": 30.0},
        "model": str(model_dir),
        "gate": {"keyframe_interval_s": 0.0, "max_rate_hz": 0.0, "motion_rate_hz": 0.0},
        "triggers": ["disk_ahead"],
        "disk_ahead": {"reference_images": [str(ref)], "enter_threshold": 0.9, "exit_threshold": 0.85, "min_hold_s": 0.0, "actions": ["log"]},
        "estop_topic": "/videorag_ingest_test/estop",
        "cmd_vel_topic": "/videorag_ingest_test/cmd_vel_safety",
        "diagnostics_period_s": 0.25,
    }
    path = tmp / "edge.yaml"
    path.write_text(yaml.safe_dump({"videorag_edge": {"ros__parameters": params}}))
    return path


def _listening(port: int) -> bool:
    import socket

    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


class Doors:
    def __init__(self, graph: EdgeGraph, tmp: Path, domain: int) -> None:
        self.graph = graph
        tok = tmp / "token"
        tok.write_text(TOKEN)
        tok.chmod(0o600)
        env = child_env(domain)
        self.ws_port, self.rtc_port = free_port(), free_port()
        self.procs = {
            "ws": start(["ingest", "ws", "--token-file", str(tok), "--port", str(self.ws_port)], env, log_path=str(tmp / "ws.log")),
            "webrtc": start(["ingest", "webrtc", "--token-file", str(tok), "--port", str(self.rtc_port)], env, log_path=str(tmp / "webrtc.log")),
        }
        self.tmp, self.env = tmp, env
        try:
            for port in (self.ws_port, self.rtc_port):  # the doors listen once their node is up
                assert wait_until(lambda p=port: _listening(p), 60.0), f"no door on port {port}"
        except BaseException:
            self.close()  # never leave a door running on a domain the next test module may get
            raise


    def close(self) -> None:
        for proc in self.procs.values():
            stop(proc)
        for name in self.procs:
            print(f"--- {name} log ---\n" + (self.tmp / f"{name}.log").read_text(errors="replace")[-3000:])


@pytest.fixture(scope="module")
def doors(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory, ros_domain: int) -> Iterator[Doors]:
    tmp = tmp_path_factory.mktemp("ingest_graph")
    graph = EdgeGraph(_params(tmp, tiny_model_dir), domain_id=ros_domain, log_path=tmp / "edge.log", estop_topic="/videorag_ingest_test/estop",
                      cmd_vel_topic="/videorag_ingest_test/cmd_vel_safety", extra_env=child_env(ros_domain))  # fmt: skip
    d = None
    try:
        graph.wait_ready([])
        d = Doors(graph, tmp, ros_domain)
        yield d
    finally:
        try:
            if d is not None:
                d.close()
        finally:
            graph.close()  # whatever happened above: no edge node outlives its test module
            print(graph.log_path.read_text(errors="replace")[-3000:])


def _jpeg(kind: str, seed: int) -> bytes:
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(pattern_frame(kind, seed=seed), cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 90])
    assert ok
    return buf.tobytes()


def _spin_in_thread(graph: EdgeGraph, seconds: float) -> None:
    graph.spin(seconds)


def test_websocket_client_gets_its_own_trigger_back(doors: Doors) -> None:
    url = f"ws://127.0.0.1:{doors.ws_port}"

    async def client(name: str, kind: str, seconds: float) -> list[dict[str, Any]]:
        deadline = time.monotonic() + 30
        while True:  # the door process may still be starting
            try:
                ws = await connect(url, compression=None)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.3)
        await ws.send(proto.hello_message(name, TOKEN))
        assert json.loads(await ws.recv())["type"] == "welcome"
        events: list[dict[str, Any]] = []

        async def receive() -> None:
            async for msg in ws:
                events.append(json.loads(msg))

        rx = asyncio.create_task(receive())
        i, end = 0, time.monotonic() + seconds
        while time.monotonic() < end:
            await ws.send(proto.pack_frame(name, time.time_ns(), i, _jpeg(kind, i)))
            i += 1
            await asyncio.sleep(1 / 10)
        await asyncio.sleep(1.0)
        rx.cancel()
        await ws.close()
        return events

    async def both() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        loop = asyncio.get_running_loop()
        spinner = loop.run_in_executor(None, _spin_in_thread, doors.graph, 12.0)  # the monitor keeps listening meanwhile
        result = await asyncio.gather(client("drone1", "disk", 8.0), client("drone2", "stripes", 8.0))
        await spinner
        return result  # type: ignore[return-value]

    ev1, ev2 = asyncio.run(both())
    enters = [e for e in ev1 if e["state"] == "ENTER"]
    assert enters and enters[0]["trigger"] == "disk_ahead" and enters[0]["camera"] == "drone1", ev1
    assert all(e["camera"] == "drone2" for e in ev2) and not [e for e in ev2 if e["state"] == "ENTER"], ev2
    assert any(t.camera_id == "drone1" and t.state == "ENTER" for t in doors.graph.monitor.log.triggers)
    cam = doors.graph.monitor.camera_values("drone1")
    assert int(cam.get("received", 0)) >= 20


def test_webrtc_peer_gets_its_trigger_on_the_data_channel(doors: Doors) -> None:
    from videorag_ros.ingest.webrtc_client import WhipPublisher

    async def run() -> list[dict[str, Any]]:
        loop = asyncio.get_running_loop()
        pub = WhipPublisher(url=f"http://127.0.0.1:{doors.rtc_port}/whip/robot1", token=TOKEN)
        await pub.start()
        await asyncio.wait_for(pub.channel_open.wait(), 20)
        spinner = loop.run_in_executor(None, _spin_in_thread, doors.graph, 10.0)
        i, end = 0, time.monotonic() + 8.0
        while time.monotonic() < end and not any(e.get("state") == "ENTER" for e in pub.events):
            pub.push(pattern_frame("disk", seed=i))
            i += 1
            await asyncio.sleep(1 / 15)
        await asyncio.sleep(0.5)
        await pub.close()
        await spinner
        return pub.events

    events = asyncio.run(run())
    assert any(e["state"] == "ENTER" and e["camera"] == "robot1" and e["trigger"] == "disk_ahead" for e in events), events
    assert int(doors.graph.monitor.camera_values("robot1").get("received", 0)) >= 2  # debounce: 2 of 3 frames


def test_bridge_publishes_a_file_as_a_camera(doors: Doors, footage) -> None:
    proc = start(["bridge", "--source", str(footage("vtest.avi")), "--camera-id", "bridged", "--max-width", "320", "--max-fps", "10"], doors.env, log_path=str(doors.tmp / "bridge.log"))
    try:
        def counted() -> bool:
            return int(doors.graph.monitor.camera_values("bridged").get("received", 0)) >= 20

        assert wait_until(counted, 40.0, spin=doors.graph.spin), (doors.tmp / "bridge.log").read_text()[-2000:]

        def bridge_status() -> dict[str, str]:
            for arr in reversed(doors.graph.monitor.log.diagnostics):
                for st in arr.status:
                    if st.name == "videorag: bridge bridged":
                        return {kv.key: kv.value for kv in st.values}
            return {}

        # /diagnostics comes once a second: wait for a status that has caught up with the edge node's count
        assert wait_until(lambda: int(bridge_status().get("frames_out", 0)) >= 20, 10.0, spin=doors.graph.spin), bridge_status()
        st = bridge_status()
        assert st["state"] == "streaming" and st["stamp_source"] == "pace"
        assert float(st["capture_to_publish.p50_ms"]) >= 0.0
    finally:
        stop(proc)
