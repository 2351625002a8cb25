"""``videorag bench hostile``: every hostile input of issue 11, run against a checkout's commands.

Each case builds a hostile file (a NaN parameter, a YAML bomb, a FIFO, a snapshot with a lying
header, a payload in the wrong format ...) and runs the ``videorag`` command a user would run on
it, as a child process under an address-space limit (so a memory bomb cannot take the machine)
and a timeout (so a hang ends). It records the exit code, the first line the command printed on
stderr, whether a traceback appeared, the wall time and the peak RSS. ``--checkout DIR`` runs
another checkout's code on the same inputs (e.g. the commit before a fix, for a before/after
table). Results are reported, never asserted; test/unit/test_hostile_inputs.py asserts the
behaviour.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from videorag_ros.bench.common import checkout_command
from videorag_ros.core.printable import printable

REPO = Path(__file__).resolve().parents[2]
TIMEOUT_S = 20.0
SIGINT_GRACE_S = 5.0  # ros2 launch's sigterm_timeout default
MEMORY_LIMIT_BYTES = 4 << 30


@dataclass(slots=True)
class Outcome:
    """What one command did with one hostile input."""

    case: str
    issue_item: str
    exit_code: int | None
    first_line: str
    traceback: bool
    hung: bool
    wall_s: float
    peak_rss_mib: float
    note: str = ""


@dataclass(slots=True)
class Case:
    """A hostile input and the command that meets it."""

    name: str
    item: str
    build: Callable[[Path], list[str]]
    expect_in_log: str = ""  # for node cases that keep running: the line that proves the input was handled
    node: bool = False


# --- builders ---------------------------------------------------------------------------------
def shipped_params() -> dict[str, Any]:
    """The shipped config/edge.yaml as flat parameters."""
    from videorag_ros.core.config import load_params_file

    return load_params_file(REPO / "config" / "edge.yaml")


def write_params(tmp: Path, name: str, **changes: Any) -> Path:
    """The shipped parameters with ``changes`` (dotted names) as a parameter file."""
    from videorag_ros.core.config import dump_params_file

    return dump_params_file(shipped_params() | changes, tmp / name)


def write_raw_params(tmp: Path, name: str, text: str | bytes) -> Path:
    """A parameter file with exactly this content (YAML the dumper would never write)."""
    path = tmp / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def model_copy(tmp: Path, name: str, edit: Callable[[str], str | bytes]) -> Path:
    """A copy of the shipped videorag-tiny whose manifest text went through ``edit``."""
    dst = tmp / name
    shutil.copytree(REPO / "models" / "videorag-tiny", dst)
    manifest = dst / "manifest.yaml"
    text = edit(manifest.read_text())
    manifest.write_bytes(text if isinstance(text, bytes) else text.encode())
    return dst


def fifo(tmp: Path, name: str) -> Path:
    """A named pipe nobody writes to: opening it for reading blocks forever."""
    path = tmp / name
    os.mkfifo(path)
    return path


def billion_laughs(levels: int = 9) -> str:
    """A parameter file whose value expands to 10**levels strings through YAML aliases."""
    lines = ["videorag_edge:", "  ros__parameters:", '    l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"    l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]" for i in range(1, levels)]
    lines.append(f"    cameras: *l{levels - 1}")
    return "\n".join(lines) + "\n"


def snapshot_with_header(tmp: Path, name: str, header: bytes, body: bytes = b"") -> Path:
    """A snapshot file with a valid checksum around whatever header and body it is given."""
    import hashlib

    from videorag_ros.core.index.snapshot import _PREFIX, FORMAT_VERSION, MAGIC

    path = tmp / name
    digest = hashlib.sha256(header + body).digest()
    path.write_bytes(_PREFIX.pack(MAGIC, FORMAT_VERSION, len(header), len(body), digest) + header + body)
    return path


def snapshot_with_camera(tmp: Path, name: str, camera: str) -> Path:
    """A valid snapshot (of the shipped model's dimension) of one frame whose camera name is ``camera`` (any text)."""
    from videorag_ros.core.encoder.manifest import load_manifest
    from videorag_ros.core.index import Payload, TemporalIndex

    dim = load_manifest("videorag-tiny", verify=False).embedding_dim
    path = tmp / name
    v = np.zeros(dim, np.float32)
    v[0] = 1.0
    with TemporalIndex(dim=dim, capacity=4, ttl_s=0, background=False) as index:
        index.add(v, Payload(camera, 1_000_000_000, 1, "first"))
        index.save(path)
    return path


def dds_with_unknown_pixel_format() -> bytes:
    """A DirectDraw Surface header with an unknown FourCC: Pillow's DDS plugin raises NotImplementedError."""
    header = struct.pack("<4sIIIIIII", b"DDS ", 124, 0x1007, 16, 16, 0, 0, 0) + b"\x00" * 44
    pixel_format = struct.pack("<II4sIIIII", 32, 0x4, b"ZZZZ", 0, 0, 0, 0, 0)
    return header + pixel_format + struct.pack("<IIIII", 0x1000, 0, 0, 0, 0) + b"\x00" * 64


def jpeg2000_labelled_jpeg() -> bytes:
    """A 4096 x 4096 JPEG 2000 file of a few hundred bytes (it costs ~0.5 s to decode)."""
    import cv2

    ok, buf = cv2.imencode(".jp2", np.zeros((4096, 4096, 3), np.uint8))
    assert ok  # OpenCV always encodes a black image
    return bytes(buf.tobytes())


def compressed_bag(tmp: Path, name: str, payloads: Sequence[tuple[str, bytes]], topic: str = "/camera/front/image_raw/compressed") -> Path:
    """A rosbag2 (mcap) of CompressedImage messages with exactly these (format, data) payloads."""
    from rosbags.rosbag2 import StoragePlugin, Writer
    from rosbags.typesys import Stores, get_typestore

    store = get_typestore(Stores.ROS2_HUMBLE)
    msg_type = store.types["sensor_msgs/msg/CompressedImage"]
    header_type, time_type = store.types["std_msgs/msg/Header"], store.types["builtin_interfaces/msg/Time"]
    path = tmp / name
    with Writer(path, version=8, storage_plugin=StoragePlugin.MCAP) as writer:
        conn = writer.add_connection(topic, "sensor_msgs/msg/CompressedImage", typestore=store)
        for i, (fmt, data) in enumerate(payloads):
            stamp = 1_000_000_000 + i * 100_000_000
            msg = msg_type(header=header_type(stamp=time_type(sec=stamp // 10**9, nanosec=stamp % 10**9), frame_id="cam"), format=fmt, data=np.frombuffer(data, np.uint8))
            writer.write(conn, stamp, store.serialize_cdr(msg, msg_type.__msgtype__))
    return path


def huge_png(tmp: Path, name: str, side: int = 16000) -> Path:
    """A small PNG (~0.75 MB) declaring a side x side RGB image (768 MB decoded)."""
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    comp = zlib.compressobj(9)
    row = b"\x00" * (side * 3 + 1)
    idat = b"".join(comp.compress(row) for _ in range(side)) + comp.flush()
    path = tmp / name
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)) + chunk(b"IDAT", idat) + chunk(b"IEND", b""))
    return path


def _snapshot_for_query(tmp: Path) -> Path:
    return snapshot_with_camera(tmp, "plain.vrag", "front")


# --- the cases (issue 11's list, in its order) --------------------------------------------------
def cases() -> list[Case]:
    """Every case: name, the issue's item number, and how to build it."""
    check = ["edge", "--check", "--params"]

    def params_case(name: str, item: str, **changes: Any) -> Case:
        return Case(name, item, lambda t: [*check, str(write_params(t, f"{name}.yaml", **changes))])

    def raw_case(name: str, item: str, text: str | bytes) -> Case:
        return Case(name, item, lambda t: [*check, str(write_raw_params(t, f"{name}.yaml", text))])

    def manifest_case(name: str, item: str, edit: Callable[[str], str | bytes]) -> Case:
        return Case(name, item, lambda t: [*check, str(write_params(t, f"{name}.yaml", model=str(model_copy(t, name, edit)), **{"security.allowed_dirs": []}))])

    def node_case(name: str, item: str, **changes: Any) -> Case:
        return Case(name, item, lambda t: ["edge", "--params", str(write_params(t, f"{name}.yaml", **changes))], node=True)

    deep = "videorag_edge:\n  ros__parameters:\n    cameras: " + "[" * 50_000 + "]" * 50_000 + "\n"
    return [
        params_case("nan_enter_threshold", "1", **{"person_ahead.enter_threshold": float("nan")}),
        manifest_case("nan_logit_scale", "1", lambda m: m.replace("logit_scale:", "logit_scale: .nan #", 1)),
        manifest_case("nan_std", "1", lambda m: _replace_list(m, "std", "[.nan, 0.5, 0.5]")),
        params_case("inf_estop_heartbeat_hz", "1", estop_heartbeat_hz=float("inf")),
        node_case("nan_diagnostics_period_s", "1", diagnostics_period_s=float("nan")),
        node_case("nan_watchdog_period_s", "1", **{"watchdog.period_s": float("nan")}),
        Case("jp2_labelled_jpeg_in_bag", "2", lambda t: ["run", "--bag", str(compressed_bag(t, "jp2_bag", [("jpeg", jpeg2000_labelled_jpeg())] * 3)), "--topic", "front=/camera/front/image_raw/compressed"]),
        manifest_case("input_size_30000", "3", lambda m: _replace_list(m, "input_size", "[30000, 30000]")),
        raw_case("yaml_billion_laughs", "3", billion_laughs()),
        Case("params_dev_zero", "3", lambda t: [*check, "/dev/zero"]),
        Case("video_png_16000", "3", lambda t: ["run", "--video", str(huge_png(t, "huge.png"))]),
        Case("fifo_params_file", "4", lambda t: [*check, str(fifo(t, "params.yaml"))]),
        Case("fifo_query_index", "4", lambda t: ["query", "a person", "--index", str(fifo(t, "memory.vrag"))]),
        Case(
            "fifo_snapshot_path", "4",
            lambda t: ["edge", "--params", str(write_params(t, "fifo_snapshot.yaml", **{"index.snapshot_path": str(fifo(t, "memory.vrag")), "security.allowed_dirs": []}))],
            expect_in_log="camera 'front'", node=True,
        ),
        Case("snapshot_json_100k_deep", "5", lambda t: ["query", "a person", "--index", str(snapshot_with_header(t, "deep.vrag", b"[" * 100_000 + b"]" * 100_000))]),
        Case("snapshot_dim_2_62", "5", lambda t: ["query", "a person", "--index", str(snapshot_with_header(t, "dim.vrag", json.dumps({"dim": 2**62, "count": 0, "camera_names": [], "reason_names": [], "sections": {}}).encode()))]),
        Case("dds_labelled_jpeg_in_bag", "6", lambda t: ["run", "--bag", str(compressed_bag(t, "dds_bag", [("jpeg", dds_with_unknown_pixel_format())] * 3)), "--topic", "front=/camera/front/image_raw/compressed"]),
        params_case("check_empty_estop_topic", "7", estop_topic=""),
        params_case("check_invalid_topic", "7", **{"front.topic": "camera/front image"}),
        params_case("check_nan_watchdog_period", "7", **{"watchdog.period_s": float("nan")}),
        params_case("check_capacity_1e12", "7", **{"index.capacity": 10**12}),
        params_case("check_unknown_model", "7", model="no-such-model"),
        params_case("check_prompt_without_known_words", "7", **{"person_ahead.prompts": ["zqxj vbnm"]}),
        raw_case("binary_params", "8", bytes(range(256)) * 4),
        raw_case("latin1_params", "8", "videorag_edge:\n  ros__parameters:\n    cameras: [caf\xe9]\n".encode("latin-1")),
        raw_case("nested_params_50k", "8", deep),
        Case("directory_as_params", "8", lambda t: [*check, str(t)]),
        manifest_case("non_utf8_manifest", "8", lambda m: m.replace("name:", "name: caf\xe9 #", 1).encode("latin-1")),
        manifest_case("nested_manifest", "8", lambda m: m + "deep: " + "[" * 50_000 + "]" * 50_000 + "\n"),
        manifest_case("string_input_size", "8", lambda m: _replace_list(m, "input_size", "'96x96'")),
        manifest_case("float_input_size", "8", lambda m: _replace_list(m, "input_size", "[96.5, 96.5]")),
        Case("query_since_inf", "8", lambda t: ["query", "a person", "--index", str(_snapshot_for_query(t)), "--since", "inf"]),
        Case("run_report_to_missing_dir", "8", lambda t: ["run", "--video", "/usr/share/doc/opencv-doc/examples/data/vtest.avi", "--report", str(t / "missing" / "r.json")]),
        Case("query_sheet_to_directory", "8", lambda t: ["query", "a person", "--index", str(_snapshot_for_query(t)), "--sheet", str(t)]),
        Case("escape_in_snapshot_camera_name", "9", lambda t: ["query", "a person", "--index", str(snapshot_with_camera(t, "esc.vrag", "cam\x1b]0;pwned\x07\x1b[2J"))]),
    ]


def _replace_list(manifest: str, key: str, value: str) -> str:
    """Replace the first ``key: [...]`` line's value in a manifest's text."""
    lines = manifest.splitlines()
    for i, line in enumerate(lines):
        if line.strip().startswith(f"{key}:"):
            indent = line[: len(line) - len(line.lstrip())]
            lines[i] = f"{indent}{key}: {value}"
            break
    return "\n".join(lines) + "\n"


# --- running ------------------------------------------------------------------------------------
def _limit_memory() -> None:  # runs in the child before exec
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT_BYTES, MEMORY_LIMIT_BYTES))


def run_case(case: Case, tmp: Path, *, checkout: Path, env: dict[str, str]) -> Outcome:
    """Build one case's input and run its command; never raises for what the command does."""
    work = tmp / case.name
    work.mkdir()
    try:
        args = case.build(work)
    except Exception as err:  # a builder that cannot run here (e.g. no opencv-doc) is reported, not fatal
        return Outcome(case.name, case.item, None, f"not run: {type(err).__name__}: {err}", False, False, 0.0, 0.0)
    cmd, child_env = checkout_command(checkout, env, *args)
    log, out_log = work / "stderr.log", work / "stdout.log"
    t0 = time.perf_counter()
    with open(log, "wb") as err_out, open(out_log, "wb") as std_out:
        # preexec_fn: setrlimit has to run in the child before exec
        proc = subprocess.Popen(cmd, cwd=work, env=child_env, stdout=std_out, stderr=err_out, preexec_fn=_limit_memory)  # noqa: PLW1509
        hung, note = False, ""
        deadline = t0 + TIMEOUT_S
        rusage = None
        interrupted_at: float | None = None  # when SIGINT was sent
        escalated = False  # SIGTERM sent after the grace period
        while True:
            pid, status, rusage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                proc.returncode = os.waitstatus_to_exitcode(status)
                break
            if interrupted_at is None and case.expect_in_log and case.expect_in_log in log.read_text(errors="replace"):
                note = f"handled; still running after {time.perf_counter() - t0:.1f} s (expected)"
                # Stopped as `ros2 launch` stops a node: one SIGINT, SIGTERM after a grace period.
                proc.send_signal(signal.SIGINT)
                interrupted_at = time.perf_counter()
            elif interrupted_at is not None and not escalated and time.perf_counter() - interrupted_at > SIGINT_GRACE_S:
                note += f"; ignored SIGINT for {SIGINT_GRACE_S:.0f} s (sent SIGTERM)"
                proc.send_signal(signal.SIGTERM)
                escalated = True
            if time.perf_counter() > deadline:
                hung = not note
                proc.kill()
            time.sleep(0.05)
    wall = time.perf_counter() - t0
    stdout = out_log.read_text(errors="replace")
    text = log.read_text(errors="replace")
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.startswith("[INFO]")]
    errors = [ln for ln in lines if "error" in ln.lower() or "cannot start" in ln or "Error" in ln]
    first = (errors or lines or stdout.splitlines() or [""])[0]
    if case.name == "escape_in_snapshot_camera_name":
        note = "raw ESC on stdout" if "\x1b" in stdout else "escaped on stdout"
    if case.name.startswith(("jp2", "dds")):
        note = note or _bag_note(stdout + text)
    peak = (rusage.ru_maxrss / 1024) if rusage is not None else float("nan")
    return Outcome(case.name, case.item, None if hung else proc.returncode, printable(first, max_chars=600), "Traceback" in text, hung, wall, peak, note)


def _bag_note(text: str) -> str:
    lines = text.splitlines()
    for key in ("rejected (", "admitted by the gate"):
        for line in lines:
            if key in line:
                return printable(line.strip(), max_chars=400)
    return ""


def _table(outcomes: Sequence[Outcome]) -> str:
    rows = [f"{'case':<34} {'item':>4} {'exit':>5} {'tb':>3} {'wall s':>7} {'peak MiB':>9}  first line / note"]
    for o in outcomes:
        code = "hang" if o.hung else ("-" if o.exit_code is None else str(o.exit_code))
        rows.append(f"{o.case:<34} {o.issue_item:>4} {code:>5} {'yes' if o.traceback else 'no':>3} {o.wall_s:7.2f} {o.peak_rss_mib:9.0f}  {o.first_line[:110]}{' | ' + o.note if o.note else ''}")
    return "\n".join(rows)


def main(argv: Sequence[str] | None = None) -> int:
    """Run every case (or ``--only`` some) and print the table (``--json``: one JSON line too)."""
    p = argparse.ArgumentParser(prog="videorag bench hostile", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkout", type=Path, default=REPO, help="source checkout whose videorag_ros runs the commands (default: this one)")
    p.add_argument("--only", action="append", default=[], help="run only this case (repeatable)")
    p.add_argument("--list", action="store_true", help="list the cases and exit")
    p.add_argument("--domain", type=int, help="ROS_DOMAIN_ID for the node cases (default: derived from the pid)")
    p.add_argument("--json", action="store_true", help="print the outcomes as one JSON object on the last line")
    args = p.parse_args(argv)
    chosen = [c for c in cases() if not args.only or c.name in args.only]
    if args.list:
        print("\n".join(f"{c.name} (item {c.item})" for c in cases()))
        return 0
    if args.only and not chosen:
        print(f"error: no case named {args.only}; see --list", file=sys.stderr)
        return 2
    from videorag_ros.ros.graph import local_ros_env

    env = local_ros_env(args.domain if args.domain is not None else 150 + os.getpid() % 80)
    outcomes = []
    with tempfile.TemporaryDirectory(prefix="videorag-hostile-") as tmp:
        for case in chosen:
            outcomes.append(run_case(case, Path(tmp), checkout=args.checkout.resolve(), env=env))
            print(_table(outcomes[-1:]).splitlines()[-1], file=sys.stderr)
    print(_table(outcomes))
    if args.json:
        print(json.dumps({"checkout": str(args.checkout), "outcomes": [asdict(o) for o in outcomes]}))
    return 0
