"""``ros2 param set`` on the edge node: validate, re-encode prompts off the frame path, swap between frames.

rclpy calls the set-parameters callback on the executor thread (never the frame worker). A
request is validated by the start-up rules (``core/live_params.py``); changed prompts are
encoded here, before anything is swapped, so a prompt the text tower cannot encode refuses the
whole request and the old prompts stay in force. The new configuration is queued on the
pipeline and put in force by the worker between two frames: no frame is ever scored with a
half-applied change or with no trigger at all.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from rcl_interfaces.msg import SetParametersResult
from rclpy.node import Node
from rclpy.parameter import Parameter

from videorag_ros.core.config import EdgeConfig
from videorag_ros.core.errors import VideoragError
from videorag_ros.core.live_params import LiveUpdate, param_spec, plan_live_update
from videorag_ros.core.pipeline import EdgePipeline
from videorag_ros.core.printable import printable
from videorag_ros.core.triggers import Goals


class LiveTuning:
    """Accepts or refuses parameter changes for one edge node and counts them for /diagnostics."""

    def __init__(self, node: Node, values: dict[str, Any], pipeline: EdgePipeline, on_applied: Callable[[LiveUpdate], None]) -> None:
        """Register the callback.

        Args:
            node: The edge node (its parameters are already declared).
            values: The flat parameter values the node started with.
            pipeline: The running pipeline (reconfigured between frames).
            on_applied: Called on the executor thread after a change is queued (node-side rates, budget).
        """
        self._node, self._pipeline, self._on_applied = node, pipeline, on_applied
        self._values = dict(values)
        self._config: EdgeConfig = pipeline.config
        self._lock = threading.Lock()
        self.accepted = 0
        self.refused = 0
        self.last_change = "none"
        self.last_refusal = "none"
        self._set_at: dict[int, int] = {}  # generation -> monotonic ns of the set request
        self._decided_generation = 0
        node.add_on_set_parameters_callback(self._on_set)

    def close(self) -> None:
        """Stop accepting changes (lifecycle cleanup)."""
        self._node.remove_on_set_parameters_callback(self._on_set)

    def _on_set(self, params: list[Parameter[Any]]) -> SetParametersResult:
        t_set = time.monotonic_ns()
        ours = {p.name: p.value for p in params if param_spec(p.name, self._config) is not None}
        if not ours:  # use_sim_time and other rclpy-owned parameters
            return SetParametersResult(successful=True)
        log = self._node.get_logger()
        with self._lock:
            try:
                update = plan_live_update(self._values, ours, self._config)
                goals: dict[str, Goals] = {}
                by_name = {t.name: t for t in update.config.triggers}
                for name in update.reencode:  # on this thread, before any swap: a failure keeps the old prompts
                    goals[name] = self._pipeline.goals_for(by_name[name])
            except VideoragError as err:
                self.refused += 1
                self.last_refusal = printable(str(err), max_chars=200)
                log.warning(f"parameter change refused: {self.last_refusal}")
                return SetParametersResult(successful=False, reason=str(err))
            if not update.changes:
                return SetParametersResult(successful=True)
            generation = self._pipeline.reconfigure(update.config, goals)
            self._set_at[generation] = t_set
            self._values, self._config = update.values, update.config
            self.accepted += 1
            self.last_change = "; ".join(str(c) for c in update.changes)
        encoded = f" (prompts of {', '.join(update.reencode)} encoded in {(time.monotonic_ns() - t_set) * 1e-6:.1f} ms)" if update.reencode else ""
        log.info(f"parameters changed: {printable(self.last_change, max_chars=300)}{encoded}; in force from the next frame (generation {generation})")
        self._on_applied(update)
        return SetParametersResult(successful=True)

    def frame_decided(self, generation: int) -> float | None:
        """The worker decided a frame with configuration ``generation``: ms since its set request, the first time."""
        if generation <= self._decided_generation:
            return None
        with self._lock:
            self._decided_generation = generation
            t_set = self._set_at.pop(generation, None)
            for g in [g for g in self._set_at if g < generation]:  # superseded before any frame used them
                del self._set_at[g]
        return None if t_set is None else (time.monotonic_ns() - t_set) * 1e-6

    def diagnostics(self) -> dict[str, object]:
        """Values for the pipeline's /diagnostics status."""
        return {
            "parameters.changes": self.accepted,
            "parameters.refused": self.refused,
            "parameters.generation": self._pipeline.generation,
            "parameters.last_change": printable(self.last_change, max_chars=200),
            "parameters.last_refusal": self.last_refusal,
        }
