"""Show untrusted values to people without letting them steer the terminal or exhaust memory.

Camera names from a snapshot, text from a model, a ``CompressedImage.format`` field or a value
from a parameter file can hold ESC sequences (recolour, move the cursor, retitle the window,
on some terminals write files), carriage returns that overwrite a line, or bidirectional-text
controls that reorder what is read. ``printable`` escapes them. A value built from YAML
aliases can expand to billions of elements when printed with ``repr``; ``bounded_repr`` never
walks more than a few dozen of them.
"""

from __future__ import annotations

import os
import reprlib
import unicodedata
from typing import Any

_REPR = reprlib.Repr()
_REPR.maxlevel = 2
_REPR.maxlist = _REPR.maxtuple = _REPR.maxset = _REPR.maxfrozenset = _REPR.maxdeque = 6
_REPR.maxdict = 6
_REPR.maxstring = 120
_REPR.maxother = 120
_REPR.maxlong = 60


def _escape(ch: str) -> str:
    code = ord(ch)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def printable(text: object, *, max_chars: int = 1000, multiline: bool = False) -> str:
    """``text`` as a string safe to print: control and format characters escaped, length capped.

    Letters of every script stay as they are; C0/C1 controls (ESC, CR, LF, BEL, ...), DEL,
    Unicode format characters (bidi overrides, zero-width joiners) and unassigned/surrogate code
    points become ``\\xNN`` / ``\\uNNNN`` escapes, and a backslash becomes ``\\\\`` so an
    escape cannot be faked.

    Args:
        text: A string, exception, path or number (shown as its text), or any other value
            (shown with ``bounded_repr``).
        max_chars: Longest result before it is cut with an ellipsis.
        multiline: Keep line feeds and tabs (text we laid out ourselves over several lines).
    """
    if isinstance(text, str):
        s = text
    elif isinstance(text, (BaseException, os.PathLike, int, float)):
        s = str(text)  # messages we wrote, paths, numbers: their text, not their repr
    else:
        s = bounded_repr(text)
    if len(s) > max_chars:
        s = s[:max_chars] + "…"
    out = []
    for ch in s:
        if ch == "\\":
            out.append("\\\\")
        elif multiline and ch in "\n\t":
            out.append(ch)
        elif unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"):
            out.append(_escape(ch))
        else:
            out.append(ch)
    return "".join(out)


def bounded_repr(value: Any) -> str:
    """``repr`` that looks at no more than a few levels and elements of a nested value."""
    return _REPR.repr(value)
