"""Every fault does what it says, to plain and streamed requests, in-process and over HTTP."""

from __future__ import annotations

import json
import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx2
import pytest

from toolwire.testing import FakeMessagesAPI, Fault, ScriptEntry, reply

HEADERS = {"anthropic-version": "2023-06-01", "x-api-key": "test-key"}
BODY: dict[str, Any] = {
    "model": "claude-test-1",
    "max_tokens": 64,
    "messages": [{"role": "user", "content": "Hello?"}],
}

Via = Literal["in-process", "server"]


@asynccontextmanager
async def client_for(api: FakeMessagesAPI, via: Via) -> AsyncIterator[httpx2.AsyncClient]:
    if via == "in-process":
        async with httpx2.AsyncClient(
            transport=api.transport(), base_url="http://fake-messages.test"
        ) as client:
            yield client
        return
    with api.serve() as base_url:
        async with httpx2.AsyncClient(base_url=base_url) as client:
            yield client


@dataclass
class Seen:
    """What a client observed of one exchange."""

    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    error: type[Exception] | None = None
    error_text: str = ""

    @property
    def events(self) -> list[dict[str, Any]]:
        found = []
        for frame in self.body.decode().split("\n\n"):
            for line in frame.splitlines():
                if line.startswith("data: "):
                    found.append(json.loads(line[6:]))
        return found

    def summary(self) -> tuple[Any, ...]:
        """What must not depend on how the fake is reached."""
        kinds: Any = None
        if self.headers.get("content-type", "").startswith("text/event-stream"):
            try:
                kinds = [e["type"] for e in self.events]
            except ValueError:
                kinds = "broken event data"
        return (
            self.status,
            self.error.__name__ if self.error else None,
            self.headers.get("content-type"),
            self.headers.get("retry-after"),
            self.headers.get("x-should-retry"),
            kinds,
        )


async def observe(
    client: httpx2.AsyncClient, *, stream: bool = False, timeout: float | None = 5.0
) -> Seen:
    seen = Seen()
    body = {**BODY, "stream": True} if stream else BODY
    try:
        async with client.stream(
            "POST", "/v1/messages", json=body, headers=HEADERS, timeout=timeout
        ) as response:
            seen.status = response.status_code
            seen.headers = dict(response.headers)
            async for chunk in response.aiter_raw():
                seen.body += chunk
    except httpx2.TransportError as exc:
        seen.error = type(exc)
        seen.error_text = str(exc)
    return seen


async def run_one(entry: ScriptEntry, *, stream: bool = False, timeout: float | None = 5.0) -> Seen:
    api = FakeMessagesAPI([entry])
    async with client_for(api, "in-process") as client:
        seen = await observe(client, stream=stream, timeout=timeout)
    assert api.violations == []
    return seen


# -- status ---------------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize(
    ("fault", "status", "error_type", "headers"),
    [
        (Fault.status(429, retry_after=0), 429, "rate_limit_error", {"retry-after": "0"}),
        (Fault.status(429, retry_after=1.5), 429, "rate_limit_error", {"retry-after": "1.5"}),
        (
            Fault.status(429, retry_after="Wed, 21 Oct 2015 07:28:00 GMT"),
            429,
            "rate_limit_error",
            {"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"},
        ),
        (Fault.status(500, retry_after_ms=250), 500, "api_error", {"retry-after-ms": "250"}),
        (
            Fault.status(529, should_retry=False),
            529,
            "overloaded_error",
            {"x-should-retry": "false"},
        ),
        (
            Fault.status(409, should_retry=True),
            409,
            "invalid_request_error",
            {"x-should-retry": "true"},
        ),
        (Fault.status(401), 401, "authentication_error", {}),
        (Fault.status(402), 402, "billing_error", {}),
        (Fault.status(403), 403, "permission_error", {}),
        (Fault.status(404), 404, "not_found_error", {}),
        (Fault.status(413), 413, "request_too_large", {}),
        (Fault.status(502), 502, "api_error", {}),
        (Fault.status(504), 504, "timeout_error", {}),
        (
            Fault.status(400, headers={"X-Extra": "yes"}),
            400,
            "invalid_request_error",
            {"x-extra": "yes"},
        ),
        (Fault.status(503, "overloaded_error"), 503, "overloaded_error", {}),
    ],
)
async def test_status_fault_is_an_api_error_response(
    fault: Fault, status: int, error_type: str, headers: dict[str, str], stream: bool
) -> None:
    seen = await run_one(fault, stream=stream)
    assert seen.status == status
    assert seen.headers["content-type"] == "application/json"
    body = json.loads(seen.body)
    assert body["type"] == "error"
    assert body["error"]["type"] == error_type
    assert body["error"]["message"]
    assert body["request_id"] == seen.headers["request-id"]
    assert seen.headers["request-id"].startswith("req_")
    for name, value in headers.items():
        assert seen.headers[name] == value
    assert "retry-after" in seen.headers or "retry-after" not in headers


@pytest.mark.anyio
async def test_status_fault_message_is_the_one_given() -> None:
    seen = await run_one(Fault.status(400, message="max_tokens: too large"))
    assert json.loads(seen.body)["error"]["message"] == "max_tokens: too large"


def test_status_fault_needs_an_error_status() -> None:
    with pytest.raises(ValueError, match="400-599"):
        Fault.status(200)
    with pytest.raises(ValueError, match="seconds >= 0"):
        Fault.delay(-1)


# -- bodies that are not what a client expects ----------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("stream", [False, True])
async def test_html_fault_is_a_proxy_page(stream: bool) -> None:
    seen = await run_one(Fault.html(), stream=stream)
    assert seen.status == 503
    assert seen.headers["content-type"].startswith("text/html")
    assert seen.body.startswith(b"<html>")
    assert b"503 Service Unavailable" in seen.body
    assert seen.headers["request-id"].startswith("req_")
    bad_gateway = await run_one(Fault.html(502))
    assert bad_gateway.status == 502
    assert b"502 Bad Gateway" in bad_gateway.body


@pytest.mark.anyio
async def test_malformed_json_fault_breaks_the_body_or_the_first_event() -> None:
    plain = await run_one(Fault.malformed_json())
    assert plain.status == 200
    assert plain.headers["content-type"] == "application/json"
    with pytest.raises(json.JSONDecodeError):
        json.loads(plain.body)
    streamed = await run_one(Fault.malformed_json(), stream=True)
    assert streamed.status == 200
    assert streamed.headers["content-type"].startswith("text/event-stream")
    assert b"event: message_start" in streamed.body
    with pytest.raises(json.JSONDecodeError):
        _ = streamed.events


@pytest.mark.anyio
@pytest.mark.parametrize("stream", [False, True])
async def test_error_body_200_is_a_200_carrying_an_error(stream: bool) -> None:
    seen = await run_one(Fault.error_body_200("rate_limit_error", "slow down"), stream=stream)
    assert seen.status == 200
    body = json.loads(seen.body)
    assert body["type"] == "error"
    assert body["error"] == {"type": "rate_limit_error", "message": "slow down"}


@pytest.mark.anyio
async def test_raw_fault_sends_exactly_what_it_is_given() -> None:
    seen = await run_one(Fault.raw(418, {"X-Teapot": "yes"}, b"short and stout"))
    assert (seen.status, seen.body, seen.headers["x-teapot"]) == (418, b"short and stout", "yes")
    as_json = await run_one(Fault.raw(200, body={"type": "message", "content": []}))
    assert json.loads(as_json.body) == {"type": "message", "content": []}
    as_text = await run_one(Fault.raw(502, body="bad gateway"))
    assert (as_text.status, as_text.body) == (502, b"bad gateway")


# -- timing ---------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_delay_outlasting_the_read_timeout_is_a_read_timeout() -> None:
    seen = await run_one(Fault.delay(30), timeout=0.05)
    assert seen.error is httpx2.ReadTimeout
    assert seen.status is None


@pytest.mark.anyio
async def test_short_delay_then_answers_with_its_entry() -> None:
    seen = await run_one(Fault.delay(0.01, then=reply("worth the wait")))
    assert json.loads(seen.body)["content"] == [{"type": "text", "text": "worth the wait"}]
    after_fault = await run_one(Fault.delay(0, then=Fault.status(529)))
    assert after_fault.status == 529
    default = await run_one(Fault.delay(0))
    assert json.loads(default.body)["content"][0]["text"]


@pytest.mark.anyio
async def test_delay_after_events_stalls_a_stream_midway() -> None:
    seen = await run_one(
        Fault.delay(30, after_events=4, then=reply("stalls here")), stream=True, timeout=0.3
    )
    assert seen.status == 200
    assert seen.error is httpx2.ReadTimeout
    assert [e["type"] for e in seen.events] == [
        "message_start",
        "content_block_start",
        "ping",
        "content_block_delta",
    ]
    resumed = await run_one(Fault.delay(0.01, after_events=4, then=reply("resumes")), stream=True)
    assert resumed.events[-1]["type"] == "message_stop"


# -- connections cut ------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("stream", [False, True])
async def test_drop_closes_the_connection_before_any_response(stream: bool) -> None:
    seen = await run_one(Fault.drop(), stream=stream)
    assert seen.status is None
    assert seen.error is httpx2.RemoteProtocolError
    assert seen.error_text == "Server disconnected without sending a response."


@pytest.mark.anyio
async def test_drop_mid_stream_delivers_some_events_then_cuts() -> None:
    seen = await run_one(Fault.drop_mid_stream(after_events=5), stream=True)
    assert seen.status == 200
    assert seen.error is httpx2.RemoteProtocolError
    assert "incomplete chunked read" in seen.error_text
    assert len(seen.events) == 5
    plain = await run_one(Fault.drop_mid_stream())
    assert plain.status == 200
    assert plain.error is httpx2.RemoteProtocolError
    assert "received" in plain.error_text
    assert "expected" in plain.error_text


@pytest.mark.anyio
async def test_truncate_ends_the_stream_cleanly_without_message_stop() -> None:
    message = reply("A longer text so the stream has several deltas in it.")
    seen = await run_one(Fault.truncate(after_events=6, message=message), stream=True)
    assert seen.error is None
    assert len(seen.events) == 6
    assert "message_stop" not in [e["type"] for e in seen.events]
    plain = await run_one(Fault.truncate())
    assert plain.status == 200
    assert plain.error is None
    with pytest.raises(json.JSONDecodeError):
        json.loads(plain.body)


@pytest.mark.anyio
async def test_stream_error_sends_an_error_event_mid_stream() -> None:
    seen = await run_one(Fault.stream_error(after_events=3), stream=True)
    assert seen.error is None
    events = seen.events
    assert [e["type"] for e in events] == ["message_start", "content_block_start", "ping", "error"]
    assert events[-1]["error"]["type"] == "overloaded_error"
    assert b"event: error\n" in seen.body
    custom = await run_one(Fault.stream_error("api_error", 1, message="boom"), stream=True)
    assert custom.events[-1] == {"type": "error", "error": {"type": "api_error", "message": "boom"}}
    plain = await run_one(Fault.stream_error())
    assert plain.status == 529
    assert json.loads(plain.body)["error"]["type"] == "overloaded_error"


@pytest.mark.anyio
async def test_a_fault_past_the_end_of_the_stream_keeps_every_event() -> None:
    seen = await run_one(Fault.truncate(after_events=100), stream=True)
    assert seen.events[-1]["type"] == "message_stop"


# -- the same behaviour both ways -----------------------------------------------------------


@pytest.mark.anyio
async def test_every_fault_looks_the_same_in_process_and_over_http() -> None:
    # (entry, streamed, read timeout): the timeouts only need to outlast a healthy read.
    cases: list[tuple[ScriptEntry, bool, float | None]] = [
        (Fault.status(429, retry_after=0, should_retry=True), False, 5.0),
        (Fault.status(529), True, 5.0),
        (Fault.html(), False, 5.0),
        (Fault.malformed_json(), False, 5.0),
        (Fault.malformed_json(), True, 5.0),
        (Fault.error_body_200("overloaded_error"), True, 5.0),
        (Fault.delay(math.inf), False, 0.3),
        (Fault.delay(math.inf, after_events=2), True, 0.3),
        (Fault.drop(), False, 5.0),
        (Fault.drop(), True, 5.0),
        (Fault.drop_mid_stream(after_events=3), True, 5.0),
        (Fault.drop_mid_stream(), False, 5.0),
        (Fault.truncate(after_events=3), True, 5.0),
        (Fault.stream_error(after_events=2), True, 5.0),
        (Fault.raw(418, {"content-type": "text/plain"}, b"teapot"), False, 5.0),
        (reply("still serving after all that"), True, 5.0),
    ]
    results: dict[Via, list[tuple[Any, ...]]] = {}
    for via in ("in-process", "server"):
        api = FakeMessagesAPI([entry for entry, _, _ in cases])
        async with client_for(api, via) as client:
            results[via] = [
                (await observe(client, stream=stream, timeout=timeout)).summary()
                for _, stream, timeout in cases
            ]
        api.assert_valid()
        assert api.remaining == 0
    assert results["in-process"] == results["server"]
    errors = [summary[1] for summary in results["server"]]
    assert errors == [
        None,
        None,
        None,
        None,
        None,
        None,
        "ReadTimeout",
        "ReadTimeout",
        "RemoteProtocolError",
        "RemoteProtocolError",
        "RemoteProtocolError",
        "RemoteProtocolError",
        None,
        None,
        None,
        None,
    ]
    assert results["server"][0][3:5] == ("0", "true")
    assert results["server"][-1][5][-1] == "message_stop"
