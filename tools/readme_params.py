"""Regenerate the README's parameter tables from the parameter table in videorag_ros/core/config/table.py.

    python tools/readme_params.py          # print the tables
    python tools/readme_params.py --write  # replace them in README.md

test/unit/test_layering.py checks that README.md holds exactly what this prints, so the tables
can never drift from the code.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from videorag_ros.core.config import CAMERA_PARAMS, EDGE_PARAMS, TRIGGER_PARAMS, ParamSpec  # noqa: E402

HEADER = "| parameter | type | default | unit | range | meaning |\n|---|---|---|---|---|---|\n"
SECTIONS = (("", EDGE_PARAMS), ("<cam>.", CAMERA_PARAMS), ("<trig>.", TRIGGER_PARAMS))


def _type(default: object) -> str:
    if isinstance(default, bool):
        return "bool"
    if isinstance(default, int):
        return "int"
    if isinstance(default, float):
        return "double"
    if isinstance(default, str):
        return "string"
    return "double[]" if default and all(isinstance(v, float) for v in default) else "string[]"  # type: ignore[union-attr]


def _num(v: float) -> str:
    return str(int(v)) if v == int(v) else f"{v:g}"


def _range(spec: ParamSpec) -> str:
    if spec.range_text:
        return spec.range_text
    if spec.choices:
        return " \\| ".join(spec.choices)
    parts = [f"≥ {_num(spec.min)}"] if spec.min is not None else []
    if spec.max is not None:
        parts.append(f"≤ {_num(spec.max)}")
    return ", ".join(parts)


def _default(default: object) -> str:
    if isinstance(default, bool):
        return "true" if default else "false"
    if isinstance(default, str):
        return default
    return json.dumps(default)


def rows(prefix: str, specs: Sequence[ParamSpec]) -> str:
    """One markdown table for ``specs``, names prefixed with ``prefix``."""
    body = "".join(f"| `{prefix}{s.name}` | {_type(s.default)} | `{_default(s.default)}` | {s.unit} | {_range(s)} | {s.description} |\n" for s in specs)
    return HEADER + body


def tables() -> list[str]:
    """The three tables (node, per camera, per trigger), in README order."""
    return [rows(prefix, specs) for prefix, specs in SECTIONS]


def replace_in(readme: str) -> str:
    """``readme`` with each table after a ``| parameter |`` header replaced by the generated one."""
    out, rest = [], readme
    for table in tables():
        start = rest.index(HEADER)
        end = rest.index("\n\n", start) + 1
        out.append(rest[:start] + table)
        rest = rest[end:]
    return "".join(out) + rest


def main(argv: Sequence[str]) -> int:
    """Print the tables, or write them into README.md with ``--write``."""
    if "--write" in argv:
        path = REPO / "README.md"
        path.write_text(replace_in(path.read_text()))
        return 0
    print("\n".join(tables()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
