"""Scene classes: random scenes of a class, and the class of a scene.

:func:`sample_scene` draws a random :class:`SceneSpec` for a class with varied
room, light, camera and sensor conditions; :func:`scene_class` reads the class
back from any spec with the same rules, so scripted sequences and sampled
scenes share one definition of every class.
"""

from __future__ import annotations

import numpy as np

from videorag_ros.sim.spec import SceneObject, SceneSpec, distance_value, distance_word, lateral_word

#: Scene classes, in the order used by the demo model's evaluation.
CLASSES: tuple[str, ...] = (
    "person_in_path",
    "person_crossing",
    "person_far",
    "pallet_in_aisle",
    "boxes_on_floor",
    "forklift",
    "traffic_cone",
    "door_open",
    "door_closed",
    "spill_on_floor",
    "smoke_or_fire",
    "empty_corridor",
)

#: Smoke density from which a scene counts as "smoke_or_fire".
SMOKE_THRESHOLD = 0.4

_CORRIDOR_WALLS = ((205, 198, 180), (196, 196, 196), (228, 228, 222), (170, 190, 210), (175, 200, 175), (225, 212, 182), (120, 120, 125))
_WAREHOUSE_WALLS = ((150, 150, 145), (120, 125, 130), (170, 160, 140), (100, 100, 105))
_CORRIDOR_FLOORS = ((120, 118, 112), (170, 155, 130), (75, 75, 80), (100, 110, 125), (95, 125, 100), (150, 150, 150))
_WAREHOUSE_FLOORS = ((140, 140, 135), (110, 110, 108), (160, 155, 145))
_CEILINGS = ((225, 225, 220), (200, 200, 200), (240, 238, 230))
_WAREHOUSE_CEILINGS = ((80, 80, 85), (110, 110, 110), (60, 62, 66))
_SHIRTS = ("red", "blue", "green", "yellow", "orange", "white", "black", "grey")
_LOADS = ("brown", "blue", "red", "green", "white", "black")
_VEHICLES = ("yellow", "orange", "red", "blue", "green")
_CONES = ("orange", "orange", "orange", "red", "yellow")
_SPILLS = ("water", "water", "oil", "oil", "green", "yellow")
_DOORS = ("grey", "blue", "red", "brown", "green", "white")
_BOXES = ("brown", "brown", "brown", "white", "blue")


def _pick(rng: np.random.Generator, items: tuple[str, ...]) -> str:
    return items[int(rng.integers(len(items)))]


def _side(rng: np.random.Generator, low: float, high: float) -> float:
    """A lateral position with low <= |x| <= high on a random side."""
    value = float(rng.uniform(low, high))
    return value if rng.random() < 0.5 else -value


def _objects(class_name: str, rng: np.random.Generator) -> tuple[str, tuple[SceneObject, ...], dict[str, object]]:
    """Environment, objects and spec overrides for one class."""
    env = "corridor" if rng.random() < 0.5 else "warehouse"
    variant = int(rng.integers(0, 1 << 16))
    extra: dict[str, object] = {}
    objs: tuple[SceneObject, ...] = ()
    if class_name == "person_in_path":
        objs = (SceneObject("person", float(rng.uniform(-0.2, 0.2)), float(rng.uniform(2.6, 7.2)), _pick(rng, _SHIRTS), variant=variant, size=float(rng.uniform(0.9, 1.08))),)
    elif class_name == "person_crossing":
        objs = (SceneObject("person", _side(rng, 0.45, 1.0), float(rng.uniform(2.8, 7.5)), _pick(rng, _SHIRTS), pose="walking", phase=float(rng.random()), variant=variant, size=float(rng.uniform(0.9, 1.08))),)
    elif class_name == "person_far":
        pose = "walking" if rng.random() < 0.4 else "standing"
        objs = (SceneObject("person", float(rng.uniform(-0.9, 0.9)), float(rng.uniform(9.0, 13.0)), _pick(rng, _SHIRTS), pose=pose, phase=float(rng.random()), variant=variant),)
        extra["end_distance"] = float(rng.uniform(16.0, 30.0))
    elif class_name == "pallet_in_aisle":
        env = "warehouse" if rng.random() < 0.85 else "corridor"
        pose = "tipped" if rng.random() < 0.15 else "upright"
        objs = (SceneObject("pallet", float(rng.uniform(-0.8, 0.8)), float(rng.uniform(2.8, 8.0)), _pick(rng, _LOADS), pose=pose, variant=variant, size=float(rng.uniform(0.85, 1.15))),)
    elif class_name == "boxes_on_floor":
        objs = (SceneObject("box", float(rng.uniform(-0.8, 0.8)), float(rng.uniform(2.5, 7.0)), _pick(rng, _BOXES), count=int(rng.integers(1, 5)), variant=variant, size=float(rng.uniform(0.9, 1.3))),)
    elif class_name == "forklift":
        env = "warehouse"
        objs = (SceneObject("forklift", float(rng.uniform(-0.7, 0.7)), float(rng.uniform(3.5, 10.0)), _pick(rng, _VEHICLES), variant=variant, size=float(rng.uniform(0.9, 1.1))),)
    elif class_name == "traffic_cone":
        objs = (SceneObject("cone", float(rng.uniform(-0.8, 0.8)), float(rng.uniform(2.5, 7.0)), _pick(rng, _CONES), count=int(rng.integers(1, 4)), variant=variant, size=float(rng.uniform(0.9, 1.2))),)
    elif class_name in ("door_open", "door_closed"):
        env = "corridor"
        extra.update(
            door="open" if class_name == "door_open" else "closed",
            door_colour=_pick(rng, _DOORS),
            door_offset=float(rng.uniform(-1.0, 1.0)),
            end_distance=float(rng.uniform(4.5, 8.0)),
        )
    elif class_name == "spill_on_floor":
        objs = (SceneObject("spill", float(rng.uniform(-0.7, 0.7)), float(rng.uniform(2.4, 5.5)), _pick(rng, _SPILLS), variant=variant, size=float(rng.uniform(0.9, 1.4))),)
    elif class_name == "smoke_or_fire":
        mode = int(rng.integers(3))  # 0 smoke only, 1 fire only, 2 both
        if mode != 0:
            objs = (SceneObject("fire", float(rng.uniform(-0.8, 0.8)), float(rng.uniform(3.0, 9.0)), "orange", phase=float(rng.random()), variant=variant, size=float(rng.uniform(0.9, 1.6))),)
        extra["smoke"] = float(rng.uniform(0.55, 1.0)) if mode != 1 else float(rng.uniform(0.0, 0.3))
    elif class_name != "empty_corridor":
        msg = f"unknown scene class {class_name!r}; expected one of {CLASSES}"
        raise ValueError(msg)
    return env, objs, extra


def sample_scene(class_name: str, rng: np.random.Generator) -> SceneSpec:
    """Draw a random scene of one class.

    Room colours, light level and tint, camera pose, blur and sensor noise are
    all varied; background details (lights, signs, shelf contents) follow a
    random ``detail_seed``.

    Args:
        class_name: One of :data:`CLASSES`.
        rng: Random source.

    Returns:
        A scene whose :func:`scene_class` is ``class_name``.

    Raises:
        ValueError: For an unknown class.
    """
    env, objs, extra = _objects(class_name, rng)
    wall: tuple[tuple[int, int, int], ...]
    floor: tuple[tuple[int, int, int], ...]
    ceiling: tuple[tuple[int, int, int], ...]
    if env == "corridor":
        wall, floor, ceiling = _CORRIDOR_WALLS, _CORRIDOR_FLOORS, _CEILINGS
    else:
        wall, floor, ceiling = _WAREHOUSE_WALLS, _WAREHOUSE_FLOORS, _WAREHOUSE_CEILINGS
    far_obj = max((distance_value(o.distance) for o in objs), default=0.0)
    end = float(rng.uniform(max(6.0, far_obj + 3.0), 30.0))
    params: dict[str, object] = {
        "environment": env,
        "objects": objs,
        "wall_colour": _jitter(wall[int(rng.integers(len(wall)))], rng),
        "floor_colour": _jitter(floor[int(rng.integers(len(floor)))], rng),
        "ceiling_colour": ceiling[int(rng.integers(len(ceiling)))],
        "brightness": float(rng.uniform(0.5, 1.3)),
        "tint": tuple(float(t) for t in rng.uniform(0.88, 1.12, size=3)),
        "end_distance": end,
        "yaw": float(rng.uniform(-0.04, 0.04)),
        "pitch": float(rng.uniform(-0.04, 0.04)),
        "roll": float(rng.normal(0.0, 2.0)) if rng.random() < 0.4 else 0.0,
        "blur": float(rng.uniform(0.2, 1.0)) if rng.random() < 0.4 else 0.0,
        "motion_blur": float(rng.uniform(0.2, 0.8)) if rng.random() < 0.15 else 0.0,
        "noise": float(rng.uniform(2.0, 12.0)) if rng.random() < 0.5 else 0.0,
        "detail_seed": int(rng.integers(0, 1 << 31)),
    }
    params.update(extra)
    return SceneSpec(**params)  # type: ignore[arg-type]


def _jitter(colour: tuple[int, int, int], rng: np.random.Generator) -> tuple[int, int, int]:
    d = rng.integers(-12, 13, size=3)
    return (int(np.clip(colour[0] + d[0], 0, 255)), int(np.clip(colour[1] + d[1], 0, 255)), int(np.clip(colour[2] + d[2], 0, 255)))


def scene_class(spec: SceneSpec) -> str:
    """Return the class of a scene.

    Rules, in priority order: smoke or fire; a person (nearest one: far away,
    in the centre of the path, or off to a side); forklift; pallet; boxes;
    cones; spill; door state; otherwise empty.

    Args:
        spec: Any scene.

    Returns:
        One of :data:`CLASSES`.
    """
    kinds = {o.kind for o in spec.objects}
    if spec.smoke >= SMOKE_THRESHOLD or "fire" in kinds:
        return "smoke_or_fire"
    people = [o for o in spec.objects if o.kind == "person"]
    if people:
        nearest = min(people, key=lambda o: distance_word_rank(o.distance))
        if distance_word(nearest.distance) == "far":
            return "person_far"
        return "person_in_path" if lateral_word(nearest.lateral) == "center" else "person_crossing"
    for kind, name in (("forklift", "forklift"), ("pallet", "pallet_in_aisle"), ("box", "boxes_on_floor"), ("cone", "traffic_cone"), ("spill", "spill_on_floor")):
        if kind in kinds:
            return name
    if spec.door == "open":
        return "door_open"
    if spec.door == "closed":
        return "door_closed"
    return "empty_corridor"


def distance_word_rank(distance: str | float) -> int:
    """0 for near, 1 for mid, 2 for far."""
    return ("near", "mid", "far").index(distance_word(distance))
