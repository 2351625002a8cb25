"""Synthetic image-caption data for the demo model, rendered by ``videorag_ros.sim``.

Frames are rendered at the robot-camera-like 160x120 and resized with
:func:`~videorag_ros.core.encoder.preprocess.resize_rgb` under the model's
:class:`~videorag_ros.core.encoder.preprocess.PreprocessSpec` once, at build
time; training then calls :func:`~videorag_ros.core.encoder.preprocess.preprocess_batch`
on them (whose resize is a no-op at that size), so training sees exactly the
run-time preprocessing. Captions are drawn afresh every time a scene is used.
No torch here: the evaluator shares this module.
"""

from __future__ import annotations

import logging
import multiprocessing
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from videorag_ros.core.encoder.preprocess import PreprocessSpec, resize_rgb
from videorag_ros.sim import CLASSES, SceneSpec, render, sample_scene

logger = logging.getLogger(__name__)

#: Size frames are rendered at before the model's resize.
RENDER_WIDTH = 160
RENDER_HEIGHT = 120
#: The preprocessing recipe of videorag-tiny (recorded in its manifest).
PREPROCESS = PreprocessSpec(height=96, width=96, mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25), resize="stretch")


@dataclass
class SceneSet:
    """Rendered scenes.

    Attributes:
        frames: ``(N, H, W, 3)`` uint8 RGB frames already resized to the encoder input size.
        specs: The scene of each frame.
        labels: ``(N,)`` int64 index into :data:`~videorag_ros.sim.CLASSES`.
    """

    frames: npt.NDArray[np.uint8]
    specs: list[SceneSpec]
    labels: npt.NDArray[np.int64]

    def __len__(self) -> int:
        return len(self.specs)


def _render_chunk(args: tuple[int, int, int, PreprocessSpec]) -> tuple[npt.NDArray[np.uint8], list[SceneSpec], list[int]]:
    seed, start, count, spec = args
    rng = np.random.default_rng([seed, start])
    frames = np.empty((count, spec.height, spec.width, 3), dtype=np.uint8)
    specs: list[SceneSpec] = []
    labels: list[int] = []
    for j in range(count):
        label = (start + j) % len(CLASSES)
        scene = sample_scene(CLASSES[label], rng)
        frames[j] = resize_rgb(render(scene, width=RENDER_WIDTH, height=RENDER_HEIGHT, rng=rng), spec)
        specs.append(scene)
        labels.append(label)
    return frames, specs, labels


def build_scenes(
    n_images: int,
    seed: int,
    *,
    spec: PreprocessSpec = PREPROCESS,
    workers: int = 1,
    chunk: int = 500,
) -> SceneSet:
    """Render a class-balanced set of scenes (image ``i`` has class ``i % len(CLASSES)``).

    The result depends only on ``n_images``, ``seed`` and ``chunk``, not on ``workers``.

    Args:
        n_images: Number of scenes.
        seed: Random seed.
        spec: Preprocessing recipe whose size and resize policy are applied.
        workers: Processes to render with.
        chunk: Scenes per independently seeded chunk.

    Returns:
        The rendered scenes.
    """
    jobs = [(seed, start, min(chunk, n_images - start), spec) for start in range(0, n_images, chunk)]
    if workers > 1 and len(jobs) > 1:
        ctx = multiprocessing.get_context("fork")
        with ctx.Pool(workers) as pool:
            parts = pool.map(_render_chunk, jobs)
    else:
        parts = [_render_chunk(job) for job in jobs]
    if not parts:
        return SceneSet(np.empty((0, spec.height, spec.width, 3), np.uint8), [], np.empty(0, np.int64))
    frames = np.concatenate([p[0] for p in parts])
    specs = [s for p in parts for s in p[1]]
    labels = np.asarray([lab for p in parts for lab in p[2]], dtype=np.int64)
    logger.debug("rendered %d scenes (seed %d)", len(specs), seed)
    return SceneSet(frames, specs, labels)
