"""The protocol rules: each one catches its violation and accepts the valid counterpart."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import pytest

from toolwire.testing import RULES, FakeMessagesAPI, check_request, reply, thinking, tool_call

WEATHER = {
    "name": "get_weather",
    "description": "Weather for a city.",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
}
SEARCH = {"type": "web_search_20250305", "name": "web_search"}
USE = {"type": "tool_use", "id": "toolu_01", "name": "get_weather", "input": {"city": "Paris"}}
USE2 = {"type": "tool_use", "id": "toolu_02", "name": "get_weather", "input": {"city": "Rome"}}
RESULT = {"type": "tool_result", "tool_use_id": "toolu_01", "content": "21°C"}
RESULT2 = {"type": "tool_result", "tool_use_id": "toolu_02", "content": "25°C", "is_error": False}
THOUGHT = {"type": "thinking", "thinking": "The user wants weather.", "signature": "sig_01"}
REDACTED = {"type": "redacted_thinking", "data": "opaque-data"}
SENT = [{"role": "assistant", "content": [THOUGHT, REDACTED, USE]}]


def blocks(content: tuple[Any, ...]) -> str | list[Any]:
    """One string stays a string; otherwise strings become text blocks."""
    if len(content) == 1 and isinstance(content[0], str):
        return content[0]
    return [{"type": "text", "text": c} if isinstance(c, str) else c for c in content]


def user(*content: Any) -> dict[str, Any]:
    return {"role": "user", "content": blocks(content)}


def assistant(*content: Any) -> dict[str, Any]:
    return {"role": "assistant", "content": blocks(content)}


def body(*messages: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """A request: defaults for model and max_tokens, one user message unless given."""
    base: dict[str, Any] = {
        "model": "claude-test-1",
        "max_tokens": 2048,
        "messages": list(messages) or [user("Hello")],
    }
    base.update(fields)
    return base


def without(key: str) -> dict[str, Any]:
    full = body()
    del full[key]
    return full


LOOP = (user("Weather?"), assistant("Checking.", USE), user(RESULT))


@dataclass(frozen=True)
class Case:
    rule: str
    bad: dict[str, Any]
    good: dict[str, Any]
    sent: list[dict[str, Any]] | None = None

    @property
    def id(self) -> str:
        return self.rule


CASES = [
    Case("model", body(model=""), body(model="claude-test-1")),
    Case("model", without("model"), body()),
    Case("max-tokens", body(max_tokens=0), body(max_tokens=1)),
    Case("max-tokens", body(max_tokens="10"), body(max_tokens=10)),
    Case("max-tokens", body(max_tokens=True), body(max_tokens=4096)),
    Case("max-tokens", without("max_tokens"), body()),
    Case("temperature", body(temperature=1.5), body(temperature=1)),
    Case("temperature", body(temperature=-0.1), body(temperature=0)),
    Case("temperature", body(temperature="0.5"), body(temperature=0.5)),
    Case("temperature", body(temperature=float("nan")), body(temperature=None)),
    Case("top-p", body(top_p=2), body(top_p=0.9)),
    Case("top-k", body(top_k=-1), body(top_k=0)),
    Case("top-k", body(top_k=2.5), body(top_k=40)),
    Case("stop-sequences", body(stop_sequences="END"), body(stop_sequences=["END"])),
    Case("stop-sequences", body(stop_sequences=[""]), body(stop_sequences=["\n\nHuman:"])),
    Case("stream", body(stream="yes"), body(stream=True)),
    Case("system", body(system=5), body(system="Be terse.")),
    Case(
        "system",
        body(system=[{"type": "image", "source": {}}]),
        body(
            system=[{"type": "text", "text": "Be terse.", "cache_control": {"type": "ephemeral"}}]
        ),
    ),
    Case("messages", body(messages=[]), body()),
    Case("messages", without("messages"), body()),
    Case("messages", body(messages="Hello"), body()),
    Case("messages", body(messages=[5]), body()),
    Case(
        "role", body(user("a"), {"role": "system", "content": "b"}), body(user("a"), assistant("b"))
    ),
    Case(
        "first-role",
        body(assistant("Hi"), user("Hello")),
        body(user("Hello"), assistant("Hi"), user("Bye")),
    ),
    Case("content", body(user("Hi"), assistant(""), user("Hi")), body(user("Hi"), assistant(""))),
    Case("content", body({"role": "user", "content": []}), body(user("Hi"))),
    Case("content", body({"role": "user", "content": None}), body(user("Hi"))),
    Case("content", body(user({"text": "no type"})), body(user({"type": "text", "text": "typed"}))),
    Case("text-empty", body(user("   ")), body(user("Hi"))),
    Case(
        "text-empty",
        body(user({"type": "text", "text": ""}, {"type": "text", "text": "x"})),
        body(user("x")),
    ),
    Case(
        "prefill-whitespace",
        body(user("Hi"), assistant("The answer is ")),
        body(user("Hi"), assistant("The answer is")),
    ),
    Case("block-role", body(user("Hi", USE)), body(*LOOP)),
    Case("block-role", body(user("Hi"), assistant(RESULT)), body(*LOOP)),
    Case("block-role", body(user(THOUGHT, "Hi")), body(user("Hi"))),
    Case(
        "tool-use", body(user("Hi"), assistant({**USE, "id": "bad id!"}), user(RESULT)), body(*LOOP)
    ),
    Case("tool-use", body(user("Hi"), assistant({**USE, "input": [1]}), user(RESULT)), body(*LOOP)),
    Case(
        "tool-use",
        body(user("Hi"), assistant({k: v for k, v in USE.items() if k != "name"}), user(RESULT)),
        body(*LOOP),
    ),
    Case(
        "tool-use-duplicate",
        body(*LOOP, assistant(USE), user(RESULT)),
        body(*LOOP, assistant(USE2), user(RESULT2)),
    ),
    Case(
        "tool-result",
        body(user("Hi"), assistant(USE), user({"type": "tool_result"}, RESULT)),
        body(*LOOP),
    ),
    Case("tool-result-missing", body(user("Weather?"), assistant(USE)), body(*LOOP)),
    Case(
        "tool-result-missing",
        body(user("Weather?"), assistant(USE), user("No result")),
        body(*LOOP),
    ),
    Case(
        "tool-result-missing",
        body(user("Two?"), assistant(USE, USE2), user(RESULT)),
        body(user("Two?"), assistant(USE, USE2), user(RESULT, RESULT2)),
    ),
    Case(
        "tool-result-missing",
        body(user("Weather?"), assistant(USE), user("Wait"), assistant("More"), user(RESULT)),
        body(user("Weather?"), assistant(USE), assistant("More"), user(RESULT)),
    ),
    Case(
        "tool-result-duplicate", body(user("Hi"), assistant(USE), user(RESULT, RESULT)), body(*LOOP)
    ),
    Case(
        "tool-result-first",
        body(user("Hi"), assistant(USE), user("Here you go:", RESULT)),
        body(user("Hi"), assistant(USE), user(RESULT, "Here you go.")),
    ),
    Case(
        "tool-result-first",
        body(user("Hi"), assistant(USE), user("Here you go:"), user(RESULT)),
        body(user("Hi"), assistant(USE), user(RESULT), user("Here you go.")),
    ),
    Case("tool-result-unexpected", body(user(RESULT)), body(user("Hi"))),
    Case("tool-result-unexpected", body(user("Hi"), user(RESULT)), body(*LOOP)),
    Case(
        "tool-result-unexpected",
        body(user("Hi"), assistant(USE), user(RESULT, RESULT2)),
        body(user("Hi"), assistant(USE, USE2), user(RESULT, RESULT2)),
    ),
    Case("tools", body(tools="get_weather"), body(tools=[WEATHER])),
    Case("tools", body(tools=[5]), body(tools=[WEATHER])),
    Case("tools", body(tools=[{"type": "web_search_20250305"}]), body(tools=[SEARCH, WEATHER])),
    Case("tool-name", body(tools=[{**WEATHER, "name": "get weather"}]), body(tools=[WEATHER])),
    Case(
        "tool-name",
        body(tools=[{**WEATHER, "name": "x" * 129}]),
        body(tools=[{**WEATHER, "name": "x" * 128}]),
    ),
    Case(
        "tool-name",
        body(tools=[{**WEATHER, "name": ""}]),
        body(tools=[{**WEATHER, "name": "a-b_C9"}]),
    ),
    Case(
        "tool-name-duplicate",
        body(tools=[WEATHER, {**WEATHER, "description": "again"}]),
        body(tools=[WEATHER, {**WEATHER, "name": "get_forecast"}]),
    ),
    Case(
        "tool-name-duplicate",
        body(tools=[SEARCH, {**WEATHER, "name": "web_search"}]),
        body(tools=[SEARCH, WEATHER]),
    ),
    Case(
        "input-schema",
        body(tools=[{"name": "f"}]),
        body(tools=[{"name": "f", "input_schema": {"type": "object"}}]),
    ),
    Case(
        "input-schema",
        body(tools=[{**WEATHER, "input_schema": {"type": "string"}}]),
        body(tools=[WEATHER]),
    ),
    Case(
        "tool-choice",
        body(tools=[WEATHER], tool_choice={"type": "maybe"}),
        body(tools=[WEATHER], tool_choice={"type": "auto"}),
    ),
    Case(
        "tool-choice",
        body(tools=[WEATHER], tool_choice={"type": "tool", "name": "get_time"}),
        body(tools=[WEATHER], tool_choice={"type": "tool", "name": "get_weather"}),
    ),
    Case(
        "tool-choice",
        body(tool_choice={"type": "any"}),
        body(tools=[WEATHER], tool_choice={"type": "any"}),
    ),
    Case(
        "tool-choice",
        body(tools=[WEATHER], tool_choice={"type": "auto", "disable_parallel_tool_use": "yes"}),
        body(tools=[WEATHER], tool_choice={"type": "auto", "disable_parallel_tool_use": True}),
    ),
    Case(
        "thinking-config",
        body(thinking={"type": "enabled", "budget_tokens": 100}),
        body(thinking={"type": "enabled", "budget_tokens": 1024}),
    ),
    Case("thinking-config", body(thinking={"type": "on"}), body(thinking={"type": "disabled"})),
    Case(
        "thinking-tool-choice",
        body(
            tools=[WEATHER],
            tool_choice={"type": "any"},
            thinking={"type": "enabled", "budget_tokens": 1024},
        ),
        body(
            tools=[WEATHER],
            tool_choice={"type": "auto"},
            thinking={"type": "enabled", "budget_tokens": 1024},
        ),
    ),
    Case(
        "thinking-modified",
        body(
            user("Weather?"),
            assistant({**THOUGHT, "thinking": "Edited."}, REDACTED, USE),
            user(RESULT),
        ),
        body(user("Weather?"), assistant(THOUGHT, REDACTED, USE), user(RESULT)),
        SENT,
    ),
    Case(
        "thinking-modified",
        body(
            user("Weather?"),
            assistant({**THOUGHT, "signature": "sig_forged"}, REDACTED, USE),
            user(RESULT),
        ),
        body(user("Weather?"), assistant(THOUGHT, REDACTED, USE), user(RESULT)),
        SENT,
    ),
    Case(
        "thinking-modified",
        body(
            user("Weather?"), assistant(THOUGHT, {**REDACTED, "data": "other"}, USE), user(RESULT)
        ),
        body(
            user("Weather?"), assistant({**THOUGHT, "citations": None}, REDACTED, USE), user(RESULT)
        ),
        SENT,
    ),
    Case(
        "thinking-dropped",
        body(user("Weather?"), assistant(USE), user(RESULT)),
        body(user("Weather?"), assistant(THOUGHT, REDACTED, USE), user(RESULT)),
        SENT,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_rule_catches_its_violation(case: Case) -> None:
    problems = check_request(case.bad, case.sent)
    assert any(p.startswith(f"{case.rule}: ") for p in problems), problems


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_rule_accepts_the_valid_counterpart(case: Case) -> None:
    assert check_request(case.good, case.sent) == []


def test_every_rule_has_cases() -> None:
    assert {c.rule for c in CASES} == set(RULES)


@pytest.mark.parametrize(
    "request_body",
    [
        # Consecutive turns of one role merge: no alternation is required.
        body(user("One"), user("Two")),
        body(*LOOP, user("And tomorrow?")),
        # Prefill, and a pause_turn continuation ending in the server's own tool use.
        body(user("Answer in JSON"), assistant("{")),
        body(
            user("Search the news"),
            assistant(
                "Searching.",
                {
                    "type": "server_tool_use",
                    "id": "srvtoolu_01",
                    "name": "web_search",
                    "input": {"q": "news"},
                },
            ),
            tools=[SEARCH],
        ),
        # Parallel calls answered in one message, one of them failed; rich result content.
        body(
            user("Two cities"),
            assistant(USE, USE2),
            user(
                RESULT,
                {
                    **RESULT2,
                    "is_error": True,
                    "content": [{"type": "text", "text": "unknown city"}],
                },
                "Thanks",
            ),
            tools=[WEATHER],
            tool_choice={"type": "auto", "disable_parallel_tool_use": False},
        ),
        # Blocks this library does not model pass through.
        body(
            user(
                {"type": "image", "source": {"type": "url", "url": "https://x/y.png"}},
                "What is this?",
            )
        ),
        body(
            user("Hi"),
            assistant({"type": "compaction", "content": "summary"}, "Hello"),
            user("Go on"),
        ),
        # Every optional parameter at a valid value.
        body(
            system=[{"type": "text", "text": "Be terse."}],
            temperature=0.2,
            top_p=1,
            top_k=5,
            stop_sequences=["END"],
            stream=False,
            metadata={"user_id": "u1"},
            thinking={"type": "adaptive"},
            tools=[WEATHER, SEARCH],
            tool_choice={"type": "none"},
            container="container_01",
            output_config={"effort": "low"},
        ),
    ],
)
def test_valid_requests_pass(request_body: dict[str, Any]) -> None:
    assert check_request(request_body) == []
    assert check_request(request_body, sent=[]) == []


def test_thinking_needs_what_the_server_sent_to_be_checked() -> None:
    transcript = body(user("Weather?"), assistant(THOUGHT, USE), user(RESULT))
    assert check_request(transcript) == []
    assert check_request(transcript, sent=[]) == [
        "thinking-modified: messages[1].content[0]: this thinking block is not one the server "
        "sent (its signature or data was changed)"
    ]


def test_problems_name_where_they_are() -> None:
    problems = check_request(
        body(user("Hi"), assistant(USE, USE2), user("text first", RESULT), max_tokens=0)
    )
    assert "max-tokens: max_tokens must be an integer >= 1, got 0" in problems
    assert any(
        p.startswith("tool-result-missing: tool_use toolu_02 in messages[1]") for p in problems
    )
    assert any(p.startswith("tool-result-first: messages[2].content[1]") for p in problems)


# -- real traffic ---------------------------------------------------------------------------

RECORDED = Path(__file__).resolve().parent / "data" / "recorded"


def recorded_exchanges() -> list[tuple[str, dict[str, Any], int]]:
    found = []
    for path in sorted(RECORDED.glob("*.json")):
        for n, exchange in enumerate(json.loads(path.read_text(encoding="utf-8"))):
            request = exchange["request"]
            if "/v1/messages" in request["url"]:
                found.append(
                    (f"{path.stem[:40]}-{n}", request["body"], exchange["response"]["status_code"])
                )
    return found


def test_rules_agree_with_the_real_api_on_recorded_requests() -> None:
    exchanges = recorded_exchanges()
    assert len(exchanges) > 20
    for name, request_body, status in exchanges:
        problems = check_request(request_body)
        if status == 400:
            # The real API answered "unexpected `tool_use_id` found in `tool_result` blocks".
            assert [p.split(":")[0] for p in problems] == ["tool-result-unexpected"], name
        else:
            assert problems == [], name


# -- the app remembers what it sent ---------------------------------------------------------


@pytest.mark.anyio
async def test_app_checks_thinking_against_what_it_sent() -> None:
    first = reply(thinking("Paris, then."), tool_call("get_weather", {"city": "Paris"}))
    api = FakeMessagesAPI([first, reply("21°C.")])
    headers = {"anthropic-version": "2023-06-01"}
    request = body(
        user("Weather?"), tools=[WEATHER], thinking={"type": "enabled", "budget_tokens": 1024}
    )
    async with httpx2.AsyncClient(
        transport=api.transport(), base_url="http://fake-messages.test"
    ) as client:
        sent = (await client.post("/v1/messages", json=request, headers=headers)).json()
        result = {"type": "tool_result", "tool_use_id": sent["content"][1]["id"], "content": "21°C"}
        edited = [{**sent["content"][0], "thinking": "Rome, then."}, sent["content"][1]]
        rejected = await client.post(
            "/v1/messages",
            json={**request, "messages": [*request["messages"], assistant(*edited), user(result)]},
            headers=headers,
        )
        accepted = await client.post(
            "/v1/messages",
            json={
                **request,
                "messages": [*request["messages"], assistant(*sent["content"]), user(result)],
            },
            headers=headers,
        )
    assert rejected.status_code == 400
    assert "thinking-modified" in rejected.json()["error"]["message"]
    assert accepted.status_code == 200
    assert accepted.json()["content"][0]["text"] == "21°C."
    assert len(api.violations) == 1
    assert api.violations[0].startswith("request #2: thinking-modified: messages[1].content[0]")
