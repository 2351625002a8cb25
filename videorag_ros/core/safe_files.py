"""Read and write only what a file claims to be: regular files, of bounded size, without hanging.

A path that reaches us from a parameter or a command line may name a FIFO (``open`` blocks
until a writer appears, ``read`` until it closes), a character device (``/dev/zero`` never ends),
a directory or a socket. Every file we read goes through ``read_regular_file`` (or, when a
library opens the path itself, ``check_regular_file`` first); every file we write goes through
``check_output_path`` before the work that produces it starts, so a bad output path fails in
milliseconds, not after minutes of indexing.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from videorag_ros.core.errors import VideoragError

# What a parameter or manifest file may weigh: far above any real one, far below harm.
TEXT_FILE_MAX_BYTES = 1 << 20


class UnsafeFileError(VideoragError):
    """A path is missing, not a regular file, too large or not readable/writable."""


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return name
    return "not a regular file"


def check_regular_file(path: str | Path, *, what: str, max_bytes: int | None = None) -> Path:
    """Make sure ``path`` is an existing regular file (symlinks followed) of at most ``max_bytes``.

    Use it before handing a path to a library that opens it itself (onnxruntime, OpenCV,
    rosbags). It never opens the file, so a FIFO cannot block it.

    Args:
        path: The path to check.
        what: What the file is, for the message ("parameter file").
        max_bytes: Largest accepted size; None for no limit.

    Returns:
        ``path`` as a ``Path``.

    Raises:
        UnsafeFileError: Missing, not a regular file, or too large.
    """
    p = Path(path)
    try:
        st = p.stat()
    except FileNotFoundError as err:
        msg = f"{what} '{p}' does not exist"
        raise UnsafeFileError(msg) from err
    except OSError as err:
        msg = f"{what} '{p}' cannot be read: {err.strerror or err}"
        raise UnsafeFileError(msg) from err
    if not stat.S_ISREG(st.st_mode):
        msg = f"{what} '{p}' is {_kind(st.st_mode)}, not a regular file"
        raise UnsafeFileError(msg)
    if max_bytes is not None and st.st_size > max_bytes:
        msg = f"{what} '{p}' is {st.st_size} bytes, more than the {max_bytes} accepted"
        raise UnsafeFileError(msg)
    return p


def read_regular_file(path: str | Path, *, what: str, max_bytes: int = TEXT_FILE_MAX_BYTES) -> bytes:
    """Read a whole regular file of at most ``max_bytes``.

    The file is opened non-blocking and checked on the open descriptor, so a path swapped for a
    FIFO between a check and the open still cannot block; at most ``max_bytes + 1`` bytes are
    ever read, so a file that grows (or lies about its size) cannot exhaust memory.

    Raises:
        UnsafeFileError: Missing, not a regular file, larger than ``max_bytes``, unreadable.
    """
    p = Path(path)
    try:
        fd = os.open(p, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except FileNotFoundError as err:
        msg = f"{what} '{p}' does not exist"
        raise UnsafeFileError(msg) from err
    except OSError as err:
        check_regular_file(p, what=what)  # a socket (ENXIO) or the like: say what it is
        msg = f"{what} '{p}' cannot be opened: {err.strerror or err}"
        raise UnsafeFileError(msg) from err
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            msg = f"{what} '{p}' is {_kind(st.st_mode)}, not a regular file"
            raise UnsafeFileError(msg)
        if st.st_size > max_bytes:
            msg = f"{what} '{p}' is {st.st_size} bytes, more than the {max_bytes} accepted"
            raise UnsafeFileError(msg)
        chunks: list[bytes] = []
        left = max_bytes + 1
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
    except OSError as err:
        msg = f"{what} '{p}' cannot be read: {err.strerror or err}"
        raise UnsafeFileError(msg) from err
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) > max_bytes:
        msg = f"{what} '{p}' grew past the {max_bytes} bytes accepted while it was read"
        raise UnsafeFileError(msg)
    return data


def check_output_path(path: str | Path, *, what: str) -> Path:
    """Make sure ``path`` can be written as a regular file, before any work is done for it.

    Its directory must exist and be writable, and the path itself must be absent or a regular
    file (writing to a FIFO blocks, to a device does harm).

    Returns:
        ``path`` as a ``Path``.

    Raises:
        UnsafeFileError: Naming what is wrong with the path.
    """
    p = Path(path).expanduser()
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        msg = f"{what} '{p}': directory '{parent}' does not exist"
        raise UnsafeFileError(msg)
    if not os.access(parent, os.W_OK | os.X_OK):
        msg = f"{what} '{p}': directory '{parent}' is not writable"
        raise UnsafeFileError(msg)
    try:
        st = p.stat()
    except FileNotFoundError:
        return p
    except OSError as err:
        msg = f"{what} '{p}' cannot be written: {err.strerror or err}"
        raise UnsafeFileError(msg) from err
    if not stat.S_ISREG(st.st_mode):
        msg = f"{what} '{p}' is {_kind(st.st_mode)}; give a file path"
        raise UnsafeFileError(msg)
    if not os.access(p, os.W_OK):
        msg = f"{what} '{p}' is not writable"
        raise UnsafeFileError(msg)
    return p
