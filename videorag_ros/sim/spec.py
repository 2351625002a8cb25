"""Scene descriptions: the frozen data a frame is drawn from.

A :class:`SceneSpec` holds everything needed to draw one frame
deterministically. Positions may be given as words (``"left"``, ``"near"``)
or as numbers; :func:`lateral_value`, :func:`distance_value` and their
inverses convert between the two so captions always agree with the picture.
"""

from __future__ import annotations

from dataclasses import dataclass, field

ENVIRONMENTS = ("corridor", "warehouse")
DOOR_STATES = ("none", "open", "closed")
OBJECT_KINDS = ("person", "pallet", "box", "forklift", "cone", "spill", "fire")

#: Named colours (RGB, 0..255). Captions use the names, the renderer the values.
COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (200, 35, 35),
    "blue": (35, 75, 205),
    "green": (40, 150, 60),
    "yellow": (235, 205, 40),
    "orange": (245, 125, 25),
    "white": (238, 238, 238),
    "black": (28, 28, 30),
    "grey": (125, 125, 128),
    "brown": (135, 88, 48),
}

#: Lateral words and the normalised position they stand for (-1 left wall, +1 right wall).
LATERAL_WORDS: dict[str, float] = {"left": -0.6, "center": 0.0, "right": 0.6}
#: Distance words and the metres they stand for.
DISTANCE_WORDS: dict[str, float] = {"near": 3.0, "mid": 5.5, "far": 11.0}
#: Upper bounds (metres) of the "near" and "mid" distance bins.
NEAR_MAX_M = 4.0
MID_MAX_M = 8.0
#: |lateral| at or below this is "center".
CENTER_MAX = 0.3


# Not slots=True: specs are pickled across processes, and frozen slotted
# dataclasses do not unpickle on every Python 3.10 patch release.
@dataclass(frozen=True)
class SceneObject:
    """One object standing on the floor.

    Attributes:
        kind: One of :data:`OBJECT_KINDS`.
        lateral: ``"left"``/``"center"``/``"right"`` or a float, -1 (left wall) .. 1 (right wall).
        distance: ``"near"``/``"mid"``/``"far"`` or metres from the camera.
        colour: A key of :data:`COLOURS` (for a spill: ``"water"``, ``"oil"`` or a colour).
        count: How many (boxes, cones); the renderer spreads them around the position.
        pose: Person: ``"standing"`` or ``"walking"``; pallet: ``"upright"`` or ``"tipped"``.
        size: Scale factor around the kind's nominal size.
        phase: Person walking cycle phase / fire flicker phase, 0..1.
        variant: Small integer selecting deterministic details (skin tone, load shape).
        elevation: Height of the object's base above the floor in metres (a falling pallet).
    """

    kind: str
    lateral: str | float = "center"
    distance: str | float = "mid"
    colour: str = "grey"
    count: int = 1
    pose: str = "standing"
    size: float = 1.0
    phase: float = 0.0
    variant: int = 0
    elevation: float = 0.0


@dataclass(frozen=True)
class SceneSpec:
    """Everything needed to draw one frame.

    Attributes:
        environment: ``"corridor"`` or ``"warehouse"``.
        objects: Objects on the floor, any order (drawn far to near).
        wall_colour: RGB of the walls (shelving uprights in a warehouse).
        floor_colour: RGB of the floor.
        ceiling_colour: RGB of the ceiling.
        brightness: Global light level, 1.0 nominal.
        tint: Per-channel light colour multipliers (RGB).
        end_distance: Metres to the end wall of the corridor / aisle.
        door: ``"none"``, ``"open"`` or ``"closed"`` (a door in the end wall).
        door_colour: Colour name of the door leaf.
        door_offset: Door position along the end wall, -1..1.
        smoke: Smoke density 0..1.
        yaw: Horizontal camera offset as a fraction of the frame width.
        pitch: Vertical camera offset as a fraction of the frame height.
        roll: Camera roll in degrees.
        blur: Blur strength 0..1 (0 = sharp).
        motion_blur: Horizontal motion blur 0..1.
        noise: Sensor noise standard deviation in 0..255 units.
        detail_seed: Seed of the background details (lights, signs, shelf boxes).
    """

    environment: str = "corridor"
    objects: tuple[SceneObject, ...] = field(default_factory=tuple)
    wall_colour: tuple[int, int, int] = (200, 196, 184)
    floor_colour: tuple[int, int, int] = (120, 118, 112)
    ceiling_colour: tuple[int, int, int] = (225, 225, 220)
    brightness: float = 1.0
    tint: tuple[float, float, float] = (1.0, 1.0, 1.0)
    end_distance: float = 20.0
    door: str = "none"
    door_colour: str = "grey"
    door_offset: float = 0.0
    smoke: float = 0.0
    yaw: float = 0.0
    pitch: float = 0.0
    roll: float = 0.0
    blur: float = 0.0
    motion_blur: float = 0.0
    noise: float = 0.0
    detail_seed: int = 0

    def __post_init__(self) -> None:
        if self.environment not in ENVIRONMENTS:
            msg = f"environment must be one of {ENVIRONMENTS}, got {self.environment!r}"
            raise ValueError(msg)
        if self.door not in DOOR_STATES:
            msg = f"door must be one of {DOOR_STATES}, got {self.door!r}"
            raise ValueError(msg)
        for obj in self.objects:
            if obj.kind not in OBJECT_KINDS:
                msg = f"object kind must be one of {OBJECT_KINDS}, got {obj.kind!r}"
                raise ValueError(msg)


def lateral_value(lateral: str | float) -> float:
    """Return the normalised lateral position (-1 left wall .. 1 right wall).

    Args:
        lateral: A word of :data:`LATERAL_WORDS` or a number.

    Returns:
        The position as a float.

    Raises:
        ValueError: For an unknown word.
    """
    if isinstance(lateral, str):
        if lateral not in LATERAL_WORDS:
            msg = f"lateral must be one of {tuple(LATERAL_WORDS)} or a float, got {lateral!r}"
            raise ValueError(msg)
        return LATERAL_WORDS[lateral]
    return float(lateral)


def distance_value(distance: str | float) -> float:
    """Return the distance in metres.

    Args:
        distance: A word of :data:`DISTANCE_WORDS` or metres.

    Returns:
        Metres, at least 1.0.

    Raises:
        ValueError: For an unknown word.
    """
    if isinstance(distance, str):
        if distance not in DISTANCE_WORDS:
            msg = f"distance must be one of {tuple(DISTANCE_WORDS)} or metres, got {distance!r}"
            raise ValueError(msg)
        return DISTANCE_WORDS[distance]
    return max(1.0, float(distance))


def lateral_word(lateral: str | float) -> str:
    """Return ``"left"``, ``"center"`` or ``"right"`` for a lateral position."""
    value = lateral_value(lateral)
    if value < -CENTER_MAX:
        return "left"
    if value > CENTER_MAX:
        return "right"
    return "center"


def distance_word(distance: str | float) -> str:
    """Return ``"near"``, ``"mid"`` or ``"far"`` for a distance."""
    metres = distance_value(distance)
    if metres < NEAR_MAX_M:
        return "near"
    if metres < MID_MAX_M:
        return "mid"
    return "far"
