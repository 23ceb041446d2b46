"""``MessagesClient.create`` and ``models`` against the fake Messages API.

Faults (each status, HTML pages, broken JSON, errors inside a 200, dropped connections), the
protocol checks the fake holds every request to, the headers sent, and one client serving
many concurrent requests over kept-alive connections.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal

import anyio
import pytest

import toolwire._client as client_module
from toolwire import (
    APIConnectionError,
    APIResponseError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BillingError,
    ConflictError,
    Endpoint,
    GatewayTimeoutError,
    InternalServerError,
    InvalidRequestError,
    Message,
    MessageParam,
    MessageRequest,
    MessagesClient,
    NotFoundError,
    OverloadedError,
    PermissionDeniedError,
    RateLimitError,
    RequestTooLargeError,
    RetryPolicy,
    ToolDefinition,
    ToolResultBlock,
)
from toolwire.testing import (
    DEFAULT_MODELS,
    FAKE_API_KEY,
    FakeMessagesAPI,
    Fault,
    ScriptEntry,
    reply,
    thinking,
    tool_call,
)

Via = Literal["in-process", "loopback"]

FAST = RetryPolicy(initial_delay=0.001, jitter=0.0)
"""Retry waits of 1 ms, 2 ms, 4 ms: exact, so tests can tell them from a server's retry-after."""

WEATHER = ToolDefinition(
    name="get_weather",
    description="Current weather for a city.",
    input_schema={
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
        "additionalProperties": False,
    },
)


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The client's retry waits, recorded instead of slept."""
    recorded: list[float] = []

    async def no_sleep(seconds: float) -> None:
        recorded.append(seconds)

    monkeypatch.setattr(client_module, "sleep", no_sleep)
    return recorded


def in_process(api: FakeMessagesAPI, **options: Any) -> MessagesClient:
    options.setdefault("retry", FAST)
    return MessagesClient(api.endpoint(), transport=api.transport(), **options)


@contextmanager
def reach(api: FakeMessagesAPI, via: Via, **options: Any) -> Iterator[MessagesClient]:
    """A client for ``api``, in-process or over a loopback server started for the test."""
    if via == "in-process":
        yield in_process(api, **options)
        return
    options.setdefault("retry", FAST)
    with api.serve() as base_url:
        yield MessagesClient(api.endpoint(base_url), **options)


def ask(text: str = "Hello?", **fields: Any) -> MessageRequest:
    return MessageRequest(
        model="claude-test-1",
        max_tokens=256,
        messages=[MessageParam(role="user", content=text)],
        **fields,
    )


# -- replies -------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_create_returns_the_message_the_server_sent() -> None:
    api = FakeMessagesAPI([reply("Let me look.", tool_call("get_weather", {"city": "Paris"}))])
    request = ask("Weather in Paris?", tools=[WEATHER], temperature=0.5)
    async with in_process(api) as client:
        message = await client.create(request)

    sent = api.last_request
    assert message.to_wire() == api.app.sent[0]
    assert message.stop_reason == "tool_use"
    assert message.tool_uses[0].input == {"city": "Paris"}
    assert message.request_id == sent.request_id
    assert not sent.streamed
    assert sent.body == request.to_wire()
    assert sent.path == "/v1/messages"
    api.assert_valid()


@pytest.mark.anyio
async def test_a_tool_round_trip_with_thinking_passes_the_protocol_checks() -> None:
    first = reply(thinking("Paris; use the tool."), tool_call("get_weather", {"city": "Paris"}))
    api = FakeMessagesAPI([first, reply("It is 21 °C in Paris.")])
    request = ask(
        "Weather in Paris?",
        tools=[WEATHER],
        thinking={"type": "enabled", "budget_tokens": 1024},
    )
    async with in_process(api) as client:
        turn = await client.create(request)
        answer = ToolResultBlock(tool_use_id=turn.tool_uses[0].id, content='{"temp": 21}')
        follow_up = request.model_copy(
            update={
                "messages": [
                    *request.messages,
                    turn.to_param(),
                    MessageParam(role="user", content=[answer]),
                ]
            }
        )
        final = await client.create(follow_up)

    assert final.text == "It is 21 °C in Paris."
    # The thinking block went back byte for byte, signature included.
    assert api.requests[1].body["messages"][1]["content"] == api.app.sent[0]["content"]
    api.assert_valid()


@pytest.mark.anyio
async def test_a_request_breaking_a_protocol_rule_is_the_fakes_typed_400(
    waits: list[float],
) -> None:
    stray = ToolResultBlock(tool_use_id="toolu_01nobodyaskedforthis", content="42")
    request = MessageRequest(
        model="claude-test-1",
        max_tokens=64,
        messages=[MessageParam(role="user", content=[stray])],
        tools=[ToolDefinition(name="answer", input_schema={"type": "object"})],
    )
    api = FakeMessagesAPI([reply("never sent")])
    async with in_process(api) as client:
        with pytest.raises(InvalidRequestError, match="tool-result-unexpected") as info:
            await client.create(request)

    assert info.value.status_code == 400
    assert len(api.requests) == 1
    assert api.remaining == 1
    assert waits == []
    assert len(api.violations) == 1
    with pytest.raises(AssertionError, match="tool-result-unexpected"):
        api.assert_valid()


# -- faults --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "error_type", "cls", "attempts"),
    [
        (400, "invalid_request_error", InvalidRequestError, 1),
        (401, "authentication_error", AuthenticationError, 1),
        (402, "billing_error", BillingError, 1),
        (403, "permission_error", PermissionDeniedError, 1),
        (404, "not_found_error", NotFoundError, 1),
        (408, "timeout_error", GatewayTimeoutError, 3),
        (409, "invalid_request_error", ConflictError, 3),
        (413, "request_too_large", RequestTooLargeError, 1),
        (429, "rate_limit_error", RateLimitError, 3),
        (500, "api_error", InternalServerError, 3),
        (502, "api_error", InternalServerError, 3),
        (503, "api_error", InternalServerError, 3),
        (504, "timeout_error", GatewayTimeoutError, 3),
        (529, "overloaded_error", OverloadedError, 3),
    ],
)
@pytest.mark.anyio
async def test_each_error_status_is_typed_and_retried_only_when_it_should_be(
    status: int,
    error_type: str,
    cls: type[APIStatusError],
    attempts: int,
    waits: list[float],
) -> None:
    fault = Fault.status(status, error_type, message=f"scripted {status}")
    api = FakeMessagesAPI([fault] * 3)
    async with in_process(api) as client:
        with pytest.raises(APIStatusError) as info:
            await client.create(ask())

    err = info.value
    assert type(err) is cls
    assert (err.status_code, err.error_type, err.message) == (
        status,
        error_type,
        f"scripted {status}",
    )
    assert err.request_id == api.last_request.request_id
    assert err.body["error"] == {"type": error_type, "message": f"scripted {status}"}
    assert len(api.requests) == attempts
    assert waits == [0.001, 0.002][: attempts - 1]
    api.assert_valid()


@pytest.mark.anyio
async def test_retried_statuses_wait_as_the_server_asks_then_succeed(waits: list[float]) -> None:
    api = FakeMessagesAPI(
        [
            Fault.status(429, retry_after=2),
            Fault.status(529, retry_after_ms=250),
            Fault.status(503),
            reply("Finally."),
        ]
    )
    retry = RetryPolicy(max_retries=3, initial_delay=0.001, jitter=0.0)
    async with in_process(api, retry=retry) as client:
        message = await client.create(ask())

    assert message.text == "Finally."
    assert len(api.requests) == 4
    # retry-after in seconds, then in ms, then the policy's own third backoff step.
    assert waits == [2.0, 0.25, 0.004]


@pytest.mark.anyio
async def test_x_should_retry_overrides_the_status(waits: list[float]) -> None:
    api = FakeMessagesAPI([Fault.status(529, should_retry=False), reply("unused")])
    async with in_process(api) as client:
        with pytest.raises(OverloadedError) as info:
            await client.create(ask())
    assert info.value.retryable is False
    assert len(api.requests) == 1

    api = FakeMessagesAPI([Fault.status(400, should_retry=True), reply("Second time.")])
    async with in_process(api) as client:
        assert (await client.create(ask())).text == "Second time."
    assert len(api.requests) == 2


@pytest.mark.anyio
async def test_a_proxys_html_error_page_is_a_clear_retried_error(waits: list[float]) -> None:
    api = FakeMessagesAPI([Fault.html(503)] * 3)
    async with in_process(api) as client:
        with pytest.raises(InternalServerError) as info:
            await client.create(ask())

    err = info.value
    assert err.status_code == 503
    assert "non-JSON text/html error body" in err.message
    assert "503 Service Unavailable" in err.message
    assert err.request_id == api.last_request.request_id
    assert len(api.requests) == 3

    api = FakeMessagesAPI([Fault.html(502), reply("Past the proxy.")])
    async with in_process(api) as client:
        assert (await client.create(ask())).text == "Past the proxy."


@pytest.mark.parametrize(
    "fault", [Fault.malformed_json(), Fault.truncate()], ids=["malformed", "truncated"]
)
@pytest.mark.anyio
async def test_a_broken_json_body_is_a_response_error_not_retried(
    fault: Fault, waits: list[float]
) -> None:
    api = FakeMessagesAPI([fault, reply("unused")])
    async with in_process(api) as client:
        with pytest.raises(APIResponseError, match="not valid JSON") as info:
            await client.create(ask())

    assert info.value.request_id == api.last_request.request_id
    assert len(api.requests) == 1
    assert waits == []


@pytest.mark.anyio
async def test_an_error_body_inside_a_200_is_the_same_typed_error(waits: list[float]) -> None:
    api = FakeMessagesAPI([Fault.error_body_200("invalid_request_error", "bad field")])
    async with in_process(api) as client:
        with pytest.raises(InvalidRequestError) as info:
            await client.create(ask())
    err = info.value
    assert (err.status_code, err.error_type, err.message) == (
        400,
        "invalid_request_error",
        "bad field",
    )
    assert err.request_id == api.last_request.request_id
    assert len(api.requests) == 1

    # An overloaded error is retried whether it came as a 529 or inside a 200.
    api = FakeMessagesAPI([Fault.error_body_200("overloaded_error"), reply("Recovered.")])
    async with in_process(api) as client:
        assert (await client.create(ask())).text == "Recovered."
    assert len(api.requests) == 2
    assert waits == [0.001]


@pytest.mark.parametrize("via", ["in-process", "loopback"])
@pytest.mark.anyio
async def test_a_dropped_connection_is_retried_then_a_connection_error(
    via: Via, waits: list[float]
) -> None:
    script: list[ScriptEntry] = [Fault.drop(), Fault.drop_mid_stream(), reply("Reconnected.")]
    script += [Fault.drop()] * 3
    api = FakeMessagesAPI(script)
    with reach(api, via) as client:
        async with client:
            assert (await client.create(ask())).text == "Reconnected."
            assert len(api.requests) == 3
            assert waits == [0.001, 0.002]

            with pytest.raises(APIConnectionError) as info:
                await client.create(ask())
    assert type(info.value) is APIConnectionError
    assert FAKE_API_KEY not in str(info.value)
    assert len(api.requests) == 6


@pytest.mark.anyio
async def test_a_read_timeout_is_retried_then_a_timeout_error(waits: list[float]) -> None:
    api = FakeMessagesAPI([Fault.delay(30)] * 3)
    async with in_process(api, read_timeout=0.05) as client:
        with pytest.raises(APITimeoutError):
            await client.create(ask())
    assert len(api.requests) == 3
    assert waits == [0.001, 0.002]


# -- headers -------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_headers_carry_the_key_version_betas_and_user_agent() -> None:
    api = FakeMessagesAPI([reply("ok")], api_key="sk-ant-test-0123")
    endpoint = Endpoint(
        "http://fake-messages.test",
        api_key="sk-ant-test-0123",
        betas=["token-efficient-tools-2025-02-19", "interleaved-thinking-2025-05-14"],
    )
    async with MessagesClient(endpoint, transport=api.transport()) as client:
        await client.create(ask())

    headers = api.last_request.headers
    assert headers["x-api-key"] == "sk-ant-test-0123"
    assert "authorization" not in headers
    assert headers["anthropic-version"] == "2023-06-01"
    assert headers["anthropic-beta"] == (
        "token-efficient-tools-2025-02-19,interleaved-thinking-2025-05-14"
    )
    assert headers["content-type"] == "application/json"
    assert headers["user-agent"].startswith("toolwire/")
    json.loads(api.last_request.raw)  # the body is the JSON the headers promise
    api.assert_valid()


@pytest.mark.anyio
async def test_a_bearer_token_goes_in_authorization_and_a_version_can_be_pinned() -> None:
    api = FakeMessagesAPI([reply("ok")], api_key="gateway-token-42")
    endpoint = Endpoint(
        "http://fake-messages.test/anthropic",
        auth_token="gateway-token-42",
        anthropic_version="2099-01-01",
    )
    async with MessagesClient(endpoint, transport=api.transport()) as client:
        assert (await client.create(ask())).text == "ok"

    sent = api.last_request
    assert sent.path == "/anthropic/v1/messages"
    assert sent.headers["authorization"] == "Bearer gateway-token-42"
    assert "x-api-key" not in sent.headers
    assert sent.headers["anthropic-version"] == "2099-01-01"
    assert "anthropic-beta" not in sent.headers


@pytest.mark.anyio
async def test_a_wrong_key_is_an_authentication_error_that_does_not_echo_it(
    waits: list[float],
) -> None:
    api = FakeMessagesAPI([reply("unused")], api_key="the-right-key")
    endpoint = Endpoint("http://fake-messages.test", api_key="sk-wrong-key-987")
    async with MessagesClient(endpoint, transport=api.transport()) as client:
        with pytest.raises(AuthenticationError) as info:
            await client.create(ask())

    assert info.value.status_code == 401
    assert "sk-wrong-key-987" not in str(info.value)
    assert "sk-wrong-key-987" not in repr(client)
    assert len(api.requests) == 1
    assert waits == []


# -- models --------------------------------------------------------------------------------


@pytest.mark.parametrize("via", ["in-process", "loopback"])
@pytest.mark.anyio
async def test_models_lists_what_the_fake_serves(via: Via) -> None:
    api = FakeMessagesAPI(models=["claude-test-1", "claude-test-2"])
    with reach(api, via) as client:
        async with client:
            models = await client.models()

    assert [m.id for m in models] == ["claude-test-1", "claude-test-2"]
    assert models[0].type == "model"
    assert models[0].display_name == "Claude Test 1"
    assert api.models_requests == 1
    assert api.requests == []  # /models is not a /messages request


@pytest.mark.anyio
async def test_models_defaults_and_a_base_url_ending_in_v1() -> None:
    api = FakeMessagesAPI()
    endpoint = api.endpoint("http://fake-messages.test/v1/")
    async with MessagesClient(endpoint, transport=api.transport()) as client:
        models = await client.models()
    assert [m.id for m in models] == list(DEFAULT_MODELS)


# -- pooling -------------------------------------------------------------------------------


def echo(request: MessageRequest) -> Message:
    content = request.messages[0].content
    assert isinstance(content, str)
    return reply(f"echo: {content}")


@pytest.mark.anyio
async def test_two_hundred_concurrent_creates_share_kept_alive_connections() -> None:
    api = FakeMessagesAPI([echo], cycle=True)
    answers: dict[int, str] = {}

    async def one(client: MessagesClient, n: int) -> None:
        answers[n] = (await client.create(ask(f"request {n}"))).text

    with api.serve() as base_url:
        async with (
            MessagesClient(api.endpoint(base_url), max_connections=20) as client,
            anyio.create_task_group() as tg,
        ):
            for n in range(200):
                tg.start_soon(one, client, n)

    assert answers == {n: f"echo: request {n}" for n in range(200)}
    assert len(api.requests) == 200
    # Requests were spread over at most the pool's 20 connections, each one reused.
    connections = {r.client for r in api.requests}
    assert 1 <= len(connections) <= 20
    api.assert_valid()
