"""Describers: what turns a moment's frames into text, a verdict or an answer.

Two implementations share one interface: ``LlmDescriber`` asks an OpenAI-compatible multimodal
model (client.py, under the request policy), ``OfflineDescriber`` (offline.py) ranks a caption
bank with the loaded image–text model. ``build_describer`` picks one from the parameters: the
offline one whenever ``slowloop.base_url`` is empty. Every output carries ``source``, the
describer's name for itself, so nobody mistakes a ranked caption for a model's description.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

import numpy as np
import numpy.typing as npt

from videorag_ros.core.config import SlowLoopConfig, TriggerConfig
from videorag_ros.core.errors import ConfigError
from videorag_ros.core.index import Moment
from videorag_ros.slowloop.client import ChatClient, host_of
from videorag_ros.slowloop.packing import chat_messages, encode_jpeg, request_bytes
from videorag_ros.slowloop.policy import RequestPolicy
from videorag_ros.slowloop.prompts import ask_text, describe_text, verify_text
from videorag_ros.slowloop.sanitize import clean_model_text
from videorag_ros.slowloop.verdict import Verdict, parse_verdict

if TYPE_CHECKING:
    from videorag_ros.core.encoder.encoder import Encoder

MAX_ANSWER_CHARS = 2000


@dataclass(frozen=True, slots=True)
class FrameForModel:
    """A frame to show a describer: a downscaled RGB array and/or a JPEG, and its embedding if known."""

    camera_id: str
    stamp_ns: int
    rgb: npt.NDArray[np.uint8] | None = None
    jpeg: bytes | None = None
    vector: npt.NDArray[np.float32] | None = None


@dataclass(frozen=True, slots=True)
class ModelText:
    """Text a describer produced, already safe to store and print, and what it cost.

    Attributes:
        text: Control characters escaped, clipped.
        source: Who produced it (``LlmDescriber``: the model and host; offline: the caption ranker).
        latency_ms: Time to produce it (retries and rate-limit waits included).
        prompt_tokens: Reported by the server, else None.
        completion_tokens: Reported by the server, else None.
        request_bytes: Size of the request sent (0 offline).
    """

    text: str
    source: str
    latency_ms: float
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    request_bytes: int = 0


@dataclass(frozen=True)
class AskMoment:
    """A retrieved moment and the frames to show for it (at least its best frame)."""

    moment: Moment
    frames: list[FrameForModel] = field(default_factory=list)


class Describer(Protocol):
    """What the slow loop needs from a describer."""

    @property
    def source(self) -> str:
        """The describer's name for itself, put into every output."""
        ...

    def prepare(self) -> None:
        """One-time set-up on the slow loop's thread (e.g. encoding a caption bank)."""
        ...

    def describe(self, camera_id: str, frames: Sequence[FrameForModel], history: Sequence[str], prompt: str) -> ModelText:
        """Describe a moment (frames oldest first)."""
        ...

    def verify(self, camera_id: str, frames: Sequence[FrameForModel], trigger: TriggerConfig) -> tuple[Verdict, ModelText]:
        """Judge whether a trigger's claim holds in these frames now."""
        ...

    def ask(self, question: str, moments: Sequence[AskMoment]) -> ModelText:
        """Answer a question from retrieved moments, citing them as [n]."""
        ...

    def interrupt(self) -> None:
        """Make a ``prepare`` running on another thread give up soon (called first by the loop's close)."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


class LlmDescriber:
    """A multimodal model behind an OpenAI-compatible chat-completions API."""

    def __init__(self, client: ChatClient, policy: RequestPolicy, *, jpeg_quality: int = 80, max_tokens: int = 200) -> None:
        """Wrap a client and the policy every request goes through."""
        self.client, self.policy = client, policy
        self.jpeg_quality, self.max_tokens = jpeg_quality, max_tokens

    @property
    def source(self) -> str:
        """``openai-compatible model '<name>' at <host>``."""
        return self.client.describe()

    def prepare(self) -> None:
        """Nothing to prepare: the first request connects."""

    def interrupt(self) -> None:
        """Nothing to interrupt: a request in flight ends at its timeout at the latest."""

    def close(self) -> None:
        """Close the client's connections."""
        self.client.close()

    def _jpegs(self, frames: Sequence[FrameForModel]) -> list[bytes]:
        out = []
        for f in frames:
            if f.rgb is not None:
                out.append(encode_jpeg(f.rgb, self.jpeg_quality))
            elif f.jpeg is not None:
                out.append(f.jpeg)
        return out

    def _complete(self, text: str, jpegs: list[bytes], max_tokens: int, *, background: bool = False) -> tuple[str, ModelText]:
        messages = chat_messages(text, jpegs)
        result = self.policy.run(lambda: self.client.complete(messages, max_tokens=max_tokens), background=background)
        clean = clean_model_text(result.text, MAX_ANSWER_CHARS)
        return result.text, ModelText(clean, self.source, result.latency_ms, result.prompt_tokens, result.completion_tokens, request_bytes(messages))

    def describe(self, camera_id: str, frames: Sequence[FrameForModel], history: Sequence[str], prompt: str) -> ModelText:
        """One request: the frames, the rolling history, the describe prompt."""
        text = describe_text(prompt, camera_id, start_ns=frames[0].stamp_ns, end_ns=frames[-1].stamp_ns, frames=len(frames), history=history)
        return self._complete(text, self._jpegs(frames), self.max_tokens, background=True)[1]

    def verify(self, camera_id: str, frames: Sequence[FrameForModel], trigger: TriggerConfig) -> tuple[Verdict, ModelText]:
        """One request asking for a JSON verdict on the trigger's prompts."""
        text = verify_text(trigger.prompts, camera_id, start_ns=frames[0].stamp_ns, end_ns=frames[-1].stamp_ns, frames=len(frames))
        raw, out = self._complete(text, self._jpegs(frames), min(self.max_tokens, 120))
        return parse_verdict(raw), out

    def ask(self, question: str, moments: Sequence[AskMoment]) -> ModelText:
        """One request: the question, the moments' spans and stored descriptions, one frame each."""
        rows, jpegs = [], []
        for a in moments:
            j = self._jpegs(a.frames[:1])
            jpegs += j
            rows.append((a.moment.camera_id, a.moment.start_ns, a.moment.end_ns, a.moment.description, len(jpegs) if j else 0))
        return self._complete(ask_text(question, rows), jpegs, max(self.max_tokens, 300))[1]


def _safe_for_key(base_url: str) -> bool:
    """https, or plain http to this machine (loopback)."""
    import ipaddress
    from urllib.parse import urlsplit

    parts = urlsplit(base_url)
    if parts.scheme == "https":
        return True
    host = parts.hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def build_describer(
    cfg: SlowLoopConfig,
    encoder: Encoder,
    *,
    stop: threading.Event | None = None,
    environ: dict[str, str] | None = None,
    clock: Callable[[], float] | None = None,
) -> tuple[Describer, RequestPolicy | None]:
    """The describer the parameters ask for, and its request policy (None offline).

    Args:
        cfg: The ``slowloop.*`` parameters.
        encoder: The loaded image–text model (the offline describer ranks captions with it).
        stop: Set at shutdown; ends the policy's waits.
        environ: Environment for ``slowloop.api_key_env`` (default ``os.environ``).
        clock: Monotonic clock for the rate limit and breaker (tests).

    Raises:
        ConfigError: The API key cannot be read or would be sent unencrypted over the network,
            or the caption file is unusable.
    """
    import time

    from videorag_ros.slowloop.api_key import load_api_key
    from videorag_ros.slowloop.backoff import Backoff
    from videorag_ros.slowloop.circuit import CircuitBreaker
    from videorag_ros.slowloop.offline import OfflineDescriber, read_captions
    from videorag_ros.slowloop.token_bucket import TokenBucket

    if not cfg.base_url:
        captions = read_captions(cfg.offline_captions) if cfg.offline_captions else None
        return OfflineDescriber(encoder, captions=captions), None
    clk = clock or time.monotonic
    key = load_api_key(cfg.api_key_env, cfg.api_key_file, environ=environ)
    if key is not None and not _safe_for_key(cfg.base_url):
        msg = f"slowloop.base_url uses plain http to {host_of(cfg.base_url)}: the API key would cross the network unencrypted; use https, or a server on this machine"
        raise ConfigError(msg)
    client = ChatClient(cfg.base_url, cfg.model, api_key=key, timeout_s=cfg.timeout_s, connect_timeout_s=cfg.connect_timeout_s, max_response_bytes=cfg.max_response_bytes)
    policy = RequestPolicy(
        TokenBucket(cfg.rate_limit_per_min / 60.0, cfg.burst, clock=clk),
        CircuitBreaker(cfg.breaker_failures, cfg.breaker_reset_s, clock=clk),
        Backoff(cfg.backoff_s, cfg.backoff_max_s),
        max_retries=cfg.max_retries,
        stop=stop,
        clock=clk,
    )
    return LlmDescriber(client, policy, jpeg_quality=cfg.jpeg_quality, max_tokens=cfg.max_tokens), policy
