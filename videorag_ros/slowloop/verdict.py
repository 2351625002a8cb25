"""Read a verification verdict out of a model's answer: strictly, or not at all.

The model is asked for ``{"verdict": "yes" | "no" | "unsure", "reason": "..."}``. The first JSON
object in the answer decides; failing that, an answer whose first word is yes / no / unsure.
Anything else is ``uncertain``, which never changes what the robot does.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from videorag_ros.slowloop.sanitize import clean_model_text

CONFIRMED, CLEAR, UNCERTAIN = "confirmed", "clear", "uncertain"
_WORDS = {"yes": CONFIRMED, "no": CLEAR, "unsure": UNCERTAIN}
_FIRST_WORD = re.compile(r"^\W*(yes|no|unsure)\b", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Verdict:
    """A verification result.

    Attributes:
        verdict: ``confirmed`` (the trigger's claim holds now), ``clear`` (it does not) or
            ``uncertain`` (unsure, unreadable, or no model answer).
        reason: The model's reason, escaped and clipped (or why the answer was unreadable).
    """

    verdict: str
    reason: str


def _objects(text: str) -> list[str]:
    """Candidate JSON objects: balanced ``{...}`` substrings, first first (at most 8)."""
    out, depth, start = [], 0, -1
    for i, ch in enumerate(text[:20000]):
        if ch == "{":
            if depth == 0:
                start = i
            depth += 1
        elif ch == "}" and depth:
            depth -= 1
            if depth == 0:
                out.append(text[start : i + 1])
                if len(out) >= 8:
                    break
    return out


def parse_verdict(text: str) -> Verdict:
    """The verdict in a model's answer (see the module docstring)."""
    for candidate in _objects(text):
        try:
            doc = json.loads(candidate)
        except (ValueError, RecursionError):
            continue
        if isinstance(doc, dict) and isinstance(doc.get("verdict"), str):
            word = doc["verdict"].strip().lower()
            reason = doc.get("reason")
            reason_text = clean_model_text(reason, 300) if isinstance(reason, str) else ""
            if word in _WORDS:
                return Verdict(_WORDS[word], reason_text)
            return Verdict(UNCERTAIN, f"unknown verdict {clean_model_text(word, 40)!r}")
    m = _FIRST_WORD.match(text)
    if m:
        return Verdict(_WORDS[m.group(1).lower()], clean_model_text(text[m.end() :].strip(" .,:;-"), 300))
    return Verdict(UNCERTAIN, "unreadable answer: " + clean_model_text(text, 120))
