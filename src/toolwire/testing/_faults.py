"""Faults: script entries that make the server misbehave the way real endpoints and proxies do."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

from toolwire._errors import ERROR_TYPE_STATUS
from toolwire._wire.messages import Message

from ._script import reply

if TYPE_CHECKING:
    from ._types import ScriptEntry

__all__ = ["ERROR_TYPE_STATUS", "Fault", "FaultKind", "default_error_type"]

FaultKind: TypeAlias = Literal[
    "status",
    "html",
    "malformed_json",
    "error_body_200",
    "delay",
    "drop",
    "drop_mid_stream",
    "truncate",
    "stream_error",
    "raw",
]


_TYPE_OF_STATUS = {status: kind for kind, status in ERROR_TYPE_STATUS.items()}
# 408 is the API's own request timeout; it shares the error type of 504.
_TYPE_OF_STATUS[408] = "timeout_error"

_DEFAULT_MESSAGES = {
    "invalid_request_error": "There was an issue with the format or content of your request.",
    "authentication_error": "invalid x-api-key",
    "billing_error": "Your credit balance is too low to access the API.",
    "permission_error": "Your API key does not have permission to use the specified resource.",
    "not_found_error": "The requested resource could not be found.",
    "request_too_large": "Request exceeds the maximum allowed number of bytes.",
    "rate_limit_error": "Number of requests has exceeded your rate limit.",
    "api_error": "Internal server error",
    "timeout_error": "Request timed out while processing.",
    "overloaded_error": "Overloaded",
}

_DEFAULT_STREAMED = "This reply is cut short: the server failed partway through it."


def default_error_type(status: int) -> str:
    """The error type the real API sends with ``status`` (generic for unlisted codes)."""
    return _TYPE_OF_STATUS.get(status, "api_error" if status >= 500 else "invalid_request_error")


def _header_value(value: float | str) -> str:
    if isinstance(value, str):
        return value
    return str(int(value)) if float(value).is_integer() else str(value)


@dataclass(frozen=True)
class Fault:
    """A scripted misbehaviour. Build one with a class method: ``Fault.status(429, retry_after=0)``.

    What each kind does to a plain request, and to a streamed one (``"stream": true``):

    - ``status``: an HTTP error with the API's JSON error body; the same when streamed (errors
      come before any stream).
    - ``html``: an HTML error page, as a proxy sends it; the same when streamed.
    - ``malformed_json``: a 200 whose JSON body is cut off; streamed, a 200 event stream whose
      first event's data is broken JSON.
    - ``error_body_200``: a 200 whose JSON body is ``{"type": "error", ...}``; the same when
      streamed (a JSON body, no stream).
    - ``delay``: waits, then answers with ``then``; streamed, the wait comes before the
      response, or after ``after_events`` events when it is given.
    - ``drop``: the connection is closed before any response; the same when streamed.
    - ``drop_mid_stream``: headers and half the JSON body, then the connection is closed;
      streamed, ``after_events`` events, then the connection is closed.
    - ``truncate``: a 200 with half the JSON body; streamed, ``after_events`` events, then a
      clean end without ``message_stop``.
    - ``stream_error``: the HTTP error of ``error_type``; streamed, ``after_events`` events,
      then an ``error`` event, then a clean end.
    - ``raw``: exactly the given status, headers and body, streamed or not.

    Every response carries a ``request-id`` header, faults included.

    The fields say what the class methods set: ``code`` (the HTTP status), ``error_type`` and
    ``message`` (of the error body or event), ``headers`` and ``body`` (``raw``), ``seconds``
    and ``after_events`` (when to act), ``then`` (the entry a delay answers with, or the
    message a cut stream carries).
    """

    kind: FaultKind
    code: int = 200
    error_type: str | None = None
    message: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    seconds: float = 0.0
    after_events: int = 0
    then: ScriptEntry | None = None

    def error_body(self) -> dict[str, Any]:
        """The ``{"type": "error", "error": {...}}`` object this fault's error carries."""
        kind = self.error_type or default_error_type(self.code)
        text = self.message or _DEFAULT_MESSAGES.get(kind, "Error")
        return {"type": "error", "error": {"type": kind, "message": text}}

    def streamed_message(self) -> Message:
        """The message a stream-cutting fault streams before its cut."""
        return self.then if isinstance(self.then, Message) else reply(_DEFAULT_STREAMED)

    @classmethod
    def status(
        cls,
        code: int,
        error_type: str | None = None,
        message: str | None = None,
        *,
        retry_after: float | str | None = None,
        retry_after_ms: float | None = None,
        should_retry: bool | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Fault:
        """An HTTP error ``code`` with the API's JSON error body.

        ``error_type`` defaults to the type the real API pairs with ``code`` (429 →
        ``rate_limit_error``, 529 → ``overloaded_error``, ...). ``retry_after`` (seconds, or an
        HTTP date string), ``retry_after_ms`` and ``should_retry`` set the ``retry-after``,
        ``retry-after-ms`` and ``x-should-retry`` headers.
        """
        if not 400 <= code <= 599:
            raise ValueError(f"Fault.status needs an error status (400-599), got {code}")
        extra: list[tuple[str, str]] = []
        if retry_after is not None:
            extra.append(("retry-after", _header_value(retry_after)))
        if retry_after_ms is not None:
            extra.append(("retry-after-ms", _header_value(retry_after_ms)))
        if should_retry is not None:
            extra.append(("x-should-retry", "true" if should_retry else "false"))
        extra += [(k.lower(), v) for k, v in (headers or {}).items()]
        return cls(
            "status",
            code=code,
            error_type=error_type or default_error_type(code),
            message=message,
            headers=tuple(extra),
        )

    @classmethod
    def html(cls, status: int = 503) -> Fault:
        """An HTML error page, as a proxy or load balancer in front of the API sends it."""
        return cls("html", code=status)

    @classmethod
    def malformed_json(cls) -> Fault:
        """A 200 whose body (or first event) is not valid JSON."""
        return cls("malformed_json")

    @classmethod
    def error_body_200(
        cls, error_type: str = "overloaded_error", message: str | None = None
    ) -> Fault:
        """A 200 whose JSON body is an error object (some aggregators answer errors this way)."""
        return cls("error_body_200", error_type=error_type, message=message)

    @classmethod
    def delay(
        cls, seconds: float, *, then: ScriptEntry | None = None, after_events: int = 0
    ) -> Fault:
        """Wait ``seconds`` (``math.inf``: until the client goes away), then answer with ``then``.

        With ``after_events`` and a streamed request, the wait comes after that many events of
        the streamed ``then`` message instead of before the response. ``then`` defaults to a
        short text reply.
        """
        if seconds < 0:
            raise ValueError("Fault.delay needs seconds >= 0")
        return cls("delay", seconds=seconds, then=then, after_events=after_events)

    @classmethod
    def drop(cls) -> Fault:
        """Close the connection without sending any response."""
        return cls("drop")

    @classmethod
    def drop_mid_stream(cls, after_events: int = 4, *, message: Message | None = None) -> Fault:
        """Stream ``after_events`` events of ``message``, then close the connection mid-body."""
        return cls("drop_mid_stream", after_events=after_events, then=message)

    @classmethod
    def truncate(cls, after_events: int = 4, *, message: Message | None = None) -> Fault:
        """Stream ``after_events`` events of ``message``, then end cleanly: no ``message_stop``."""
        return cls("truncate", after_events=after_events, then=message)

    @classmethod
    def stream_error(
        cls,
        error_type: str = "overloaded_error",
        after_events: int = 4,
        *,
        message: str | None = None,
        reply: Message | None = None,
    ) -> Fault:
        """Stream ``after_events`` events of ``reply``, then an ``error`` event of ``error_type``.

        A plain request gets the HTTP error of that type instead.
        """
        return cls(
            "stream_error",
            code=ERROR_TYPE_STATUS.get(error_type, 500),
            error_type=error_type,
            message=message,
            after_events=after_events,
            then=reply,
        )

    @classmethod
    def raw(
        cls,
        status: int,
        headers: Mapping[str, str] | None = None,
        body: bytes | str | Mapping[str, Any] | list[Any] = b"",
    ) -> Fault:
        """Exactly this response: ``body`` as bytes, text, or JSON when it is a dict or list."""
        if isinstance(body, bytes):
            data = body
        elif isinstance(body, str):
            data = body.encode()
        else:
            data = json.dumps(body).encode()
        return cls(
            "raw",
            code=status,
            headers=tuple((k.lower(), v) for k, v in (headers or {}).items()),
            body=data,
        )
