"""config/diagnostic_aggregator.yaml groups exactly the status names videorag publishes on /diagnostics.

The edge node's names come from the real ``build_diagnostics`` on a real pipeline (two cameras,
one of them silent); the ingest doors' from their node modules' sources. Matching follows
diagnostic_aggregator's GenericAnalyzer: ``expected``/``name`` equal, ``startswith``/
``find_and_remove_prefix`` prefix, ``contains`` substring, ``regex`` full match.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

pytest.importorskip("diagnostic_msgs", reason="ROS 2 not installed: run through `make test`")

REPO = Path(__file__).resolve().parents[2]
MATCH_KEYS = ("expected", "name", "startswith", "find_and_remove_prefix", "contains", "regex")


def generic_analyzers(tree: dict[str, Any], path: str = "") -> dict[str, dict[str, Any]]:
    """``{path: params}`` of every GenericAnalyzer, through AnalyzerGroups."""
    found: dict[str, dict[str, Any]] = {}
    for value in tree.values():
        if not isinstance(value, dict) or "type" not in value:
            continue
        here = f"{path}/{value['path']}"
        if value["type"] == "diagnostic_aggregator/AnalyzerGroup":
            found |= generic_analyzers(value["analyzers"], here)
        else:
            assert value["type"] == "diagnostic_aggregator/GenericAnalyzer", value["type"]
            found[here] = value
    return found


def analyzers() -> dict[str, dict[str, Any]]:
    data = yaml.safe_load((REPO / "config" / "diagnostic_aggregator.yaml").read_text())
    assert list(data) == ["/**"], "root key /** so the file applies to the aggregator under any namespace"
    return generic_analyzers(data["/**"]["ros__parameters"])


def matches(params: dict[str, Any], name: str) -> bool:
    return (name in params.get("expected", []) or name in params.get("name", [])
            or any(name.startswith(p) for p in params.get("startswith", []) + params.get("find_and_remove_prefix", []))
            or any(c in name for c in params.get("contains", []))
            or any(re.fullmatch(r, name) for r in params.get("regex", [])))


def edge_status_names(tiny_encoder: Any) -> list[str]:
    from videorag_ros.core.actions import Outputs
    from videorag_ros.core.config import build_edge_config
    from videorag_ros.core.pipeline import EdgePipeline
    from videorag_ros.core.watchdog import CAMERA_SILENT, Fault
    from videorag_ros.ros.diagnostics import build_diagnostics

    config = build_edge_config({"model": str(tiny_encoder.manifest.directory), "cameras": ["front", "rear"], "rear.topic": "camera/rear/image_raw"})
    pipeline = EdgePipeline(config, tiny_encoder)
    faults = [Fault("camera:rear", CAMERA_SILENT, "stop", "no frames for 1.0 s", 0)]
    array = build_diagnostics(pipeline, {}, {}, faults, config, outputs=Outputs())
    return [s.name for s in array.status]


def door_status_names() -> list[str]:
    """The ingest doors' status names, as their node modules format them (a camera id 'cam1')."""
    ros = REPO / "videorag_ros" / "ros"
    bridge = (ros / "bridge_node.py").read_text()
    door = (ros / "client_door_node.py").read_text()
    assert 'f"videorag: bridge {cam}"' in bridge, "bridge_node's status name changed: update the YAML and this test"
    assert 'f"videorag: {self.door}"' in door and 'f"videorag: {self.door} {cam}"' in door, "client_door_node's status names changed"
    doors = [re.search(r'ClientDoorNode\(NODE_NAME, "(\w+)"', (ros / f"{m}_ingest_node.py").read_text()) for m in ("ws", "webrtc")]
    assert all(doors), "ws/webrtc door ids not found"
    ids = [d.group(1) for d in doors if d]
    return ["videorag: bridge cam1"] + [f"videorag: {i}" for i in ids] + [f"videorag: {i} cam1" for i in ids]


def test_every_status_name_lands_in_exactly_one_analyzer(tiny_encoder: Any) -> None:
    names = edge_status_names(tiny_encoder)
    assert names == ["videorag: pipeline", "videorag: camera front", "videorag: camera rear"]
    table = analyzers()
    for name in names + door_status_names():
        hits = [path for path, params in table.items() if matches(params, name)]
        assert len(hits) == 1, f"{name!r} matched by {hits} (want exactly one analyzer)"


def test_every_analyzer_matches_something_we_publish(tiny_encoder: Any) -> None:
    names = edge_status_names(tiny_encoder) + door_status_names()
    for path, params in analyzers().items():
        assert any(k in params for k in MATCH_KEYS), f"{path}: no way of matching names"
        assert any(matches(params, n) for n in names), f"{path} matches none of {names}"
        for key in MATCH_KEYS:
            for pattern in params.get(key, []):
                assert any(matches({key: [pattern]}, n) for n in names), f"{path}.{key} {pattern!r} matches nothing we publish"
        assert params["timeout"] > 0


def test_the_pipeline_is_expected_so_a_missing_node_is_an_error() -> None:
    table = analyzers()
    assert any("videorag: pipeline" in p.get("expected", []) for p in table.values())


def test_the_file_is_installed_with_the_package() -> None:
    cmake = (REPO / "CMakeLists.txt").read_text()
    assert re.search(r"install\(DIRECTORY [^)]*\bconfig\b", cmake), "config/ is installed to share/videorag"
