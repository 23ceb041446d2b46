"""Protocol models: unknown blocks and fields survive, missing fields are tolerated."""

from __future__ import annotations

import json
from typing import Any

import pytest

from toolwire._wire.blocks import (
    ImageBlock,
    RedactedThinkingBlock,
    ServerToolResultBlock,
    ServerToolUseBlock,
    TextBlock,
    ThinkingBlock,
    ToolResultBlock,
    ToolUseBlock,
    UnknownBlock,
    parse_block,
)
from toolwire._wire.messages import Message, MessageParam, Usage
from toolwire._wire.request import (
    MessageRequest,
    ServerTool,
    ToolChoiceAny,
    ToolChoiceTool,
    ToolDefinition,
)

SERVER_MESSAGE: dict[str, Any] = {
    "id": "msg_1",
    "type": "message",
    "role": "assistant",
    "model": "claude-x",
    "content": [
        {"type": "thinking", "thinking": "hmm", "signature": "sig=="},
        {"type": "redacted_thinking", "data": "opaque"},
        {"type": "text", "text": "Searching.", "citations": None},
        {"type": "server_tool_use", "id": "srv_1", "name": "octen_search", "input": {"q": "x"}},
        {"type": "octen_search_tool_result", "tool_use_id": "srv_1", "content": [{"u": 1}]},
        {
            "type": "tool_use",
            "id": "toolu_1",
            "name": "add",
            "input": {"a": 1},
            "caller": {"type": "direct"},
        },
        {"type": "compaction", "content": "summary", "new_field": [1, 2]},
        {"type": "image", "source": {"type": "url", "url": "https://x.test/a.png"}},
        {"type": "image", "source": {"type": "file", "file_id": "f_1"}},
    ],
    "stop_reason": "tool_use",
    "stop_sequence": None,
    "usage": {"input_tokens": 10, "output_tokens": 5, "service_tier": "standard"},
    "container": {"id": "c_1", "expires_at": "2026-01-01T00:00:00Z"},
    "provider_extra": {"trace": "abc"},
}


def test_every_block_kind_parses_to_its_model() -> None:
    message = Message.model_validate(SERVER_MESSAGE)
    kinds = [type(b) for b in message.content]
    assert kinds == [
        ThinkingBlock,
        RedactedThinkingBlock,
        TextBlock,
        ServerToolUseBlock,
        ServerToolResultBlock,
        ToolUseBlock,
        UnknownBlock,
        ImageBlock,
        ImageBlock,
    ]
    assert message.tool_uses[0].name == "add"
    assert message.text == "Searching."
    assert message.container is not None
    assert message.container.id == "c_1"


def test_round_trip_is_field_for_field() -> None:
    message = Message.model_validate_json(json.dumps(SERVER_MESSAGE))
    assert message.to_wire() == SERVER_MESSAGE
    assert json.loads(message.model_dump_json(exclude_unset=True)) == SERVER_MESSAGE
    param = message.to_param().to_wire()
    assert param == {"role": "assistant", "content": SERVER_MESSAGE["content"]}


def test_unknown_stop_reason_is_kept() -> None:
    message = Message.model_validate({**SERVER_MESSAGE, "stop_reason": "brand_new"})
    assert message.stop_reason == "brand_new"


def test_missing_optional_fields_are_tolerated() -> None:
    message = Message.model_validate({"content": [{"type": "text", "text": "hi"}]})
    assert message.text == "hi"
    assert message.stop_reason is None
    assert message.usage.input_tokens == 0
    assert message.usage.cache_read_input_tokens is None


def test_blocks_built_in_code_carry_their_type() -> None:
    assert TextBlock(text="x").to_wire() == {"type": "text", "text": "x"}
    assert ToolUseBlock(id="t", name="n").to_wire() == {
        "type": "tool_use",
        "id": "t",
        "name": "n",
        "input": {},
    }
    result = ToolResultBlock(tool_use_id="t", content=[TextBlock(text="ok")], is_error=True)
    assert result.to_wire() == {
        "type": "tool_result",
        "tool_use_id": "t",
        "content": [{"type": "text", "text": "ok"}],
        "is_error": True,
    }
    assert ThinkingBlock(thinking="a").to_wire()["signature"] == ""


def test_tool_result_with_nested_unknown_blocks() -> None:
    block = parse_block(
        {
            "type": "tool_result",
            "tool_use_id": "t",
            "content": [{"type": "search_result", "source": "s", "x": 1}],
        }
    )
    assert isinstance(block, ToolResultBlock)
    assert isinstance(block.content, list)
    assert isinstance(block.content[0], UnknownBlock)
    assert block.to_wire()["content"][0] == {"type": "search_result", "source": "s", "x": 1}


def test_usage_sums() -> None:
    a = Usage(
        input_tokens=3,
        output_tokens=4,
        cache_read_input_tokens=2,
        server_tool_use={"web_search_requests": 1},
    )
    b = Usage(input_tokens=1, output_tokens=1, server_tool_use={"web_search_requests": 2})
    total = a + b
    assert (total.input_tokens, total.output_tokens) == (4, 5)
    assert total.cache_read_input_tokens == 2
    assert total.cache_creation_input_tokens is None
    assert total.server_tool_use == {"web_search_requests": 3}
    assert total.total_tokens == 11


def test_message_param_string_content() -> None:
    param = MessageParam(role="user", content="hello")
    assert param.blocks() == [TextBlock(text="hello")]
    assert param.to_wire() == {"role": "user", "content": "hello"}


def _request(**kwargs: Any) -> MessageRequest:
    base: dict[str, Any] = {
        "model": "m",
        "max_tokens": 10,
        "messages": [MessageParam(role="user", content="hi")],
    }
    base.update(kwargs)
    return MessageRequest(**base)


def test_request_serialises_tools_and_extras() -> None:
    request = _request(
        tools=[
            ToolDefinition(
                name="add", input_schema={"type": "object"}, cache_control={"type": "ephemeral"}
            ),
            ServerTool(type="web_search_20250305", name="web_search", max_uses=2),
        ],
        tool_choice=ToolChoiceAny(disable_parallel_tool_use=True),
        provider_param={"x": 1},
    )
    body = request.to_wire()
    assert body["tools"][0]["cache_control"] == {"type": "ephemeral"}
    assert body["tools"][1] == {"type": "web_search_20250305", "name": "web_search", "max_uses": 2}
    assert body["tool_choice"] == {"type": "any", "disable_parallel_tool_use": True}
    assert body["provider_param"] == {"x": 1}
    assert "temperature" not in body
    reparsed = MessageRequest.model_validate(body)
    assert isinstance(reparsed.tools[1], ServerTool)  # type: ignore[index]
    assert reparsed.to_wire() == body


def test_valid_request_has_no_problems() -> None:
    assert _request(temperature=0.5, top_p=1.0, top_k=0).problems() == []


@pytest.mark.parametrize(
    ("kwargs", "parameter"),
    [
        ({"max_tokens": 0}, "max_tokens"),
        ({"temperature": 1.5}, "temperature"),
        ({"temperature": float("nan")}, "temperature"),
        ({"top_p": -0.1}, "top_p"),
        ({"top_k": -1}, "top_k"),
        ({"model": ""}, "model"),
        ({"messages": []}, "messages"),
        (
            {"tools": [ToolDefinition(name="bad name", input_schema={"type": "object"})]},
            "tools[0].name",
        ),
        (
            {
                "tools": [
                    ToolDefinition(name="a", input_schema={"type": "object"}),
                    ToolDefinition(name="a", input_schema={"type": "object"}),
                ]
            },
            "tools[1].name",
        ),
        ({"tool_choice": ToolChoiceTool(name="ghost")}, "tool_choice.name"),
    ],
)
def test_request_problems_name_the_parameter(kwargs: dict[str, Any], parameter: str) -> None:
    problems = _request(**kwargs).problems()
    assert [name for name, _ in problems] == [parameter]
