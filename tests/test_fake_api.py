"""The fake Messages API: replies as JSON and as incremental SSE, in-process and over HTTP."""

from __future__ import annotations

import json
import math
import sys
import threading
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any, Literal

import anthropic
import anyio
import httpx2
import pytest
import sniffio
import trio

import toolwire.testing._api as api_module
from toolwire._wire.blocks import TextBlock
from toolwire._wire.messages import Message
from toolwire._wire.request import MessageRequest
from toolwire.testing import (
    FAKE_API_KEY,
    FakeMessagesAPI,
    Fault,
    MessagesApp,
    reply,
    thinking,
    tool_call,
)

HEADERS = {"anthropic-version": "2023-06-01", "x-api-key": "test-key"}
BODY: dict[str, Any] = {
    "model": "claude-test-1",
    "max_tokens": 64,
    "messages": [{"role": "user", "content": "Weather in Paris?"}],
}
STREAM_BODY: dict[str, Any] = {**BODY, "stream": True}

Via = Literal["in-process", "server"]


@asynccontextmanager
async def client_for(api: FakeMessagesAPI, via: Via) -> AsyncIterator[httpx2.AsyncClient]:
    """A client reaching ``api`` in-process or through a real server on loopback."""
    if via == "in-process":
        async with httpx2.AsyncClient(
            transport=api.transport(), base_url="http://fake-messages.test"
        ) as client:
            yield client
        return
    with api.serve() as base_url:
        async with httpx2.AsyncClient(base_url=base_url) as client:
            yield client


async def sse_events(response: httpx2.Response, limit: int | None = None) -> list[dict[str, Any]]:
    """The events of a streamed response, stopping after ``limit`` when given."""
    events: list[dict[str, Any]] = []
    async for sse in httpx2.EventSource(response):
        events.append(json.loads(sse.data))
        if limit is not None and len(events) == limit:
            break
    return events


def live_tasks() -> int:
    """How many tasks the running event loop has."""
    if sniffio.current_async_library() == "trio":
        return trio.lowlevel.current_statistics().tasks_living
    import asyncio

    return len(asyncio.all_tasks())


def without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [without_nulls(v) for v in value]
    return value


def fake_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "toolwire-fake-api"]


# -- plain JSON replies ---------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("via", ["in-process", "server"])
async def test_json_reply_is_a_complete_message_and_the_request_is_recorded(via: Via) -> None:
    api = FakeMessagesAPI(
        [reply("Let me look.", tool_call("get_weather", {"city": "Paris"}, id="toolu_01abc"))]
    )
    async with client_for(api, via) as client:
        response = await client.post("/v1/messages", json=BODY, headers=HEADERS)

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    data = response.json()
    assert data["id"].startswith("msg_01")
    assert data["type"] == "message"
    assert data["role"] == "assistant"
    assert data["model"] == "claude-test-1"  # echoes the request's model
    assert data["content"] == [
        {"type": "text", "text": "Let me look."},
        {
            "type": "tool_use",
            "id": "toolu_01abc",
            "name": "get_weather",
            "input": {"city": "Paris"},
        },
    ]
    assert data["stop_reason"] == "tool_use"
    assert data["stop_sequence"] is None
    assert data["usage"]["input_tokens"] > 0
    assert data["usage"]["output_tokens"] > 0
    assert response.headers["request-id"].startswith("req_")

    [record] = api.requests
    assert record.number == 1
    assert record.method == "POST"
    assert record.path == "/v1/messages"
    assert record.body == BODY
    assert json.loads(record.raw) == BODY
    assert record.headers["x-api-key"] == "test-key"
    assert record.headers["anthropic-version"] == "2023-06-01"
    assert not record.streamed
    assert record.request_id == response.headers["request-id"]
    assert isinstance(record.request, MessageRequest)
    assert record.request.messages[0].content == "Weather in Paris?"
    assert api.last_request is record
    assert api.remaining == 0
    api.assert_valid()


@pytest.mark.anyio
async def test_reply_arguments_override_what_the_server_fills_in() -> None:
    api = FakeMessagesAPI(
        [
            reply(
                "Hi",
                model="claude-other",
                id="msg_fixed",
                usage={"input_tokens": 7, "output_tokens": 3},
                stop_sequence="STOP",
            ),
            Message(content=[TextBlock(text="bare")]),
        ]
    )
    async with client_for(api, "in-process") as client:
        first = (await client.post("/v1/messages", json=BODY, headers=HEADERS)).json()
        second = (await client.post("/v1/messages", json=BODY, headers=HEADERS)).json()
    assert first["model"] == "claude-other"
    assert first["id"] == "msg_fixed"
    assert first["usage"] == {"input_tokens": 7, "output_tokens": 3}
    assert (first["stop_reason"], first["stop_sequence"]) == ("stop_sequence", "STOP")
    assert second["stop_reason"] == "end_turn"
    assert second["model"] == "claude-test-1"


def test_reply_builds_blocks_from_strings_tool_calls_and_dicts() -> None:
    message = reply(
        thinking("Considering.", signature="sig_1"),
        "Text.",
        tool_call("add", {"a": 1}),
        {"type": "redacted_thinking", "data": "opaque"},
    )
    wire = message.to_wire()
    assert [b["type"] for b in wire["content"]] == [
        "thinking",
        "text",
        "tool_use",
        "redacted_thinking",
    ]
    assert wire["content"][0] == {
        "type": "thinking",
        "thinking": "Considering.",
        "signature": "sig_1",
    }
    assert wire["content"][2]["id"].startswith("toolu_01")
    assert message.stop_reason == "tool_use"
    assert reply("done").stop_reason == "end_turn"
    assert reply("x", stop_reason="max_tokens").stop_reason == "max_tokens"
    assert tool_call("a").id != tool_call("a").id


# -- streamed replies -----------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("via", ["in-process", "server"])
async def test_streamed_reply_has_the_real_event_sequence(via: Via) -> None:
    api = FakeMessagesAPI(
        [reply("Checking the weather now.", tool_call("get_weather", {"city": "Paris"}))]
    )
    async with (
        client_for(api, via) as client,
        client.stream("POST", "/v1/messages", json=STREAM_BODY, headers=HEADERS) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["request-id"].startswith("req_")
        events = await sse_events(response)

    kinds = [
        e["type"] if e["type"] != "content_block_delta" else e["delta"]["type"] for e in events
    ]
    assert kinds == [
        "message_start",
        "content_block_start",
        "ping",
        "text_delta",
        "text_delta",
        "text_delta",
        "content_block_stop",
        "content_block_start",
        "input_json_delta",
        "input_json_delta",
        "input_json_delta",
        "input_json_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    start = events[0]["message"]
    assert start["content"] == []
    assert start["stop_reason"] is None
    assert start["model"] == "claude-test-1"
    deltas = [e for e in events if e["type"] == "content_block_delta"]
    text = "".join(e["delta"]["text"] for e in deltas if e["index"] == 0)
    assert text == "Checking the weather now."
    fragments = [e["delta"]["partial_json"] for e in deltas if e["index"] == 1]
    assert fragments[0] == ""
    assert json.loads("".join(fragments)) == {"city": "Paris"}
    assert events[7]["content_block"]["input"] == {}
    assert events[-2]["delta"] == {"stop_reason": "tool_use", "stop_sequence": None}
    assert api.last_request.streamed
    assert api.last_request.events_sent == [e["type"] for e in events]


@contextmanager
def base_url_and_client(api: FakeMessagesAPI, via: Via) -> Iterator[tuple[str, httpx2.AsyncClient]]:
    if via == "in-process":
        yield "http://fake-messages.test", httpx2.AsyncClient(transport=api.transport())
    else:
        with api.serve() as base_url:
            yield base_url, httpx2.AsyncClient()


@pytest.mark.anyio
@pytest.mark.parametrize("via", ["in-process", "server"])
async def test_official_sdk_reads_the_same_message_from_json_and_from_the_stream(via: Via) -> None:
    message = reply(
        thinking("First, the city.", signature="sig_abc"),
        "Let me look.",
        tool_call("get_weather", {"city": "Paris", "days": [1, 2]}),
        {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_01", "content": []},
        {"type": "redacted_thinking", "data": "opaque"},
    )
    api = FakeMessagesAPI([message, message])
    with base_url_and_client(api, via) as (base_url, http_client):
        sdk = anthropic.AsyncAnthropic(
            api_key="test-key", base_url=base_url, http_client=http_client
        )
        params: dict[str, Any] = {
            "model": "claude-test-1",
            "max_tokens": 64,
            "messages": [{"role": "user", "content": "hi"}],
        }
        created = await sdk.messages.create(**params)
        async with sdk.messages.stream(**params) as stream:
            streamed = await stream.get_final_message()
        await sdk.close()
    first, second = api.app.sent
    assert without_nulls(created.model_dump(mode="json")) == without_nulls(first)
    assert without_nulls(streamed.model_dump(mode="json")) == without_nulls(second)
    api.assert_valid()


@pytest.mark.anyio
async def test_in_process_events_reach_the_client_before_the_app_sends_the_next() -> None:
    api = FakeMessagesAPI([reply("One two three four five six.")])
    async with (
        client_for(api, "in-process") as client,
        client.stream("POST", "/v1/messages", json=STREAM_BODY, headers=HEADERS) as response,
    ):
        seen: list[list[str]] = []
        async for sse in httpx2.EventSource(response):
            seen.append(list(api.last_request.events_sent))
            assert json.loads(sse.data)["type"] == sse.event
    # When the client held event n, the app had sent exactly n events: nothing was buffered.
    assert [len(s) for s in seen] == list(range(1, len(seen) + 1))
    assert seen[-1][-1] == "message_stop"


@pytest.mark.anyio
@pytest.mark.parametrize("via", ["in-process", "server"])
async def test_events_arrive_while_the_stream_is_still_open(via: Via) -> None:
    # The server stalls after three events until the client goes away: whatever the client
    # reads was sent incrementally, before the end of the stream.
    api = FakeMessagesAPI([Fault.delay(math.inf, after_events=3, then=reply("Slow answer."))])
    async with (
        client_for(api, via) as client,
        client.stream("POST", "/v1/messages", json=STREAM_BODY, headers=HEADERS) as response,
    ):
        events = await sse_events(response, limit=3)
        assert [e["type"] for e in events] == ["message_start", "content_block_start", "ping"]
        assert api.last_request.events_sent == ["message_start", "content_block_start", "ping"]


@pytest.mark.anyio
async def test_closing_a_stream_early_stops_the_app_and_leaves_no_task() -> None:
    api = FakeMessagesAPI([reply("A reply long enough to stream in a few pieces.")])
    before = live_tasks()
    async with client_for(api, "in-process") as client:
        async with client.stream(
            "POST", "/v1/messages", json=STREAM_BODY, headers=HEADERS
        ) as response:
            await sse_events(response, limit=2)
            assert live_tasks() == before
        await anyio.sleep(0.01)
        assert live_tasks() == before
        # The app stopped where the client left: nothing more was produced.
        assert api.last_request.events_sent == ["message_start", "content_block_start"]
        # The client still works afterwards.
        api.add(reply("again"))
        again = await client.post("/v1/messages", json=BODY, headers=HEADERS)
        assert again.json()["content"][0]["text"] == "again"


# -- the real server ------------------------------------------------------------------------


def test_server_works_from_sync_code_keeps_connections_alive_and_stops_its_thread() -> None:
    api = FakeMessagesAPI([reply("one"), reply("two")])
    with api.serve() as base_url:
        assert base_url.startswith("http://127.0.0.1:")
        assert len(fake_threads()) == 1
        with httpx2.Client(base_url=base_url) as client:
            texts = [
                client.post("/v1/messages", json=BODY, headers=HEADERS).json()["content"][0]["text"]
                for _ in range(2)
            ]
    assert texts == ["one", "two"]
    first, second = api.requests
    assert first.client is not None
    assert first.client == second.client  # one connection, kept alive between requests
    assert fake_threads() == []


def test_serving_without_uvicorn_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "uvicorn", None)
    with (
        pytest.raises(RuntimeError, match=r"uvicorn.*toolwire\[testing\]"),
        FakeMessagesAPI().serve(),
    ):
        pass


def test_serve_forever_serves_the_file_script_in_a_loop(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    script = tmp_path / "script.json"
    script.write_text(json.dumps(["first", "second"]))
    served: list[tuple[MessagesApp, str, int]] = []
    monkeypatch.setattr(
        api_module, "run_forever", lambda app, host, port: served.append((app, host, port))
    )
    api_module.serve_forever(8765, script)
    [(app, host, port)] = served
    assert (host, port) == ("127.0.0.1", 8765)
    assert app.cycle
    api = FakeMessagesAPI()
    api.app = app
    texts = []
    with api.serve() as base_url, httpx2.Client(base_url=base_url) as client:
        for _ in range(3):
            texts.append(
                client.post("/v1/messages", json=BODY, headers=HEADERS).json()["content"][0]["text"]
            )
    assert texts == ["first", "second", "first"]


# -- callables, routes, auth ----------------------------------------------------------------


@pytest.mark.anyio
async def test_the_app_answers_lifespan_events_for_other_servers() -> None:
    incoming = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    outgoing: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return incoming.pop(0)

    async def send(message: dict[str, Any]) -> None:
        outgoing.append(message)

    await FakeMessagesAPI().app({"type": "lifespan"}, receive, send)  # type: ignore[arg-type]
    assert outgoing == [
        {"type": "lifespan.startup.complete"},
        {"type": "lifespan.shutdown.complete"},
    ]


@pytest.mark.anyio
async def test_callable_entries_get_the_parsed_request() -> None:
    seen: list[MessageRequest] = []

    def echo(request: MessageRequest) -> Message:
        seen.append(request)
        return reply(f"you said: {request.messages[-1].content}")

    async def later(request: MessageRequest) -> Fault:
        await anyio.sleep(0)
        return Fault.status(529)

    api = FakeMessagesAPI([echo, later, lambda request: "plain text"])
    async with client_for(api, "in-process") as client:
        first = await client.post("/v1/messages", json=BODY, headers=HEADERS)
        second = await client.post("/v1/messages", json=BODY, headers=HEADERS)
        third = await client.post("/v1/messages", json=BODY, headers=HEADERS)
    assert first.json()["content"] == [{"type": "text", "text": "you said: Weather in Paris?"}]
    assert seen[0].model == "claude-test-1"
    assert second.status_code == 529
    assert third.json()["content"][0]["text"] == "plain text"
    api.assert_valid()


@pytest.mark.anyio
async def test_a_failing_callable_is_a_500_and_a_violation() -> None:
    def broken(request: MessageRequest) -> Message:
        raise ValueError("no weather today")

    api = FakeMessagesAPI([broken, lambda request: 42])  # type: ignore[list-item,return-value]
    async with client_for(api, "in-process") as client:
        first = await client.post("/v1/messages", json=BODY, headers=HEADERS)
        second = await client.post("/v1/messages", json=BODY, headers=HEADERS)
    assert first.status_code == 500
    assert first.json()["error"]["type"] == "api_error"
    assert "no weather today" in first.json()["error"]["message"]
    assert second.status_code == 500
    assert api.violations == [
        "request #1: script-error: ValueError: no weather today",
        "request #2: script-error: TypeError: a script entry gave int, not a message or Fault",
    ]


@pytest.mark.anyio
async def test_an_exhausted_script_answers_500_and_fails_assert_valid() -> None:
    api = FakeMessagesAPI([reply("only one")])
    async with client_for(api, "in-process") as client:
        await client.post("/v1/messages", json=BODY, headers=HEADERS)
        response = await client.post("/v1/messages", json=BODY, headers=HEADERS)
    assert response.status_code == 500
    assert response.json()["error"]["type"] == "api_error"
    assert "script has only 1 replies" in response.json()["error"]["message"]
    assert api.violations == ["request #2: script-exhausted: script has only 1 replies"]
    with pytest.raises(
        AssertionError, match=r"(?s)1 protocol violation.*request #2: script-exhausted"
    ):
        api.assert_valid()


@pytest.mark.anyio
async def test_a_cycling_script_starts_over_and_an_empty_one_says_hello() -> None:
    api = FakeMessagesAPI(["a", "b"], cycle=True)
    empty = FakeMessagesAPI(cycle=True)
    async with client_for(api, "in-process") as client, client_for(empty, "in-process") as other:
        texts = [
            (await client.post("/v1/messages", json=BODY, headers=HEADERS)).json()["content"][0][
                "text"
            ]
            for _ in range(5)
        ]
        hello = (await other.post("/v1/messages", json=BODY, headers=HEADERS)).json()
    assert texts == ["a", "b", "a", "b", "a"]
    assert hello["content"][0]["text"]
    api.assert_valid()


@pytest.mark.anyio
async def test_a_request_breaking_a_rule_is_a_400_naming_it_and_takes_no_entry() -> None:
    api = FakeMessagesAPI([reply("kept for the valid request")])
    bad = {**BODY, "messages": [{"role": "assistant", "content": [tool_call("x").to_wire()]}]}
    async with client_for(api, "in-process") as client:
        rejected = await client.post("/v1/messages", json=bad, headers=HEADERS)
        no_version = await client.post("/v1/messages", json=BODY, headers={"x-api-key": "k"})
        not_json = await client.post("/v1/messages", content=b"{nope", headers=HEADERS)
        accepted = await client.post("/v1/messages", json=BODY, headers=HEADERS)
    assert rejected.status_code == 400
    error = rejected.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert "first-role" in error["message"]
    assert "tool-result-missing" in error["message"]
    assert no_version.status_code == 400
    assert not_json.status_code == 400
    assert accepted.json()["content"][0]["text"] == "kept for the valid request"
    violations = api.violations
    assert any(v.startswith("request #1: first-role:") for v in violations)
    assert any(v.startswith("request #1: tool-result-missing:") for v in violations)
    assert any(v.startswith("request #2: anthropic-version:") for v in violations)
    assert any(v.startswith("request #3: body:") for v in violations)
    assert not any(v.startswith("request #4") for v in violations)
    assert api.requests[0].violations
    with pytest.raises(AssertionError, match="request #3 is not a valid MessageRequest: the body"):
        api.requests[2].request  # noqa: B018
    with pytest.raises(AssertionError, match=r"request #1: first-role"):
        api.assert_valid()


@pytest.mark.anyio
async def test_non_strict_mode_records_violations_but_answers_from_the_script() -> None:
    api = FakeMessagesAPI([reply("answered anyway")], strict=False)
    bad = {**BODY, "temperature": 3}
    async with client_for(api, "in-process") as client:
        response = await client.post("/v1/messages", json=bad, headers=HEADERS)
    assert response.json()["content"][0]["text"] == "answered anyway"
    assert [v.split(":")[1].strip() for v in api.violations] == ["temperature"]


@pytest.mark.anyio
async def test_routes_prefixed_paths_models_and_unknown_ones() -> None:
    api = FakeMessagesAPI([reply("prefixed")], models=["model-a", "model-b"])
    async with client_for(api, "in-process") as client:
        prefixed = await client.post("/anthropic/v1/messages", json=BODY, headers=HEADERS)
        models = await client.get("/v1/models", headers=HEADERS)
        missing = await client.get("/v1/other", headers=HEADERS)
        wrong_method = await client.get("/v1/messages", headers=HEADERS)
    assert prefixed.json()["content"][0]["text"] == "prefixed"
    assert api.last_request.path == "/anthropic/v1/messages"
    listing = models.json()
    assert [m["id"] for m in listing["data"]] == ["model-a", "model-b"]
    assert all(m["type"] == "model" for m in listing["data"])
    assert (listing["has_more"], listing["first_id"], listing["last_id"]) == (
        False,
        "model-a",
        "model-b",
    )
    assert models.headers["request-id"].startswith("req_")
    assert api.models_requests == 1
    assert missing.status_code == 404
    assert missing.json()["error"]["type"] == "not_found_error"
    assert wrong_method.status_code == 405
    assert len(api.requests) == 1


@pytest.mark.anyio
async def test_api_key_is_required_when_set_and_endpoint_carries_it() -> None:
    api = FakeMessagesAPI([reply("welcome")], api_key="sk-secret-for-test")
    endpoint = api.endpoint()
    assert endpoint.url == "http://fake-messages.test/v1/messages"
    assert "sk-secret-for-test" not in repr(api)
    async with client_for(api, "in-process") as client:
        denied = await client.post("/v1/messages", json=BODY, headers=HEADERS)
        allowed = await client.post(endpoint.url, json=BODY, headers=endpoint.headers())
    assert denied.status_code == 401
    assert denied.json()["error"]["type"] == "authentication_error"
    assert allowed.json()["content"][0]["text"] == "welcome"
    assert FakeMessagesAPI().endpoint().headers()["x-api-key"] == FAKE_API_KEY
    assert FakeMessagesAPI().endpoint("http://127.0.0.1:9/anthropic").url == (
        "http://127.0.0.1:9/anthropic/v1/messages"
    )


# -- concurrency ----------------------------------------------------------------------------


def test_concurrent_requests_from_threads_each_take_one_entry_in_order() -> None:
    workers, each = 8, 5
    api = FakeMessagesAPI([reply(f"r{n}") for n in range(workers * each)])

    def calls(base_url: str) -> list[tuple[str, str]]:
        with httpx2.Client(base_url=base_url) as client:
            answers = []
            for _ in range(each):
                response = client.post("/v1/messages", json=BODY, headers=HEADERS)
                answers.append(
                    (response.headers["request-id"], response.json()["content"][0]["text"])
                )
            return answers

    with api.serve() as base_url, ThreadPoolExecutor(max_workers=workers) as pool:
        answers = [a for batch in pool.map(calls, [base_url] * workers) for a in batch]

    texts = [text for _, text in answers]
    assert sorted(texts) == sorted(f"r{n}" for n in range(workers * each))
    number_of = {r.request_id: r.number for r in api.requests}
    # Request #n took entry n: numbering and script order agree under concurrency.
    assert all(text == f"r{number_of[rid] - 1}" for rid, text in answers)
    assert api.remaining == 0
    api.assert_valid()


@pytest.mark.anyio
async def test_concurrent_in_process_streams_interleave_without_mixing() -> None:
    api = FakeMessagesAPI([reply(f"stream number {n} speaking") for n in range(10)])
    results: dict[int, str] = {}

    async def one(n: int, client: httpx2.AsyncClient) -> None:
        async with client.stream(
            "POST", "/v1/messages", json=STREAM_BODY, headers=HEADERS
        ) as response:
            events = await sse_events(response)
        text = "".join(
            e["delta"].get("text", "") for e in events if e["type"] == "content_block_delta"
        )
        results[n] = text

    async with client_for(api, "in-process") as client, anyio.create_task_group() as tg:
        for n in range(10):
            tg.start_soon(one, n, client)
    assert sorted(results.values()) == sorted(f"stream number {n} speaking" for n in range(10))
    api.assert_valid()


# -- scripts from files ---------------------------------------------------------------------


@pytest.mark.anyio
async def test_from_file_reads_text_messages_and_faults(tmp_path: Path) -> None:
    path = tmp_path / "script.json"
    path.write_text(
        json.dumps(
            [
                "Hello!",
                {"fault": "status", "status": 429, "retry_after": 2},
                {
                    "content": [
                        {"type": "tool_use", "id": "toolu_01x", "name": "add", "input": {"a": 1}}
                    ]
                },
                {"fault": "delay", "seconds": 0.01, "then": "Late."},
                {
                    "fault": "truncate",
                    "after_events": 2,
                    "message": {"content": [{"type": "text", "text": "cut"}]},
                },
            ]
        ),
        encoding="utf-8",
    )
    api = FakeMessagesAPI.from_file(path)
    assert api.remaining == 5
    async with client_for(api, "in-process") as client:
        hello = await client.post("/v1/messages", json=BODY, headers=HEADERS)
        limited = await client.post("/v1/messages", json=BODY, headers=HEADERS)
        tool = await client.post("/v1/messages", json=BODY, headers=HEADERS)
        late = await client.post("/v1/messages", json=BODY, headers=HEADERS)
        async with client.stream(
            "POST", "/v1/messages", json=STREAM_BODY, headers=HEADERS
        ) as response:
            cut = await sse_events(response)
    assert hello.json()["content"] == [{"type": "text", "text": "Hello!"}]
    assert (limited.status_code, limited.headers["retry-after"]) == (429, "2")
    assert tool.json()["stop_reason"] == "tool_use"
    assert late.json()["content"][0]["text"] == "Late."
    assert [e["type"] for e in cut] == ["message_start", "content_block_start"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{", "not valid JSON"),
        ('{"a": 1}', "a JSON list"),
        ('[{"fault": "explode"}]', "entry 0: unknown fault 'explode'"),
        ('["ok", {"fault": "status", "status": 429, "bogus": 1}]', "entry 1: fault 'status'"),
        ('[{"fault": "truncate", "message": {"fault": "drop"}}]', "'message' must be a message"),
        ("[3]", "entry 0: a script entry must be a string or an object"),
    ],
)
def test_from_file_names_the_broken_entry(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "script.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        FakeMessagesAPI.from_file(path)
