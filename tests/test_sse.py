"""Streamed responses: SSE framing into typed events, and accumulation into a ``Message``."""

from __future__ import annotations

import gzip
import json
from collections.abc import AsyncIterator, Iterable, Sequence
from typing import Any

import httpx2
import pytest

from toolwire._errors import (
    APIResponseError,
    InternalServerError,
    OverloadedError,
    ResponseTooLargeError,
    StreamIncompleteError,
    ToolInputJSONError,
    status_error,
)
from toolwire._sse import MessageAccumulator, accumulate_sse_text, aiter_stream_events
from toolwire._sse import accumulator as accumulator_module
from toolwire._wire.blocks import (
    ServerToolResultBlock,
    ServerToolUseBlock,
    TextBlock,
    ThinkingBlock,
    ToolUseBlock,
    UnknownBlock,
)
from toolwire._wire.messages import Container, Message
from toolwire._wire.stream_events import (
    ContentBlockDeltaEvent,
    ContentBlockStartEvent,
    ErrorEvent,
    PingEvent,
    StreamEvent,
    UnknownStreamEvent,
    stream_event_adapter,
)

# -- building streams --------------------------------------------------------------------------


def start(**message: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-test",
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": 10, "output_tokens": 1},
    }
    body.update(message)
    return {"type": "message_start", "message": body}


def block_start(index: int, block: dict[str, Any]) -> dict[str, Any]:
    return {"type": "content_block_start", "index": index, "content_block": block}


def delta(index: int, payload: dict[str, Any]) -> dict[str, Any]:
    return {"type": "content_block_delta", "index": index, "delta": payload}


def text(index: int, fragment: str) -> dict[str, Any]:
    return delta(index, {"type": "text_delta", "text": fragment})


def json_part(index: int, fragment: str) -> dict[str, Any]:
    return delta(index, {"type": "input_json_delta", "partial_json": fragment})


def block_stop(index: int) -> dict[str, Any]:
    return {"type": "content_block_stop", "index": index}


def message_delta(stop_reason: str | None = "end_turn", **usage: Any) -> dict[str, Any]:
    return {
        "type": "message_delta",
        "delta": {"stop_reason": stop_reason, "stop_sequence": None},
        "usage": usage or {"output_tokens": 5},
    }


STOP: dict[str, Any] = {"type": "message_stop"}
PING: dict[str, Any] = {"type": "ping"}
TEXT_BLOCK: dict[str, Any] = {"type": "text", "text": ""}


def tool_block(name: str = "get_weather", ident: str = "toolu_1") -> dict[str, Any]:
    return {"type": "tool_use", "id": ident, "name": name, "input": {}}


def hello_stream() -> list[dict[str, Any]]:
    return [
        start(),
        block_start(0, TEXT_BLOCK),
        PING,
        text(0, "Hello"),
        text(0, " there"),
        block_stop(0),
        message_delta("end_turn", output_tokens=6),
        STOP,
    ]


HELLO_MESSAGE: dict[str, Any] = {
    "id": "msg_1",
    "type": "message",
    "role": "assistant",
    "model": "claude-test",
    "content": [{"type": "text", "text": "Hello there"}],
    "stop_reason": "end_turn",
    "stop_sequence": None,
    "usage": {"input_tokens": 10, "output_tokens": 6},
}


def sse_text(events: Iterable[dict[str, Any]], newline: str = "\n") -> str:
    """A response body: each event as ``event:`` and ``data:`` lines and a blank line."""
    return "".join(
        f"event: {e['type']}{newline}data: {json.dumps(e)}{newline}{newline}" for e in events
    )


def typed(events: Iterable[dict[str, Any]]) -> list[StreamEvent]:
    return [stream_event_adapter.validate_python(e) for e in events]


def accumulate(events: Iterable[dict[str, Any]]) -> Message:
    accumulator = MessageAccumulator()
    for event in typed(events):
        accumulator.feed(event)
    return accumulator.message()


class ChunkStream(httpx2.AsyncByteStream):
    """A response body that arrives in the given chunks."""

    def __init__(self, chunks: Sequence[bytes]) -> None:
        self.chunks = chunks

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            yield chunk


def streamed_response(
    chunks: Sequence[bytes],
    *,
    content_type: str = "text/event-stream; charset=utf-8",
    headers: dict[str, str] | None = None,
) -> httpx2.Response:
    return httpx2.Response(
        200,
        headers={"content-type": content_type, **(headers or {})},
        stream=ChunkStream(chunks),
        request=httpx2.Request("POST", "http://127.0.0.1/v1/messages"),
    )


async def read_events(
    chunks: Sequence[bytes], *, max_event_bytes: int | None = None, **kwargs: Any
) -> list[StreamEvent]:
    response = streamed_response(chunks, **kwargs)
    return [e async for e in aiter_stream_events(response, max_event_bytes=max_event_bytes)]


async def read_message(chunks: Sequence[bytes], **kwargs: Any) -> Message:
    accumulator = MessageAccumulator()
    for event in await read_events(chunks, **kwargs):
        accumulator.feed(event)
    return accumulator.message()


# -- accumulation: every event and delta kind ----------------------------------------------------


def test_text_stream_equals_the_non_streamed_message() -> None:
    message = accumulate(hello_stream())
    assert message.to_wire() == HELLO_MESSAGE
    assert message == Message.model_validate(HELLO_MESSAGE)


def test_tool_input_is_parsed_from_fragments_with_an_empty_first_one() -> None:
    message = accumulate(
        [
            start(),
            block_start(0, {**tool_block(), "caller": {"type": "direct"}}),
            json_part(0, ""),
            json_part(0, '{"city": "Pa'),
            json_part(0, 'ris", "days": [1, '),
            json_part(0, "2]}"),
            block_stop(0),
            message_delta("tool_use"),
            STOP,
        ]
    )
    (tool,) = message.tool_uses
    assert tool.input == {"city": "Paris", "days": [1, 2]}
    assert not tool.incomplete
    assert tool.partial_json is None
    assert message.to_wire()["content"] == [
        {
            "type": "tool_use",
            "id": "toolu_1",
            "name": "get_weather",
            "input": {"city": "Paris", "days": [1, 2]},
            "caller": {"type": "direct"},
        }
    ]
    assert message.stop_reason == "tool_use"


def test_tool_input_json_is_parsed_once_per_block(monkeypatch: pytest.MonkeyPatch) -> None:
    parsed: list[str] = []
    real_loads = json.loads

    def counting_loads(text: str) -> Any:
        parsed.append(text)
        return real_loads(text)

    monkeypatch.setattr(json, "loads", counting_loads)
    assert vars(accumulator_module)["json"] is json  # the accumulator parses with this one
    whole = json.dumps({"rows": list(range(300))})
    fragments = [whole[i : i + 3] for i in range(0, len(whole), 3)]
    message = accumulate(
        [
            start(),
            block_start(0, tool_block()),
            *(json_part(0, f) for f in fragments),
            block_stop(0),
            message_delta("tool_use"),
            STOP,
        ]
    )
    assert len(fragments) > 300
    assert parsed == [whole]
    assert message.tool_uses[0].input == {"rows": list(range(300))}


def test_tool_without_input_deltas_keeps_the_input_it_started_with() -> None:
    message = accumulate(
        [
            start(),
            block_start(0, {**tool_block(), "input": {"given": True}}),
            json_part(0, ""),
            block_stop(0),
            message_delta("tool_use"),
            STOP,
        ]
    )
    assert message.tool_uses[0].input == {"given": True}


def test_thinking_and_signature() -> None:
    message = accumulate(
        [
            start(),
            block_start(0, {"type": "thinking", "thinking": "", "signature": ""}),
            delta(0, {"type": "thinking_delta", "thinking": "Let me "}),
            delta(0, {"type": "thinking_delta", "thinking": "think."}),
            delta(0, {"type": "signature_delta", "signature": "EqQBCgIYAhIM"}),
            block_stop(0),
            block_start(1, {"type": "redacted_thinking", "data": "opaque"}),
            block_stop(1),
            block_start(2, TEXT_BLOCK),
            text(2, "Answer."),
            block_stop(2),
            message_delta(),
            STOP,
        ]
    )
    thinking, redacted, _answer = message.content
    assert isinstance(thinking, ThinkingBlock)
    assert thinking.to_wire() == {
        "type": "thinking",
        "thinking": "Let me think.",
        "signature": "EqQBCgIYAhIM",
    }
    assert redacted.to_wire() == {"type": "redacted_thinking", "data": "opaque"}
    assert message.text == "Answer."


def test_citations_are_appended_to_the_text_block() -> None:
    first = {"type": "char_location", "cited_text": "a", "document_index": 0}
    second = {"type": "web_search_result_location", "url": "https://example.org", "title": "t"}
    message = accumulate(
        [
            start(),
            block_start(0, {"type": "text", "text": "", "citations": None}),
            delta(0, {"type": "citations_delta", "citation": first}),
            text(0, "cited"),
            delta(0, {"type": "citations_delta", "citation": second}),
            block_stop(0),
            block_start(1, TEXT_BLOCK),
            text(1, "plain"),
            block_stop(1),
            message_delta(),
            STOP,
        ]
    )
    cited, plain = message.content
    assert isinstance(cited, TextBlock)
    assert cited.to_wire() == {"type": "text", "text": "cited", "citations": [first, second]}
    assert plain.to_wire() == {"type": "text", "text": "plain"}


def test_server_tool_blocks() -> None:
    result_content = [{"type": "web_search_result", "url": "https://example.org", "title": "E"}]
    message = accumulate(
        [
            start(),
            block_start(
                0,
                {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {}},
            ),
            json_part(0, '{"query": '),
            json_part(0, '"weather"}'),
            block_stop(0),
            block_start(
                1,
                {
                    "type": "web_search_tool_result",
                    "tool_use_id": "srvtoolu_1",
                    "content": result_content,
                },
            ),
            block_stop(1),
            message_delta(),
            STOP,
        ]
    )
    search, result = message.content
    assert isinstance(search, ServerToolUseBlock)
    assert search.input == {"query": "weather"}
    assert isinstance(result, ServerToolResultBlock)
    assert result.to_wire() == {
        "type": "web_search_tool_result",
        "tool_use_id": "srvtoolu_1",
        "content": result_content,
    }


def test_unknown_deltas_are_applied_to_their_block_and_kept_as_received() -> None:
    accumulator = MessageAccumulator()
    events = [
        start(),
        block_start(0, {"type": "compaction", "content": None, "encrypted_content": None}),
        delta(0, {"type": "compaction_delta", "content": "Summary ", "encrypted_content": "Ep"}),
        delta(0, {"type": "compaction_delta", "content": "continued.", "encrypted_content": "wB"}),
        delta(0, {"type": "compaction_delta", "meta": {"n": 1}}),
        delta(0, {"type": "compaction_delta", "meta": {"n": 2}}),
        block_stop(0),
        block_start(1, TEXT_BLOCK),
        text(1, "Hi"),
        delta(1, {"type": "sparkle_delta", "sparkle": "*"}),
        block_stop(1),
        message_delta(),
        STOP,
    ]
    for event in typed(events):
        accumulator.feed(event)
    compaction, hello = accumulator.message().content
    assert isinstance(compaction, UnknownBlock)
    # strings grow like text does; other values replace the previous one
    assert compaction.to_wire() == {
        "type": "compaction",
        "content": "Summary continued.",
        "encrypted_content": "EpwB",
        "meta": {"n": 2},
    }
    assert hello.to_wire() == {"type": "text", "text": "Hi", "sparkle": "*"}
    assert [(i, d.to_wire()) for i, d in accumulator.unknown_deltas] == [
        (0, events[2]["delta"]),
        (0, events[3]["delta"]),
        (0, events[4]["delta"]),
        (0, events[5]["delta"]),
        (1, events[9]["delta"]),
    ]


def test_known_deltas_apply_to_unknown_block_types_by_field_name() -> None:
    message = accumulate(
        [
            start(),
            block_start(0, {"type": "mcp_tool_use", "id": "mcptoolu_1", "name": "q", "input": {}}),
            json_part(0, '{"a": '),
            json_part(0, "1}"),
            block_stop(0),
            block_start(1, {"type": "reasoning", "thinking": "x"}),
            delta(1, {"type": "thinking_delta", "thinking": "y"}),
            delta(1, {"type": "signature_delta", "signature": "sig"}),
            block_stop(1),
            message_delta(),
            STOP,
        ]
    )
    assert [b.to_wire() for b in message.content] == [
        {"type": "mcp_tool_use", "id": "mcptoolu_1", "name": "q", "input": {"a": 1}},
        {"type": "reasoning", "thinking": "xy", "signature": "sig"},
    ]


def test_text_in_content_block_start_is_kept_and_extended() -> None:
    message = accumulate(
        [
            start(),
            block_start(0, {"type": "text", "text": "Hel"}),
            text(0, "lo"),
            block_stop(0),
            message_delta(),
            STOP,
        ]
    )
    assert message.text == "Hello"


def test_message_delta_merges_usage_and_carries_other_fields() -> None:
    container = {"id": "container_1", "expires_at": "2026-01-01T00:00:00Z"}
    stop_details = {"type": "refusal", "category": "cyber"}
    message = accumulate(
        [
            start(
                usage={
                    "input_tokens": 5,
                    "output_tokens": 1,
                    "cache_creation_input_tokens": 7,
                    "cache_read_input_tokens": 3,
                    "service_tier": "standard",
                }
            ),
            block_start(0, TEXT_BLOCK),
            text(0, "x"),
            block_stop(0),
            {
                "type": "message_delta",
                "delta": {
                    "stop_reason": "stop_sequence",
                    "stop_sequence": "END",
                    "container": container,
                    "stop_details": stop_details,
                },
                "usage": {
                    "input_tokens": 6,
                    "output_tokens": 42,
                    "cache_read_input_tokens": None,
                    "server_tool_use": {"web_search_requests": 2},
                    "fallback_credit": {"status": {"type": "redeemed"}},
                },
            },
            STOP,
        ]
    )
    assert message.stop_reason == "stop_sequence"
    assert message.stop_sequence == "END"
    assert message.container == Container(**container)
    assert message.usage.to_wire() == {
        "input_tokens": 6,
        "output_tokens": 42,
        "cache_creation_input_tokens": 7,
        "cache_read_input_tokens": 3,  # null in the delta: the message_start count stays
        "server_tool_use": {"web_search_requests": 2},
        "service_tier": "standard",
        "fallback_credit": {"status": {"type": "redeemed"}},
    }
    assert message.to_wire()["stop_details"] == stop_details


def test_missing_optional_fields_are_tolerated() -> None:
    message = accumulate(
        [
            {"type": "message_start", "message": {"id": "msg_x", "content": []}},
            block_start(0, TEXT_BLOCK),
            text(0, "ok"),
            block_stop(0),
            {"type": "message_delta", "delta": {"stop_reason": "end_turn"}},
            STOP,
        ]
    )
    assert message.id == "msg_x"
    assert message.text == "ok"
    assert message.stop_reason == "end_turn"
    assert message.usage.input_tokens == 0
    assert "usage" not in message.to_wire()


def test_events_are_not_changed_by_accumulation() -> None:
    events = typed(hello_stream())
    accumulator = MessageAccumulator()
    for event in events:
        accumulator.feed(event)
    first = events[1]
    assert isinstance(first, ContentBlockStartEvent)
    assert first.content_block.to_wire() == TEXT_BLOCK
    assert accumulator.message().text == "Hello there"


def test_progress_helpers() -> None:
    accumulator = MessageAccumulator()
    assert not accumulator.started
    events = typed(
        [
            start(),
            block_start(0, tool_block("lookup", "toolu_9")),
            json_part(0, "{}"),
            block_stop(0),
        ]
    )
    accumulator.feed(events[0])
    assert accumulator.started
    assert accumulator.block(0) is None
    accumulator.feed(events[1])
    block = accumulator.block(0)
    assert isinstance(block, ToolUseBlock)
    assert (block.name, block.id) == ("lookup", "toolu_9")
    assert not accumulator.done
    for event in typed([message_delta("tool_use"), STOP]):
        accumulator.feed(event)
    assert accumulator.done


def test_pings_and_unknown_events_are_ignored_anywhere() -> None:
    events = hello_stream()
    noisy = [PING, {"type": "vendor_heartbeat", "n": 1}]
    for i in range(len(events), 0, -1):
        events[i:i] = noisy
    events[0:0] = noisy
    assert accumulate(events).to_wire() == HELLO_MESSAGE


# -- accumulation: tolerance of compatible servers -----------------------------------------------


def test_repeated_message_start_keeps_content_and_fills_only_what_was_missing() -> None:
    events = hello_stream()
    events.insert(
        3,
        start(
            id="msg_other", model="other", usage={"input_tokens": 99, "cache_read_input_tokens": 4}
        ),
    )
    events[0] = start(model="", usage={"input_tokens": 10, "output_tokens": 1})
    message = accumulate(events)
    assert message.id == "msg_1"
    assert message.model == "other"  # the first start left it empty
    assert message.text == "Hello there"
    assert message.usage.input_tokens == 10
    assert message.usage.cache_read_input_tokens == 4


def test_events_before_message_start_that_carry_nothing_are_ignored() -> None:
    before: list[dict[str, Any]] = [
        PING,
        {"type": "vendor_hello"},
        block_stop(0),
        {"type": "message_delta", "delta": {}},
    ]
    assert accumulate(before + hello_stream()).to_wire() == HELLO_MESSAGE


@pytest.mark.parametrize(
    "early",
    [
        block_start(0, TEXT_BLOCK),
        text(0, "lost"),
        message_delta("end_turn"),
        STOP,
    ],
    ids=["block_start", "delta", "message_delta", "message_stop"],
)
def test_content_before_message_start_is_an_error(early: dict[str, Any]) -> None:
    accumulator = MessageAccumulator(request_id="req_7")
    (event,) = typed([early])
    with pytest.raises(APIResponseError, match="before message_start") as info:
        accumulator.feed(event)
    assert info.value.request_id == "req_7"


@pytest.mark.parametrize(
    ("events", "problem"),
    [
        (
            [start(), block_start(0, tool_block()), text(0, "x")],
            "text_delta cannot apply to block 0",
        ),
        ([start(), text(3, "x")], "block 3, which has not started"),
        ([start(), block_start(0, TEXT_BLOCK), block_start(0, TEXT_BLOCK)], "already started"),
        (
            [start(), block_start(0, TEXT_BLOCK), block_stop(0), text(0, "x")],
            "after its content_block_stop",
        ),
        ([start(), block_stop(2)], "block 2, which has not started"),
        (
            [start(), block_start(0, TEXT_BLOCK), json_part(0, "{}")],
            "input_json_delta cannot apply",
        ),
    ],
    ids=["wrong-block", "unknown-index", "restarted", "after-stop", "stop-unknown", "json-on-text"],
)
def test_protocol_violations_are_named(events: list[dict[str, Any]], problem: str) -> None:
    accumulator = MessageAccumulator()
    *ok, bad = typed(events)
    for event in ok:
        accumulator.feed(event)
    with pytest.raises(APIResponseError, match=problem):
        accumulator.feed(bad)
    with pytest.raises(APIResponseError, match=problem):
        accumulator.message()


def test_events_after_message_stop_change_nothing() -> None:
    accumulator = MessageAccumulator()
    for event in typed([*hello_stream(), PING, text(0, "late"), STOP, start(id="msg_2")]):
        accumulator.feed(event)
    assert accumulator.message().to_wire() == HELLO_MESSAGE


# -- accumulation: errors ------------------------------------------------------------------------


def error_event(kind: str, text_: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": kind, "message": text_}}


@pytest.mark.parametrize("after", [1, 4], ids=["before-content", "after-content"])
def test_mid_stream_error_raises_the_http_error_class(after: int) -> None:
    events = [*hello_stream()[:after], error_event("overloaded_error", "Overloaded")]
    accumulator = MessageAccumulator(request_id="req_1")
    *ok, bad = typed(events)
    for event in ok:
        accumulator.feed(event)
    with pytest.raises(OverloadedError) as info:
        accumulator.feed(bad)
    error = info.value
    assert (error.status_code, error.error_type, error.message) == (
        529,
        "overloaded_error",
        "Overloaded",
    )
    assert error.request_id == "req_1"
    assert error.body == events[-1]
    with pytest.raises(OverloadedError):
        accumulator.message()


@pytest.mark.parametrize(
    ("kind", "status"),
    [("invalid_request_error", 400), ("api_error", 500), ("rate_limit_error", 429)],
)
def test_mid_stream_error_types_match_http_errors(kind: str, status: int) -> None:
    accumulator = MessageAccumulator()
    (event,) = typed([error_event(kind, "boom")])
    with pytest.raises(
        type(status_error(status_code=status, error_type=kind, message="x"))
    ) as info:
        accumulator.feed(event)
    assert info.value.status_code == status


def test_mid_stream_error_of_unknown_type_is_a_server_error() -> None:
    accumulator = MessageAccumulator()
    accumulator.feed(typed([start()])[0])
    with pytest.raises(InternalServerError, match="the stream reported an error") as info:
        accumulator.feed(ErrorEvent(error={"type": "vendor_meltdown"}))
    assert (info.value.status_code, info.value.error_type) == (500, "vendor_meltdown")


@pytest.mark.parametrize(
    ("events", "missing"),
    [
        ([], "no message_start arrived"),
        ([start()], "0 content block"),
        ([start(), block_start(0, TEXT_BLOCK), text(0, "x")], "block(s) 0 never stopped"),
        (hello_stream()[:-1], "stop_reason 'end_turn'"),
        (hello_stream()[:-2], "no stop_reason"),
    ],
)
def test_message_before_message_stop_says_what_is_missing(
    events: list[dict[str, Any]], missing: str
) -> None:
    accumulator = MessageAccumulator(request_id="req_2")
    for event in typed(events):
        accumulator.feed(event)
    with pytest.raises(StreamIncompleteError, match="ended before message_stop") as info:
        accumulator.message()
    assert missing in str(info.value)
    assert info.value.request_id == "req_2"


@pytest.mark.parametrize(
    ("fragments", "why"),
    [(['{"city": ', "Paris}"], "not valid JSON"), (["[1, ", "2]"], "JSON object was expected")],
)
def test_invalid_tool_json_names_block_tool_and_id(fragments: list[str], why: str) -> None:
    events = [
        start(),
        block_start(0, TEXT_BLOCK),
        text(0, "Sure."),
        block_stop(0),
        block_start(1, tool_block("get_weather", "toolu_42")),
        *(json_part(1, f) for f in fragments),
        block_stop(1),
        message_delta("tool_use"),
        STOP,
    ]
    accumulator = MessageAccumulator()
    *ok, last = typed(events)
    for event in ok:
        accumulator.feed(event)
    with pytest.raises(ToolInputJSONError) as info:
        accumulator.feed(last)
    for part in ("block 1", "'get_weather'", "'toolu_42'", why):
        assert part in str(info.value)
    with pytest.raises(ToolInputJSONError):
        accumulator.message()


CUT_JSON = ['{"filename": "taxes.txt', '", "lines": [\n"# GUIDE",', '\n"Filing']


@pytest.mark.parametrize(
    "order",
    ["never-stopped", "stop-before-delta", "stop-after-delta"],
)
def test_max_tokens_inside_tool_json_marks_the_call_incomplete(order: str) -> None:
    events = [
        start(),
        block_start(0, TEXT_BLOCK),
        text(0, "Writing the file."),
        block_stop(0),
        block_start(1, tool_block("make_file", "toolu_cut")),
        json_part(1, ""),
        *(json_part(1, f) for f in CUT_JSON),
    ]
    cut = message_delta("max_tokens", output_tokens=124)
    if order == "never-stopped":
        events += [cut]
    elif order == "stop-before-delta":
        events += [block_stop(1), cut]
    else:
        events += [cut, block_stop(1)]
    message = accumulate([*events, STOP])
    assert message.stop_reason == "max_tokens"
    (tool,) = message.tool_uses
    assert tool.incomplete
    assert tool.partial_json == "".join(CUT_JSON)
    assert tool.input == {}
    assert message.to_wire()["content"][1] == tool_block("make_file", "toolu_cut")
    assert message.text == "Writing the file."


def test_max_tokens_leaves_calls_finished_before_the_cut_complete() -> None:
    message = accumulate(
        [
            start(),
            block_start(0, tool_block("first", "toolu_a")),
            json_part(0, '{"n": 1}'),
            block_stop(0),
            block_start(1, tool_block("second", "toolu_b")),
            json_part(1, '{"n": '),
            message_delta("max_tokens"),
            STOP,
        ]
    )
    first, second = message.tool_uses
    assert (first.incomplete, first.input) == (False, {"n": 1})
    assert (second.incomplete, second.input, second.partial_json) == (True, {}, '{"n": ')


def test_unstopped_tool_block_with_a_normal_stop_is_parsed() -> None:
    message = accumulate(
        [
            start(),
            block_start(0, tool_block()),
            json_part(0, '{"a": 1}'),
            message_delta("tool_use"),
            STOP,
        ]
    )
    assert message.tool_uses[0].input == {"a": 1}
    assert not message.tool_uses[0].incomplete


def test_unstopped_tool_block_with_broken_json_and_a_normal_stop_is_an_error() -> None:
    with pytest.raises(ToolInputJSONError, match="block 0"):
        accumulate(
            [
                start(),
                block_start(0, tool_block()),
                json_part(0, '{"a": '),
                message_delta("tool_use"),
                STOP,
            ]
        )


# -- framing: httpx2's EventSource over a streamed body ------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"], ids=["lf", "crlf", "cr"])
async def test_line_endings(newline: str) -> None:
    body = sse_text(hello_stream(), newline).encode()
    assert (await read_message([body])).to_wire() == HELLO_MESSAGE


@pytest.mark.anyio
async def test_multi_line_data_and_comments() -> None:
    events = hello_stream()
    parts = [": a comment before anything\n\n"]
    for event in events:
        data = json.dumps(event, indent=1)  # several lines, joined back with newlines
        lines = "".join(f"data: {line}\n" for line in data.split("\n"))
        parts.append(f": keep-alive\nevent: {event['type']}\n{lines}:trailing comment\n\n")
    body = "".join(parts).encode()
    assert (await read_message([body])).to_wire() == HELLO_MESSAGE


UNICODE_EVENTS = [
    {"type": "message_start", "message": {"id": "m", "model": "x", "content": []}},
    block_start(0, TEXT_BLOCK),
    text(0, "héllo ✓ "),
    text(0, "🎉 Ωmega"),
    block_stop(0),
    block_start(1, tool_block("échø", "toolu_ü")),
    json_part(1, '{"città": "Zürich €'),
    json_part(1, ' 🙂"}'),
    block_stop(1),
    message_delta("tool_use"),
    STOP,
]


def compact(event: dict[str, Any]) -> str:
    # ensure_ascii=False keeps the multi-byte characters as raw UTF-8 in the body
    return json.dumps(event, ensure_ascii=False, separators=(",", ":"))


def unicode_body() -> bytes:
    """The events with all three line endings in turn, so every split meets each of them."""
    endings = ("\n", "\r\n", "\r")
    return "".join(
        f"event: {e['type']}{nl}data: {compact(e)}{nl}{nl}"
        for i, e in enumerate(UNICODE_EVENTS)
        for nl in [endings[i % 3]]
    ).encode()


@pytest.mark.anyio
async def test_chunks_split_at_every_position() -> None:
    body = unicode_body()
    assert body.count(b"\r\n") >= 6
    assert body.count(b"\r\r") >= 2
    assert sum(1 for byte in body if byte >= 0x80) > 20  # the splits do land inside characters
    expected = (await read_message([body])).to_wire()
    assert expected["content"][0]["text"] == "héllo ✓ 🎉 Ωmega"
    assert expected["content"][1]["input"] == {"città": "Zürich € 🙂"}
    assert expected["stop_reason"] == "tool_use"
    for cut in range(1, len(body)):
        message = await read_message([body[:cut], body[cut:]])
        assert message.to_wire() == expected, cut


@pytest.mark.anyio
async def test_one_byte_chunks() -> None:
    body = unicode_body()
    message = await read_message([body[i : i + 1] for i in range(len(body))])
    assert message.text == "héllo ✓ 🎉 Ωmega"


@pytest.mark.anyio
async def test_gzip_encoded_stream() -> None:
    body = gzip.compress(sse_text(hello_stream()).encode())
    message = await read_message([body[:40], body[40:]], headers={"content-encoding": "gzip"})
    assert message.to_wire() == HELLO_MESSAGE


@pytest.mark.anyio
async def test_event_name_is_used_when_data_has_no_type() -> None:
    parts = []
    for raw in hello_stream():
        data = {k: v for k, v in raw.items() if k != "type"}
        parts.append(f"event: {raw['type']}\ndata: {json.dumps(data)}\n\n")
    events = await read_events(["".join(parts).encode()])
    assert isinstance(events[1], ContentBlockStartEvent)
    assert isinstance(events[2], PingEvent)
    assert isinstance(events[3], ContentBlockDeltaEvent)
    accumulator = MessageAccumulator()
    for event in events:
        accumulator.feed(event)
    assert accumulator.message().to_wire() == HELLO_MESSAGE


@pytest.mark.anyio
async def test_data_type_wins_over_the_event_name() -> None:
    body = sse_text(hello_stream()).replace("event: content_block_delta", "event: message").encode()
    events = await read_events([body])
    assert sum(isinstance(e, ContentBlockDeltaEvent) for e in events) == 2


@pytest.mark.anyio
async def test_events_without_data_are_skipped() -> None:
    body = ("event: ping\n\nevent: ping\ndata:\n\nid: 7\n\n" + sse_text(hello_stream())).encode()
    events = await read_events([body])
    assert len(events) == len(hello_stream())


@pytest.mark.anyio
async def test_unknown_event_kinds_become_unknown_events() -> None:
    body = (
        'event: vendor_stats\ndata: {"tokens_per_second": 80}\n\n' + sse_text(hello_stream())
    ).encode()
    events = await read_events([body])
    assert isinstance(events[0], UnknownStreamEvent)
    assert events[0].type == "vendor_stats"


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ("[DONE]", "event 2 ('message') does not hold JSON data"),
        ("[1, 2]", "event 2 ('message') holds list data"),
        ('{"type": "content_block_delta", "delta": {"type": "text_delta", "text": "x"}}', "index"),
    ],
    ids=["not-json", "not-object", "malformed"],
)
async def test_bad_event_data_is_named(data: str, problem: str) -> None:
    body = f"{sse_text(hello_stream()[:1])}data: {data}\n\n".encode()
    with pytest.raises(APIResponseError, match=r"stream event 2") as info:
        await read_events([body], headers={"request-id": "req_bad"})
    assert problem in str(info.value)
    assert info.value.request_id == "req_bad"
    assert not isinstance(info.value, StreamIncompleteError)


@pytest.mark.anyio
async def test_oversized_event_is_response_too_large() -> None:
    small = sse_text(hello_stream()).encode()
    assert len(await read_events([small], max_event_bytes=400)) == len(hello_stream())
    big = sse_text([*hello_stream()[:3], text(0, "x" * 1000), *hello_stream()[3:]]).encode()
    with pytest.raises(ResponseTooLargeError, match="400-byte limit"):
        await read_events([big], max_event_bytes=400)
    # an oversized line that never ends is caught too, before it is buffered whole
    endless = b"data: " + b"y" * 5000
    with pytest.raises(ResponseTooLargeError):
        await read_events([endless[:2000], endless[2000:]], max_event_bytes=400)


@pytest.mark.anyio
async def test_wrong_content_type_is_named() -> None:
    body = json.dumps(HELLO_MESSAGE).encode()
    with pytest.raises(APIResponseError, match="got content-type 'application/json'") as info:
        await read_events([body], content_type="application/json", max_event_bytes=10)
    assert not isinstance(info.value, ResponseTooLargeError)


@pytest.mark.anyio
async def test_stream_ending_without_message_stop() -> None:
    body = sse_text(hello_stream()[:-1]).encode()
    with pytest.raises(StreamIncompleteError, match="stop_reason 'end_turn'"):
        await read_message([body])


@pytest.mark.anyio
async def test_last_event_without_its_blank_line_is_delivered() -> None:
    body = sse_text(hello_stream()).rstrip("\n").encode()
    assert (await read_message([body])).to_wire() == HELLO_MESSAGE


@pytest.mark.anyio
async def test_stream_cut_inside_an_event() -> None:
    body = sse_text(hello_stream()).encode()
    cut = body.index(b'"text": " there"') + 5
    with pytest.raises(StreamIncompleteError, match="cut inside event 5"):
        await read_events([body[:cut]])


@pytest.mark.anyio
async def test_mid_stream_error_event_through_the_wire() -> None:
    body = (
        sse_text(hello_stream()[:4])
        + 'event: error\ndata: {"type": "error", "error": {"type": "overloaded_error", '
        '"message": "Overloaded"}}\n\n'
    ).encode()
    with pytest.raises(OverloadedError, match="Overloaded"):
        await read_message([body])


def test_accumulate_sse_text_takes_str_and_bytes() -> None:
    body = sse_text(hello_stream(), "\r\n")
    assert accumulate_sse_text(body).to_wire() == HELLO_MESSAGE
    assert accumulate_sse_text(body.encode()) == accumulate_sse_text(body)
    with pytest.raises(ResponseTooLargeError):
        accumulate_sse_text(body, max_event_bytes=50)
    with pytest.raises(StreamIncompleteError):
        accumulate_sse_text("")
