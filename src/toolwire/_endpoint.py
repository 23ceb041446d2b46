"""Where requests go and how they authenticate: base URL normalisation, auth style, headers."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

from ._errors import ConfigError

__all__ = ["DEFAULT_BASE_URL", "Endpoint"]

DEFAULT_BASE_URL = "https://api.anthropic.com"
DEFAULT_ANTHROPIC_VERSION = "2023-06-01"

AuthStyle = Literal["x-api-key", "bearer", "none"]
_AUTH_HEADERS = frozenset({"x-api-key", "authorization"})


def messages_url(base_url: str) -> str:
    """The ``/v1/messages`` URL for a base URL, following the ecosystem's conventions.

    A base that already ends in ``/messages`` is used as is; one ending in ``/v1`` gets
    ``/messages``; any other gets ``/v1/messages``. Trailing slashes are ignored, so
    ``https://host/v1/`` becomes ``https://host/v1/messages`` (not ``/v1/v1/messages``).
    """
    parts = urlsplit(base_url.strip())
    path = parts.path.rstrip("/")
    if path.endswith("/messages"):
        pass
    elif path.endswith("/v1"):
        path += "/messages"
    else:
        path += "/v1/messages"
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))


def _check_url(base_url: str, setting: str) -> None:
    try:
        parts = urlsplit(base_url.strip())
        port = parts.port  # raises ValueError on a malformed port
    except ValueError as exc:
        raise ConfigError(setting, f"is not a valid URL ({exc})") from None
    del port
    if parts.scheme not in ("http", "https"):
        raise ConfigError(
            setting, f"must start with http:// or https://, got {parts.scheme or 'no'} scheme"
        )
    if not parts.hostname:
        raise ConfigError(setting, "has no host name")
    if parts.username is not None or parts.password is not None:
        raise ConfigError(
            setting, "must not contain credentials; pass api_key= or auth_token= instead"
        )
    if parts.fragment:
        raise ConfigError(setting, "must not contain a #fragment")


def _check_secret(value: str, setting: str) -> None:
    if not value.strip():
        raise ConfigError(setting, "is empty")
    if any(c in value for c in "\r\n\0") or value != value.strip():
        # The value itself is never echoed: it is a secret.
        raise ConfigError(
            setting, "contains whitespace or control characters; check how it was copied"
        )


class Endpoint:
    """An endpoint that speaks the Messages protocol: its URL, credentials and default headers.

    Unset arguments come from the environment the way the ecosystem expects:
    ``ANTHROPIC_BASE_URL``, ``ANTHROPIC_API_KEY`` (sent as ``x-api-key``) and
    ``ANTHROPIC_AUTH_TOKEN`` (sent as ``Authorization: Bearer``). ``auth`` picks how
    ``api_key`` is sent (``"x-api-key"`` or ``"bearer"``); ``auth="none"`` is for servers that
    take no credentials. Every problem is a ``ConfigError`` here, never an HTTP error later.
    """

    __slots__ = (
        "_secret",
        "anthropic_version",
        "auth",
        "base_url",
        "betas",
        "extra_headers",
        "url",
    )

    def __init__(
        self,
        base_url: str | None = None,
        *,
        api_key: str | None = None,
        auth_token: str | None = None,
        auth: AuthStyle | None = None,
        anthropic_version: str = DEFAULT_ANTHROPIC_VERSION,
        betas: Sequence[str] = (),
        headers: Mapping[str, str] | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        environ = os.environ if env is None else env
        url_setting = "base_url"
        if base_url is None:
            base_url = environ.get("ANTHROPIC_BASE_URL") or None
            url_setting = "ANTHROPIC_BASE_URL"
        if base_url is None:
            base_url = DEFAULT_BASE_URL
        _check_url(base_url, url_setting)
        self.base_url: str = base_url.strip()
        self.url: str = messages_url(self.base_url)

        if auth is not None and auth not in ("x-api-key", "bearer", "none"):
            raise ConfigError("auth", f"must be 'x-api-key', 'bearer' or 'none', got {auth!r}")
        if api_key is not None and auth_token is not None:
            raise ConfigError("api_key", "and auth_token are both given; pass only one")
        if auth == "none" and (api_key is not None or auth_token is not None):
            raise ConfigError("auth", "is 'none' but a credential was given")
        if auth_token is not None and auth == "x-api-key":
            raise ConfigError(
                "auth", "is 'x-api-key' but auth_token is a Bearer token; pass api_key="
            )

        secret: str | None
        style: AuthStyle
        if api_key is not None:
            _check_secret(api_key, "api_key")
            secret, style = api_key, auth or "x-api-key"
        elif auth_token is not None:
            _check_secret(auth_token, "auth_token")
            secret, style = auth_token, "bearer"
        elif auth == "none":
            secret, style = None, "none"
        else:
            env_key = environ.get("ANTHROPIC_API_KEY") or None
            env_token = environ.get("ANTHROPIC_AUTH_TOKEN") or None
            if env_key and env_token:
                raise ConfigError(
                    "ANTHROPIC_API_KEY",
                    "and ANTHROPIC_AUTH_TOKEN are both set; "
                    "unset one, or pass api_key= or auth_token=",
                )
            if env_key:
                _check_secret(env_key, "ANTHROPIC_API_KEY")
                secret, style = env_key, auth or "x-api-key"
            elif env_token:
                _check_secret(env_token, "ANTHROPIC_AUTH_TOKEN")
                secret, style = env_token, auth or "bearer"
            else:
                raise ConfigError(
                    "api_key",
                    "no credential: pass api_key= or auth_token=, set ANTHROPIC_API_KEY or "
                    "ANTHROPIC_AUTH_TOKEN, or pass auth='none' for a server that needs none",
                )
        self._secret = secret
        self.auth: AuthStyle = style

        if not anthropic_version:
            raise ConfigError("anthropic_version", "is empty")
        self.anthropic_version = anthropic_version
        if isinstance(betas, str):
            raise ConfigError("betas", "must be a list of beta names, not one string")
        self.betas: tuple[str, ...] = tuple(betas)
        extra = dict(headers or {})
        clash = sorted(k for k in extra if k.lower() in _AUTH_HEADERS)
        if clash and secret is not None:
            raise ConfigError(
                "headers", f"set {clash[0]!r}, which conflicts with the credential given"
            )
        for name, value in extra.items():
            if any(c in f"{name}{value}" for c in "\r\n\0"):
                raise ConfigError("headers", f"header {name!r} contains a line break or NUL")
        self.extra_headers: dict[str, str] = extra

    @property
    def models_url(self) -> str:
        """The ``/v1/models`` URL beside the messages URL."""
        return self.url[: -len("/messages")] + "/models"

    def headers(self) -> dict[str, str]:
        """Every header a request to this endpoint carries, credentials included."""
        out = {"anthropic-version": self.anthropic_version}
        if self.betas:
            out["anthropic-beta"] = ",".join(self.betas)
        if self._secret is not None:
            if self.auth == "bearer":
                out["authorization"] = f"Bearer {self._secret}"
            else:
                out["x-api-key"] = self._secret
        out.update(self.extra_headers)
        return out

    def secrets(self) -> tuple[str, ...]:
        """The secret values to scrub from anything shown (logs, errors)."""
        return (self._secret,) if self._secret else ()

    def __repr__(self) -> str:
        cred = "none" if self._secret is None else "set (hidden)"
        return f"Endpoint(url={self.url!r}, auth={self.auth!r}, credential={cred})"
