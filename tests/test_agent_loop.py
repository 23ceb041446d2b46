"""The loop against the fake Messages API: stop reasons, tool_choice, pause_turn, outputs."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import BaseModel

from toolwire import (
    Agent,
    ConfigError,
    ContextWindowExceeded,
    MaxTokensReached,
    OutputValidationError,
    RefusalError,
    ServerToolResultBlock,
    ServerToolUseBlock,
    ToolChoiceTool,
    UnexpectedStopReason,
    UnknownBlock,
    tool,
)
from toolwire.testing import FakeMessagesAPI, reply, thinking, tool_call

pytestmark = pytest.mark.anyio


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@tool
async def get_weather(city: str) -> dict[str, Any]:
    """Get the weather for a city.

    Args:
        city: City name.
    """
    return {"city": city, "temp": 21}


def agent_for(api: FakeMessagesAPI, **kwargs: Any) -> Agent[Any]:
    kwargs.setdefault("tools", [add, get_weather])
    return Agent("claude-test", client=api.client(), **kwargs)


def sent(api: FakeMessagesAPI, n: int) -> dict[str, Any]:
    return api.requests[n].body


@pytest.mark.parametrize("streamed", [False, True])
async def test_tool_loop_runs_tools_and_ends(streamed: bool) -> None:
    api = FakeMessagesAPI(
        [
            reply(
                "Checking.",
                tool_call("get_weather", {"city": "Paris"}),
                tool_call("add", {"a": 2, "b": 3}),
            ),
            reply("Paris is 21°C and 2+3=5."),
        ]
    )
    result = await agent_for(api).run("Weather in Paris, and 2+3?", stream=streamed)
    api.assert_valid()
    assert result.text == "Paris is 21°C and 2+3=5."
    assert (result.stop_reason, result.turns, result.tool_calls) == ("end_turn", 2, 2)
    assert [r.streamed for r in api.requests] == [streamed, streamed]
    messages = sent(api, 1)["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "user"]
    assert messages[1]["content"] == sent(api, 1)["messages"][1]["content"]
    results = messages[2]["content"]
    assert [r["tool_use_id"] for r in results] == [
        b["id"] for b in messages[1]["content"] if b["type"] == "tool_use"
    ]
    assert json.loads(results[0]["content"]) == {"city": "Paris", "temp": 21}
    assert results[1]["content"] == "5"
    assert result.usage.input_tokens > 0
    assert result.usage.output_tokens > 0
    assert [m.role for m in result.messages] == ["user", "assistant", "user", "assistant"]


async def test_request_carries_agent_settings() -> None:
    api = FakeMessagesAPI([reply("ok")])
    agent = agent_for(
        api,
        system="Be terse.",
        max_tokens=77,
        temperature=0.3,
        stop_sequences=["STOP"],
        metadata={"user_id": "u1"},
        extra_body={"provider_knob": True},
        server_tools=[{"type": "web_search_20250305", "name": "web_search"}],
    )
    await agent.run("hi")
    body = sent(api, 0)
    assert body["system"] == "Be terse."
    assert body["max_tokens"] == 77
    assert body["temperature"] == 0.3
    assert body["stop_sequences"] == ["STOP"]
    assert body["metadata"] == {"user_id": "u1"}
    assert body["provider_knob"] is True
    assert [t["name"] for t in body["tools"]] == ["add", "get_weather", "web_search"]
    assert body["tools"][2] == {"type": "web_search_20250305", "name": "web_search"}
    assert "tool_choice" not in body


async def test_stop_sequence_is_reported() -> None:
    api = FakeMessagesAPI([reply("one two", stop_sequence="STOP")])
    result = await agent_for(api, stop_sequences=["STOP"]).run("count")
    assert (result.stop_reason, result.stop_sequence) == ("stop_sequence", "STOP")


@pytest.mark.parametrize("streamed", [False, True])
async def test_max_tokens_never_runs_a_cut_tool_call(streamed: bool) -> None:
    calls: list[int] = []

    @tool
    def record(n: int) -> str:
        """Record a number."""
        calls.append(n)
        return "ok"

    api = FakeMessagesAPI(
        [reply("Partial", tool_call("record", {"n": 1}), stop_reason="max_tokens")]
    )
    agent = agent_for(api, tools=[record])
    with pytest.raises(MaxTokensReached) as info:
        await agent.run("go", stream=streamed)
    assert calls == []
    err = info.value
    assert len(err.cut_tool_uses) == 1
    assert "record" in str(err)
    assert err.transcript is not None
    # The cut call is answered as not run, so the transcript can be sent again as it is.
    last = err.transcript[-1]
    assert last.role == "user"
    assert isinstance(last.content, list)
    assert last.content[0].is_error is True  # type: ignore[union-attr]

    api = FakeMessagesAPI([reply("Partial answ", stop_reason="max_tokens"), reply("resumed")])
    agent = agent_for(api, on_max_tokens="return")
    result = await agent.run("go", stream=streamed)
    assert result.stop_reason == "max_tokens"
    assert result.text == "Partial answ"
    assert result.truncated == ["text"]
    again = await agent.run("continue", history=result.messages)
    assert again.text == "resumed"
    api.assert_valid()


@pytest.mark.parametrize(
    ("stop", "error"),
    [
        ("refusal", RefusalError),
        ("model_context_window_exceeded", ContextWindowExceeded),
        ("brand_new_reason", UnexpectedStopReason),
    ],
)
async def test_ending_stop_reasons_raise_typed_errors_and_run_nothing(
    stop: str, error: type[Exception]
) -> None:
    calls: list[str] = []

    @tool
    def side_effect(x: str) -> str:
        """Do something."""
        calls.append(x)
        return x

    api = FakeMessagesAPI([reply("Hmm", tool_call("side_effect", {"x": "a"}), stop_reason=stop)])
    with pytest.raises(error) as info:
        await agent_for(api, tools=[side_effect]).run("go")
    assert calls == []
    assert stop in str(info.value)
    assert info.value.transcript is not None  # type: ignore[attr-defined]


async def test_forced_tool_choice_applies_once_then_auto() -> None:
    api = FakeMessagesAPI(
        [
            reply(tool_call("add", {"a": 1, "b": 1})),
            reply(tool_call("add", {"a": 2, "b": 2})),
            reply("done"),
        ]
    )
    agent = agent_for(api, tool_choice=ToolChoiceTool(name="add", disable_parallel_tool_use=True))
    await agent.run("add things")
    choices = [r.body.get("tool_choice") for r in api.requests]
    assert choices == [
        {"type": "tool", "name": "add", "disable_parallel_tool_use": True},
        {"type": "auto", "disable_parallel_tool_use": True},
        {"type": "auto", "disable_parallel_tool_use": True},
    ]

    api = FakeMessagesAPI([reply(tool_call("add", {"a": 1, "b": 1})), reply("done")])
    await agent_for(api, tool_choice="any", tool_choice_once=False).run("x")
    assert [r.body["tool_choice"]["type"] for r in api.requests] == ["any", "any"]


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("auto", {"type": "auto"}),
        ("none", {"type": "none"}),
        ("any", {"type": "any"}),
    ],
)
async def test_tool_choice_modes_are_sent(spec: Any, expected: dict[str, Any]) -> None:
    api = FakeMessagesAPI([reply("ok")])
    await agent_for(api, tool_choice=spec).run("x")
    assert sent(api, 0)["tool_choice"] == expected


async def test_disable_parallel_tool_use_alone_sends_auto_with_the_flag() -> None:
    api = FakeMessagesAPI([reply("ok")])
    await agent_for(api, disable_parallel_tool_use=True).run("x")
    assert sent(api, 0)["tool_choice"] == {"type": "auto", "disable_parallel_tool_use": True}

    api = FakeMessagesAPI([reply("ok")])
    choice = ToolChoiceTool(name="add")
    await agent_for(api, tool_choice=choice, disable_parallel_tool_use=True).run("x")
    assert sent(api, 0)["tool_choice"] == {
        "type": "tool",
        "name": "add",
        "disable_parallel_tool_use": True,
    }
    with pytest.raises(ConfigError, match="disable_parallel_tool_use"):
        agent_for(
            api,
            tool_choice=ToolChoiceTool(name="add", disable_parallel_tool_use=False),
            disable_parallel_tool_use=True,
        )


def test_forced_choice_with_thinking_is_refused_at_construction() -> None:
    api = FakeMessagesAPI([])
    with pytest.raises(ConfigError, match="extended thinking") as info:
        agent_for(api, tool_choice="any", thinking={"type": "enabled", "budget_tokens": 1024})
    assert info.value.setting == "tool_choice"
    with pytest.raises(ConfigError, match="does not have"):
        agent_for(api, tool_choice=ToolChoiceTool(name="ghost"))
    with pytest.raises(ConfigError, match="tool_choice"):
        agent_for(api, tool_choice="sometimes")


@pytest.mark.parametrize("streamed", [False, True])
async def test_pause_turn_with_server_tool_continues(streamed: bool) -> None:
    search = ServerToolUseBlock(id="srvtoolu_1", name="octen_search", input={"q": "paris weather"})
    found = ServerToolResultBlock(
        type="octen_search_tool_result", tool_use_id="srvtoolu_1", content=[{"title": "Paris"}]
    )
    api = FakeMessagesAPI(
        [
            reply("Searching.", search, found, stop_reason="pause_turn"),
            reply("It is sunny in Paris."),
        ]
    )
    agent = agent_for(api, server_tools=[{"type": "octen_search", "name": "octen_search"}])
    result = await agent.run("Weather in Paris?", stream=streamed)
    api.assert_valid()
    assert result.text == "It is sunny in Paris."
    second = sent(api, 1)["messages"]
    # The paused content goes back unchanged, with nothing added after it.
    assert [m["role"] for m in second] == ["user", "assistant"]
    assert second[1]["content"] == [
        {"type": "text", "text": "Searching."},
        {
            "type": "server_tool_use",
            "id": "srvtoolu_1",
            "name": "octen_search",
            "input": {"q": "paris weather"},
        },
        {
            "type": "octen_search_tool_result",
            "tool_use_id": "srvtoolu_1",
            "content": [{"title": "Paris"}],
        },
    ]
    # The transcript holds the whole assistant turn as one message.
    assert [m.role for m in result.messages] == ["user", "assistant"]
    assert len(result.messages[1].blocks()) == 4


async def test_pause_turn_is_bounded() -> None:
    from toolwire import LimitExceeded, Limits

    api = FakeMessagesAPI([reply("more", stop_reason="pause_turn")] * 3)
    agent = agent_for(api, limits=Limits(max_pause_turns=2))
    with pytest.raises(LimitExceeded) as info:
        await agent.run("go")
    assert info.value.limit == "max_pause_turns"
    assert len(api.requests) == 3


async def test_container_id_is_carried_to_the_next_request() -> None:
    first = reply(tool_call("add", {"a": 1, "b": 2}))
    first.container = None
    api = FakeMessagesAPI(
        [
            {
                "content": [
                    {"type": "tool_use", "id": "toolu_c1", "name": "add", "input": {"a": 1, "b": 2}}
                ],
                "stop_reason": "tool_use",
                "container": {"id": "container_9", "expires_at": "x"},
            },
            reply("3"),
        ]
    )
    await agent_for(api).run("add")
    assert "container" not in sent(api, 0)
    assert sent(api, 1)["container"] == "container_9"


@pytest.mark.parametrize("streamed", [False, True])
async def test_thinking_and_unknown_blocks_round_trip_during_tool_use(streamed: bool) -> None:
    think = thinking("I should add.", signature="sig-abc")
    odd = UnknownBlock(type="provider_note", note="kept", nested={"a": [1]})
    api = FakeMessagesAPI(
        [
            reply(
                think,
                {"type": "redacted_thinking", "data": "opaque=="},
                odd,
                tool_call("add", {"a": 1, "b": 2}),
            ),
            reply("3"),
        ]
    )
    agent = agent_for(api, thinking={"type": "enabled", "budget_tokens": 2048})
    await agent.run("1+2?", stream=streamed)
    api.assert_valid()
    assistant = sent(api, 1)["messages"][1]["content"]
    assert assistant[0] == {"type": "thinking", "thinking": "I should add.", "signature": "sig-abc"}
    assert assistant[1] == {"type": "redacted_thinking", "data": "opaque=="}
    assert assistant[2] == {"type": "provider_note", "note": "kept", "nested": {"a": [1]}}
    assert sent(api, 1)["thinking"] == {"type": "enabled", "budget_tokens": 2048}


class Forecast(BaseModel):
    city: str
    temp: int


@pytest.mark.parametrize("streamed", [False, True])
async def test_structured_output_via_final_answer(streamed: bool) -> None:
    api = FakeMessagesAPI(
        [
            reply(tool_call("final_answer", {"city": "Paris", "temp": "warm"})),
            reply(tool_call("final_answer", {"city": "Paris", "temp": 21})),
        ]
    )
    result = await agent_for(api).run("forecast", output_type=Forecast, stream=streamed)
    assert result.output == Forecast(city="Paris", temp=21)
    api.assert_valid()
    feedback = sent(api, 1)["messages"][2]["content"][0]
    assert feedback["is_error"] is True
    assert "temp" in feedback["content"]
    final_answer = next(t for t in sent(api, 0)["tools"] if t["name"] == "final_answer")
    assert final_answer["input_schema"]["required"] == ["city", "temp"]
    # The transcript ends answered, so it can be continued.
    assert result.messages[-1].role == "user"


async def test_structured_output_retry_budget_and_text_nudge() -> None:
    api = FakeMessagesAPI([reply("It is warm.")] * 3)
    with pytest.raises(OutputValidationError) as info:
        await agent_for(api, output_retries=2).run("forecast", output_type=Forecast)
    assert len(api.requests) == 3
    assert info.value.transcript is not None
    api.assert_valid()

    api = FakeMessagesAPI([reply(tool_call("final_answer", {"value": 42}))])
    result = await agent_for(api).run("number", output_type=int)
    assert result.output == 42


async def test_unknown_tool_gets_an_error_listing_available_tools() -> None:
    api = FakeMessagesAPI([reply(tool_call("teleport", {"to": "Mars"})), reply("sorry")])
    result = await agent_for(api).run("go")
    answer = sent(api, 1)["messages"][2]["content"][0]
    assert answer["is_error"] is True
    assert "add" in answer["content"]
    assert "get_weather" in answer["content"]
    assert result.text == "sorry"


async def test_history_continues_and_prompt_joins_trailing_tool_results() -> None:
    api = FakeMessagesAPI([reply("first"), reply("second")])
    agent = agent_for(api)
    first = await agent.run("one")
    second = await agent.run("two", history=first.messages)
    assert [m["role"] for m in sent(api, 1)["messages"]] == ["user", "assistant", "user"]
    assert second.text == "second"
    dumped = json.loads(second.to_json())
    assert dumped["messages"][0] == {"role": "user", "content": "one"}


async def test_run_result_json_holds_the_wire_transcript_and_reads_back() -> None:
    api = FakeMessagesAPI([reply(tool_call("add", {"a": 1, "b": 2})), reply("3")])
    result = await agent_for(api).run("1+2")
    dumped = json.loads(result.to_json())
    assert dumped["messages"] == [m.to_wire() for m in result.messages]
    assert dumped["messages"][1]["content"][0] == api.requests[1].body["messages"][1]["content"][0]
    assert "citations" not in json.dumps(dumped["messages"])
    again = type(result).model_validate_json(result.to_json())
    assert [m.to_wire() for m in again.messages] == dumped["messages"]
    assert again.usage == result.usage
