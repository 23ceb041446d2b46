"""Real tool-runner exchanges with the live API, replayed through toolwire's whole loop.

Each ``tools__test_runners__*`` recording in ``tests/data/recorded`` (see tests/data/README.md) is
an exchange the official SDK's tool runner had with the live API. For each one, the same tools
are defined here with ``@tool`` (same names, descriptions and parameters, returning what the
recorded tool_result says), the fake Messages API serves the recorded responses in order, byte
for byte (``Fault.raw``; streamed bodies as ``text/event-stream``), and the same prompt runs
through ``Agent.run``, streamed where the recording is. Then:

- every request toolwire sent equals the recorded one: model, max_tokens, messages (roles,
  content, tool_use/tool_result pairing, ids), tools (names, descriptions, properties, required,
  additionalProperties), ``stream`` and ``container``. JSON key order does not matter; titles in
  schemas and client headers (the SDK's ``x-stainless-*``, user-agent) are left aside, but the
  ``anthropic-version`` and ``anthropic-beta`` headers must match;
- the run ends as the recording did: its final message is the recorded final response (for a
  stream, the message the official SDK's accumulator builds from the same events).

Where toolwire deliberately differs, the recording's spec names the difference with a
normaliser that rewrites the recorded request into what toolwire sends, and a line saying why.
Nothing is ignored wholesale.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, cast

import httpx2
import pytest
from anthropic.lib.streaming._messages import accumulate_event

from toolwire import (
    Agent,
    Endpoint,
    InvalidRequestError,
    LimitExceeded,
    Limits,
    MessagesClient,
    RunResult,
    Tool,
    ToolwireError,
    tool,
)
from toolwire.testing import FAKE_BASE_URL, FakeMessagesAPI, Fault, check_request

RECORDED = Path(__file__).parent / "data" / "recorded"
Body = dict[str, Any]
Normaliser = Callable[[int, Body], Body]
"""Rewrites recorded request ``n`` (0-based) into what toolwire sends, for a named reason."""


def load(stem: str) -> list[dict[str, Any]]:
    (path,) = RECORDED.glob(f"tools__test_runners__*{stem}*.json")
    exchanges: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))
    return exchanges


# -- the tools, as the recordings define them ------------------------------------------------------


def weather_of(location: str, units: str) -> str:
    """What the recorded weather tool answered: JSON text (non-ASCII escaped, as recorded)."""
    temperature = "20°C" if units == "c" else "68°F"
    return json.dumps({"location": location, "temperature": temperature, "condition": "Sunny"})


@tool
def get_weather(location: str, units: Literal["c", "f"]) -> str:
    """Lookup the weather for a given city in either celsius or fahrenheit

    Args:
        location: The city and state, e.g. San Francisco, CA
        units: Unit for the output, either 'c' for celsius or 'f' for fahrenheit
    """
    return weather_of(location, units)


@tool(description="")
def get_weather_undocumented(location: str, units: Literal["c", "f"]) -> str:
    return weather_of(location, units)


get_weather_undocumented.name = "get_weather"


@tool(name="get_weather")
def get_weather_failing(location: str, units: Literal["c", "f"]) -> str:
    """Lookup the weather for a given city in either celsius or fahrenheit

    Args:
        location: The city and state, e.g. San Francisco, CA
        units: Unit for the output, either 'c' for celsius or 'f' for fahrenheit
    """
    raise RuntimeError("Unexpected error, try again")


CUSTOM_RESULT = "The weather in San Francisco, CA is currently sunny with a temperature of 20°C."


@tool(name="get_weather")
def get_weather_custom(location: str, units: Literal["c", "f"]) -> str:
    """Lookup the weather for a given city in either celsius or fahrenheit

    Args:
        location: The city and state, e.g. San Francisco, CA
        units: Unit for the output, either 'c' for celsius or 'f' for fahrenheit
    """
    return CUSTOM_RESULT


@tool
def submit_analysis(summary: str) -> str:
    """Call this LAST with your final analysis."""
    return "Analysis submitted"


# -- named differences -----------------------------------------------------------------------------


def tool_error_text(n: int, body: Body) -> Body:
    """A failed tool's result reads ``RuntimeError: message``, not the SDK's
    ``RuntimeError('message')`` repr; both are ``is_error``."""
    for message in body["messages"]:
        for block in message["content"] if isinstance(message["content"], list) else []:
            if block.get("type") == "tool_result" and block.get("is_error"):
                assert block["content"] == "RuntimeError('Unexpected error, try again')"
                block["content"] = "RuntimeError: Unexpected error, try again"
    return body


def no_allowed_callers(n: int, body: Body) -> Body:
    """``@tool`` has no ``allowed_callers`` option (programmatic calling from the code-execution
    server tool): toolwire's definition has no such field."""
    for definition in body["tools"]:
        assert definition.pop("allowed_callers") == ["code_execution_20260120"]
    return body


def answered_turn_kept(recorded_responses: list[Body]) -> Normaliser:
    """The SDK sent its second request without the assistant turn its tool_result answers (a
    message the test appended went in the wrong place), and the API refused it with a 400.
    toolwire's loop always sends the assistant turn before the results that answer it."""

    def normalise(n: int, body: Body) -> Body:
        if n == 1:
            first = recorded_responses[0]
            assistant = {"role": "assistant", "content": first["content"]}
            body["messages"].insert(1, assistant)
        return body

    return normalise


# -- the replay ------------------------------------------------------------------------------------


@dataclass
class Replay:
    """One recording: how to run it in toolwire, and how the run must end."""

    stem: str
    tools: list[Tool[Any]]
    server_tools: list[dict[str, Any]] = field(default_factory=list)
    limits: Limits | None = None
    normalisers: list[Normaliser] = field(default_factory=list)
    ends: Literal["answer", "limit", "error"] = "answer"
    requests: int | None = None
    """How many requests toolwire sends, when fewer than the recording holds."""

    @property
    def exchanges(self) -> list[dict[str, Any]]:
        return load(self.stem)

    @property
    def streamed(self) -> bool:
        return bool(self.exchanges[0]["request"]["body"].get("stream"))


def served(exchange: dict[str, Any]) -> Fault:
    """The recorded response, exactly: status, headers (less framing ones) and body."""
    response = exchange["response"]
    skip = {"content-length", "connection", "transfer-encoding", "content-encoding"}
    headers = {k: v for k, v in response["headers"].items() if k.lower() not in skip}
    body = response["body"]
    data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
    return Fault.raw(response["status_code"], headers, data)


def without_titles(schema: Any) -> Any:
    """A JSON Schema without its ``title`` keywords (properties named ``title`` are kept)."""
    if isinstance(schema, dict):
        out = {}
        for key, value in schema.items():
            if key == "title" and isinstance(value, str):
                continue
            if key == "properties" and isinstance(value, dict):
                out[key] = {name: without_titles(sub) for name, sub in value.items()}
            else:
                out[key] = without_titles(value)
        return out
    if isinstance(schema, list):
        return [without_titles(item) for item in schema]
    return schema


def comparable(body: Body) -> Body:
    """A request body with schema titles dropped (key order never matters to ``==``)."""
    body = copy.deepcopy(body)
    for definition in body.get("tools", []):
        if "input_schema" in definition:
            definition["input_schema"] = without_titles(definition["input_schema"])
    return body


def official_message(sse_text: str) -> Body:
    """The message the official SDK's accumulator builds from a recorded SSE body."""
    response = httpx2.Response(
        200,
        headers={"content-type": "text/event-stream"},
        content=sse_text.encode(),
        request=httpx2.Request("POST", "http://127.0.0.1/v1/messages"),
    )
    snapshot: Any = None
    buffers: dict[int, bytes] = {}
    for sse in httpx2.EventSource(response):
        if sse.data:
            event = json.loads(sse.data)
            snapshot = accumulate_event(
                event=cast(Any, event), current_snapshot=snapshot, json_bufs=buffers
            )
    message: Body = snapshot.to_dict()
    return message


def final_recorded_message(exchange: dict[str, Any]) -> Body:
    body = exchange["response"]["body"]
    if isinstance(body, str):
        message = official_message(body)
        if message.get("stop_details") is None:
            # The official accumulator always sets it; toolwire keeps only what was sent.
            message.pop("stop_details", None)
        return message
    return cast(Body, body)


def replays() -> list[Replay]:
    f59 = [e["response"]["body"] for e in load("f59a9391")]
    return [
        Replay("b38bbf6c", [get_weather]),
        Replay("64fe7974", [get_weather]),
        Replay("a8ac789b", [get_weather_undocumented]),
        Replay("10e53c1d", [get_weather_failing], normalisers=[tool_error_text]),
        Replay("555fb399", [get_weather]),
        Replay("771c64ff", [get_weather]),
        Replay(
            "32da0815", [], server_tools=[{"type": "web_search_20250305", "name": "web_search"}]
        ),
        # The SDK runner stopped after max_iterations=2 with a tool call pending; toolwire's
        # max_turns=2 answers that call (the transcript stays resumable), then ends the run.
        Replay("e075a6c2", [get_weather], limits=Limits(max_turns=2), ends="limit"),
        Replay(
            "092be1de",
            [get_weather],
            limits=Limits(max_turns=2),
            normalisers=[no_allowed_callers],
            ends="limit",
        ),
        # The SDK summarised the conversation (its client-side compaction) after the first
        # turn: the recorded second request is that summary request. toolwire has no
        # client-side compaction; with max_turns=1 it answers the tool call and ends there.
        Replay(
            "956fa2fe",
            [submit_analysis],
            limits=Limits(max_turns=1),
            ends="limit",
            requests=1,
        ),
        Replay(
            "f59a9391",
            [get_weather_custom],
            normalisers=[answered_turn_kept(f59)],
            ends="error",
        ),
    ]


REPLAYS = {replay.stem: replay for replay in replays()}


def test_every_tool_runner_recording_is_replayed() -> None:
    stems = {p.name.rsplit("__", 1)[1][:8] for p in RECORDED.glob("tools__test_runners__*.json")}
    assert stems == set(REPLAYS)


async def run_replay(replay: Replay) -> tuple[FakeMessagesAPI, RunResult[Any] | ToolwireError]:
    exchanges = replay.exchanges
    first = exchanges[0]["request"]
    betas = first["headers"].get("anthropic-beta")
    api = FakeMessagesAPI([served(e) for e in exchanges])
    endpoint = Endpoint(FAKE_BASE_URL, api_key="sk-replay", betas=betas.split(",") if betas else ())
    client = MessagesClient(endpoint, transport=api.transport(), max_retries=0)
    body = first["body"]
    agent = Agent(
        body["model"],
        tools=replay.tools,
        server_tools=replay.server_tools,
        max_tokens=body["max_tokens"],
        client=client,
        stream=replay.streamed,
        limits=replay.limits,
    )
    try:
        outcome: RunResult[Any] | ToolwireError = await agent.run(body["messages"][0]["content"])
    except ToolwireError as exc:
        outcome = exc
    finally:
        await client.aclose()
    return api, outcome


@pytest.mark.anyio
@pytest.mark.parametrize("stem", sorted(REPLAYS))
async def test_toolwire_sends_what_the_recording_sent(stem: str) -> None:
    replay = REPLAYS[stem]
    exchanges = replay.exchanges
    api, _ = await run_replay(replay)
    expected_count = replay.requests if replay.requests is not None else len(exchanges)
    assert len(api.requests) == expected_count
    for n, sent in enumerate(api.requests):
        recorded = exchanges[n]["request"]
        expected = copy.deepcopy(recorded["body"])
        for normalise in replay.normalisers:
            expected = normalise(n, expected)
        assert comparable(sent.body) == comparable(expected), f"request {n + 1} differs"
        # The SDK's beta endpoint adds ?beta=true to the URL; toolwire posts to the plain path.
        assert recorded["url"] == "https://api.anthropic.com/v1/messages?beta=true"
        assert sent.path == "/v1/messages"
        headers = recorded["headers"]
        assert sent.headers["anthropic-version"] == headers["anthropic-version"]
        assert sent.headers.get("anthropic-beta") == headers.get("anthropic-beta")
    api.assert_valid()


@pytest.mark.anyio
@pytest.mark.parametrize("stem", sorted(REPLAYS))
async def test_the_run_ends_as_the_recording_did(stem: str) -> None:
    replay = REPLAYS[stem]
    exchanges = replay.exchanges
    api, outcome = await run_replay(replay)
    last = exchanges[len(api.requests) - 1]
    if replay.ends == "answer":
        assert isinstance(outcome, RunResult), outcome
        final = final_recorded_message(last)
        assert outcome.last_response is not None
        assert outcome.last_response.to_wire() == final
        assert outcome.text == "".join(b["text"] for b in final["content"] if b["type"] == "text")
        assert outcome.stop_reason == final["stop_reason"] == "end_turn"
        assert outcome.messages[-1].to_wire() == {"role": "assistant", "content": final["content"]}
        assert outcome.turns == len(exchanges)
    elif replay.ends == "limit":
        assert isinstance(outcome, LimitExceeded), outcome
        assert outcome.limit == "max_turns"
        transcript = [m.to_wire() for m in outcome.transcript or []]
        # The last recorded response is the last assistant turn, and its call was answered.
        final = final_recorded_message(last)
        assert transcript[-2] == {"role": "assistant", "content": final["content"]}
        answered = [b["tool_use_id"] for b in transcript[-1]["content"]]
        assert answered == [b["id"] for b in final["content"] if b["type"] == "tool_use"]
        resumable = {
            "model": "m",
            "max_tokens": 1,
            "messages": transcript,
            "tools": exchanges[0]["request"]["body"]["tools"],
        }
        assert check_request(resumable) == []
    else:
        assert isinstance(outcome, InvalidRequestError), outcome
        error = last["response"]["body"]["error"]
        assert outcome.message == error["message"]
        # The recorder removed the request-id header; the fake sends one of its own, which the
        # client prefers to the id in the body, which is kept as received.
        assert outcome.request_id == api.requests[-1].request_id
        assert outcome.body["request_id"] == last["response"]["body"]["request_id"]
        assert outcome.retryable is False  # x-should-retry: false, so no second attempt
        assert outcome.transcript is not None


@pytest.mark.anyio
async def test_the_recorded_400_request_breaks_a_rule_that_toolwires_request_keeps() -> None:
    exchanges = load("f59a9391")
    recorded = exchanges[1]["request"]["body"]
    problems = check_request(recorded)
    assert len(problems) == 1
    assert problems[0].startswith("tool-result-unexpected")
    api, outcome = await run_replay(REPLAYS["f59a9391"])
    sent = api.requests[1].body
    assert check_request(sent) == []
    assert [m["role"] for m in sent["messages"]] == ["user", "assistant", "user"]
    assert sent["messages"][2]["content"][0]["content"] == CUSTOM_RESULT
    # The API's own words about the recorded request name the same fault.
    assert isinstance(outcome, InvalidRequestError)
    assert "Each `tool_result` block must have a corresponding `tool_use` block" in str(outcome)


@pytest.mark.anyio
async def test_a_streamed_replay_reads_the_recorded_events() -> None:
    api, outcome = await run_replay(REPLAYS["555fb399"])
    assert isinstance(outcome, RunResult)
    assert all(r.streamed for r in api.requests)
    assert outcome.messages[1].to_wire()["content"][0]["input"] == {
        "location": "San Francisco, CA",
        "units": "f",
    }


def test_the_normalisers_change_what_they_name_and_nothing_else() -> None:
    exchanges = load("10e53c1d")
    recorded = exchanges[1]["request"]["body"]
    changed = tool_error_text(1, copy.deepcopy(recorded))
    assert changed != recorded
    changed["messages"][-1]["content"][0]["content"] = "RuntimeError('Unexpected error, try again')"
    assert changed == recorded
    programmatic = load("092be1de")[0]["request"]["body"]
    stripped = no_allowed_callers(0, copy.deepcopy(programmatic))
    assert [set(d) for d in stripped["tools"]] == [{"name", "description", "input_schema"}]
