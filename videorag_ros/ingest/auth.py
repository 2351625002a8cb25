"""Shared-token authentication: the token comes from a file, is compared in constant time, and is never logged."""

from __future__ import annotations

import hmac
import logging
import os
import stat
from pathlib import Path

from videorag_ros.ingest.errors import AuthError

log = logging.getLogger(__name__)
MAX_TOKEN_BYTES = 4096
MIN_TOKEN_CHARS = 16


def read_token(path: str | Path) -> bytes:
    """Read a token file (surrounding whitespace stripped).

    Raises:
        AuthError: No path, not a regular file, too large, empty or shorter than 16 characters.
    """
    if not str(path):
        msg = "no token file given; create one (e.g. `head -c 32 /dev/urandom | base64 > ~/.ros/videorag/ingest.token; chmod 600 ...`) and pass its path"
        raise AuthError(msg)
    p = Path(path).expanduser()
    try:
        st = os.stat(p)
    except OSError as err:
        msg = f"token file '{p}' cannot be read ({err.strerror})"
        raise AuthError(msg) from err
    if not stat.S_ISREG(st.st_mode) or st.st_size > MAX_TOKEN_BYTES:
        msg = f"token file '{p}' must be a regular file of at most {MAX_TOKEN_BYTES} bytes"
        raise AuthError(msg)
    if st.st_mode & (stat.S_IRGRP | stat.S_IROTH):
        log.warning("token file '%s' is readable by other users; chmod 600 it", p)
    token = p.read_bytes().strip()
    if len(token) < MIN_TOKEN_CHARS:
        msg = f"token in '{p}' is {'empty' if not token else 'shorter than ' + str(MIN_TOKEN_CHARS) + ' characters'}; use a long random token"
        raise AuthError(msg)
    return token


def token_matches(expected: bytes, given: str | bytes | None) -> bool:
    """Constant-time comparison of a presented token with the expected one (None never matches)."""
    if given is None:
        return False
    raw = given.encode("utf-8", "surrogateescape") if isinstance(given, str) else given
    return hmac.compare_digest(expected, raw)
