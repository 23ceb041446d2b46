"""Endpoint: URL normalisation per provider style, auth styles, env defaults, config errors."""

from __future__ import annotations

import pytest

from toolwire._endpoint import Endpoint, messages_url
from toolwire._errors import ConfigError

KEY = "sk-test-SECRET-value-123"


@pytest.mark.parametrize(
    ("base", "url"),
    [
        ("https://api.hacxgpt.com/anthropic", "https://api.hacxgpt.com/anthropic/v1/messages"),
        ("https://api.hacxgpt.com/anthropic/", "https://api.hacxgpt.com/anthropic/v1/messages"),
        ("https://api.relax.ai/v1/", "https://api.relax.ai/v1/messages"),
        ("https://api.relax.ai/v1", "https://api.relax.ai/v1/messages"),
        ("https://relay.example.net", "https://relay.example.net/v1/messages"),
        ("https://relay.example.net/", "https://relay.example.net/v1/messages"),
        ("https://gw.example.com/custom/v1/messages", "https://gw.example.com/custom/v1/messages"),
        ("https://gw.example.com/messages/", "https://gw.example.com/messages"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080/v1/messages"),
        ("https://api.anthropic.com", "https://api.anthropic.com/v1/messages"),
    ],
)
def test_base_url_normalisation(base: str, url: str) -> None:
    assert messages_url(base) == url
    assert Endpoint(base, api_key=KEY).url == url


def test_models_url_sits_beside_messages() -> None:
    assert Endpoint("https://api.relax.ai/v1/", api_key=KEY).models_url == (
        "https://api.relax.ai/v1/models"
    )
    assert Endpoint("https://x.test/anthropic", api_key=KEY).models_url == (
        "https://x.test/anthropic/v1/models"
    )


def test_api_key_is_sent_as_x_api_key() -> None:
    headers = Endpoint("https://x.test", api_key=KEY).headers()
    assert headers["x-api-key"] == KEY
    assert "authorization" not in headers
    assert headers["anthropic-version"] == "2023-06-01"


def test_auth_token_is_sent_as_bearer() -> None:
    headers = Endpoint("https://x.test", auth_token=KEY).headers()
    assert headers["authorization"] == f"Bearer {KEY}"
    assert "x-api-key" not in headers


def test_api_key_with_bearer_style() -> None:
    headers = Endpoint("https://x.test", api_key=KEY, auth="bearer").headers()
    assert headers["authorization"] == f"Bearer {KEY}"


def test_auth_none_sends_no_credential() -> None:
    headers = Endpoint("http://127.0.0.1:9", auth="none", env={}).headers()
    assert "x-api-key" not in headers
    assert "authorization" not in headers


def test_betas_version_and_extra_headers() -> None:
    ep = Endpoint(
        "https://x.test",
        api_key=KEY,
        anthropic_version="2024-01-01",
        betas=["a-2025", "b-2026"],
        headers={"x-team": "blue"},
    )
    headers = ep.headers()
    assert headers["anthropic-version"] == "2024-01-01"
    assert headers["anthropic-beta"] == "a-2025,b-2026"
    assert headers["x-team"] == "blue"


def test_env_defaults() -> None:
    env = {"ANTHROPIC_BASE_URL": "https://relay.example.net/", "ANTHROPIC_AUTH_TOKEN": KEY}
    ep = Endpoint(env=env)
    assert ep.url == "https://relay.example.net/v1/messages"
    assert ep.headers()["authorization"] == f"Bearer {KEY}"
    ep = Endpoint(env={"ANTHROPIC_API_KEY": KEY})
    assert ep.url == "https://api.anthropic.com/v1/messages"
    assert ep.headers()["x-api-key"] == KEY


def test_explicit_arguments_win_over_env() -> None:
    env = {"ANTHROPIC_BASE_URL": "https://env.test", "ANTHROPIC_AUTH_TOKEN": "env-token-value"}
    ep = Endpoint("https://arg.test", api_key=KEY, env=env)
    assert ep.url == "https://arg.test/v1/messages"
    assert ep.headers()["x-api-key"] == KEY
    assert "authorization" not in ep.headers()


@pytest.mark.parametrize(
    ("kwargs", "env", "setting"),
    [
        ({}, {}, "api_key"),
        ({"api_key": KEY, "auth_token": KEY}, {}, "api_key"),
        ({}, {"ANTHROPIC_API_KEY": KEY, "ANTHROPIC_AUTH_TOKEN": KEY}, "ANTHROPIC_API_KEY"),
        ({"base_url": "api.example.com", "api_key": KEY}, {}, "base_url"),
        ({"base_url": "ftp://api.example.com", "api_key": KEY}, {}, "base_url"),
        ({"base_url": "https://", "api_key": KEY}, {}, "base_url"),
        ({"base_url": "https://host:99999", "api_key": KEY}, {}, "base_url"),
        ({"api_key": KEY}, {"ANTHROPIC_BASE_URL": "not a url"}, "ANTHROPIC_BASE_URL"),
        ({"api_key": ""}, {}, "api_key"),
        ({"api_key": KEY + "\n"}, {}, "api_key"),
        ({"auth_token": KEY, "auth": "x-api-key"}, {}, "auth"),
        ({"api_key": KEY, "auth": "none"}, {}, "auth"),
        ({"api_key": KEY, "auth": "basic"}, {}, "auth"),
        ({"api_key": KEY, "headers": {"Authorization": "Bearer x"}}, {}, "headers"),
        ({"api_key": KEY, "betas": "one-beta"}, {}, "betas"),
    ],
)
def test_bad_config_names_the_setting(
    kwargs: dict[str, object], env: dict[str, str], setting: str
) -> None:
    with pytest.raises(ConfigError) as info:
        Endpoint(env=env, **kwargs)  # type: ignore[arg-type]
    assert info.value.setting == setting
    assert str(info.value).startswith(setting)
    assert KEY not in str(info.value)


def test_credentials_in_url_are_refused_without_echo() -> None:
    with pytest.raises(ConfigError) as info:
        Endpoint(f"https://user:{KEY}@relay.example.net", env={})
    assert KEY not in str(info.value)


def test_repr_hides_the_secret() -> None:
    for ep in (Endpoint("https://x.test", api_key=KEY), Endpoint("https://x.test", auth_token=KEY)):
        assert KEY not in repr(ep)
        assert KEY not in str(ep)
        assert "hidden" in repr(ep)
