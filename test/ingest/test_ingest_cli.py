"""The door commands: flags checked before anything starts, one-line errors, exit codes; launch files name what CMake installs."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from test.conftest import REPO
from videorag_ros.cli import bridge, ingest, stream_client
from videorag_ros.cli.main import COMMANDS


def test_commands_are_registered() -> None:
    assert {"bridge", "ingest", "stream-client"} <= set(COMMANDS)
    from videorag_ros.cli.bench import BENCHES

    assert "ingest" in BENCHES


@pytest.mark.parametrize(
    ("argv", "match"),
    [
        (["--source", "/no/such/clip.mp4", "--check"], "cannot be read"),
        (["--source", "gopher://x/y", "--check"], "scheme 'gopher' is not supported"),
        (["--source", "/dev/null", "--check"], "not a regular file"),
        (["--check"], "empty"),  # no source anywhere
        (["--source", "tcp://127.0.0.1:1", "--max-fps", "-1", "--check"], "'max_fps' = -1.0 is below"),
    ],
)
def test_bridge_refuses_bad_flags_with_one_line(argv: list[str], match: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert bridge.main(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and match in err and err.count("\n") == 1


def test_bridge_check_accepts_a_source_and_a_params_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert bridge.main(["--source", "rtsp://user:secret@127.0.0.1:8554/cam", "--params", str(REPO / "config" / "bridge.yaml"), "--check"]) == 0
    out = capsys.readouterr().out
    assert "rtsp" in out and "secret" not in out


def test_ingest_refuses_a_missing_or_weak_token(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert ingest.main(["ws", "--token-file", str(tmp_path / "none")]) == 1
    assert "cannot be read" in capsys.readouterr().err
    weak = tmp_path / "weak"
    weak.write_text("1234")
    weak.chmod(0o600)
    assert ingest.main(["webrtc", "--token-file", str(weak)]) == 1
    assert "shorter than 16" in capsys.readouterr().err
    assert ingest.main(["ws"]) == 1  # no token file at all
    assert "no token file given" in capsys.readouterr().err
    good = tmp_path / "good"
    good.write_text("0123456789abcdef0123")
    good.chmod(0o600)
    assert ingest.main(["ws", "--token-file", str(good), "--max-clients", "200"]) == 1  # 200 x 2 MiB x 4 > 256 MiB
    assert "exceeds max_memory_bytes" in capsys.readouterr().err


def test_stream_client_refuses_bad_urls_and_ranges(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tok = tmp_path / "t"
    tok.write_text("0123456789abcdef0123")
    tok.chmod(0o600)
    clip = tmp_path / "c.mp4"
    clip.write_bytes(b"x")
    base = ["--source", str(clip), "--token-file", str(tok)]
    assert stream_client.main([*base, "--url", "ftp://x"]) == 2
    assert "must start with ws://" in capsys.readouterr().err
    assert stream_client.main([*base, "--url", "ws://127.0.0.1:1"]) == 2
    assert "--client-id is required" in capsys.readouterr().err
    assert stream_client.main([*base, "--url", "ws://127.0.0.1:1", "--client-id", "a", "--fps", "0"]) == 2


@pytest.mark.parametrize(("launch", "executable", "config"), [("bridge", "bridge_node", "bridge"), ("ws_ingest", "ws_ingest_node", "ws_ingest"), ("webrtc_ingest", "webrtc_ingest_node", "webrtc_ingest")])
def test_door_launch_files_name_installed_executables_and_configs(launch: str, executable: str, config: str) -> None:
    tree = ast.parse((REPO / "launch" / f"{launch}.launch.py").read_text())
    strings = {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)}
    assert executable in strings and f"{config}.yaml" in strings
    assert executable in set(re.findall(r"scripts/(\w+)", (REPO / "CMakeLists.txt").read_text()))
    assert (REPO / "scripts" / executable).is_file() and (REPO / "config" / f"{config}.yaml").is_file()


def test_shipped_configs_pass_the_parameter_tables() -> None:
    from videorag_ros.core.config import load_params_file
    from videorag_ros.ingest.config import BRIDGE_PARAMS, WEBRTC_PARAMS, WS_PARAMS, check_params

    for name, node, specs in (("bridge", "videorag_bridge", BRIDGE_PARAMS), ("ws_ingest", "videorag_ws_ingest", WS_PARAMS), ("webrtc_ingest", "videorag_webrtc_ingest", WEBRTC_PARAMS)):
        values = load_params_file(REPO / "config" / f"{name}.yaml", node)
        assert check_params(specs, values)
        assert set(values) <= {s.name for s in specs}
