"""The slow loop: describe, verify and answer with a multimodal model, off the reflex path.

ROS-free. The frame worker hands decided frames and trigger events to ``SlowLoop.offer`` (two
appends to bounded drop-oldest queues, never a wait); the loop's own threads keep a small cache
of downscaled frames, run a describe job every ``slowloop.period_s`` and on trigger ENTER, verify
``verify: true`` triggers (verdicts may only add caution: core/actions.py), store descriptions
with their moments in the memory, and answer ``ask`` questions from retrieved moments.

Describers: ``LlmDescriber`` (an OpenAI-compatible chat-completions server, client.py, behind
policy.py: token bucket, Retry-After, backoff with jitter, timeouts, circuit breaker) and
``OfflineDescriber`` (caption ranking with the loaded image–text model; the default without a
server, and named as such in every output).
"""

from __future__ import annotations

from videorag_ros.slowloop.ask import AskAnswer, answer_question
from videorag_ros.slowloop.describer import Describer, FrameForModel, LlmDescriber, ModelText, build_describer
from videorag_ros.slowloop.dispatcher import Job, Output, SlowLoop
from videorag_ros.slowloop.errors import CircuitOpenError, ModelServerError, SlowLoopError, StoppedError
from videorag_ros.slowloop.offline import OfflineDescriber
from videorag_ros.slowloop.sanitize import clean_model_text, escape_control, escape_line
from videorag_ros.slowloop.verdict import Verdict, parse_verdict

__all__ = [
    "AskAnswer",
    "CircuitOpenError",
    "Describer",
    "FrameForModel",
    "Job",
    "LlmDescriber",
    "ModelServerError",
    "ModelText",
    "OfflineDescriber",
    "Output",
    "SlowLoop",
    "SlowLoopError",
    "StoppedError",
    "Verdict",
    "answer_question",
    "build_describer",
    "clean_model_text",
    "escape_control",
    "escape_line",
    "parse_verdict",
]
