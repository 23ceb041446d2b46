"""``MessagesClient.stream`` against the fake Messages API, in-process and on a loopback server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Literal

import pytest

import toolwire._client as client_module
from toolwire import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    Message,
    MessageParam,
    MessageRequest,
    MessagesClient,
    OverloadedError,
    ResponseTooLargeError,
    RetryPolicy,
    StreamIncompleteError,
)
from toolwire._wire.stream_events import (
    ContentBlockDeltaEvent,
    ContentBlockStartEvent,
    ContentBlockStopEvent,
    MessageDeltaEvent,
    MessageStartEvent,
    MessageStopEvent,
    PingEvent,
    StreamEvent,
)
from toolwire.testing import (
    FakeMessagesAPI,
    Fault,
    MessagesApp,
    ScriptEntry,
    reply,
    thinking,
    tool_call,
)
from toolwire.testing._app import ASGIMessage, Receive, Send
from toolwire.testing._server import serve_in_thread

Via = Literal["in-process", "loopback"]

FAST = RetryPolicy(initial_delay=0.001, jitter=0.0)
"""Retry waits of 1 ms, 2 ms, ...: exact, so tests can tell them from a server's retry-after."""

EVENT_CLASSES: dict[str, type[Any]] = {
    "message_start": MessageStartEvent,
    "content_block_start": ContentBlockStartEvent,
    "content_block_delta": ContentBlockDeltaEvent,
    "content_block_stop": ContentBlockStopEvent,
    "message_delta": MessageDeltaEvent,
    "message_stop": MessageStopEvent,
    "ping": PingEvent,
}

USAGE = {"input_tokens": 21, "output_tokens": 9, "cache_read_input_tokens": 4}


class Switch(MessagesApp):
    """A served app that passes each request to the fake API of the test running now.

    One loopback server for the whole module: starting and stopping uvicorn per test would
    cost more than the tests themselves.
    """

    target: MessagesApp | None = None

    async def __call__(self, scope: ASGIMessage, receive: Receive, send: Send) -> None:
        assert self.target is not None, "no fake API is plugged into the loopback server"
        await self.target(scope, receive, send)


@dataclass
class Link:
    """How a test reaches its fake API: in-process, or through the loopback server."""

    via: Via
    switch: Switch | None = None
    base_url: str = ""

    @asynccontextmanager
    async def connect(self, api: FakeMessagesAPI, **options: Any) -> AsyncIterator[MessagesClient]:
        options.setdefault("retry", FAST)
        if self.switch is None:
            client = MessagesClient(api.endpoint(), transport=api.transport(), **options)
        else:
            self.switch.target = api.app
            client = MessagesClient(api.endpoint(self.base_url), **options)
        async with client:
            yield client


@pytest.fixture(scope="module")
def loopback() -> Iterator[Link]:
    switch = Switch()
    with serve_in_thread(switch) as base_url:
        yield Link("loopback", switch, base_url)


@pytest.fixture(params=["in-process", "loopback"])
def link(request: pytest.FixtureRequest) -> Link:
    """Each test runs against the in-process transport and a real server on 127.0.0.1."""
    if request.param == "loopback":
        served: Link = request.getfixturevalue("loopback")
        return served
    return Link("in-process")


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The client's retry waits, recorded instead of slept."""
    recorded: list[float] = []

    async def no_sleep(seconds: float) -> None:
        recorded.append(seconds)

    monkeypatch.setattr(client_module, "sleep", no_sleep)
    return recorded


def ask(text: str = "Hello?") -> MessageRequest:
    return MessageRequest(
        model="claude-test-1", max_tokens=256, messages=[MessageParam(role="user", content=text)]
    )


async def read_all(client: MessagesClient, request: MessageRequest) -> tuple[list[Any], Message]:
    async with client.stream(request) as stream:
        events = [event async for event in stream]
        return events, await stream.final_message()


async def read_until_failure(
    client: MessagesClient, request: MessageRequest, received: list[StreamEvent]
) -> None:
    async with client.stream(request) as stream:
        async for event in stream:
            received.append(event)
        await stream.final_message()


def without_id(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k != "id"}


REPLIES = {
    "text": reply("The answer, in three words and then some: forty-two.", usage=USAGE),
    "tool_use": reply(
        "Let me check.",
        tool_call("get_weather", {"city": "Paris", "unit": "celsius", "days": [1, 2, 3]}),
        usage=USAGE,
    ),
    "thinking": reply(
        thinking("The user wants a sum: 2 + 3 is 5. Say it plainly."), "It is 5.", usage=USAGE
    ),
}


@pytest.mark.parametrize("kind", sorted(REPLIES))
@pytest.mark.anyio
async def test_streamed_reply_is_the_message_create_returns(kind: str, link: Link) -> None:
    message = REPLIES[kind]
    api = FakeMessagesAPI([message, message])
    async with link.connect(api) as client:
        created = await client.create(ask())
        events, streamed = await read_all(client, ask())

    plain, live = api.requests
    assert (plain.streamed, live.streamed) == (False, True)
    assert without_id(streamed.to_wire()) == without_id(created.to_wire())
    # Field for field what the server meant to send, its generated id included.
    assert streamed.to_wire() == api.app.sent[1]
    assert created.to_wire() == api.app.sent[0]
    assert streamed.request_id == live.request_id
    assert created.request_id == plain.request_id
    # Every event the server wrote reached the caller, typed, in the order written.
    assert [event.type for event in events] == live.events_sent
    assert [type(event) for event in events] == [EVENT_CLASSES[t] for t in live.events_sent]
    api.assert_valid()


@pytest.mark.parametrize(
    ("fault", "expected_waits"),
    [
        pytest.param(Fault.status(429, retry_after=0), [0.0], id="429-retry-after-0"),
        pytest.param(Fault.status(529), [0.001], id="529"),
        pytest.param(Fault.drop(), [0.001], id="dropped-connection"),
        pytest.param(
            Fault.stream_error("overloaded_error", after_events=0), [0.001], id="error-event-first"
        ),
    ],
)
@pytest.mark.anyio
async def test_fault_before_the_first_event_is_retried(
    fault: Fault, expected_waits: list[float], link: Link, waits: list[float]
) -> None:
    api = FakeMessagesAPI([fault, reply("Recovered.")])
    async with link.connect(api) as client:
        events, message = await read_all(client, ask())

    assert message.text == "Recovered."
    assert len(api.requests) == 2
    assert all(r.streamed for r in api.requests)
    assert waits == expected_waits
    assert isinstance(events[0], MessageStartEvent)
    assert [event.type for event in events] == api.requests[1].events_sent
    api.assert_valid()


@pytest.mark.anyio
async def test_several_faults_before_any_event_are_each_retried(
    link: Link, waits: list[float]
) -> None:
    script: list[ScriptEntry] = [
        Fault.status(429, retry_after_ms=5),
        Fault.drop(),
        Fault.stream_error("api_error", after_events=0),
        reply("Fourth time lucky."),
    ]
    api = FakeMessagesAPI(script)
    async with link.connect(
        api, retry=RetryPolicy(max_retries=3, initial_delay=0.001, jitter=0)
    ) as client:
        _, message = await read_all(client, ask())

    assert message.text == "Fourth time lucky."
    assert len(api.requests) == 4
    assert waits == [0.005, 0.002, 0.004]


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        pytest.param(
            Fault.stream_error("overloaded_error", after_events=5),
            OverloadedError,
            id="error-event",
        ),
        pytest.param(Fault.drop_mid_stream(after_events=5), APIConnectionError, id="dropped"),
        pytest.param(Fault.truncate(after_events=5), StreamIncompleteError, id="truncated"),
        pytest.param(Fault.delay(30, after_events=5), APITimeoutError, id="stalled"),
    ],
)
@pytest.mark.anyio
async def test_fault_after_events_were_delivered_is_never_retried(
    fault: Fault, error: type[APIError], link: Link, waits: list[float]
) -> None:
    api = FakeMessagesAPI([fault, reply("A retry would get this.")])
    received: list[StreamEvent] = []
    # Only the stalled stream should time out; the others must fail for their own reason.
    read_timeout = 0.2 if fault.kind == "delay" else 30.0
    async with link.connect(api, read_timeout=read_timeout) as client:
        with pytest.raises(APIError) as info:
            await read_until_failure(client, ask(), received)

    assert type(info.value) is error
    assert len(api.requests) == 1
    assert api.remaining == 1
    assert waits == []
    assert [event.type for event in received] == api.requests[0].events_sent[:5]
    assert len(received) == 5
    api.assert_valid()


@pytest.mark.anyio
async def test_mid_stream_error_event_is_the_typed_api_error(link: Link) -> None:
    fault = Fault.stream_error("overloaded_error", after_events=3, message="Overloaded, sorry")
    api = FakeMessagesAPI([fault])
    async with link.connect(api) as client:
        with pytest.raises(OverloadedError) as info:
            await read_all(client, ask())

    err = info.value
    assert (err.status_code, err.error_type, err.message) == (
        529,
        "overloaded_error",
        "Overloaded, sorry",
    )
    assert err.request_id == api.requests[0].request_id
    assert api.requests[0].events_sent[-1] == "error"


@pytest.mark.anyio
async def test_read_timeout_before_any_event_is_retried_then_raised(
    link: Link, waits: list[float]
) -> None:
    api = FakeMessagesAPI([Fault.delay(30)] * 3)
    async with link.connect(api, read_timeout=0.1) as client:
        with pytest.raises(APITimeoutError):
            await read_all(client, ask())

    assert len(api.requests) == 3
    assert waits == [0.001, 0.002]


@pytest.mark.anyio
async def test_event_over_max_event_bytes_is_response_too_large(
    link: Link, waits: list[float]
) -> None:
    big = reply("x" * 3000)  # streamed in three deltas of about 1000 bytes each
    api = FakeMessagesAPI([big, big])
    async with link.connect(api, max_event_bytes=512) as client:
        with pytest.raises(ResponseTooLargeError, match="512-byte limit"):
            await read_all(client, ask())
    assert len(api.requests) == 1
    assert waits == []

    async with link.connect(api, max_event_bytes=4096) as client:
        _, message = await read_all(client, ask())
    assert message.text == "x" * 3000


@pytest.mark.anyio
async def test_json_answer_to_a_stream_request_is_accepted(link: Link) -> None:
    body = reply("Plain JSON, no stream.", id="msg_json", model="claude-test-1", usage=USAGE)
    api = FakeMessagesAPI([Fault.raw(200, {"content-type": "application/json"}, body.to_wire())])
    async with link.connect(api) as client:
        events, message = await read_all(client, ask())

    assert api.requests[0].streamed
    assert events == []
    assert message.to_wire() == body.to_wire()
    assert message.request_id == api.requests[0].request_id


@pytest.mark.anyio
async def test_json_error_body_answering_a_stream_request_is_typed_and_retried(
    link: Link, waits: list[float]
) -> None:
    api = FakeMessagesAPI([Fault.error_body_200("overloaded_error"), reply("Second try.")])
    async with link.connect(api) as client:
        _, message = await read_all(client, ask())

    assert message.text == "Second try."
    assert len(api.requests) == 2
    assert waits == [0.001]


class Leave(Exception):
    """Raised inside a stream block to leave it by an exception."""


@pytest.mark.anyio
async def test_leaving_a_stream_early_releases_its_connection(link: Link) -> None:
    # One connection in the pool: a single leaked connection would starve the next request
    # (it would fail with a pool timeout, after the read timeout).
    long_reply = reply(*[f"Paragraph {n}. " * 20 for n in range(5)])
    api = FakeMessagesAPI([long_reply] * 50 + [reply("Still works.")])
    async with link.connect(api, max_connections=1, read_timeout=5.0) as client:
        for n in range(50):
            if n % 3 == 0:
                async with client.stream(ask()) as stream:
                    async for _ in stream:
                        break
            elif n % 3 == 1:
                async with client.stream(ask()):
                    pass
            else:
                with pytest.raises(Leave):
                    async with client.stream(ask()):
                        raise Leave
        message = await client.create(ask())

    assert message.text == "Still works."
    assert len(api.requests) == 51
    api.assert_valid()


@pytest.mark.anyio
async def test_a_finished_stream_leaves_its_connection_for_the_next_request() -> None:
    api = FakeMessagesAPI([reply(f"Reply {n}.") for n in range(10)])
    with api.serve() as base_url:
        async with MessagesClient(api.endpoint(base_url)) as client:
            for n in range(5):
                _, message = await read_all(client, ask())
                assert message.text == f"Reply {2 * n}."
                assert (await client.create(ask())).text == f"Reply {2 * n + 1}."

    # Every request came over the same kept-alive connection (same client port).
    assert len({r.client for r in api.requests}) == 1
