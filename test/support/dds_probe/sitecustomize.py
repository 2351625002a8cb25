"""A probe put on PYTHONPATH by test_dds_confined.py: it records the discovery settings that a
process has when it first initialises rclpy, then ends that process.

Every Python process started under the probe (children inherit PYTHONPATH) imports this file
at start-up; it patches ``rclpy.context.Context.init`` once rclpy is imported. Each record is
one JSON line in the file named by ``VIDEORAG_DDS_PROBE``.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import json
import os
import sys
from typing import Any

_OUT = os.environ.get("VIDEORAG_DDS_PROBE", "")
_KEYS = ("ROS_AUTOMATIC_DISCOVERY_RANGE", "ROS_LOCALHOST_ONLY", "ROS_DISTRO", "ROS_DOMAIN_ID")


def _record_and_exit(*_args: Any, **_kwargs: Any) -> None:
    with open(_OUT, "a", encoding="utf-8") as f:
        f.write(json.dumps({"pid": os.getpid(), "argv": sys.argv, **{k: os.environ.get(k) for k in _KEYS}}) + "\n")
    os._exit(0)


class _PatchContext(importlib.abc.MetaPathFinder):
    def find_spec(self, name: str, path: Any, target: Any = None) -> Any:
        if name != "rclpy.context":
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None:
            return spec
        loader = spec.loader
        original_exec = loader.exec_module  # type: ignore[union-attr]

        def exec_module(module: Any) -> None:
            original_exec(module)
            module.Context.init = _record_and_exit

        loader.exec_module = exec_module  # type: ignore[union-attr]
        return spec


if _OUT:
    sys.meta_path.insert(0, _PatchContext())
