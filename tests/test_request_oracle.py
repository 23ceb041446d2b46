"""Request bodies held against the official ``anthropic`` package's request types, as an oracle.

The official types are TypedDicts; pydantic validates a body against them. Two details make the
oracle strict: their ``Iterable`` fields validate lazily, so the result is walked in full, and
keys they do not know are dropped rather than refused, so the walked result must equal the body
we sent (an unknown or misspelt key shows up as a difference).

One deliberate gap: the pinned official package no longer types the sampling parameters
(``temperature``, ``top_p``, ``top_k``), which the protocol still documents. They are checked
here as plain numbers (their ranges are ``MessageRequest.problems()``'s business) and removed
before the body meets the oracle.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pytest
from anthropic.types.message_create_params import (
    MessageCreateParamsNonStreaming,
    MessageCreateParamsStreaming,
)
from pydantic import TypeAdapter, ValidationError

from toolwire._sse import accumulate_sse_text
from toolwire._wire.blocks import (
    Base64ImageSource,
    DocumentBlock,
    ImageBlock,
    RedactedThinkingBlock,
    TextBlock,
    ThinkingBlock,
    ToolResultBlock,
    ToolUseBlock,
    URLImageSource,
)
from toolwire._wire.messages import MessageParam
from toolwire._wire.request import (
    MessageRequest,
    ServerTool,
    ToolChoiceAny,
    ToolChoiceAuto,
    ToolChoiceNone,
    ToolChoiceTool,
    ToolDefinition,
)

DATA = Path(__file__).parent / "data"

NON_STREAMING: TypeAdapter[Any] = TypeAdapter(MessageCreateParamsNonStreaming)
STREAMING: TypeAdapter[Any] = TypeAdapter(MessageCreateParamsStreaming)


def walked(value: Any) -> Any:
    """``value`` with every lazily validated iterable read out (which validates it)."""
    if isinstance(value, Mapping):
        return {key: walked(item) for key, item in value.items()}
    if isinstance(value, str | bytes):
        return value
    if isinstance(value, Iterable):
        return [walked(item) for item in value]
    return value


def oracle_problem(body: dict[str, Any]) -> str | None:
    """Why the official request types refuse ``body``, or ``None`` if they accept it whole."""
    adapter = STREAMING if body.get("stream") else NON_STREAMING
    try:
        accepted = walked(adapter.validate_python(body))
    except ValidationError as exc:
        return str(exc)
    if accepted != body:
        return f"keys the official types do not know were dropped: {accepted!r}"
    return None


SAMPLING = ("temperature", "top_p", "top_k")


def assert_valid(request: MessageRequest) -> dict[str, Any]:
    body = request.to_wire()
    assert json.loads(json.dumps(body)) == body  # JSON-ready as it is
    for name in SAMPLING:
        assert isinstance(body.get(name, 0), int | float)
    problem = oracle_problem({k: v for k, v in body.items() if k not in SAMPLING})
    assert problem is None, problem
    assert request.problems() == []
    return body


# -- the oracle is real ----------------------------------------------------------------------------

MINIMAL: dict[str, Any] = {
    "model": "claude-sonnet-4-5",
    "max_tokens": 64,
    "messages": [{"role": "user", "content": "Hi"}],
}


@pytest.mark.parametrize(
    "change",
    [
        {"max_tokens": "many"},
        {"messages": [{"role": "robot", "content": "Hi"}]},
        {"messages": [{"role": "user", "content": [{"type": "txt", "text": "Hi"}]}]},
        {"messages": [{"role": "user", "content": [{"type": "text", "txt": "Hi"}]}]},
        {"messages": [{"role": "user", "content": [{"type": "text", "text": "x", "colour": 1}]}]},
        {"tool_choice": {"type": "tool"}},
        {"tool_choice": {"type": "sometimes"}},
        {"tools": [{"name": "t", "input_schema": "not a schema"}]},
        {"system": [{"type": "image", "text": "x"}]},
        {"thinking": {"type": "enabled"}},
        {"temperatur": 0.5},
        {
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"type": "tool_result", "tool_use_id": "t", "content": [{"type": "bogus"}]}
                    ],
                }
            ]
        },
    ],
    ids=lambda change: json.dumps(change)[:40],
)
def test_the_oracle_refuses_invalid_bodies(change: dict[str, Any]) -> None:
    assert oracle_problem(MINIMAL) is None
    assert oracle_problem({**MINIMAL, **change}) is not None


def test_the_oracle_tells_streaming_from_non_streaming() -> None:
    assert oracle_problem({**MINIMAL, "stream": True}) is None
    assert oracle_problem({**MINIMAL, "stream": False}) is None
    assert NON_STREAMING.validate_python(MINIMAL)  # and the plain adapters work on their own
    with pytest.raises(ValidationError):
        NON_STREAMING.validate_python({**MINIMAL, "stream": True})


# -- toolwire's requests ---------------------------------------------------------------------------

WEATHER = ToolDefinition(
    name="get_weather",
    description="Get the current weather for a city.",
    input_schema={
        "type": "object",
        "properties": {
            "city": {"type": "string", "description": "City name"},
            "unit": {"enum": ["celsius", "fahrenheit"], "default": "celsius"},
        },
        "required": ["city"],
        "additionalProperties": False,
    },
)
ADD = ToolDefinition(
    name="add",
    input_schema={
        "type": "object",
        "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
        "required": ["a", "b"],
    },
)
WEB_SEARCH = ServerTool.model_validate(
    {"type": "web_search_20250305", "name": "web_search", "max_uses": 3}
)
PNG = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5E"
    "rkJggg=="
)


def user(content: str | list[Any]) -> MessageParam:
    return MessageParam(role="user", content=content)


def assistant(content: str | list[Any]) -> MessageParam:
    return MessageParam(role="assistant", content=content)


def tool_turns() -> list[MessageParam]:
    """A question, two tool calls, and their results (one failed, one with blocks)."""
    return [
        user("Weather in Paris, and 2+3?"),
        assistant(
            [
                TextBlock(text="Let me check."),
                ToolUseBlock(id="toolu_1", name="get_weather", input={"city": "Paris"}),
                ToolUseBlock(id="toolu_2", name="add", input={"a": 2, "b": 3}),
            ]
        ),
        user(
            [
                ToolResultBlock(
                    tool_use_id="toolu_1",
                    content=[
                        TextBlock(text='{"temp": 21}'),
                        ImageBlock(source=Base64ImageSource(media_type="image/png", data=PNG)),
                    ],
                ),
                ToolResultBlock(
                    tool_use_id="toolu_2", content="b: must be an integer", is_error=True
                ),
                TextBlock(text="Thanks."),
            ]
        ),
    ]


def test_minimal_request() -> None:
    request = MessageRequest(model="claude-sonnet-4-5", max_tokens=64, messages=[user("Hi")])
    assert assert_valid(request) == MINIMAL


def test_system_as_a_string_and_as_blocks() -> None:
    for system in (
        "You are terse.",
        [
            TextBlock(text="You are terse."),
            TextBlock.model_validate(
                {"type": "text", "text": "Long context.", "cache_control": {"type": "ephemeral"}}
            ),
        ],
    ):
        body = assert_valid(
            MessageRequest(model="m", max_tokens=10, messages=[user("Hi")], system=system)
        )
        assert body["system"] == (
            system if isinstance(system, str) else [b.to_wire() for b in system]
        )


@pytest.mark.parametrize(
    "choice",
    [
        ToolChoiceAuto(),
        ToolChoiceAuto(disable_parallel_tool_use=True),
        ToolChoiceAny(),
        ToolChoiceAny(disable_parallel_tool_use=False),
        ToolChoiceTool(name="get_weather"),
        ToolChoiceTool(name="add", disable_parallel_tool_use=True),
        ToolChoiceNone(),
    ],
    ids=lambda choice: json.dumps(choice.to_wire()),
)
def test_tools_with_every_tool_choice(
    choice: ToolChoiceAuto | ToolChoiceAny | ToolChoiceTool | ToolChoiceNone,
) -> None:
    body = assert_valid(
        MessageRequest(
            model="claude-sonnet-4-5",
            max_tokens=1024,
            messages=tool_turns(),
            tools=[WEATHER, ADD, WEB_SEARCH],
            tool_choice=choice,
        )
    )
    assert body["tool_choice"] == choice.to_wire()
    assert body["tools"][2] == {"type": "web_search_20250305", "name": "web_search", "max_uses": 3}


def test_sampling_stop_sequences_metadata_and_streaming() -> None:
    body = assert_valid(
        MessageRequest(
            model="claude-haiku-4-5",
            max_tokens=200,
            messages=[user("Count to ten.")],
            temperature=0.2,
            top_p=0.9,
            top_k=40,
            stop_sequences=["\n\n", "END"],
            metadata={"user_id": "user-1234"},
            stream=True,
        )
    )
    assert body["stream"] is True
    assert body["stop_sequences"] == ["\n\n", "END"]
    assert (body["temperature"], body["top_p"], body["top_k"]) == (0.2, 0.9, 40)


def test_thinking_with_thinking_blocks_sent_back() -> None:
    body = assert_valid(
        MessageRequest(
            model="claude-sonnet-4-5",
            max_tokens=4096,
            thinking={"type": "enabled", "budget_tokens": 2048},
            tools=[WEATHER],
            messages=[
                user("Weather in Oslo?"),
                assistant(
                    [
                        ThinkingBlock(thinking="The user wants Oslo.", signature="EqQBCgIYAhIM"),
                        RedactedThinkingBlock(data="EmwKAhgBEgy3va3pzix"),
                        ToolUseBlock(id="toolu_9", name="get_weather", input={"city": "Oslo"}),
                    ]
                ),
                user([ToolResultBlock(tool_use_id="toolu_9", content="-3 C, snow")]),
            ],
        )
    )
    assert body["messages"][1]["content"][0] == {
        "type": "thinking",
        "thinking": "The user wants Oslo.",
        "signature": "EqQBCgIYAhIM",
    }


def test_images_and_documents() -> None:
    assert_valid(
        MessageRequest(
            model="claude-sonnet-4-5",
            max_tokens=500,
            messages=[
                user(
                    [
                        ImageBlock(source=Base64ImageSource(media_type="image/png", data=PNG)),
                        ImageBlock(source=URLImageSource(url="https://example.org/cat.jpg")),
                        DocumentBlock.model_validate(
                            {
                                "type": "document",
                                "source": {
                                    "type": "text",
                                    "media_type": "text/plain",
                                    "data": "The grass is green.",
                                },
                                "title": "Facts",
                                "citations": {"enabled": True},
                            }
                        ),
                        TextBlock(text="Describe these."),
                    ]
                )
            ],
        )
    )


def test_a_streamed_reply_goes_back_in_a_valid_request() -> None:
    reply = accumulate_sse_text((DATA / "sse" / "tool_use_response.txt").read_bytes())
    (call,) = reply.tool_uses
    body = assert_valid(
        MessageRequest(
            model="claude-sonnet-4-5",
            max_tokens=1024,
            tools=[WEATHER],
            messages=[
                user("What's the weather in Paris?"),
                reply.to_param(),
                user([ToolResultBlock(tool_use_id=call.id, content="Sunny, 24 C")]),
            ],
        )
    )
    assert body["messages"][1]["content"][1]["caller"] == {"type": "direct"}


def recorded_requests() -> list[Any]:
    found = []
    for path in sorted((DATA / "recorded").glob("*.json")):
        for number, exchange in enumerate(json.loads(path.read_text())):
            stem = path.name.rsplit("__", 1)[-1][:8]
            found.append(pytest.param(exchange["request"]["body"], id=f"{stem}-{number}"))
    return found


@pytest.mark.parametrize("body", recorded_requests())
def test_recorded_requests_round_trip_and_pass(body: dict[str, Any]) -> None:
    request = MessageRequest.model_validate(body)
    assert request.to_wire() == body
    assert oracle_problem(request.to_wire()) is None
