"""A scripted OpenAI-compatible chat-completions server on 127.0.0.1, for tests and benchmarks.

It follows the published API closely enough to exercise the client for real: it parses the
request (``model``, ``messages`` with ``text`` and ``image_url`` parts whose data URLs must hold
JPEGs), answers ``choices[0].message.content`` with ``usage``, and returns OpenAI-style error
bodies. Each request consumes the next step of a script (then the default step repeats); a step
can answer slowly, answer 429 with Retry-After, 500, malformed JSON, a 100 MB body, invalid
UTF-8, hang, or a given text (terminal escapes, prompt injections ...). Every request is recorded
(arrival time, images, auth header present, step). Needs ``aiohttp`` (a test/benchmark
dependency, imported only here); binds 127.0.0.1 only.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

MODES = ("ok", "slow", "rate_limit", "server_error", "malformed_json", "huge", "huge_declared", "invalid_utf8", "hang", "not_found")
HUGE_BYTES = 100 * 1024 * 1024
DESCRIPTION = "A person in a yellow vest walks from the left toward the middle of the corridor."


@dataclass(frozen=True)
class Step:
    """How to answer one request.

    Attributes:
        mode: One of ``MODES``.
        delay_s: Wait before answering (``slow`` and every other mode).
        text: The answer's content (default: a verdict JSON for verify requests, else a description).
        verdict: ``yes`` / ``no`` / ``unsure`` for verify requests when ``text`` is empty.
        retry_after: The Retry-After header of a 429 / 500 (None: no header).
    """

    mode: str = "ok"
    delay_s: float = 0.0
    text: str = ""
    verdict: str = "yes"
    retry_after: str | None = None


@dataclass
class RequestRecord:
    """One request as the server saw it."""

    t_monotonic: float
    mode: str
    model: str
    images: int
    text: str
    authorized: bool
    valid: bool
    error: str = ""


@dataclass
class _State:
    script: list[Step] = field(default_factory=list)
    default: Step = field(default_factory=Step)
    records: list[RequestRecord] = field(default_factory=list)


class ScriptedServer:
    """Start with ``start()`` (returns the base URL), stop with ``stop()``; or use as a context manager."""

    def __init__(self, *, default: Step | None = None, script: list[Step] | None = None, api_key: str | None = None) -> None:
        """Create the server.

        Args:
            default: The step used once the script is used up.
            script: Steps for the first requests, in order.
            api_key: When given, requests without ``Authorization: Bearer <key>`` get 401.
        """
        self._state = _State(list(script or []), default or Step())
        self._api_key = api_key
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stopping: asyncio.Event | None = None
        self._ready = threading.Event()
        self.base_url = ""

    # --- control (any thread) --------------------------------------------------------------------
    def set_default(self, step: Step) -> None:
        """Answer every later request (after the script) with ``step``."""
        with self._lock:
            self._state.default = step

    def push(self, *steps: Step) -> None:
        """Append steps to the script."""
        with self._lock:
            self._state.script.extend(steps)

    @property
    def records(self) -> list[RequestRecord]:
        """A copy of the requests seen so far."""
        with self._lock:
            return list(self._state.records)

    def _next_step(self) -> Step:
        with self._lock:
            return self._state.script.pop(0) if self._state.script else self._state.default

    def start(self) -> str:
        """Bind 127.0.0.1 on a free port, serve on a background thread; returns ``http://127.0.0.1:<port>/v1``."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, args=(sock,), name="scripted-chat-server", daemon=True)
        self._thread.start()
        if not self._ready.wait(10.0):
            msg = "scripted server did not start within 10 s"
            raise RuntimeError(msg)
        self.base_url = f"http://127.0.0.1:{port}/v1"
        return self.base_url

    def stop(self) -> None:
        """End hanging answers and stop serving."""
        loop, stopping = self._loop, self._stopping
        if loop is not None and stopping is not None and not loop.is_closed():
            loop.call_soon_threadsafe(stopping.set)
        if self._thread is not None:
            self._thread.join(timeout=10.0)

    def __enter__(self) -> ScriptedServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- the server (its own event loop) -----------------------------------------------------------
    def _serve(self, sock: socket.socket) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._main(sock))
        finally:
            loop.close()

    async def _main(self, sock: socket.socket) -> None:
        from aiohttp import web

        self._stopping = asyncio.Event()
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/v1/chat/completions", self._handle)
        runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=1.0)
        await runner.setup()
        site = web.SockSite(runner, sock)
        await site.start()
        self._ready.set()
        await self._stopping.wait()
        await runner.cleanup()

    async def _handle(self, request: Any) -> Any:
        from aiohttp import web

        t = time.monotonic()
        step = self._next_step()
        authorized = request.headers.get("Authorization", "") == f"Bearer {self._api_key}" if self._api_key else True
        record = RequestRecord(t, step.mode, "", 0, "", authorized, False)
        with self._lock:
            self._state.records.append(record)
        try:
            body = await request.json()
            record.model, record.images, record.text = _check_request(body)
            record.valid = True
        except (ValueError, KeyError, TypeError) as err:
            record.error = str(err)
            return _error(web, 400, f"invalid request: {err}", "invalid_request_error")
        if not authorized:
            return _error(web, 401, "Incorrect API key provided.", "invalid_request_error")
        if step.delay_s > 0 or step.mode == "hang":
            assert self._stopping is not None
            wait = 24 * 3600.0 if step.mode == "hang" else step.delay_s
            try:
                await asyncio.wait_for(self._stopping.wait(), timeout=wait)
                return web.Response(status=503)
            except asyncio.TimeoutError:
                pass
        return await self._answer(web, request, step, record)

    async def _answer(self, web: Any, request: Any, step: Step, record: RequestRecord) -> Any:
        mode = step.mode
        headers = {"Retry-After": step.retry_after} if step.retry_after is not None else {}
        if mode == "rate_limit":
            return _error(web, 429, "Rate limit reached for requests.", "rate_limit_error", headers)
        if mode == "server_error":
            return _error(web, 500, "The server had an error while processing your request.", "server_error", headers)
        if mode == "not_found":
            return _error(web, 404, "The model does not exist.", "invalid_request_error")
        if mode == "malformed_json":
            return web.Response(status=200, body=b'{"id": "x", "choices": [{"message": {"content": "trunc', content_type="application/json")
        if mode == "invalid_utf8":
            return web.Response(status=200, body=b'{"choices": [{"message": {"role": "assistant", "content": "caf\xc3\x28 \xff\xfe"}}]}', content_type="application/json")
        if mode in ("huge", "huge_declared"):
            resp = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
            if mode == "huge_declared":
                resp.content_length = HUGE_BYTES
            await resp.prepare(request)
            chunk = b" " * (1024 * 1024)
            try:
                for _ in range(HUGE_BYTES // len(chunk)):
                    await resp.write(chunk)
            except (ConnectionError, RuntimeError):
                return resp  # the client hung up, as it should
            return resp
        text = step.text or _default_text(record.text, step.verdict)
        doc = {
            "id": f"chatcmpl-{len(self.records)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": record.model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 50 + 85 * record.images, "completion_tokens": max(1, len(text) // 4), "total_tokens": 50 + 85 * record.images + max(1, len(text) // 4)},
        }
        return web.json_response(doc)


def _default_text(prompt: str, verdict: str) -> str:
    if '"verdict"' in prompt:
        return json.dumps({"verdict": verdict, "reason": f"scripted verdict {verdict}"})
    if "Question from the robot's operator" in prompt:
        return "Scripted answer: a person was in the corridor [1]."
    return DESCRIPTION


def _error(web: Any, status: int, message: str, kind: str, headers: dict[str, str] | None = None) -> Any:
    return web.json_response({"error": {"message": message, "type": kind, "param": None, "code": None}}, status=status, headers=headers or {})


def _check_request(body: Any) -> tuple[str, int, str]:
    """``(model, images, user text)`` of a chat-completions request, or ValueError naming what is wrong."""
    if not isinstance(body, dict) or not isinstance(body.get("model"), str) or not body["model"]:
        raise ValueError("'model' must be a non-empty string")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise ValueError("'messages' must be a non-empty list")
    images, texts = 0, []
    for m in messages:
        if not isinstance(m, dict) or m.get("role") not in ("system", "user", "assistant"):
            raise ValueError("each message needs a role of system, user or assistant")
        content = m.get("content")
        if isinstance(content, str):
            texts.append(content)
            continue
        if not isinstance(content, list):
            raise ValueError("'content' must be a string or a list of parts")
        for part in content:
            kind = part.get("type") if isinstance(part, dict) else None
            if kind == "text" and isinstance(part.get("text"), str):
                texts.append(part["text"])
            elif kind == "image_url" and isinstance(part.get("image_url"), dict):
                url = part["image_url"].get("url", "")
                head, _, data = url.partition(",")
                if head != "data:image/jpeg;base64":
                    raise ValueError("image_url must be a data:image/jpeg;base64 URL")
                try:
                    jpeg = base64.b64decode(data, validate=True)
                except binascii.Error as err:
                    raise ValueError("image_url data is not base64") from err
                if not jpeg.startswith(b"\xff\xd8"):
                    raise ValueError("image_url data is not a JPEG")
                images += 1
            else:
                raise ValueError(f"unknown content part {kind!r}")
    if "max_tokens" in body and (not isinstance(body["max_tokens"], int) or body["max_tokens"] < 1):
        raise ValueError("'max_tokens' must be a positive integer")
    return body["model"], images, "\n".join(texts)
