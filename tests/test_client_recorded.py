"""Exchanges recorded from the live Messages API, replayed through ``MessagesClient``.

Each recording (``tests/data/recorded/``) is a list of request/response pairs in the order
they happened. The client sends each recorded request body; the recorded responses are
served back in order, by a replay transport or as ``Fault.raw`` entries of the fake API.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Literal

import httpx2
import pytest

import toolwire._client as client_module
from toolwire import (
    Endpoint,
    InvalidRequestError,
    Message,
    MessageRequest,
    MessagesClient,
    RateLimitError,
    RetryPolicy,
)
from toolwire._sse import accumulate_sse_text
from toolwire.testing import FakeMessagesAPI, Fault

RECORDED = Path(__file__).parent / "data" / "recorded"

Exchange = dict[str, Any]
Via = Literal["replay", "fake-api"]

POLICY = RetryPolicy(initial_delay=0.3, jitter=0.0)
"""Without jitter, so the waits show they came from this policy: 0.3 s, then 0.6 s."""

# Headers that describe one connection or one encoding of the body, not the response itself.
HOP_BY_HOP = frozenset({"content-length", "connection", "transfer-encoding", "content-encoding"})


def recording(name: str) -> list[Exchange]:
    (path,) = RECORDED.glob(f"*{name}*.json")
    exchanges: list[Exchange] = json.loads(path.read_text())
    return exchanges


def body_bytes(body: Any) -> bytes:
    # The API sends compact JSON; a recorded JSON body dumped the same way has the recorded
    # content-length again.
    if isinstance(body, str):
        return body.encode()
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def served_headers(response: Exchange) -> dict[str, str]:
    headers: dict[str, str] = response["headers"]
    return {k: v for k, v in headers.items() if k.lower() not in HOP_BY_HOP}


class Replay:
    """An ``httpx2.MockTransport`` handler: each request gets the next recorded response."""

    def __init__(self, exchanges: list[Exchange]) -> None:
        self.responses = [exchange["response"] for exchange in exchanges]
        self.requests: list[httpx2.Request] = []

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        recorded = self.responses[len(self.requests) - 1]
        return httpx2.Response(
            recorded["status_code"],
            headers=served_headers(recorded),
            content=body_bytes(recorded["body"]),
        )

    @property
    def bodies(self) -> list[Any]:
        return [json.loads(request.content) for request in self.requests]


class Served:
    """The recorded responses served one way or the other, and what the client sent."""

    def __init__(self, exchanges: list[Exchange], via: Via, **endpoint: Any) -> None:
        self.via = via
        if via == "replay":
            self.replay: Replay | None = Replay(exchanges)
            self.api: FakeMessagesAPI | None = None
            transport: httpx2.AsyncBaseTransport = httpx2.MockTransport(self.replay)
            self.endpoint = Endpoint(
                "https://api.anthropic.com", api_key="sk-ant-replayed-key", **endpoint
            )
        else:
            entries = [
                Fault.raw(
                    e["response"]["status_code"],
                    served_headers(e["response"]),
                    body_bytes(e["response"]["body"]),
                )
                for e in exchanges
            ]
            self.replay = None
            self.api = FakeMessagesAPI(entries)
            transport = self.api.transport()
            self.endpoint = self.api.endpoint(**endpoint)
        self.transport = transport

    def client(self, **options: Any) -> MessagesClient:
        return MessagesClient(self.endpoint, transport=self.transport, **options)

    @property
    def bodies(self) -> list[Any]:
        if self.replay is not None:
            return self.replay.bodies
        assert self.api is not None
        return [json.loads(r.raw) for r in self.api.requests]


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The client's retry waits, recorded instead of slept."""
    recorded: list[float] = []

    async def no_sleep(seconds: float) -> None:
        recorded.append(seconds)

    monkeypatch.setattr(client_module, "sleep", no_sleep)
    return recorded


def request_of(exchange: Exchange) -> MessageRequest:
    return MessageRequest.model_validate(exchange["request"]["body"])


# -- 429, 429, 200 -------------------------------------------------------------------------


@pytest.mark.parametrize("via", ["replay", "fake-api"])
@pytest.mark.anyio
async def test_two_recorded_rate_limits_then_a_json_reply(via: Via, waits: list[float]) -> None:
    exchanges = recording("TestAsyncParse__d743d628")
    assert [e["response"]["status_code"] for e in exchanges] == [429, 429, 200]
    assert {e["response"]["headers"].get("x-should-retry") for e in exchanges[:2]} == {"true"}
    assert not any("retry-after" in e["response"]["headers"] for e in exchanges)
    served = Served(exchanges, via)

    async with served.client(retry=POLICY) as client:
        message = await client.create(request_of(exchanges[0]))

    # Two retries, each sending the recorded body unchanged, waiting as the policy says.
    assert served.bodies == [e["request"]["body"] for e in exchanges]
    assert waits == [0.3, 0.6]
    assert message.to_wire() == exchanges[2]["response"]["body"]
    assert message.text.startswith('{"items":[{"product_name":"Green Tea"')
    if served.api is not None:
        served.api.assert_valid()


@pytest.mark.parametrize("via", ["replay", "fake-api"])
@pytest.mark.anyio
async def test_two_recorded_rate_limits_then_a_stream(via: Via, waits: list[float]) -> None:
    exchanges = recording("TestAsyncStream__a8b7dbb8")
    assert [e["response"]["status_code"] for e in exchanges] == [429, 429, 200]
    assert all(e["request"]["body"]["stream"] is True for e in exchanges)
    served = Served(exchanges, via)
    sse: str = exchanges[2]["response"]["body"]

    async with (
        served.client(retry=POLICY) as client,
        client.stream(request_of(exchanges[0])) as stream,
    ):
        events = [event async for event in stream]
        message = await stream.final_message()

    assert served.bodies == [e["request"]["body"] for e in exchanges]
    assert waits == [0.3, 0.6]
    assert [event.type for event in events] == re.findall(r"^event: (\w+)$", sse, re.MULTILINE)
    assert message.to_wire() == {
        "id": "msg_013nnniYDrJDocdy5nrMU7cH",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5-20250929",
        "content": [{"type": "text", "text": "[12345,67890]"}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {
            "input_tokens": 135,
            "output_tokens": 10,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
            "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0},
            "service_tier": "standard",
            "inference_geo": "not_available",
        },
    }
    if served.api is not None:
        served.api.assert_valid()


@pytest.mark.anyio
async def test_recorded_rate_limits_outlasting_the_retries_raise_the_last_one(
    waits: list[float],
) -> None:
    exchanges = recording("TestAsyncParse__d743d628")
    served = Served(exchanges, "replay")
    async with served.client(
        retry=RetryPolicy(max_retries=1, initial_delay=0.3, jitter=0.0)
    ) as client:
        with pytest.raises(RateLimitError) as info:
            await client.create(request_of(exchanges[0]))

    err = info.value
    recorded_error = exchanges[1]["response"]["body"]
    assert err.status_code == 429
    assert err.message == recorded_error["error"]["message"]
    assert err.request_id == recorded_error["request_id"]
    assert err.retry_after is None
    assert len(served.bodies) == 2
    assert waits == [0.3]


# -- the real 400 --------------------------------------------------------------------------


@pytest.mark.anyio
async def test_the_recorded_400_is_a_typed_error_and_not_retried(waits: list[float]) -> None:
    exchanges = recording("f59a9391")
    first, rejected = exchanges
    assert rejected["response"]["status_code"] == 400
    assert rejected["response"]["headers"]["x-should-retry"] == "false"
    betas = first["request"]["headers"]["anthropic-beta"].split(",")
    served = Served(exchanges, "replay", betas=betas)

    async with served.client(retry=POLICY) as client:
        turn = await client.create(request_of(first))
        with pytest.raises(InvalidRequestError) as info:
            await client.create(request_of(rejected))

    assert turn.to_wire() == first["response"]["body"]
    err = info.value
    recorded_error = rejected["response"]["body"]
    assert err.status_code == 400
    assert err.error_type == "invalid_request_error"
    assert err.message == recorded_error["error"]["message"]
    assert err.message.startswith("messages.0.content.1: unexpected `tool_use_id`")
    assert err.request_id == "req_011CYHyk9NPsBYeGbC9LuDNK"
    assert err.body == recorded_error
    assert err.retryable is False
    assert served.bodies == [e["request"]["body"] for e in exchanges]
    assert served.replay is not None
    assert {r.headers["anthropic-beta"] for r in served.replay.requests} == {",".join(betas)}
    assert waits == []


@pytest.mark.anyio
async def test_the_fake_api_rejects_the_request_the_real_api_rejected() -> None:
    rejected = recording("f59a9391")[1]
    api = FakeMessagesAPI(["unused"])
    async with MessagesClient(api.endpoint(), transport=api.transport()) as client:
        with pytest.raises(InvalidRequestError, match="tool-result-unexpected"):
            await client.create(request_of(rejected))
    assert api.remaining == 1
    assert any("tool-result-unexpected" in v for v in api.violations)


# -- every recording -----------------------------------------------------------------------


def outcome_index(exchanges: list[Exchange], start: int) -> int:
    """The exchange that ends the client's call starting at ``start``: 429s are retried."""
    index = start
    while exchanges[index]["response"]["status_code"] == 429:
        index += 1
    return index


@pytest.mark.parametrize(
    "path", sorted(RECORDED.glob("*.json")), ids=lambda p: p.stem.rsplit("__", 1)[-1][:8]
)
@pytest.mark.anyio
async def test_every_recorded_exchange_replays_through_the_client(
    path: Path, waits: list[float]
) -> None:
    exchanges: list[Exchange] = json.loads(path.read_text())
    beta = exchanges[0]["request"]["headers"].get("anthropic-beta")
    served = Served(exchanges, "replay", betas=beta.split(",") if beta else ())

    async with served.client(retry=POLICY) as client:
        start = 0
        while start < len(exchanges):
            end = outcome_index(exchanges, start)
            request = request_of(exchanges[start])
            response = exchanges[end]["response"]
            if response["status_code"] != 200:
                with pytest.raises(InvalidRequestError) as info:
                    await client.create(request)
                assert info.value.message == response["body"]["error"]["message"]
            elif request.stream:
                async with client.stream(request) as stream:
                    events = [event async for event in stream]
                    message: Message = await stream.final_message()
                assert events[0].type == "message_start"
                assert events[-1].type == "message_stop"
                assert message.to_wire() == accumulate_sse_text(response["body"]).to_wire()
            else:
                message = await client.create(request)
                assert message.to_wire() == response["body"]
            start = end + 1

    # Every recorded request went out as recorded, and no more.
    assert served.bodies == [e["request"]["body"] for e in exchanges]
    assert len(waits) == sum(e["response"]["status_code"] == 429 for e in exchanges)
