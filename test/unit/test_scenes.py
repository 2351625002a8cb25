"""Tests for the procedural scene renderer (pure numpy + OpenCV, no torch)."""

from __future__ import annotations

import dataclasses
import sys

import numpy as np
import pytest

from videorag_ros.sim import (
    CLASSES,
    PARAPHRASES,
    SEQUENCE_KINDS,
    SceneObject,
    SceneSpec,
    caption,
    caption_vocabulary,
    class_prompts,
    render,
    sample_scene,
    scene_class,
    sequence,
    words,
)
from videorag_ros.sim.spec import distance_word, lateral_word


def test_torch_is_not_imported() -> None:
    assert "torch" not in sys.modules


@pytest.mark.parametrize(("width", "height"), [(160, 120), (640, 480), (96, 96), (33, 17), (1, 1)])
def test_render_shape_and_dtype(width: int, height: int) -> None:
    spec = sample_scene("person_in_path", np.random.default_rng(0))
    frame = render(spec, width=width, height=height)
    assert frame.shape == (height, width, 3)
    assert frame.dtype == np.uint8


def test_render_rejects_empty_size() -> None:
    with pytest.raises(ValueError, match="positive"):
        render(SceneSpec(), width=0, height=10)


def test_render_is_deterministic_under_a_fixed_seed() -> None:
    a = render(sample_scene("forklift", np.random.default_rng(7)), rng=np.random.default_rng(1))
    b = render(sample_scene("forklift", np.random.default_rng(7)), rng=np.random.default_rng(1))
    np.testing.assert_array_equal(a, b)
    spec = dataclasses.replace(sample_scene("traffic_cone", np.random.default_rng(3)), noise=8.0)
    np.testing.assert_array_equal(render(spec), render(spec))  # rng=None: noise seeded from the spec


def test_different_seeds_give_different_frames() -> None:
    a = render(sample_scene("empty_corridor", np.random.default_rng(1)))
    b = render(sample_scene("empty_corridor", np.random.default_rng(2)))
    assert not np.array_equal(a, b)


@pytest.mark.parametrize("class_name", CLASSES)
def test_every_class_renders_and_round_trips(class_name: str) -> None:
    rng = np.random.default_rng(11)
    for _ in range(5):
        spec = sample_scene(class_name, rng)
        assert scene_class(spec) == class_name
        frame = render(spec, width=96, height=72)
        assert frame.std() > 3.0, "frame should not be blank"
        text = caption(spec, rng)
        assert text and text == text.lower()


def test_classes_are_many_and_unique() -> None:
    assert len(CLASSES) >= 10
    assert len(set(CLASSES)) == len(CLASSES)


def test_unknown_class_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown scene class"):
        sample_scene("unicorn", np.random.default_rng(0))


def test_object_changes_the_frame() -> None:
    base = SceneSpec(detail_seed=3)
    with_person = dataclasses.replace(base, objects=(SceneObject("person", "center", "near", "red"),))
    diff = np.abs(render(base).astype(int) - render(with_person).astype(int)).sum(axis=2)
    assert (diff > 30).mean() > 0.05


def test_far_person_is_small_but_visible() -> None:
    base = SceneSpec(detail_seed=3, end_distance=25.0)
    far = dataclasses.replace(base, objects=(SceneObject("person", "center", 11.0, "red"),))
    diff = np.abs(render(base, width=160, height=120).astype(int) - render(far, width=160, height=120).astype(int)).sum(axis=2)
    rows = np.where((diff > 30).any(axis=1))[0]
    assert 14 <= rows.max() - rows.min() + 1 <= 32  # 12-25 px once stretched to 96 px high


def test_captions_mention_side_and_distance() -> None:
    rng = np.random.default_rng(5)
    side_words = {"left": "left", "right": "right"}
    seen_side = seen_dist = 0
    for _ in range(200):
        spec = sample_scene("person_crossing", rng)
        person = spec.objects[0]
        text = caption(spec, rng)
        side = lateral_word(person.lateral)
        if side_words[side] in text:
            seen_side += 1
        assert side_words["right" if side == "left" else "left"] not in text.split()
        dist = distance_word(person.distance)
        if any(w in text for w in {"near": ("close", "nearby", "short"), "mid": ("ahead", "medium"), "far": ("far", "distance")}[dist]):
            seen_dist += 1
    assert seen_side > 100
    assert seen_dist > 80


def test_captions_mention_colour_and_count() -> None:
    rng = np.random.default_rng(9)
    colour_hits = count_hits = 0
    for _ in range(200):
        spec = sample_scene("traffic_cone", rng)
        text = caption(spec, rng)
        colour_hits += spec.objects[0].colour in text
        n = spec.objects[0].count
        count_hits += n > 1 and {2: "two", 3: "three"}[n] in text
    assert colour_hits > 80
    assert count_hits > 40


def test_caption_words_are_in_the_vocabulary() -> None:
    vocab = set(caption_vocabulary())
    rng = np.random.default_rng(0)
    for class_name in CLASSES:
        for _ in range(40):
            text = caption(sample_scene(class_name, rng), rng)
            assert set(words(text)) <= vocab, text


def test_prompts_and_paraphrases() -> None:
    prompts = class_prompts()
    assert set(prompts) == set(CLASSES)
    assert all(2 <= len(p) <= 4 for p in prompts.values())
    assert set(PARAPHRASES) <= set(CLASSES)
    vocab = set(caption_vocabulary())
    all_prompts = {p for ps in prompts.values() for p in ps}
    rng = np.random.default_rng(1)
    sampled = {caption(sample_scene(c, rng), rng) for c in CLASSES for _ in range(60)}
    for phrases in PARAPHRASES.values():
        for phrase in phrases:
            assert set(words(phrase)) <= vocab, phrase
            assert phrase not in all_prompts
            assert phrase not in sampled


@pytest.mark.parametrize("kind", SEQUENCE_KINDS)
def test_sequence_shapes_and_continuity(kind: str) -> None:
    frames = list(sequence(kind, n_frames=20, fps=10.0, width=80, height=60, seed=4))
    assert len(frames) == 20
    assert all(f.shape == (60, 80, 3) and f.dtype == np.uint8 for f, _ in frames)
    assert all(c in CLASSES for _, c in frames)
    # Same room from frame to frame: consecutive frames differ only a little.
    a, b = frames[0][0].astype(int), frames[1][0].astype(int)
    assert np.abs(a - b).mean() < 40


def test_sequence_ground_truth_switches_as_scripted() -> None:
    labels = [c for _, c in sequence("person_steps_in", n_frames=50, fps=10.0, width=64, height=48, seed=1)]
    assert set(labels[:20]) == {"empty_corridor"}
    assert labels[-1] == "person_in_path"
    assert set(labels[30:]) == {"person_in_path"}
    assert "person_crossing" in labels[20:30]
    assert {c for _, c in sequence("empty_control", n_frames=20, fps=10.0, width=32, height=24, seed=1)} == {"empty_corridor"}
    pallet = [c for _, c in sequence("pallet_falls", n_frames=20, fps=10.0, width=32, height=24, seed=1)]
    assert pallet[:8] == ["empty_corridor"] * 8 and pallet[-1] == "pallet_in_aisle"
    smoke = [c for _, c in sequence("smoke_appears", n_frames=20, fps=10.0, width=32, height=24, seed=1)]
    assert smoke[:7] == ["empty_corridor"] * 7 and smoke[-1] == "smoke_or_fire"


def test_sequence_is_deterministic() -> None:
    a = [f for f, _ in sequence("empty_control", n_frames=5, fps=5.0, width=40, height=30, seed=9)]
    b = [f for f, _ in sequence("empty_control", n_frames=5, fps=5.0, width=40, height=30, seed=9)]
    assert len(a) == len(b) == 5
    for fa, fb in zip(a, b, strict=True):
        np.testing.assert_array_equal(fa, fb)


def test_unknown_sequence_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown sequence"):
        next(sequence("dance", n_frames=3, fps=1.0, width=8, height=8, seed=0))
