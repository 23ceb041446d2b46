"""The client's error mapping and retry policy, driven by a scripted httpx2 MockTransport."""

from __future__ import annotations

import email.utils
import json
import time
from typing import Any

import httpx2
import pytest

import toolwire._client as client_module
from toolwire._client import MessagesClient
from toolwire._endpoint import Endpoint
from toolwire._errors import (
    APIConnectionError,
    APIResponseError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BillingError,
    ConflictError,
    GatewayTimeoutError,
    InternalServerError,
    InvalidRequestError,
    NotFoundError,
    OverloadedError,
    PermissionDeniedError,
    RateLimitError,
    RequestParameterError,
    RequestTooLargeError,
    ResponseTooLargeError,
)
from toolwire._retry import RetryPolicy, parse_retry_after
from toolwire._wire.messages import MessageParam
from toolwire._wire.request import MessageRequest

KEY = "sk-ant-SECRET-key-0123456789"
OK_BODY = {
    "id": "msg_1",
    "type": "message",
    "role": "assistant",
    "model": "m",
    "content": [{"type": "text", "text": "hello"}],
    "stop_reason": "end_turn",
    "stop_sequence": None,
    "usage": {"input_tokens": 3, "output_tokens": 1},
}

Reply = httpx2.Response | Exception


def error_response(
    status: int, error_type: str, message: str = "boom", **headers: str
) -> httpx2.Response:
    body = {"type": "error", "error": {"type": error_type, "message": message}}
    return httpx2.Response(status, json=body, headers={"request-id": "req_1", **headers})


class Script:
    """A MockTransport handler that answers from a list and records every request."""

    def __init__(self, replies: list[Reply]) -> None:
        self.replies = list(replies)
        self.requests: list[httpx2.Request] = []

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        reply = self.replies.pop(0)
        if isinstance(reply, Exception):
            raise reply
        return reply


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    recorded: list[float] = []

    async def no_sleep(seconds: float) -> None:
        recorded.append(seconds)

    monkeypatch.setattr(client_module, "sleep", no_sleep)
    return recorded


def make_client(script: Script, **kwargs: Any) -> MessagesClient:
    endpoint = Endpoint("https://relay.example.net/v1/", api_key=KEY)
    return MessagesClient(endpoint, transport=httpx2.MockTransport(script), **kwargs)


def request(**kwargs: Any) -> MessageRequest:
    return MessageRequest(
        model="m", max_tokens=16, messages=[MessageParam(role="user", content="hi")], **kwargs
    )


@pytest.mark.anyio
async def test_create_sends_headers_and_body(waits: list[float]) -> None:
    script = Script([httpx2.Response(200, json=OK_BODY, headers={"request-id": "req_9"})])
    async with make_client(script) as client:
        message = await client.create(request(temperature=0.2))
    assert message.text == "hello"
    assert message.request_id == "req_9"
    sent = script.requests[0]
    assert str(sent.url) == "https://relay.example.net/v1/messages"
    assert sent.headers["x-api-key"] == KEY
    assert sent.headers["anthropic-version"] == "2023-06-01"
    assert json.loads(sent.content) == {
        "model": "m",
        "max_tokens": 16,
        "messages": [{"role": "user", "content": "hi"}],
        "temperature": 0.2,
    }
    assert waits == []


@pytest.mark.parametrize(
    ("status", "error_type", "cls"),
    [
        (400, "invalid_request_error", InvalidRequestError),
        (401, "authentication_error", AuthenticationError),
        (402, "billing_error", BillingError),
        (403, "permission_error", PermissionDeniedError),
        (404, "not_found_error", NotFoundError),
        (413, "request_too_large", RequestTooLargeError),
    ],
)
@pytest.mark.anyio
async def test_client_errors_are_typed_and_not_retried(
    status: int, error_type: str, cls: type[APIStatusError], waits: list[float]
) -> None:
    script = Script([error_response(status, error_type, "bad thing")])
    async with make_client(script) as client:
        with pytest.raises(cls) as info:
            await client.create(request())
    err = info.value
    assert (err.status_code, err.error_type, err.message) == (status, error_type, "bad thing")
    assert err.request_id == "req_1"
    assert err.body == {"type": "error", "error": {"type": error_type, "message": "bad thing"}}
    assert len(script.requests) == 1
    assert waits == []


@pytest.mark.parametrize(
    ("status", "error_type", "cls"),
    [
        (408, "timeout_error", GatewayTimeoutError),
        (409, "conflict", ConflictError),
        (429, "rate_limit_error", RateLimitError),
        (500, "api_error", InternalServerError),
        (502, "api_error", InternalServerError),
        (504, "timeout_error", GatewayTimeoutError),
        (529, "overloaded_error", OverloadedError),
    ],
)
@pytest.mark.anyio
async def test_retryable_statuses_retry_then_succeed(
    status: int, error_type: str, cls: type[APIStatusError], waits: list[float]
) -> None:
    script = Script(
        [
            error_response(status, error_type),
            error_response(status, error_type),
            httpx2.Response(200, json=OK_BODY),
        ]
    )
    async with make_client(script) as client:
        message = await client.create(request())
    assert message.text == "hello"
    assert len(script.requests) == 3
    assert len(waits) == 2
    assert all(0 < w <= 8 for w in waits)
    assert waits[1] > waits[0] * 0.5  # exponential growth, jitter aside

    script = Script([error_response(status, error_type)] * 3)
    async with make_client(script) as client:
        with pytest.raises(APIStatusError) as info:
            await client.create(request())
    assert isinstance(info.value, cls) or status == 408
    assert len(script.requests) == 3  # first attempt + max_retries (2)


@pytest.mark.anyio
async def test_retry_after_headers_are_honoured(waits: list[float]) -> None:
    future = email.utils.formatdate(time.time() + 30, usegmt=True)
    script = Script(
        [
            error_response(429, "rate_limit_error", **{"retry-after-ms": "1500"}),
            error_response(429, "rate_limit_error", **{"retry-after": "2"}),
            error_response(529, "overloaded_error", **{"retry-after": future}),
            httpx2.Response(200, json=OK_BODY),
        ]
    )
    async with make_client(script, max_retries=3) as client:
        await client.create(request())
    assert waits[:2] == [1.5, 2.0]
    assert 27 < waits[2] <= 30


@pytest.mark.anyio
async def test_a_long_retry_after_is_not_waited_for(waits: list[float]) -> None:
    script = Script([error_response(429, "rate_limit_error", **{"retry-after": "3600"})])
    async with make_client(script) as client:
        with pytest.raises(RateLimitError) as info:
            await client.create(request())
    assert info.value.retry_after == 3600
    assert waits == []


@pytest.mark.anyio
async def test_x_should_retry_overrides(waits: list[float]) -> None:
    script = Script(
        [
            error_response(400, "invalid_request_error", **{"x-should-retry": "true"}),
            httpx2.Response(200, json=OK_BODY),
        ]
    )
    async with make_client(script) as client:
        await client.create(request())
    assert len(script.requests) == 2

    script = Script([error_response(529, "overloaded_error", **{"x-should-retry": "false"})])
    async with make_client(script) as client:
        with pytest.raises(OverloadedError) as info:
            await client.create(request())
    assert info.value.retryable is False
    assert len(script.requests) == 1


@pytest.mark.anyio
async def test_connection_errors_retry_then_raise_typed(waits: list[float]) -> None:
    script = Script([httpx2.ConnectError("refused"), httpx2.Response(200, json=OK_BODY)])
    async with make_client(script) as client:
        assert (await client.create(request())).text == "hello"
    assert len(waits) == 1

    script = Script([httpx2.ConnectError("refused")] * 3)
    async with make_client(script) as client:
        with pytest.raises(APIConnectionError, match="refused"):
            await client.create(request())
    assert len(script.requests) == 3

    script = Script([httpx2.ReadTimeout("slow")] * 3)
    async with make_client(script) as client:
        with pytest.raises(APITimeoutError):
            await client.create(request())
    assert len(script.requests) == 3


@pytest.mark.anyio
async def test_html_error_page_becomes_a_clear_error(waits: list[float]) -> None:
    page = "<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>"
    script = Script([httpx2.Response(503, text=page, headers={"content-type": "text/html"})] * 3)
    async with make_client(script) as client:
        with pytest.raises(InternalServerError) as info:
            await client.create(request())
    assert info.value.status_code == 503
    assert "text/html" in str(info.value)
    assert "Service Temporarily Unavailable" in str(info.value)


@pytest.mark.anyio
async def test_error_body_with_200_status_is_the_typed_error(waits: list[float]) -> None:
    body = {"type": "error", "error": {"type": "authentication_error", "message": "bad key"}}
    script = Script([httpx2.Response(200, json=body)])
    async with make_client(script) as client:
        with pytest.raises(AuthenticationError, match="bad key") as info:
            await client.create(request())
    assert info.value.status_code == 401


@pytest.mark.anyio
async def test_error_object_without_a_type_in_a_200_is_the_typed_error(waits: list[float]) -> None:
    body = {"error": {"type": "permission_error", "message": "model not enabled"}}
    script = Script([httpx2.Response(200, json=body)])
    async with make_client(script) as client:
        with pytest.raises(PermissionDeniedError, match="model not enabled"):
            await client.create(request())


@pytest.mark.anyio
async def test_malformed_json_is_a_response_error(waits: list[float]) -> None:
    script = Script([httpx2.Response(200, content=b'{"id": "msg_1", "content": [')])
    async with make_client(script) as client:
        with pytest.raises(APIResponseError, match="not valid JSON"):
            await client.create(request())
    assert len(script.requests) == 1


@pytest.mark.anyio
async def test_response_size_cap(waits: list[float]) -> None:
    big = {**OK_BODY, "content": [{"type": "text", "text": "x" * 5000}]}
    script = Script([httpx2.Response(200, json=big)])
    async with make_client(script, max_response_bytes=1000) as client:
        with pytest.raises(ResponseTooLargeError, match="1000-byte"):
            await client.create(request())


@pytest.mark.anyio
async def test_redirects_are_not_followed(waits: list[float]) -> None:
    script = Script(
        [httpx2.Response(307, headers={"location": "https://evil.example/v1/messages"})]
    )
    async with make_client(script) as client:
        with pytest.raises(APIResponseError, match=r"evil\.example"):
            await client.create(request())
    assert len(script.requests) == 1


@pytest.mark.anyio
async def test_bad_parameters_fail_before_sending(waits: list[float]) -> None:
    script = Script([])
    async with make_client(script) as client:
        with pytest.raises(RequestParameterError, match="max_tokens") as info:
            await client.create(
                MessageRequest(
                    model="m", max_tokens=0, messages=[MessageParam(role="user", content="x")]
                )
            )
    assert info.value.problems[0][0] == "max_tokens"
    assert script.requests == []


@pytest.mark.anyio
async def test_secret_echoed_by_server_is_redacted(waits: list[float]) -> None:
    script = Script([error_response(401, "authentication_error", f"invalid x-api-key {KEY}")])
    async with make_client(script) as client:
        with pytest.raises(AuthenticationError) as info:
            await client.create(request())
    assert KEY not in str(info.value)
    assert KEY not in repr(info.value)
    assert KEY not in repr(client)


@pytest.mark.anyio
async def test_models_listing_follows_pages_and_tolerates_missing_fields(
    waits: list[float],
) -> None:
    pages = [
        {
            "data": [{"id": "a", "display_name": "A", "created_at": "2025-01-01T00:00:00Z"}],
            "has_more": True,
            "last_id": "a",
        },
        {"data": [{"id": "b"}], "has_more": False},
    ]
    seen: list[httpx2.Request] = []

    def handler(req: httpx2.Request) -> httpx2.Response:
        seen.append(req)
        return httpx2.Response(200, json=pages[len(seen) - 1])

    endpoint = Endpoint("https://api.relax.ai/v1/", auth_token=KEY)
    async with MessagesClient(endpoint, transport=httpx2.MockTransport(handler)) as client:
        models = await client.models()
    assert [m.id for m in models] == ["a", "b"]
    assert models[1].display_name is None
    assert seen[0].url.path == "/v1/models"
    assert seen[1].url.params["after_id"] == "a"
    assert seen[0].headers["authorization"] == f"Bearer {KEY}"


def test_parse_retry_after_forms() -> None:
    assert parse_retry_after(httpx2.Headers({"retry-after-ms": "250"})) == 0.25
    assert parse_retry_after(httpx2.Headers({"retry-after": "3"})) == 3.0
    assert parse_retry_after(httpx2.Headers({"retry-after": "soon"})) is None
    assert parse_retry_after(httpx2.Headers({})) is None
    date = email.utils.formatdate(1000.0 + 10, usegmt=True)
    assert parse_retry_after(httpx2.Headers({"retry-after": date}), now=1000.0) == 10.0


def test_retry_policy_backoff_and_limits() -> None:
    policy = RetryPolicy(max_retries=3, initial_delay=1.0, max_delay=3.0, jitter=0.0)
    assert [policy.delay(n, None) for n in (1, 2, 3, 4)] == [1.0, 2.0, 3.0, None]
    assert policy.delay(1, 5.0) == 5.0
    assert policy.delay(1, 61.0) is None
    with pytest.raises(ValueError, match="max_retries"):
        RetryPolicy(max_retries=-1)
