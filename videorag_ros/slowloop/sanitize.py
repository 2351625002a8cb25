"""Make untrusted text (model answers, server error bodies) safe to store, publish and print.

Control and format characters (ESC and every other C0/C1 control, DEL, bidirectional overrides,
zero-width characters) are replaced by visible escapes such as ``\\x1b`` or ``\\u202e``, so a
model answer can neither drive a terminal nor hide text; newlines and tabs are kept. Written by
hand because it is a few lines over ``unicodedata`` and no library does exactly this.

It differs from ``core.printable.printable`` (same character classes) in one way, on purpose: a
backslash is left as it is, so escaping is idempotent. A model's text is escaped once when it
enters (stored in the memory, published, put in snapshots) and escaped again wherever it is
printed; doubling backslashes would show ``\\x1b`` for an escape the first pass wrote.
"""

from __future__ import annotations

import unicodedata

_KEEP = frozenset("\n\t")


def escape_control(text: str) -> str:
    """``text`` with every control/format character but newline and tab written as an escape."""
    out = []
    for ch in text:
        if ch not in _KEEP and unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"):
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")
        else:
            out.append(ch)
    return "".join(out)


def escape_line(text: str) -> str:
    """``escape_control`` plus newlines and tabs escaped: one printable line (ids, error bodies)."""
    return escape_control(text).replace("\n", "\\n").replace("\t", "\\t")


def clean_model_text(text: str, max_chars: int = 4000) -> str:
    """A model's answer as stored and shown: escaped, stripped, runs of blank lines collapsed, clipped.

    Args:
        text: Raw text from the model.
        max_chars: Longest result; longer text is cut and ends with ``…``.
    """
    safe = escape_control(text).strip()
    while "\n\n\n" in safe:
        safe = safe.replace("\n\n\n", "\n\n")
    if len(safe) > max_chars:
        safe = safe[: max_chars - 1].rstrip() + "…"
    return safe
