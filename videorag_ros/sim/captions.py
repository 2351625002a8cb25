"""Captions, zero-shot prompts and the closed vocabulary they are built from.

Captions carry attributes read from the spec (side, distance, colour, count,
pose, light level) so a text encoder trained on them learns more than a class
label. :data:`PARAPHRASES` are held-out phrasings built only from words that
training captions use, for testing generalisation beyond the canonical
prompts.
"""

from __future__ import annotations

import re

import numpy as np

from videorag_ros.sim.sampling import CLASSES, scene_class
from videorag_ros.sim.spec import COLOURS, SceneObject, SceneSpec, distance_value, distance_word, lateral_word

_CLASS_PROMPTS: dict[str, list[str]] = {
    "person_in_path": ["a person standing in the path of the robot", "a person in front of the robot", "someone standing in the middle of the corridor"],
    "person_crossing": ["a person walking across the corridor", "a person crossing on the side", "someone walking past the robot"],
    "person_far": ["a person far away", "a small person in the distance", "someone far down the corridor"],
    "pallet_in_aisle": ["a pallet in the aisle", "a pallet on the floor of the warehouse", "a loaded pallet blocking the aisle"],
    "boxes_on_floor": ["boxes on the floor", "cardboard boxes lying on the floor", "a pile of boxes"],
    "forklift": ["a forklift", "a forklift truck in the warehouse", "a forklift in the aisle"],
    "traffic_cone": ["a traffic cone", "orange traffic cones on the floor", "a warning cone"],
    "door_open": ["an open door", "a door that is open", "an open doorway at the end of the corridor"],
    "door_closed": ["a closed door", "a door that is shut", "a closed door at the end of the corridor"],
    "spill_on_floor": ["a spill on the floor", "a puddle of liquid on the floor", "a wet floor"],
    "smoke_or_fire": ["smoke or fire", "a fire", "smoke filling the corridor"],
    "empty_corridor": ["an empty corridor", "an empty hallway with nothing in it", "a clear path"],
}

#: Held-out prompts: never produced by :func:`caption`, every word known from training captions.
PARAPHRASES: dict[str, list[str]] = {
    "person_in_path": ["someone blocking the way", "a worker right in front of the robot"],
    "person_crossing": ["a pedestrian passing by on one side", "a worker crossing the hallway"],
    "person_far": ["a small figure at the far end", "a distant worker down the hallway"],
    "pallet_in_aisle": ["goods on a pallet left in the way", "a wrapped pallet on the ground"],
    "boxes_on_floor": ["some packages lying on the ground", "a pile of cartons"],
    "forklift": ["a vehicle for moving goods", "a truck for moving pallets"],
    "traffic_cone": ["a cone on the ground", "cones marking a hazard"],
    "door_open": ["the door at the end is open", "a doorway that is open at the end"],
    "door_closed": ["the door at the end is shut", "a shut door ahead"],
    "spill_on_floor": ["liquid spilled on the ground", "a patch of spilled liquid"],
    "smoke_or_fire": ["flames in the hallway", "smoke everywhere in the aisle"],
    "empty_corridor": ["nothing blocking the way", "the hallway ahead is clear"],
}

_ENV_NOUNS = {"corridor": ("corridor", "hallway"), "warehouse": ("warehouse aisle", "aisle", "warehouse")}
_WHERE = {
    "left": ("on the left", "on the left side", "to the left of the robot", "near the left wall", "on the left of the {env}"),
    "right": ("on the right", "on the right side", "to the right of the robot", "near the right wall", "on the right of the {env}"),
    "center": ("in the middle of the {env}", "in the center of the {env}", "straight ahead", "in front of the robot", "in the path of the robot"),
}
_DIST = {
    "near": ("close to the robot", "very close to the camera", "nearby", "a short distance away"),
    "mid": ("a few meters ahead", "at medium distance", "some distance ahead", "further ahead"),
    "far": ("far away", "in the distance", "far down the {env}", "at the far end of the {env}"),
}
_COUNTS = ("a", "one", "two", "three", "four")
_PERSON = ("a person", "a worker", "someone", "a pedestrian", "a human")
_PERSON_FAR = ("a small figure", "a distant person", "a small person")
_WEAR = ("in a {c} shirt", "wearing {c}", "dressed in {c}")
_VEST = ("in a {c} safety vest",)
_STAND = ("standing", "standing still", "waiting")
_WALK = ("walking", "walking across", "crossing", "passing by")
_PALLET = ("a {c} pallet", "a pallet of {c} goods", "a loaded pallet", "a wrapped {c} pallet", "a {c} loaded pallet")
_PALLET_TIPPED = ("a fallen pallet", "a pallet tipped over", "a {c} pallet that fell over")
_PALLET_VERB = ("", "left", "standing", "blocking the aisle", "on the floor")
_BOX_ONE = ("a {c} cardboard box", "a box", "a {c} package", "a single {c} box")
_BOX_MANY = ("{n} {c} cardboard boxes", "{n} boxes", "{n} packages", "a pile of {n} {c} boxes", "{n} cartons")
_ON_FLOOR = ("on the floor", "lying on the floor", "on the ground", "left on the floor")
_FORKLIFT = ("a {c} forklift", "a {c} forklift truck", "a forklift vehicle", "a {c} truck for moving pallets")
_FORKLIFT_VERB = ("", "parked", "standing", "moving", "driving", "waiting")
_CONE_ONE = ("a {c} traffic cone", "a {c} cone", "a single {c} warning cone")
_CONE_MANY = ("{n} {c} traffic cones", "{n} {c} cones", "{n} warning cones")
_CONE_VERB = ("on the floor", "marking a hazard", "placed on the ground", "")
_SPILL = {
    "water": ("a puddle of water", "water spilled", "a wet patch", "a wet floor"),
    "oil": ("an oil spill", "a black oil puddle", "a dark puddle of oil"),
    "colour": ("a {c} liquid spill", "a puddle of {c} liquid", "{c} liquid spilled"),
}
_FIRE = ("a fire", "flames", "a small fire", "burning flames")
_FIRE_SMOKE = ("a fire with smoke", "flames and smoke", "a fire and thick smoke")
_SMOKE = ("thick smoke", "grey smoke", "smoke", "dense smoke")
_SMOKE_WHERE = ("filling the {env}", "in the {env}", "everywhere", "")
_DOOR = {
    "open": ("an open {c} door", "a {c} door that is open", "an open doorway", "the {c} door is open"),
    "closed": ("a closed {c} door", "a {c} door that is shut", "a shut {c} door", "the {c} door is closed"),
}
_DOOR_WHERE = ("at the end of the {env}", "ahead", "in the end wall", "")
_EMPTY = ("an empty {env}", "a clear {env}", "an empty {env} with nothing in it", "nothing in the {env}", "the {env} is empty", "the path is clear", "the way is clear", "no obstacles in the {env}")
_LIGHT = {"dark": ("in dim light", "in a dark {env}", "with poor lighting"), "bright": ("brightly lit", "in bright light")}

_WORD_RE = re.compile(r"[a-z0-9]+")


def class_prompts() -> dict[str, list[str]]:
    """Return 2-4 canonical zero-shot prompts per class (a fresh copy)."""
    return {name: list(prompts) for name, prompts in _CLASS_PROMPTS.items()}


def _choice(rng: np.random.Generator, items: tuple[str, ...]) -> str:
    return items[int(rng.integers(len(items)))]


def _maybe(rng: np.random.Generator, p: float, text: str) -> str:
    return text if rng.random() < p else ""


def _place(obj: SceneObject, env: str, rng: np.random.Generator) -> list[str]:
    where = _maybe(rng, 0.85, _choice(rng, _WHERE[lateral_word(obj.lateral)]))
    dist = _maybe(rng, 0.85, _choice(rng, _DIST[distance_word(obj.distance)]))
    parts = [where, dist]
    if rng.random() < 0.5:
        parts.reverse()
    return parts


def _count(n: int) -> str:
    return _COUNTS[min(max(n, 1), len(_COUNTS) - 1)]


def _describe(obj: SceneObject, env: str, rng: np.random.Generator) -> list[str]:
    c = obj.colour
    if obj.kind == "person":
        far = distance_word(obj.distance) == "far"
        subject = _choice(rng, _PERSON_FAR if far and rng.random() < 0.4 else _PERSON)
        wear = _VEST + _WEAR if c in ("yellow", "orange") else _WEAR
        verb = _choice(rng, _WALK if obj.pose == "walking" else _STAND)
        return [subject, _maybe(rng, 0.75, _choice(rng, wear)), verb, *_place(obj, env, rng)]
    if obj.kind == "pallet":
        if obj.pose == "tipped":
            return [_choice(rng, _PALLET_TIPPED), *_place(obj, env, rng)]
        return [_choice(rng, _PALLET), _choice(rng, _PALLET_VERB), *_place(obj, env, rng)]
    if obj.kind == "box":
        subject = _choice(rng, _BOX_ONE) if obj.count == 1 else _choice(rng, _BOX_MANY)
        return [subject, _choice(rng, _ON_FLOOR), *_place(obj, env, rng)]
    if obj.kind == "forklift":
        return [_choice(rng, _FORKLIFT), _choice(rng, _FORKLIFT_VERB), *_place(obj, env, rng)]
    if obj.kind == "cone":
        subject = _choice(rng, _CONE_ONE) if obj.count == 1 else _choice(rng, _CONE_MANY)
        return [subject, _choice(rng, _CONE_VERB), *_place(obj, env, rng)]
    if obj.kind == "spill":
        key = c if c in ("water", "oil") else "colour"
        return [_choice(rng, _SPILL[key]), _choice(rng, _ON_FLOOR), *_place(obj, env, rng)]
    return [_choice(rng, _FIRE), *_place(obj, env, rng)]


def caption(spec: SceneSpec, rng: np.random.Generator) -> str:
    """Return a varied caption of a scene.

    About a fifth of the time the caption is one of the class's canonical
    prompts; otherwise it describes the main object with its side, distance,
    colour, count and pose, sometimes adding the light level.

    Args:
        spec: The scene.
        rng: Random source for the wording.

    Returns:
        A lowercase English caption.
    """
    name = scene_class(spec)
    if rng.random() < 0.2:
        return _choice(rng, tuple(_CLASS_PROMPTS[name]))
    env = _choice(rng, _ENV_NOUNS[spec.environment])
    fires = [o for o in spec.objects if o.kind == "fire"]
    if name == "smoke_or_fire":
        if fires and spec.smoke >= 0.4:
            parts = [_choice(rng, _FIRE_SMOKE), *_place(fires[0], env, rng)]
        elif fires:
            parts = _describe(fires[0], env, rng)
        else:
            parts = [_choice(rng, _SMOKE), _choice(rng, _SMOKE_WHERE)]
    elif name in ("door_open", "door_closed"):
        parts = [_choice(rng, _DOOR[spec.door]), _choice(rng, _DOOR_WHERE)]
    elif name == "empty_corridor":
        parts = [_choice(rng, _EMPTY)]
    else:
        main = min(spec.objects, key=lambda o: distance_value(o.distance))
        parts = _describe(main, env, rng)
    if spec.brightness < 0.65 and rng.random() < 0.35:
        parts.append(_choice(rng, _LIGHT["dark"]))
    elif spec.brightness > 1.2 and rng.random() < 0.35:
        parts.append(_choice(rng, _LIGHT["bright"]))
    text = " ".join(p for p in parts if p)
    door_colour = spec.door_colour
    colour = next((o.colour for o in spec.objects if o.kind != "fire"), door_colour)
    counts = next((o.count for o in spec.objects if o.kind in ("box", "cone")), 1)
    text = text.replace("{c}", door_colour if name.startswith("door") else colour)
    return text.replace("{n}", _count(counts)).replace("{env}", env)


def _template_strings() -> list[str]:
    pools: list[str] = []
    for group in (_WHERE, _DIST, _SPILL, _DOOR, _LIGHT, _ENV_NOUNS):
        for items in group.values():
            pools.extend(items)
    for items in (_COUNTS, _PERSON, _PERSON_FAR, _WEAR, _VEST, _STAND, _WALK, _PALLET, _PALLET_TIPPED, _PALLET_VERB, _BOX_ONE, _BOX_MANY, _ON_FLOOR, _FORKLIFT, _FORKLIFT_VERB, _CONE_ONE, _CONE_MANY, _CONE_VERB, _FIRE, _FIRE_SMOKE, _SMOKE, _SMOKE_WHERE, _DOOR_WHERE, _EMPTY):
        pools.extend(items)
    for prompts in _CLASS_PROMPTS.values():
        pools.extend(prompts)
    return pools


def words(text: str) -> list[str]:
    """Split text into lowercase ``[a-z0-9]+`` words, the tokenizer's rule."""
    return _WORD_RE.findall(text.lower())


def caption_vocabulary() -> list[str]:
    """Return every word a caption or canonical prompt can contain, sorted.

    Placeholders (``{c}``, ``{n}``, ``{env}``) are expanded to all colours,
    counts and environment nouns.
    """
    vocab: set[str] = set()
    for text in _template_strings():
        vocab.update(words(text.replace("{c}", "").replace("{n}", "").replace("{env}", "")))
    vocab.update(COLOURS)
    vocab.update(("water", "oil"))
    return sorted(vocab)


def paraphrase_classes() -> list[str]:
    """Return the classes that have paraphrases, in :data:`CLASSES` order."""
    return [c for c in CLASSES if c in PARAPHRASES]
