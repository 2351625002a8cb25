"""Parse YAML from files we did not write, with bounded depth and bounded expansion.

PyYAML's ``safe_load`` constructs no objects, but it still (a) recurses once per nesting
level, so a document nested 100k deep raises RecursionError, and (b) shares the node an alias
points to, so nine lines of anchors ("billion laughs") make a value that expands to 10^9
elements the moment anything walks or prints it. PyYAML has no limits for either, so before
composing we walk the event stream (iterative, constant stack) and count the depth and the
size the document would have with every alias expanded; over a limit, the file is refused.
"""

from __future__ import annotations

from typing import Any

import yaml

from videorag_ros.core.errors import VideoragError

MAX_DEPTH = 64
MAX_EXPANDED_NODES = 200_000


class YamlInputError(VideoragError):
    """A YAML document that is not text, not YAML, or too deep or too large once expanded."""


def _decode(data: bytes | str, what: str) -> str:
    if isinstance(data, str):
        return data
    if b"\x00" in data:
        msg = f"{what} is binary (it holds NUL bytes), not YAML text"
        raise YamlInputError(msg)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        msg = f"{what} is not UTF-8 text (byte 0x{data[err.start]:02x} at offset {err.start}); save it as UTF-8"
        raise YamlInputError(msg) from err


def _check_shape(text: str, what: str, max_depth: int, max_nodes: int) -> None:
    sizes: list[int] = []  # expanded size of each open collection, innermost last
    anchors_open: list[str | None] = []
    anchored: dict[str, int] = {}
    total = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            if len(sizes) >= max_depth:
                msg = f"{what} nests deeper than {max_depth} levels"
                raise YamlInputError(msg)
            sizes.append(1)
            anchors_open.append(event.anchor)
            continue
        if isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            size, anchor = sizes.pop(), anchors_open.pop()
            if anchor is not None:
                anchored[anchor] = size
        elif isinstance(event, yaml.ScalarEvent):
            size = 1
            if event.anchor is not None:
                anchored[event.anchor] = 1
        elif isinstance(event, yaml.AliasEvent):
            size = anchored.get(event.anchor or "", 1)  # an unknown anchor is PyYAML's error to report
        else:
            continue
        if sizes:
            sizes[-1] += size
        else:
            total += size
        if total + sum(sizes) > max_nodes:
            msg = f"{what} expands to more than {max_nodes} values (YAML anchors and aliases); refusing it"
            raise YamlInputError(msg)


def load_yaml(data: bytes | str, *, what: str, max_depth: int = MAX_DEPTH, max_nodes: int = MAX_EXPANDED_NODES) -> Any:
    """Parse one YAML document from untrusted bytes.

    Args:
        data: The file's bytes (must be UTF-8 text) or text.
        what: What the document is, for messages ("parameter file '/x.yaml'").
        max_depth: Deepest nesting accepted.
        max_nodes: Most values accepted with every alias expanded.

    Returns:
        The document (``safe_load`` types only).

    Raises:
        YamlInputError: Binary or non-UTF-8 data, invalid YAML, too deep, too large expanded.
    """
    text = _decode(data, what)
    try:
        _check_shape(text, what, max_depth, max_nodes)
        return yaml.safe_load(text)
    except yaml.YAMLError as err:
        msg = f"{what} is not valid YAML: {_one_line(err)}"
        raise YamlInputError(msg) from err


def _one_line(err: yaml.YAMLError) -> str:
    """PyYAML's multi-line report as ``line L, column C: problem`` (the quoted source is left out)."""
    mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
    problem = getattr(err, "problem", None) or getattr(err, "context", None) or type(err).__name__
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
    return f"{where}{problem}"
