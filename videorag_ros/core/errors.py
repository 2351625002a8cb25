"""The exception tree: one root, a few subclasses callers can act on."""

from __future__ import annotations


class VideoragError(Exception):
    """Root of every error videorag raises on purpose."""


class ConfigError(VideoragError):
    """A configuration value is missing, of the wrong type or out of range."""


class FrameError(VideoragError):
    """An image message could not be turned into a frame (bad size, encoding, bytes)."""


class NotColourFrameError(FrameError):
    """A well-formed image with no picture to embed: depth, 16-bit or float data (``16UC1``, ``compressedDepth``)."""


class EncoderError(VideoragError):
    """The image or text encoder failed."""


class ModelLoadError(EncoderError):
    """A model directory, manifest or weight file is missing, corrupt or inconsistent."""


class InputShapeError(EncoderError):
    """An encoder input has the wrong shape or dtype."""


class TemporalIndexError(VideoragError):
    """The temporal index was used inconsistently (dimension mismatch, bad snapshot)."""


class TriggerError(VideoragError):
    """A trigger definition is invalid."""
