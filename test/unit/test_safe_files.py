"""Reading and writing only regular files of bounded size, without ever blocking."""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from videorag_ros.core.safe_files import UnsafeFileError, check_output_path, check_regular_file, read_regular_file


def _never_blocks(fn, *args, **kwargs):
    """Run ``fn`` on a thread and fail (instead of hanging the suite) if it is still running after 5 s."""
    result: dict[str, object] = {}

    def run() -> None:
        try:
            result["value"] = fn(*args, **kwargs)
        except BaseException as err:
            result["error"] = err

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(5.0)
    assert not t.is_alive(), f"{fn.__name__} blocked"
    if "error" in result:
        raise result["error"]  # type: ignore[misc]
    return result.get("value")


@pytest.fixture
def specials(tmp_path: Path) -> Iterator[dict[str, Path]]:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    short = Path(tempfile.mkdtemp(prefix="vr-", dir="/tmp"))  # AF_UNIX paths are limited to 108 bytes
    sock_path = short / "sock"
    link = tmp_path / "zero_link"
    link.symlink_to("/dev/zero")
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(sock_path))
        yield {"FIFO": fifo, "character device": Path("/dev/zero"), "directory": tmp_path, "socket": sock_path, "link to a device": link}
    shutil.rmtree(short)


def test_reads_a_regular_file(tmp_path: Path) -> None:
    f = tmp_path / "a.yaml"
    f.write_bytes(b"x: 1\n")
    assert read_regular_file(f, what="parameter file") == b"x: 1\n"
    assert check_regular_file(f, what="model") == f


@pytest.mark.parametrize("kind", ["FIFO", "character device", "directory", "socket", "link to a device"])
def test_refuses_special_files_without_blocking(specials: dict[str, Path], kind: str) -> None:
    expected = {"FIFO": "FIFO", "character device": "character device", "directory": "directory", "socket": "socket", "link to a device": "character device"}[kind]
    with pytest.raises(UnsafeFileError, match=f"is (a|an) {expected}"):
        _never_blocks(read_regular_file, specials[kind], what="parameter file")
    with pytest.raises(UnsafeFileError, match="not a regular file"):
        _never_blocks(check_regular_file, specials[kind], what="model")


def test_size_limit_and_missing_file(tmp_path: Path) -> None:
    f = tmp_path / "big"
    f.write_bytes(b"x" * 101)
    with pytest.raises(UnsafeFileError, match="101 bytes, more than the 100 accepted"):
        read_regular_file(f, what="manifest", max_bytes=100)
    with pytest.raises(UnsafeFileError, match="more than the 100 accepted"):
        check_regular_file(f, what="manifest", max_bytes=100)
    with pytest.raises(UnsafeFileError, match="does not exist"):
        read_regular_file(tmp_path / "nope", what="manifest")


def test_output_paths_are_checked_before_any_work(tmp_path: Path, specials: dict[str, Path]) -> None:
    assert check_output_path(tmp_path / "out.png", what="--plot") == tmp_path / "out.png"
    with pytest.raises(UnsafeFileError, match=r"directory .* does not exist"):
        check_output_path(tmp_path / "missing" / "out.png", what="--plot")
    with pytest.raises(UnsafeFileError, match="is a directory; give a file path"):
        check_output_path(tmp_path, what="--sheet")
    with pytest.raises(UnsafeFileError, match="is a FIFO"):
        check_output_path(specials["FIFO"], what="--report")
