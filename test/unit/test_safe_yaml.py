"""YAML from files we did not write: bounded depth, bounded alias expansion, text only."""

from __future__ import annotations

import time

import pytest

from videorag_ros.core.safe_yaml import MAX_DEPTH, MAX_EXPANDED_NODES, YamlInputError, load_yaml


def laughs(levels: int, fanout: int = 10) -> str:
    lines = [f"l0: &l0 [{', '.join(['lol'] * fanout)}]"]
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * fanout)}]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


def test_ordinary_documents_and_small_anchors_load() -> None:
    assert load_yaml(b"a: 1\nb: [x, y]\n", what="f") == {"a": 1, "b": ["x", "y"]}
    assert load_yaml(laughs(3), what="f")["l2"][0][0] == ["lol"] * 10  # 1,000 values: fine


def test_billion_laughs_is_refused_at_once() -> None:
    t0 = time.perf_counter()
    with pytest.raises(YamlInputError, match=f"expands to more than {MAX_EXPANDED_NODES} values"):
        load_yaml(laughs(9), what="parameter file 'x'")
    assert time.perf_counter() - t0 < 5.0  # refused while parsing, never expanded


@pytest.mark.parametrize(("doc", "match"), [
    ("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1), f"nests deeper than {MAX_DEPTH} levels"),
    ("a:\n" + "".join(" " * (2 * i + 2) + f"k{i}:\n" for i in range(100_000 // 1000)) + "  " * 101 + "v: 1\n", "nests deeper"),
    ("[" * 100_000, "nests deeper"),
    (b"\x00\x01\x02binary", "binary"),
    ("caf\xe9: 1\n".encode("latin-1"), "not UTF-8 text .* offset 3"),
    ("a: [1, 2\n", "not valid YAML: line 2, column 1"),
    ("a: *nowhere\n", "not valid YAML"),
])  # fmt: skip
def test_bad_documents_give_one_line(doc: str | bytes, match: str) -> None:
    with pytest.raises(YamlInputError, match=match) as info:
        load_yaml(doc, what="parameter file 'x.yaml'")
    assert "\n" not in str(info.value)
