"""ROS 2 topic-name rules, checked without rclpy so that ``videorag edge --check`` and the node
refuse a bad name with the same one-line message before any topic is opened.

The rules are those of ``rcl_validate_topic_name`` and ``rmw_validate_full_topic_name`` (a
test compares this checker with rclpy's on generated names): tokens of letters, digits and
underscores separated by single slashes, no token starting with a digit, no trailing slash,
``~`` only as the first character (the node's private namespace) followed by ``/`` or nothing,
the ``{node}`` substitution, and ``{ns}`` / ``{namespace}`` as the first token of a relative
name.
"""

from __future__ import annotations

import re

from videorag_ros.core.errors import ConfigError
from videorag_ros.core.printable import printable

# rmw's RMW_TOPIC_MAX_NAME_LENGTH (255) minus the "rt" prefix DDS adds. The limit applies to the
# expanded name (namespace included), which only the node knows; a longer name can never fit.
MAX_TOPIC_CHARS = 247
_PIECE = re.compile(r"\{node\}|[A-Za-z0-9_]")


def topic_name_problem(name: str) -> str | None:
    """Why ``name`` is not a valid ROS 2 topic name (relative, absolute or private), or None."""
    if not name:
        return "it is empty"
    if len(name) > MAX_TOPIC_CHARS:
        return f"it is {len(name)} characters long (at most {MAX_TOPIC_CHARS})"
    body, continues_node_name, relative = name, False, False
    if body.startswith("~"):
        # rcl: a '~' must be followed by '/', except in a two-character name ('~x' expands to
        # '<ns>/<node>x'); we follow rcl exactly, so --check and the node agree.
        if len(body) > 2 and body[1] != "/":
            return "a leading '~' must be followed by '/' (the node's private namespace)"
        body = body[1:]
        if not body:
            return None
        if body.startswith("/"):
            body = body[1:]
        else:
            continues_node_name = True
    elif body.startswith("/"):
        body = body[1:]
    else:
        relative = True
    if not body:
        return "it names no topic after the namespace"
    if body.endswith("/"):
        return "it ends with '/'"
    for i, token in enumerate(body.split("/")):
        if not token:
            return "it has an empty token ('//')"
        if token[0].isdigit() and not (i == 0 and continues_node_name):
            return f"token '{printable(token)}' starts with a digit"
        if token in ("{ns}", "{namespace}") and i == 0 and relative:
            continue  # expands to the node's namespace
        pos = 0
        while pos < len(token):
            m = _PIECE.match(token, pos)
            if m is None:
                if token.startswith(("{ns}", "{namespace}"), pos):
                    return f"token '{printable(token)}': '{{ns}}' / '{{namespace}}' are accepted only as the whole first token of a relative name"
                if token[pos] == "{":
                    return f"token '{printable(token)}' has an unknown substitution (known: {{node}}, {{ns}}, {{namespace}})"
                return f"it holds a character other than letters, digits, '_', '/' and a leading '~': '{printable(token[pos])}'"
            pos = m.end()
    return None


def check_topic_name(name: str, *, param: str) -> None:
    """Raise ``ConfigError`` naming ``param`` when ``name`` is not a valid topic name."""
    problem = topic_name_problem(name)
    if problem is not None:
        msg = f"parameter '{param}' = '{printable(name, max_chars=80)}' is not a valid ROS topic name: {problem}"
        raise ConfigError(msg)
