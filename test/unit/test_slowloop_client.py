"""slowloop client against a real OpenAI-compatible server on 127.0.0.1 (aiohttp), scripted to misbehave."""

from __future__ import annotations

import time
from collections.abc import Iterator

import numpy as np
import pytest

pytest.importorskip("aiohttp", reason="aiohttp (test dependency, tools/requirements.txt) not installed")

from videorag_ros.bench.rigs.chat_server import DESCRIPTION, ScriptedServer, Step
from videorag_ros.slowloop.api_key import ApiKey
from videorag_ros.slowloop.client import ChatClient
from videorag_ros.slowloop.errors import MALFORMED, PROTOCOL, RATE_LIMITED, REJECTED, SERVER_ERROR, TIMEOUT, TOO_LARGE, ModelServerError
from videorag_ros.slowloop.packing import chat_messages, encode_jpeg
from videorag_ros.slowloop.sanitize import clean_model_text

FRAMES = [encode_jpeg(np.full((48, 64, 3), v, np.uint8)) for v in (10, 200)]
MESSAGES = chat_messages("Describe these frames.", FRAMES)


@pytest.fixture(scope="module")
def server() -> Iterator[ScriptedServer]:
    with ScriptedServer(api_key="sk-test-123") as srv:
        yield srv


@pytest.fixture
def client(server: ScriptedServer) -> Iterator[ChatClient]:
    c = ChatClient(server.base_url, "test-vlm", api_key=ApiKey("sk-test-123", "test"), timeout_s=1.5, max_response_bytes=1 << 20)
    yield c
    c.close()


def test_a_good_answer_follows_the_published_format(server: ScriptedServer, client: ChatClient) -> None:
    before = len(server.records)
    r = client.complete(MESSAGES, max_tokens=64)
    assert r.text == DESCRIPTION and r.model == "test-vlm" and r.finish_reason == "stop"
    assert r.prompt_tokens == 50 + 85 * 2 and r.completion_tokens and r.completion_tokens > 0
    rec = server.records[before]
    assert rec.valid and rec.authorized and rec.images == 2 and "Describe these frames." in rec.text


def test_wrong_api_key_is_rejected_with_a_hint_and_never_echoed(server: ScriptedServer) -> None:
    c = ChatClient(server.base_url, "test-vlm", api_key=ApiKey("sk-WRONG-secret", "test"), timeout_s=2.0)
    with pytest.raises(ModelServerError, match=r"HTTP 401 \(check the API key\): Incorrect API key") as info:
        c.complete(MESSAGES, max_tokens=8)
    assert info.value.kind == REJECTED and "sk-WRONG-secret" not in str(info.value)
    assert "sk-WRONG-secret" not in repr(ApiKey("sk-WRONG-secret", "$KEY"))
    c.close()


@pytest.mark.parametrize(
    ("step", "expected"),
    [
        (Step(mode="rate_limit", retry_after="7"), (RATE_LIMITED, 429, 7.0)),  # 429 + Retry-After
        (Step(mode="rate_limit"), (RATE_LIMITED, 429, None)),  # 429 without Retry-After
        (Step(mode="server_error"), (SERVER_ERROR, 500, None)),
        (Step(mode="server_error", retry_after="2"), (SERVER_ERROR, 500, 2.0)),
        (Step(mode="not_found"), (REJECTED, 404, None)),
        (Step(mode="malformed_json"), (MALFORMED, 200, None)),  # truncated JSON
        (Step(mode="invalid_utf8"), (MALFORMED, 200, None)),  # bytes that are not UTF-8
        (Step(mode="huge"), (TOO_LARGE, 200, None)),  # 100 MB, chunked: cut after 1 MiB
        (Step(mode="huge_declared"), (TOO_LARGE, 200, None)),  # 100 MB declared: refused before reading
    ],
    ids=lambda v: v.mode if isinstance(v, Step) else None,
)
def test_misbehaving_answers_become_typed_errors(server: ScriptedServer, client: ChatClient, step: Step, expected: tuple[str, int, float | None]) -> None:
    server.push(step)
    t0 = time.perf_counter()
    with pytest.raises(ModelServerError) as info:
        client.complete(MESSAGES, max_tokens=8)
    assert (info.value.kind, info.value.status, info.value.retry_after_s) == expected
    assert time.perf_counter() - t0 < 1.5  # none of them waits for the timeout
    assert "\x1b" not in str(info.value)


def test_a_hang_ends_at_the_timeout(server: ScriptedServer, client: ChatClient) -> None:
    server.push(Step(mode="hang"))
    t0 = time.perf_counter()
    with pytest.raises(ModelServerError, match=r"no answer within 1\.5 s") as info:
        client.complete(MESSAGES, max_tokens=8)
    assert info.value.kind == TIMEOUT
    assert 1.4 < time.perf_counter() - t0 < 10.0


def test_a_slow_answer_within_the_timeout_is_taken(server: ScriptedServer, client: ChatClient) -> None:
    server.push(Step(mode="slow", delay_s=0.5))
    r = client.complete(MESSAGES, max_tokens=8)
    assert r.text == DESCRIPTION and r.latency_ms >= 450


def test_nothing_listening_is_a_connect_error() -> None:
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    c = ChatClient(f"http://127.0.0.1:{port}/v1", "m", timeout_s=1.0, connect_timeout_s=0.5)
    with pytest.raises(ModelServerError) as info:
        c.complete(MESSAGES, max_tokens=8)
    assert info.value.kind in ("connect", PROTOCOL) and info.value.retryable
    c.close()


def test_terminal_escapes_in_model_text_arrive_raw_and_are_shown_escaped(server: ScriptedServer, client: ChatClient) -> None:
    evil = "\x1b[2J\x1b]0;pwned\x07A person.\u202eevil\x00 ok"
    server.push(Step(text=evil))
    r = client.complete(MESSAGES, max_tokens=8)
    assert r.text == evil  # the client hands over what came; cleaning is the caller's job
    shown = clean_model_text(r.text)
    assert shown == "\\x1b[2J\\x1b]0;pwned\\x07A person.\\u202eevil\\x00 ok"
    assert all(ch.isprintable() or ch in "\n\t" for ch in shown)


def test_error_bodies_are_escaped_and_clipped(server: ScriptedServer) -> None:
    c = ChatClient(server.base_url, "test-vlm", timeout_s=2.0)  # no key: the server answers 401 with its JSON body
    with pytest.raises(ModelServerError) as info:
        c.complete(MESSAGES, max_tokens=8)
    assert len(str(info.value)) < 600
    c.close()
