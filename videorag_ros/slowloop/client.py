"""A client for OpenAI-compatible chat completions with images (vLLM, llama.cpp server, Ollama, hosted APIs).

Built on ``httpx`` rather than the ``openai`` package: the slow loop needs its own retry policy
(token bucket, Retry-After, backoff, circuit breaker; the package's built-in retries would run
underneath it), a hard cap on the bytes it reads (``openai`` parses whatever body arrives), and
few dependencies on a robot (``python3-httpx`` is a Debian/Ubuntu package; ``openai`` pulls
pydantic, jiter, distro and more). The wire format is a single JSON POST that these servers
share: ``POST {base_url}/chat/completions`` with ``messages`` whose user content mixes
``{"type": "text"}`` and ``{"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,..."}}``
parts; the answer is ``choices[0].message.content`` and ``usage``.

One ``complete`` call is one HTTP request: it raises ``ModelServerError`` with a ``kind`` the
policy acts on and never retries by itself. Nothing from the server is trusted: the body is read
in chunks up to ``max_response_bytes``, decoded as strict UTF-8, parsed as JSON, checked for the
expected shape; error bodies are escaped and clipped before they reach a message. Redirects are
not followed; proxies from the environment are ignored (``trust_env=False``), so a robot's
``http_proxy`` never captures a server on the local network. The API key goes only into the
``Authorization`` header.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from videorag_ros import __version__
from videorag_ros.slowloop.api_key import ApiKey
from videorag_ros.slowloop.backoff import parse_retry_after
from videorag_ros.slowloop.errors import CONNECT, MALFORMED, PROTOCOL, RATE_LIMITED, REJECTED, SERVER_ERROR, TIMEOUT, TOO_LARGE, ModelServerError
from videorag_ros.slowloop.sanitize import escape_line

MAX_ERROR_BODY = 64 * 1024  # bytes of an error body read for its message
# httpx logs every request at INFO; the slow loop counts requests in /diagnostics instead.
logging.getLogger("httpx").setLevel(logging.WARNING)
_JSON_DEPTH_GUARD = (RecursionError, MemoryError)


@dataclass(frozen=True, slots=True)
class ChatResult:
    """One answer.

    Attributes:
        text: ``choices[0].message.content`` as returned (raw: clean it before showing it).
        model: The model the server says answered.
        finish_reason: Why generation stopped (``stop``, ``length`` ...), or ``""``.
        prompt_tokens: ``usage.prompt_tokens`` (None when the server did not report usage).
        completion_tokens: ``usage.completion_tokens`` (None when not reported).
        latency_ms: Request round trip.
        response_bytes: Size of the body read.
    """

    text: str
    model: str
    finish_reason: str
    prompt_tokens: int | None
    completion_tokens: int | None
    latency_ms: float
    response_bytes: int


def host_of(base_url: str) -> str:
    """``host[:port]`` of a URL (for logs and ``source`` strings; never the path or credentials)."""
    parts = urlsplit(base_url)
    host = parts.hostname or "?"
    return f"{host}:{parts.port}" if parts.port else host


class ChatClient:
    """Chat completions against one OpenAI-compatible server. Thread-safe (one pooled ``httpx.Client``)."""

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key: ApiKey | None = None,
        timeout_s: float = 30.0,
        connect_timeout_s: float = 3.0,
        max_response_bytes: int = 1 << 20,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        """Create the client (no connection is made yet).

        Args:
            base_url: e.g. ``http://127.0.0.1:8000/v1`` (``/chat/completions`` is appended).
            model: Model name sent with each request.
            api_key: Bearer token, or None.
            timeout_s: Longest a request may take: no single wait (connect, send, first byte,
                next chunk) exceeds it, and a body still arriving after it is cut.
            connect_timeout_s: Longest the connect may take.
            max_response_bytes: Largest body read; a longer one raises ``too_large``.
            transport: An httpx transport (tests); default: a pooled HTTP transport.
        """
        self.base_url = base_url.rstrip("/")
        self.url = f"{self.base_url}/chat/completions"
        self.model = model
        self.timeout_s = timeout_s
        self.max_response_bytes = max_response_bytes
        # identity: a compressed body could inflate far past max_response_bytes.
        headers = {"User-Agent": f"videorag/{__version__}", "Accept": "application/json", "Accept-Encoding": "identity"}
        if api_key is not None:
            headers["Authorization"] = api_key.header()
        self._http = httpx.Client(
            timeout=httpx.Timeout(timeout_s, connect=connect_timeout_s),
            headers=headers,
            follow_redirects=False,
            trust_env=False,
            transport=transport,
        )

    def describe(self) -> str:
        """``openai-compatible '<model>' at <host>`` (no path, no credentials)."""
        return f"openai-compatible model '{escape_line(self.model)}' at {host_of(self.base_url)}"

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def complete(self, messages: Sequence[dict[str, Any]], *, max_tokens: int, temperature: float = 0.2) -> ChatResult:
        """Send one chat-completions request and return the answer.

        Args:
            messages: OpenAI-style messages.
            max_tokens: Completion tokens asked for.
            temperature: Sampling temperature.

        Raises:
            ModelServerError: With ``kind`` connect / timeout / rate_limited (429, with the
                server's ``retry_after_s``) / server_error (5xx) / rejected (other 4xx, 3xx) /
                malformed (not UTF-8, not JSON, wrong shape) / too_large / protocol.
        """
        body = {"model": self.model, "messages": list(messages), "max_tokens": int(max_tokens), "temperature": temperature, "stream": False}
        t0 = time.perf_counter()
        try:
            with self._http.stream("POST", self.url, json=body) as resp:
                if resp.status_code != 200:
                    self._raise_for_status(resp)
                raw = self._read_capped(resp, t0)
        except ModelServerError:
            raise
        except httpx.TimeoutException as err:
            msg = f"{self.describe()}: no answer within {self.timeout_s:g} s ({type(err).__name__})"
            raise ModelServerError(msg, kind=TIMEOUT) from err
        except httpx.ConnectError as err:
            msg = f"{self.describe()}: cannot connect: {escape_line(str(err))[:200]}"
            raise ModelServerError(msg, kind=CONNECT) from err
        except (httpx.RemoteProtocolError, httpx.LocalProtocolError, httpx.DecodingError) as err:
            msg = f"{self.describe()}: HTTP protocol error: {escape_line(str(err))[:200]}"
            raise ModelServerError(msg, kind=PROTOCOL) from err
        except httpx.HTTPError as err:
            msg = f"{self.describe()}: transport error {type(err).__name__}: {escape_line(str(err))[:200]}"
            raise ModelServerError(msg, kind=PROTOCOL) from err
        latency_ms = (time.perf_counter() - t0) * 1e3
        return self._parse(raw, latency_ms)

    # --- response handling -------------------------------------------------------------------
    def _read_capped(self, resp: httpx.Response, t0: float) -> bytes:
        declared = resp.headers.get("content-length")
        if declared is not None and declared.strip().isdigit() and int(declared) > self.max_response_bytes:
            msg = f"{self.describe()}: response of {int(declared)} bytes refused (more than {self.max_response_bytes})"
            raise ModelServerError(msg, kind=TOO_LARGE, status=resp.status_code)
        chunks, total = [], 0
        for chunk in resp.iter_raw():
            total += len(chunk)
            if total > self.max_response_bytes:
                msg = f"{self.describe()}: response body passed {self.max_response_bytes} bytes; refused"
                raise ModelServerError(msg, kind=TOO_LARGE, status=resp.status_code)
            if time.perf_counter() - t0 > self.timeout_s:
                msg = f"{self.describe()}: response still arriving after {self.timeout_s:g} s ({total} bytes); cut"
                raise ModelServerError(msg, kind=TIMEOUT, status=resp.status_code)
            chunks.append(chunk)
        if resp.headers.get("content-encoding", "identity").lower() not in ("", "identity"):
            # We asked for identity and read raw bytes: a compressed body is refused, never inflated.
            msg = f"{self.describe()}: compressed response ({escape_line(resp.headers['content-encoding'])[:40]}) refused"
            raise ModelServerError(msg, kind=MALFORMED, status=resp.status_code)
        return b"".join(chunks)

    def _raise_for_status(self, resp: httpx.Response) -> None:
        status = resp.status_code
        detail = self._error_detail(resp)
        retry_after = parse_retry_after(resp.headers.get("retry-after"))
        if status == 429:
            msg = f"{self.describe()}: rate limited (429){detail}"
            raise ModelServerError(msg, kind=RATE_LIMITED, status=status, retry_after_s=retry_after)
        if status >= 500:
            msg = f"{self.describe()}: server error {status}{detail}"
            raise ModelServerError(msg, kind=SERVER_ERROR, status=status, retry_after_s=retry_after)
        hint = {401: " (check the API key)", 403: " (the key lacks access to this model?)", 404: " (check slowloop.base_url: it should end in /v1 for most servers)"}.get(status, "")
        if 300 <= status < 400:
            hint = " (redirects are not followed; give the final URL in slowloop.base_url)"
        msg = f"{self.describe()}: request refused with HTTP {status}{hint}{detail}"
        raise ModelServerError(msg, kind=REJECTED, status=status)

    def _error_detail(self, resp: httpx.Response) -> str:
        """``": <server message>"`` from an OpenAI-style error body, escaped and clipped; ``""`` if none."""
        buf = b""
        try:
            for chunk in resp.iter_raw():
                buf += chunk
                if len(buf) > MAX_ERROR_BODY:
                    break
        except httpx.HTTPError:
            pass
        text = buf[:MAX_ERROR_BODY].decode("utf-8", errors="replace")
        message: Any = None
        try:
            doc = json.loads(text)
            err = doc.get("error") if isinstance(doc, dict) else None
            message = err.get("message") if isinstance(err, dict) else err if isinstance(err, str) else doc.get("message") if isinstance(doc, dict) else None
        except (ValueError, *_JSON_DEPTH_GUARD):
            message = text
        if not isinstance(message, str) or not message.strip():
            return ""
        return f": {escape_line(message.strip())[:300]}"

    def _parse(self, raw: bytes, latency_ms: float) -> ChatResult:
        def bad(what: str) -> ModelServerError:
            return ModelServerError(f"{self.describe()}: malformed response: {what}", kind=MALFORMED, status=200)

        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as err:
            raise bad(f"not valid UTF-8 (byte {err.start} of {len(raw)})") from err
        try:
            doc = json.loads(text)
        except ValueError as err:
            raise bad(f"not JSON ({escape_line(str(err))[:120]})") from err
        except _JSON_DEPTH_GUARD as err:
            raise bad("JSON nested too deeply") from err
        if not isinstance(doc, dict):
            raise bad(f"expected a JSON object, got {type(doc).__name__}")
        choices = doc.get("choices")
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            raise bad("no 'choices' list")
        message = choices[0].get("message")
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, list):  # some servers return content parts
            content = "".join(p.get("text", "") for p in content if isinstance(p, dict) and isinstance(p.get("text", ""), str))
        if not isinstance(content, str):
            raise bad("'choices[0].message.content' is not a string")
        raw_usage = doc.get("usage")
        usage: dict[str, Any] = raw_usage if isinstance(raw_usage, dict) else {}

        def count(name: str) -> int | None:
            v = usage.get(name)
            return v if isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 1 << 31 else None

        finish = choices[0].get("finish_reason")
        model = doc.get("model")
        return ChatResult(
            text=content,
            model=model if isinstance(model, str) else "",
            finish_reason=finish if isinstance(finish, str) else "",
            prompt_tokens=count("prompt_tokens"),
            completion_tokens=count("completion_tokens"),
            latency_ms=latency_ms,
            response_bytes=len(raw),
        )
