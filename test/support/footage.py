"""Real video clips from Debian's ``opencv-doc`` package, for tests on real footage.

``.ci/run`` and ``tools/setup_env.sh`` install the package; a missing clip is a test
*error* that says how to install it, never a silent skip.
"""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

DOC = Path("/usr/share/doc/opencv-doc")
CLIPS = {
    # 768x576, 10 fps, 795 frames: pedestrians on a plaza (fixed camera)
    "vtest.avi": DOC / "examples/data/vtest.avi",
    # 640x480, ~30 fps, 456 frames: a hand-held camera around a box on a table
    "box.mp4": DOC / "opencv4/html/box.mp4.gz",
    # 640x480, ~27 fps, 217 frames: a cup on a table, moving camera
    "cup.mp4": DOC / "opencv4/html/cup.mp4.gz",
}


class MissingFootage(RuntimeError):
    """A clip from opencv-doc is not installed."""


def clip_path(name: str, workdir: Path) -> Path:
    """Path to a playable copy of clip ``name`` (gzipped clips are unpacked into ``workdir``).

    Raises:
        MissingFootage: opencv-doc is not installed.
    """
    src = CLIPS[name]
    if not src.is_file():
        msg = f"real test footage {src} is missing: install Debian's opencv-doc (apt-get install opencv-doc; .ci/run does)"
        raise MissingFootage(msg)
    if src.suffix != ".gz":
        return src
    out = workdir / name
    if not out.is_file():
        tmp = out.with_suffix(".part")
        with gzip.open(src) as f, tmp.open("wb") as o:
            shutil.copyfileobj(f, o)
        tmp.rename(out)
    return out
