"""The loop's runtime: limits, cancellation, events, conversations, resuming, run_sync, logs."""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

import anyio
import pytest

from toolwire import (
    Agent,
    AuthenticationError,
    LimitExceeded,
    Limits,
    MessageParam,
    MessagesClient,
    RequestSent,
    ResponseReceived,
    RunFinished,
    RunStarted,
    TextDelta,
    ToolCallFinished,
    ToolCallStarted,
    ToolInputDelta,
    ToolProgress,
    ToolResultBlock,
    tool,
)
from toolwire._tools import Context
from toolwire.testing import FakeMessagesAPI, Fault, reply, tool_call
from toolwire.testing._rules import check_request

pytestmark = pytest.mark.anyio


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def agent_for(api: FakeMessagesAPI, **kwargs: Any) -> Agent[Any]:
    kwargs.setdefault("tools", [add])
    return Agent("claude-test", client=api.client(), **kwargs)


def valid_transcript(messages: list[MessageParam]) -> None:
    """The transcript is one the protocol accepts as a request's messages."""
    body = {
        "model": "m",
        "max_tokens": 10,
        "messages": [m.to_wire() for m in messages],
    }
    assert check_request(body) == []


def adding_script(turns: int) -> list[Any]:
    return [reply(tool_call("add", {"a": i, "b": 1})) for i in range(turns)] + [reply("done")]


@pytest.mark.parametrize(
    ("limits", "name", "requests"),
    [
        (Limits(max_turns=2), "max_turns", 2),
        (Limits(max_tool_calls=2), "max_tool_calls", 3),
        (Limits(max_output_tokens=1), "max_output_tokens", 1),
        (Limits(max_input_tokens=1), "max_input_tokens", 1),
        (Limits(max_total_tokens=1), "max_total_tokens", 1),
    ],
)
async def test_limits_raise_with_a_valid_transcript(
    limits: Limits, name: str, requests: int
) -> None:
    api = FakeMessagesAPI(adding_script(5))
    with pytest.raises(LimitExceeded) as info:
        await agent_for(api, limits=limits).run("add")
    assert info.value.limit == name
    assert len(api.requests) == requests
    assert info.value.transcript is not None
    assert info.value.usage is not None
    valid_transcript(info.value.transcript)
    api.assert_valid()


async def test_limit_with_final_answer_asks_once_without_calling_tools() -> None:
    api = FakeMessagesAPI([*adding_script(2)[:2], reply("best effort: 3")])
    agent = agent_for(api, limits=Limits(max_turns=2, on_limit="final_answer"))
    result = await agent.run("add")
    assert result.text == "best effort: 3"
    last = api.requests[-1].body
    # The tools stay defined (the messages hold tool blocks); the choice forbids calling them.
    assert [t["name"] for t in last["tools"]] == ["add"]
    assert last["tool_choice"] == {"type": "none"}
    assert "limit" in last["messages"][-1]["content"][-1]["text"]
    api.assert_valid()


async def test_wall_time_limit_cancels_a_slow_tool_and_answers_it() -> None:
    @tool
    async def slow() -> str:
        """Sleep for a long time."""
        await anyio.sleep(30)
        return "never"

    api = FakeMessagesAPI([reply(tool_call("slow", {}))])
    with pytest.raises(LimitExceeded) as info:
        await agent_for(api, tools=[slow], limits=Limits(timeout=0.2)).run("go")
    assert info.value.limit == "timeout"
    transcript = info.value.transcript
    assert transcript is not None
    valid_transcript(transcript)
    answered = transcript[-1].content[0]
    assert isinstance(answered, ToolResultBlock)
    assert answered.is_error


async def test_cancellation_mid_tool_leaves_a_resumable_transcript() -> None:
    started = anyio.Event()
    quick_done = anyio.Event()

    @tool
    async def hang() -> str:
        """Wait forever."""
        started.set()
        await anyio.sleep_forever()
        return "never"

    @tool
    async def quick() -> str:
        """Answer at once."""
        quick_done.set()
        return "quick answer"

    api = FakeMessagesAPI(
        [reply(tool_call("hang", {}), tool_call("quick", {})), reply("resumed fine")]
    )
    agent = agent_for(api, tools=[hang, quick])
    caught: list[BaseException] = []

    async def runner() -> None:
        try:
            await agent.run("go")
        except anyio.get_cancelled_exc_class() as exc:
            caught.append(exc)
            raise

    async with anyio.create_task_group() as tg:
        tg.start_soon(runner)
        await started.wait()
        await quick_done.wait()
        await anyio.sleep(0.01)
        tg.cancel_scope.cancel()

    transcript = caught[0].transcript  # type: ignore[attr-defined]
    valid_transcript(transcript)
    results = transcript[-1].content
    assert [bool(r.is_error) for r in results] == [True, False]
    assert results[1].content == "quick answer"
    assert "cancel" in str(results[0].content).lower()
    # Resume from exactly where it stopped: no new prompt needed.
    result = await agent.run(history=transcript)
    assert result.text == "resumed fine"
    api.assert_valid()


async def test_resume_from_a_transcript_saved_after_each_turn() -> None:
    saved: list[list[dict[str, Any]]] = []

    def checkpoint(transcript: list[MessageParam]) -> None:
        saved.append([m.to_wire() for m in transcript])

    api = FakeMessagesAPI([*adding_script(2)[:2], Fault.status(401)])
    agent = agent_for(api)
    with pytest.raises(AuthenticationError) as info:
        await agent.run("add twice", checkpoint=checkpoint)
    # Saved before each turn's tools run, and after their results are in.
    assert [m[-1]["role"] for m in saved] == ["assistant", "user", "assistant", "user"]
    assert info.value.transcript is not None
    assert [m.to_wire() for m in info.value.transcript] == saved[-1]

    # A new worker picks the saved transcript up; completed tool calls are not run again.
    api2 = FakeMessagesAPI([reply("all done")])
    result = await agent_for(api2).run(history=saved[-1])
    assert result.text == "all done"
    assert len(api2.requests) == 1
    assert api2.requests[0].body["messages"] == saved[-1]
    api2.assert_valid()


async def test_resume_runs_the_tool_calls_a_dead_worker_left_unanswered() -> None:
    ran: list[str] = []
    charged = anyio.Event()

    @tool
    async def charge(ctx: Context[Any], amount: int) -> str:
        """Charge an amount once."""
        ran.append(ctx.idempotency_key)
        charged.set()
        return f"charged {amount}"

    saved: list[list[dict[str, Any]]] = []

    def checkpoint(transcript: list[MessageParam]) -> None:
        saved.append([m.to_wire() for m in transcript])

    class Died(Exception):
        pass

    @tool
    async def crash() -> str:
        """Die like a killed worker, once the charge went through."""
        await charged.wait()
        raise Died

    from toolwire import ToolPolicy

    first = FakeMessagesAPI(
        [
            reply(
                tool_call("charge", {"amount": 5}, id="toolu_x"),
                tool_call("crash", {}, id="toolu_y"),
            )
        ]
    )
    agent = agent_for(first, tools=[charge, crash], tool_policy=ToolPolicy({Died: "abort"}))
    with pytest.raises(Exception, match="crash"):
        await agent.run("pay", checkpoint=checkpoint, run_id="job-7")
    before_tools = saved[0]
    assert before_tools[-1]["role"] == "assistant"

    @tool(name="crash")
    def crash_ok() -> str:
        """Not dying this time."""
        return "fine"

    second = FakeMessagesAPI([reply("paid")])
    resumed = agent_for(second, tools=[charge, crash_ok])
    result = await resumed.run("and report", history=before_tools, run_id="job-7")
    assert result.text == "paid"
    # The pending calls ran under their original ids: the same idempotency key both times.
    assert ran == ["job-7:toolu_x", "job-7:toolu_x"]
    sent = second.requests[0].body["messages"][-1]["content"]
    assert [b["type"] for b in sent] == ["tool_result", "tool_result", "text"]
    assert sent[2]["text"] == "and report"
    second.assert_valid()


async def test_gateway_labels_do_not_hide_tool_calls() -> None:
    api = FakeMessagesAPI(
        [reply(tool_call("add", {"a": 1, "b": 2}), stop_reason="end_turn"), reply("3")]
    )
    result = await agent_for(api).run("1+2")
    assert result.text == "3"
    assert api.requests[1].body["messages"][2]["content"][0]["content"] == "3"

    api = FakeMessagesAPI([reply("no tools after all", stop_reason="tool_use")])
    result = await agent_for(api).run("hi")
    assert (result.text, result.stop_reason) == ("no tools after all", "tool_use")
    api.assert_valid()


@pytest.mark.parametrize("streamed", [True])
async def test_stream_yields_every_kind_of_event(streamed: bool) -> None:
    @tool
    async def report(ctx: Context[Any], n: int) -> int:
        """Report progress and double n."""
        ctx.progress({"halfway": True})
        return n * 2

    api = FakeMessagesAPI([reply("Doubling.", tool_call("report", {"n": 21})), reply("It is 42.")])
    agent = agent_for(api, tools=[report])
    events: list[Any] = []
    async with agent.stream("double 21") as run:
        async for event in run:
            events.append(event)
    result = run.result
    assert result.text == "It is 42."
    kinds = [type(e) for e in events]
    assert kinds[0] is RunStarted
    assert kinds[-1] is RunFinished
    assert kinds.count(RequestSent) == 2
    assert kinds.count(ResponseReceived) == 2
    text = "".join(e.text for e in events if isinstance(e, TextDelta))
    assert text == "Doubling.It is 42."
    partial = "".join(e.partial_json for e in events if isinstance(e, ToolInputDelta))
    assert partial.replace(" ", "") == '{"n":21}'
    started = next(e for e in events if isinstance(e, ToolCallStarted))
    progress = next(e for e in events if isinstance(e, ToolProgress))
    finished = next(e for e in events if isinstance(e, ToolCallFinished))
    assert (started.name, started.input) == ("report", {"n": 21})
    assert progress.data == {"halfway": True}
    assert finished.result.content == "42"
    assert finished.error is None
    order = [events.index(started), events.index(progress), events.index(finished)]
    assert order == sorted(order)
    received = [e for e in events if isinstance(e, ResponseReceived)]
    assert received[0].message.stop_reason == "tool_use"
    assert received[0].request_id is not None


async def test_stream_raises_the_run_error_after_the_events() -> None:
    api = FakeMessagesAPI([Fault.status(401)])
    agent = agent_for(api)
    seen: list[Any] = []

    async def consume() -> None:
        async with agent.stream("hi") as run:
            async for event in run:
                seen.append(event)
        _ = run.result

    with pytest.raises(AuthenticationError):
        await consume()
    assert any(isinstance(e, RunStarted) for e in seen)


async def test_leaving_the_stream_early_cancels_the_run() -> None:
    @tool
    async def forever() -> str:
        """Never returns."""
        await anyio.sleep_forever()
        return "x"

    api = FakeMessagesAPI([reply(tool_call("forever", {}))])
    agent = agent_for(api, tools=[forever])
    with anyio.fail_after(5):
        async with agent.stream("go") as run:
            async for event in run:
                if isinstance(event, ToolCallStarted):
                    break
    assert len(run.transcript) >= 2


async def test_conversation_keeps_history_and_tools() -> None:
    api = FakeMessagesAPI([reply(tool_call("add", {"a": 1, "b": 2})), reply("3"), reply("6 now")])
    conv = agent_for(api).conversation()
    first = await conv.send("Step 1: add 1 and 2")
    second = await conv.send("Step 2: double it")
    assert (first.text, second.text) == ("3", "6 now")
    third_request = api.requests[2].body
    assert [m["role"] for m in third_request["messages"]] == [
        "user",
        "assistant",
        "user",
        "assistant",
        "user",
    ]
    assert third_request["tools"][0]["name"] == "add"
    assert conv.usage.input_tokens == first.usage.input_tokens + second.usage.input_tokens
    assert len(conv.messages) == 6
    api.assert_valid()


async def test_conversation_keeps_the_transcript_of_a_failed_step() -> None:
    api = FakeMessagesAPI(
        [reply(tool_call("add", {"a": 1, "b": 2})), Fault.status(400), reply("recovered")]
    )
    conv = agent_for(api).conversation()
    with pytest.raises(Exception, match="400"):
        await conv.send("step 1")
    assert [m.role for m in conv.messages] == ["user", "assistant", "user"]
    result = await conv.send("step 2")
    assert result.text == "recovered"
    api.assert_valid()


def test_run_sync_in_a_script_and_from_threads() -> None:
    api = FakeMessagesAPI([reply("one"), reply("two"), reply("three")], cycle=False)
    with api.serve() as url:
        agent = Agent("claude-test", tools=[add], endpoint=api.endpoint(url))
        assert agent.run_sync("hi").text == "one"
        out: list[str] = []

        def worker() -> None:
            out.append(agent.run_sync("hi").text)

        threads = [threading.Thread(target=worker) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(out) == ["three", "two"]
    api.assert_valid()


def test_run_sync_inside_a_running_event_loop() -> None:
    """As in a notebook cell: a loop already runs on this thread."""
    api = FakeMessagesAPI([reply("from a notebook")])

    async def cell() -> str:
        with api.serve() as url:
            agent = Agent("claude-test", endpoint=api.endpoint(url))
            return agent.run_sync("hi").text

    assert asyncio.run(cell()) == "from a notebook"
    assert not [t for t in threading.enumerate() if t.name == "toolwire-run-sync"]


async def test_logs_carry_run_facts_and_never_the_key(caplog: pytest.LogCaptureFixture) -> None:
    secret = "sk-ant-VERY-SECRET-0000"
    api = FakeMessagesAPI(
        [reply(tool_call("add", {"a": 1, "b": 2})), Fault.status(401, message=f"bad key {secret}")],
        api_key=None,
    )
    client = MessagesClient(
        api.endpoint().__class__(api.endpoint().base_url, api_key=secret), transport=api.transport()
    )
    agent = Agent("claude-test", tools=[add], client=client)
    with (
        caplog.at_level(logging.INFO, logger="toolwire"),
        pytest.raises(AuthenticationError) as info,
    ):
        await agent.run("add")
    text = caplog.text
    assert "toolwire.response" in text
    assert "toolwire.tool_call" in text
    assert "tool='add'" in text or "tool=add" in text
    assert "request_id" in text
    assert secret not in text
    assert secret not in str(info.value)
    assert secret not in repr(agent)
    assert secret not in repr(client)


async def test_run_id_reaches_tools_and_is_stable_across_a_resume() -> None:
    keys: list[str] = []

    @tool
    def note(ctx: Context[Any], text: str) -> str:
        """Write a note once."""
        keys.append(ctx.idempotency_key)
        return "noted"

    api = FakeMessagesAPI(
        [reply(tool_call("note", {"text": "a"}, id="toolu_a")), Fault.status(401)]
    )
    agent = agent_for(api, tools=[note])
    with pytest.raises(AuthenticationError) as info:
        await agent.run("note it", run_id="job-42")
    assert keys == ["job-42:toolu_a"]
    api2 = FakeMessagesAPI([reply("done")])
    events: list[Any] = []
    async with agent_for(api2, tools=[note]).stream(
        history=info.value.transcript, run_id="job-42"
    ) as run:
        async for event in run:
            events.append(event)
    assert events[0] == RunStarted("job-42", "claude-test")
    assert run.result.run_id == "job-42"


async def test_max_concurrent_tools_bounds_a_turn() -> None:
    running = 0
    peak = 0

    @tool
    async def busy(i: int) -> int:
        """Be busy for a moment."""
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await anyio.sleep(0.02)
        running -= 1
        return i

    api = FakeMessagesAPI([reply(*(tool_call("busy", {"i": i}) for i in range(6))), reply("ok")])
    await agent_for(api, tools=[busy], max_concurrent_tools=2).run("go")
    assert peak == 2
