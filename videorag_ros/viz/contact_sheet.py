"""Contact sheet: the top moments of a query as thumbnails with their camera, times and score."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from videorag_ros.core.index import Moment
from videorag_ros.core.timefmt import format_stamp

COLUMNS = 4


def _thumbnail(m: Moment) -> np.ndarray | None:
    import cv2

    if not m.best.thumbnail:
        return None
    bgr = cv2.imdecode(np.frombuffer(m.best.thumbnail, np.uint8), cv2.IMREAD_COLOR)
    return None if bgr is None else cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def write_contact_sheet(moments: Sequence[Moment], path: str | Path, *, title: str) -> None:
    """Draw ``moments`` (best first) in a grid, one panel per moment, and save a PNG.

    Each panel shows the best frame's thumbnail (or says none was kept) under a caption with
    rank, camera, score, the span and its length, and the frames in it.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = max(1, len(moments))
    cols = min(COLUMNS, n)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.4 * cols, 3.0 * rows + 0.6), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    if not moments:
        axes[0, 0].text(0.5, 0.5, "no moments", ha="center", va="center", fontsize=14, transform=axes[0, 0].transAxes)
    for i, (m, ax) in enumerate(zip(moments, axes.flat, strict=False), 1):
        img = _thumbnail(m)
        if img is None:
            ax.imshow(np.full((90, 160, 3), 200, np.uint8))
            ax.text(80, 45, "no thumbnail kept", ha="center", va="center", color="#555555", fontsize=9)
        else:
            ax.imshow(img)
        length = (m.end_ns - m.start_ns) / 1e9
        ax.set_title(
            f"#{i}  {m.camera_id}   score {m.score:.3f}\n"
            f"best {format_stamp(m.best_ns)}\n"
            f"{format_stamp(m.start_ns)} → {format_stamp(m.end_ns)} ({length:.1f} s, {len(m.frame_seqs)} frames)",
            fontsize=8.5,
            loc="left",
        )
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
