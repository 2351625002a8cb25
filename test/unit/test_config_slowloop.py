"""config: the slowloop.* parameters and <trig>.verify are validated like every other parameter."""

from __future__ import annotations

import pytest

from videorag_ros.core.config import SLOWLOOP_PARAMS, SlowLoopConfig, build_edge_config
from videorag_ros.core.errors import ConfigError


def test_defaults_run_the_offline_describer() -> None:
    cfg = build_edge_config({})
    assert cfg.slowloop == SlowLoopConfig() and cfg.slowloop.enabled and not cfg.slowloop.base_url
    assert {s.name.split(".", 1)[1] for s in SLOWLOOP_PARAMS} == set(SlowLoopConfig.__dataclass_fields__)


def test_a_server_and_verify_trigger_build() -> None:
    cfg = build_edge_config({
        "slowloop.base_url": "http://127.0.0.1:8000/v1", "slowloop.model": "qwen2.5-vl", "slowloop.api_key_env": "VLM_KEY",
        "triggers": ["p"], "p.prompts": ["a person"], "p.verify": True,
    })  # fmt: skip
    assert cfg.slowloop.model == "qwen2.5-vl" and cfg.triggers[0].verify


@pytest.mark.parametrize(
    ("values", "match"),
    [
        ({"slowloop.base_url": "ftp://host/v1", "slowloop.model": "m"}, "must be an http"),
        ({"slowloop.base_url": "http:///v1", "slowloop.model": "m"}, "must be an http"),
        ({"slowloop.base_url": "http://h/v1?x=1", "slowloop.model": "m"}, "without query"),
        ({"slowloop.base_url": "http://user:pw@h/v1", "slowloop.model": "m"}, "credentials"),
        ({"slowloop.base_url": "http://h/v1"}, "'slowloop.model' is empty"),
        ({"slowloop.api_key_env": "A", "slowloop.api_key_file": "/k"}, "both set"),
        ({"slowloop.api_key_file": "key.txt"}, "absolute path"),
        ({"slowloop.offline_captions": "caps.txt"}, "absolute path"),
        ({"slowloop.period_s": -1.0}, "below its minimum"),
        ({"slowloop.rate_limit_per_min": 0.0}, "below its minimum"),
        ({"slowloop.queue_size": 0}, "below its minimum"),
        ({"slowloop.frames_per_request": 100}, "above its maximum"),
        ({"slowloop.backoff_s": 10.0, "slowloop.backoff_max_s": 1.0}, "below 'slowloop.backoff_s'"),
        ({"slowloop.prompt": "x" * 5000}, "at most 4000"),
        ({"slowloop.enabled": "yes"}, "must be a bool"),
        ({"slowloop.enabled": False, "triggers": ["p"], "p.prompts": ["a person"], "p.verify": True}, "'slowloop.enabled' is false"),
        ({"triggers": ["p"], "p.prompts": ["a person"], "p.verify": 1}, "must be a bool"),
        ({"slowloop.histroy_tokens": 5}, "did you mean 'slowloop.history_tokens'"),
    ],
)
def test_bad_slowloop_values_name_the_parameter(values: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        build_edge_config(values)


def test_an_api_key_is_never_sent_over_plain_http_to_another_machine(tiny_encoder) -> None:
    from dataclasses import replace

    from videorag_ros.slowloop import build_describer

    base = build_edge_config({}).slowloop
    env = {"VLM_KEY": "sk-secret-value"}
    for url, ok in (("http://127.0.0.1:8000/v1", True), ("http://localhost:8000/v1", True), ("https://api.example.com/v1", True),
                    ("http://192.168.1.20:8000/v1", False), ("http://jetson.local/v1", False)):  # fmt: skip
        cfg = replace(base, base_url=url, model="m", api_key_env="VLM_KEY")
        if ok:
            describer, _ = build_describer(cfg, tiny_encoder, environ=env)
            describer.close()
        else:
            with pytest.raises(ConfigError, match="unencrypted") as info:
                build_describer(cfg, tiny_encoder, environ=env)
            assert "sk-secret-value" not in str(info.value)
    describer, _ = build_describer(replace(base, base_url="http://192.168.1.20:8000/v1", model="m"), tiny_encoder)  # no key: fine
    describer.close()
