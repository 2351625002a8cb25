"""Procedural robot-camera scenes: corridors and warehouse aisles, drawn with OpenCV.

Used to train and evaluate the demo image-text model and to feed the live
demo camera stream. Pure numpy + OpenCV.

Example:
    >>> import numpy as np
    >>> from videorag_ros.sim import sample_scene, render, caption
    >>> rng = np.random.default_rng(0)
    >>> spec = sample_scene("person_in_path", rng)
    >>> frame = render(spec, width=640, height=480)   # (480, 640, 3) uint8 RGB
    >>> text = caption(spec, rng)
"""

from __future__ import annotations

from videorag_ros.sim.captions import PARAPHRASES, caption, caption_vocabulary, class_prompts, words
from videorag_ros.sim.render import render
from videorag_ros.sim.sampling import CLASSES, sample_scene, scene_class
from videorag_ros.sim.sequences import SEQUENCE_KINDS, sequence
from videorag_ros.sim.spec import COLOURS, SceneObject, SceneSpec

__all__ = [
    "CLASSES",
    "COLOURS",
    "PARAPHRASES",
    "SEQUENCE_KINDS",
    "SceneObject",
    "SceneSpec",
    "caption",
    "caption_vocabulary",
    "class_prompts",
    "render",
    "sample_scene",
    "scene_class",
    "sequence",
    "words",
]
