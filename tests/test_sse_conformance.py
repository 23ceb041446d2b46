"""Real responses nobody here wrote (tests/data/README.md): each parses, or fails as it should."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from toolwire._errors import (
    InvalidRequestError,
    RateLimitError,
    StreamIncompleteError,
    status_error,
)
from toolwire._sse import accumulate_sse_text
from toolwire._wire.blocks import TextBlock, ToolUseBlock, UnknownBlock
from toolwire._wire.messages import Message

DATA = Path(__file__).parent / "data"
SSE = DATA / "sse"
RECORDED = DATA / "recorded"


def fixture(name: str) -> Message:
    return accumulate_sse_text((SSE / name).read_bytes())


def blocks(message: Message) -> list[dict[str, Any]]:
    return [block.to_wire() for block in message.content]


# -- hand-made SSE fixtures ------------------------------------------------------------------------


def test_every_sse_fixture_is_covered_below() -> None:
    assert sorted(p.name for p in SSE.glob("*.txt")) == sorted(EXPECTED_FIXTURES)


def test_basic_response() -> None:
    message = fixture("basic_response.txt")
    assert message.to_wire() == {
        "id": "msg_4QpJur2dWWDjF6C758FbBw5vm12BaVipnK",
        "type": "message",
        "role": "assistant",
        "model": "claude-3-opus-latest",
        "content": [{"type": "text", "text": "Hello there!"}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": 11, "output_tokens": 6},
    }


def test_tool_use_response() -> None:
    message = fixture("tool_use_response.txt")
    assert blocks(message) == [
        {"type": "text", "text": "I'll check the current weather in Paris for you."},
        {
            "type": "tool_use",
            "id": "toolu_01NRLabsLyVHZPKxbKvkfSMn",
            "name": "get_weather",
            "caller": {"type": "direct"},
            "input": {"location": "Paris"},
        },
    ]
    assert message.stop_reason == "tool_use"
    assert message.usage.to_wire() == {
        "input_tokens": 377,
        "output_tokens": 65,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "service_tier": "standard",
    }
    assert not message.tool_uses[0].incomplete


def test_incomplete_partial_json_response() -> None:
    message = fixture("incomplete_partial_json_response.txt")
    assert message.stop_reason == "max_tokens"
    text, tool = message.content
    assert isinstance(text, TextBlock)
    assert text.text == (
        "I'll create a comprehensive tax guide for someone with multiple W2s and save it in a "
        "file called taxes.txt. Let me do that for you now."
    )
    assert isinstance(tool, ToolUseBlock)
    assert (tool.id, tool.name, tool.input) == ("toolu_01EKqbqmZrGRXy18eN7m9kvY", "make_file", {})
    assert tool.incomplete
    assert tool.partial_json == (
        '{"filename": "taxes.txt", "lines_of_text": [\n'
        '"# COMPREHENSIVE TAX GUIDE FOR INDIVIDUALS WITH MULTIPLE W-2s",\n"",\n'
        '"## INTRODUCTION",\n"",\n"Filing taxes'
    )
    assert message.usage.output_tokens == 124
    assert message.usage.input_tokens == 450


def test_refusal_response() -> None:
    message = fixture("refusal_response.txt")
    assert message.stop_reason == "refusal"
    assert blocks(message) == [{"type": "text", "text": ""}]
    assert message.to_wire()["stop_details"] == {
        "type": "refusal",
        "category": "cyber",
        "explanation": "This request was refused due to policy.",
    }
    assert message.usage.output_tokens == 0


def test_compaction_response() -> None:
    message = fixture("compaction_response.txt")
    compaction, text = message.content
    assert isinstance(compaction, UnknownBlock)
    assert compaction.to_wire() == {
        "type": "compaction",
        "content": "Earlier conversation summarized.",
        "encrypted_content": "EpwBCioIDxgCEAEYASJALd_opaque_compaction_payload",
    }
    assert text.to_wire() == {"type": "text", "text": "Hello there!"}
    assert message.stop_reason == "end_turn"


def test_fallback_response() -> None:
    message = fixture("fallback_response.txt")
    assert blocks(message) == [
        {
            "type": "fallback",
            "from": {"model": "claude-opus-4-7"},
            "to": {"model": "claude-sonnet-4-5"},
            "trigger": {"type": "refusal", "category": None},
        },
        {"type": "text", "text": "Hello there!"},
    ]
    assert message.model == "claude-opus-4-7"


def test_fallback_credit_response() -> None:
    message = fixture("fallback_credit_response.txt")
    assert message.text == "Hello there!"
    assert message.usage.to_wire() == {
        "input_tokens": 25,
        "output_tokens": 8,
        "fallback_credit": {"status": {"type": "redeemed"}},
    }


EXPECTED_FIXTURES = [
    "basic_response.txt",
    "compaction_response.txt",
    "fallback_credit_response.txt",
    "fallback_response.txt",
    "incomplete_partial_json_response.txt",
    "refusal_response.txt",
    "tool_use_response.txt",
]


@pytest.mark.parametrize("name", EXPECTED_FIXTURES)
def test_fixture_messages_round_trip(name: str) -> None:
    message = fixture(name)
    assert Message.model_validate(message.to_wire()).to_wire() == message.to_wire()


@pytest.mark.parametrize("name", EXPECTED_FIXTURES)
def test_fixture_cut_before_message_stop_is_incomplete(name: str) -> None:
    body = (SSE / name).read_text()
    cut = body[: body.rindex("event: message_stop")]
    with pytest.raises(StreamIncompleteError, match="before message_stop"):
        accumulate_sse_text(cut)


# -- recorded exchanges with the live API --------------------------------------------------------


def exchanges() -> list[tuple[str, int, dict[str, Any]]]:
    found = []
    for path in sorted(RECORDED.glob("*.json")):
        for number, exchange in enumerate(json.loads(path.read_text())):
            found.append((path.name, number, exchange))
    return found


EXCHANGES = exchanges()


def exchange_id(item: tuple[str, int, dict[str, Any]]) -> str:
    name, number, _ = item
    return f"{name.rsplit('__', 1)[-1][:8]}-{number}"


def test_recordings_hold_every_kind_of_response() -> None:
    kinds = {
        (e["response"]["status_code"], type(e["response"]["body"]).__name__)
        for _, _, e in EXCHANGES
    }
    assert kinds == {(200, "dict"), (200, "str"), (400, "dict"), (429, "dict")}
    assert len(EXCHANGES) == 32


def response_message(exchange: dict[str, Any]) -> Message:
    body = exchange["response"]["body"]
    if isinstance(body, str):
        assert exchange["response"]["headers"]["content-type"].startswith("text/event-stream")
        return accumulate_sse_text(body)
    return Message.model_validate(body)


@pytest.mark.parametrize("item", EXCHANGES, ids=exchange_id)
def test_recorded_response_parses(item: tuple[str, int, dict[str, Any]]) -> None:
    _, _, exchange = item
    response = exchange["response"]
    body = response["body"]
    if response["status_code"] != 200:
        assert body["type"] == "error"
        error = status_error(
            status_code=response["status_code"],
            error_type=body["error"]["type"],
            message=body["error"]["message"],
            request_id=body["request_id"],
            body=body,
        )
        expected = {400: InvalidRequestError, 429: RateLimitError}[response["status_code"]]
        assert type(error) is expected
        assert error.error_type == body["error"]["type"]
        return
    message = response_message(exchange)
    assert message.id.startswith("msg_")
    assert message.content
    assert message.stop_reason in {"end_turn", "tool_use"}
    # a programmatic tool call's continuation really does report zero tokens
    assert message.usage.input_tokens >= 0
    assert message.usage.output_tokens >= 0
    if isinstance(body, dict):
        # field for field, unknown fields (caller, container, cache_creation, ...) included
        assert message.to_wire() == body
        assert json.dumps(message.to_wire(), sort_keys=True) == json.dumps(body, sort_keys=True)
    else:
        assert Message.model_validate(message.to_wire()) == message


STREAMED = {
    ("a8b7dbb8", 2): ([{"type": "text", "text": "[12345,67890]"}], "end_turn", 10),
    ("9381e2b7", 0): ([{"type": "text", "text": "[12345,67890]"}], "end_turn", 10),
    ("555fb399", 0): (
        [
            {
                "type": "tool_use",
                "id": "toolu_018acGYLtfR52q9yDbWaEdQZ",
                "name": "get_weather",
                "input": {"location": "San Francisco, CA", "units": "f"},
                "caller": {"type": "direct"},
            }
        ],
        "tool_use",
        74,
    ),
    ("555fb399", 1): (
        [
            {
                "type": "text",
                "text": "The weather in San Francisco, CA is currently:\n- **Temperature:** "
                "68°F\n- **Condition:** Sunny\n\nIt's a nice sunny day!",
            }
        ],
        "end_turn",
        38,
    ),
    ("771c64ff", 0): (
        [
            {
                "type": "tool_use",
                "id": "toolu_01TJoxvFknVdnV9XpWFPaRmY",
                "name": "get_weather",
                "input": {"location": "San Francisco, CA", "units": "f"},
                "caller": {"type": "direct"},
            }
        ],
        "tool_use",
        74,
    ),
    ("771c64ff", 1): (
        [
            {
                "type": "text",
                "text": "The weather in San Francisco, CA is currently **68°F and Sunny**. "
                "It's a nice day!",
            }
        ],
        "end_turn",
        27,
    ),
}


def test_every_streamed_recording_is_checked_in_detail() -> None:
    streamed = {
        exchange_id(item) for item in EXCHANGES if isinstance(item[2]["response"]["body"], str)
    }
    assert streamed == {f"{stem}-{number}" for stem, number in STREAMED}


@pytest.mark.parametrize(("stem", "number"), sorted(STREAMED))
def test_streamed_recording_content(stem: str, number: int) -> None:
    (exchange,) = [e for e in EXCHANGES if exchange_id(e) == f"{stem}-{number}"]
    message = response_message(exchange[2])
    content, stop_reason, output_tokens = STREAMED[stem, number]
    assert blocks(message) == content
    assert message.stop_reason == stop_reason
    assert message.usage.output_tokens == output_tokens
    assert message.usage.to_wire()["cache_creation"] == {
        "ephemeral_5m_input_tokens": 0,
        "ephemeral_1h_input_tokens": 0,
    }


def follow_ups() -> list[Any]:
    """Each response the official client sent back as the assistant turn of its next request."""
    found = []
    for name, number, exchange in EXCHANGES:
        following = [e for n, k, e in EXCHANGES if n == name and k == number + 1]
        body = exchange["response"]["body"]
        if not following or (isinstance(body, dict) and body.get("type") != "message"):
            continue
        sent = [m for m in following[0]["request"]["body"]["messages"] if m["role"] == "assistant"]
        if sent:
            ident = exchange_id((name, number, exchange))
            found.append(pytest.param(exchange, sent[-1]["content"], id=ident))
    return found


FOLLOW_UPS = follow_ups()


def test_follow_ups_include_streamed_and_json_turns() -> None:
    assert {param.id for param in FOLLOW_UPS} == {
        "092be1de-0",
        "10e53c1d-0",
        "555fb399-0",
        "64fe7974-0",
        "771c64ff-0",
        "a8ac789b-0",
        "b38bbf6c-0",
        "e075a6c2-0",
    }


@pytest.mark.parametrize(("exchange", "sent_back"), FOLLOW_UPS)
def test_response_goes_back_exactly_as_the_official_client_sent_it(
    exchange: dict[str, Any], sent_back: list[Any]
) -> None:
    message = response_message(exchange)
    assert message.to_param().to_wire() == {"role": "assistant", "content": sent_back}
