"""The API key of the model server: read from an environment variable or a file, never shown.

``ApiKey`` keeps the secret out of ``repr``/``str`` (so a log line or a traceback that formats
it prints where it came from, not what it is); only ``header()`` hands it out, to the client.
"""

from __future__ import annotations

import os
from pathlib import Path

from videorag_ros.core.errors import ConfigError
from videorag_ros.core.safe_files import UnsafeFileError, read_regular_file

MAX_KEY_FILE_BYTES = 4096


class ApiKey:
    """A bearer token and where it came from."""

    __slots__ = ("_secret", "origin")

    def __init__(self, secret: str, origin: str) -> None:
        """Wrap a secret.

        Raises:
            ConfigError: Empty, or holding characters an HTTP header cannot carry (the message
                never contains the key).
        """
        if not secret:
            msg = f"the API key from {origin} is empty"
            raise ConfigError(msg)
        if any(not (0x21 <= ord(c) <= 0x7E) for c in secret):
            msg = f"the API key from {origin} holds spaces, control or non-ASCII characters; an HTTP header cannot carry it"
            raise ConfigError(msg)
        self._secret, self.origin = secret, origin

    def header(self) -> str:
        """``Bearer <key>`` for the Authorization header."""
        return f"Bearer {self._secret}"

    def __repr__(self) -> str:
        return f"ApiKey(<from {self.origin}>)"

    __str__ = __repr__


def load_api_key(env_name: str = "", file_path: str = "", *, environ: dict[str, str] | None = None) -> ApiKey | None:
    """The API key named by the slow loop's parameters, or None when neither is set.

    Args:
        env_name: Environment variable holding the key.
        file_path: Absolute path of a regular file holding the key (surrounding whitespace ignored).
        environ: The environment (default ``os.environ``).

    Raises:
        ConfigError: The variable is unset or empty; the file is missing, not a regular file
            (a FIFO or device would block or stream forever), larger than 4 KiB or unreadable.
    """
    if env_name:
        value = (os.environ if environ is None else environ).get(env_name)
        if value is None or not value.strip():
            msg = f"parameter 'slowloop.api_key_env' names ${env_name}, which is unset or empty in the node's environment"
            raise ConfigError(msg)
        return ApiKey(value.strip(), f"${env_name}")
    if file_path:
        p = Path(file_path)
        try:
            raw = read_regular_file(p, what="parameter 'slowloop.api_key_file':", max_bytes=MAX_KEY_FILE_BYTES)
        except UnsafeFileError as err:
            msg = f"{err}; point it at a regular file holding the key"
            raise ConfigError(msg) from err
        try:
            text = raw.decode("ascii").strip()
        except UnicodeDecodeError as err:
            msg = f"parameter 'slowloop.api_key_file': '{p}' is not ASCII text"
            raise ConfigError(msg) from err
        return ApiKey(text, f"file {p}")
    return None
