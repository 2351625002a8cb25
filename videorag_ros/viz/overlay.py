"""The debug picture of one frame: what the gate decided and where each trigger stands.

Drawn with OpenCV on a downscaled copy of the frame (never on the frame the pipeline uses), for
RViz / Foxglove users watching ``~/debug_image``: a header line with the camera, the gate's
decision and its reason, then one bar per trigger with its score, its enter / exit thresholds
and its state (active triggers in red).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from videorag_ros.core.printable import printable

_FONT = cv2.FONT_HERSHEY_SIMPLEX
_WHITE, _BLACK, _GREEN, _RED, _GREY, _AMBER = (255, 255, 255), (0, 0, 0), (40, 200, 60), (230, 40, 40), (150, 150, 150), (240, 170, 20)


@dataclass(frozen=True, slots=True)
class TriggerView:
    """What the overlay shows of one trigger: score, thresholds, and whether it is active."""

    score: float
    enter: float
    exit: float
    active: bool


def _text(img: npt.NDArray[np.uint8], text: str, org: tuple[int, int], scale: float, color: tuple[int, int, int]) -> None:
    cv2.putText(img, text, org, _FONT, scale, color, 1, cv2.LINE_AA)


def draw_debug(
    rgb: npt.NDArray[np.uint8],
    *,
    camera: str,
    admitted: bool,
    reason: str,
    triggers: Mapping[str, TriggerView],
    width: int = 640,
) -> npt.NDArray[np.uint8]:
    """An ``(h, width, 3)`` uint8 RGB picture of the frame with the decision drawn on it.

    Args:
        rgb: The frame, ``(H, W, 3)`` uint8 RGB (not modified).
        camera: Camera id.
        admitted: Whether the gate admitted (and the encoder scored) the frame.
        reason: The gate's reason.
        triggers: Per trigger, what to show (scores of a frame the gate rejected are the last ones).
        width: Width of the picture (the frame is scaled to it, keeping its aspect).
    """
    h, w = rgb.shape[:2]
    out_w = max(64, min(width, 4096))
    out_h = max(1, round(h * out_w / w))
    img: npt.NDArray[np.uint8] = np.array(cv2.resize(rgb, (out_w, out_h), interpolation=cv2.INTER_AREA), dtype=np.uint8)
    scale = max(0.4, out_w / 1280)
    (_, text_h), base = cv2.getTextSize("Ag", _FONT, scale, 1)
    line = text_h + base + 8
    rows = 1 + len(triggers)
    band = img[: line * rows + 6]
    band[:] = (band.astype(np.uint16) * 2 // 5).astype(np.uint8)  # darken behind the text
    state = "admitted" if admitted else "gated"
    _text(img, printable(f"{camera}  {state}: {reason}", max_chars=60), (8, line - base - 2), scale, _GREEN if admitted else _GREY)
    bar_w = max(40, out_w // 3)
    for i, (name, view) in enumerate(sorted(triggers.items())):
        top = line * (i + 1) + 4
        color = _RED if view.active else _AMBER if view.score >= view.exit else _WHITE
        x0 = 8
        cv2.rectangle(img, (x0, top), (x0 + bar_w, top + line - 8), _BLACK, -1)
        lo = -1.0 if min(view.exit, view.enter, view.score) < 0 else 0.0
        frac = float(np.clip((view.score - lo) / (1.0 - lo), 0.0, 1.0)) if np.isfinite(view.score) else 0.0
        cv2.rectangle(img, (x0, top), (x0 + round(bar_w * frac), top + line - 8), color, -1)
        for thr, tick in ((view.enter, _RED), (view.exit, _GREEN)):
            tx = x0 + round(bar_w * float(np.clip((thr - lo) / (1.0 - lo), 0.0, 1.0)))
            cv2.line(img, (tx, top - 2), (tx, top + line - 6), tick, 2)
        label = f"{name} {view.score:.2f}{'  ACTIVE' if view.active else ''}"
        _text(img, printable(label, max_chars=48), (x0 + bar_w + 8, top + line - 10), scale, color)
    return img
