"""Untrusted text shown to people: escapes that cannot steer a terminal, reprs that cannot explode."""

from __future__ import annotations

from videorag_ros.core.printable import bounded_repr, printable


def test_controls_and_bidi_are_escaped_letters_kept() -> None:
    assert printable("front") == "front"
    assert printable("cam\x1b]0;pwned\x07\x1b[2J") == "cam\\x1b]0;pwned\\x07\\x1b[2J"
    assert printable("a\rb\nc\x9b") == "a\\x0db\\x0ac\\x9b"
    assert printable("x\u202ey") == "x\\u202ey"  # right-to-left override
    assert printable("Zürich 東京") == "Zürich 東京"
    assert printable("a\\x1b") == "a\\\\x1b"  # a literal backslash cannot fake an escape
    assert printable("line1\nline2\tx", multiline=True) == "line1\nline2\tx"
    assert printable("x" * 50, max_chars=10) == "x" * 10 + "…"


def test_bounded_repr_never_walks_an_alias_bomb() -> None:
    level = ["lol"] * 10
    for _ in range(9):
        level = [level] * 10  # 10**10 strings if walked
    shown = bounded_repr(level)
    assert len(shown) < 400 and "..." in shown
