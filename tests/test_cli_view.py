"""The live terminal view, rendered to a terminal-like rich console in memory."""

from __future__ import annotations

import re
from io import StringIO
from typing import Any

import anyio
import pytest
from rich.console import Console

from toolwire import (
    Agent,
    RequestSent,
    ResponseReceived,
    RunStarted,
    TextDelta,
    ToolCallFinished,
    ToolCallStarted,
    ToolResultBlock,
    tool,
)
from toolwire.cli._run import Outcome, drive
from toolwire.cli._view import LiveView
from toolwire.testing import FakeMessagesAPI, reply, tool_call

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\r")
SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"


def terminal() -> Console:
    return Console(file=StringIO(), force_terminal=True, width=100, color_system="truecolor")


def screen_text(console: Console) -> str:
    """What was written to ``console``, without colours and cursor movements."""
    file = console.file
    assert isinstance(file, StringIO)
    return _ANSI.sub("", file.getvalue())


def frame(view: LiveView) -> list[str]:
    """The live area of ``view`` as it would be drawn now, line by line."""
    console = terminal()
    console.print(view.render())
    return [line.rstrip() for line in screen_text(console).splitlines()]


@pytest.mark.anyio
async def test_parallel_calls_spin_together_then_the_run_is_summed_up() -> None:
    release = anyio.Event()

    @tool
    async def slow(name: str) -> str:
        """Wait until released."""
        await release.wait()
        return f"{name} done"

    api = FakeMessagesAPI(
        [
            reply(
                "Starting both.",
                tool_call("slow", {"name": "a"}),
                tool_call("slow", {"name": "b"}),
            ),
            reply("Both finished:\nall good."),
        ]
    )
    agent = Agent("claude-test", tools=[slow], client=api.client())
    console = terminal()
    view = LiveView(console)
    outcomes: list[Outcome] = []

    async def run() -> None:
        outcomes.append(await drive(agent, "go", history=None, view=view, catch_sigint=False))

    async with anyio.create_task_group() as tg:
        tg.start_soon(run)
        with anyio.fail_after(10):
            while len(view.running) < 2:
                await anyio.sleep(0.01)
        during = frame(view)
        release.set()

    # Mid-run: both calls on screen at once, each with its spinner and clock.
    spinning = [line for line in during if line and line.lstrip()[0] in SPINNER]
    assert len(spinning) == 2
    assert 'slow(name="a")' in spinning[0]
    assert 'slow(name="b")' in spinning[1]
    assert all(re.search(r"\d+\.\d\ds$", line) for line in spinning)

    (outcome,) = outcomes
    assert outcome.result is not None
    assert outcome.error is None
    shown = [line.rstrip() for line in screen_text(console).splitlines() if line.strip()]
    start = shown.index("Starting both.")
    calls = shown[start + 1 : start + 3]
    assert re.fullmatch(r'  ✓ slow\(name="a"\) +\d+\.\d\ds', calls[0])
    assert re.fullmatch(r'  ✓ slow\(name="b"\) +\d+\.\d\ds', calls[1])
    assert shown[start + 3 : start + 5] == ["Both finished:", "all good."]
    assert re.fullmatch(
        r"done end_turn · 2 turns · 2 tool calls · [\d,]+ input / [\d,]+ output tokens · \S+",
        shown[start + 5],
    )
    api.assert_valid()


def _result(text: str, *, error: bool = False) -> ToolResultBlock:
    return ToolResultBlock(tool_use_id="x", content=text, is_error=error or None)


def test_failed_and_cancelled_calls_say_why() -> None:
    console = terminal()
    view = LiveView(console)
    events: list[Any] = [
        RunStarted("run_1", "claude-test"),
        RequestSent("run_1", 1, True),
        TextDelta("Trying three things"),
        ToolCallStarted("t1", "fetch", {"url": "https://example.com"}),
        ToolCallStarted("t2", "count", {"n": 3}),
        ToolCallStarted("t3", "wait", {}),
        ToolCallFinished("t1", "fetch", _result("boom: refused", error=True), 0.25, "exception"),
        ToolCallFinished("t2", "count", _result("3"), 0.5),
    ]
    for event in events:
        view.event(event)
    assert frame(view)[0] == "Trying three things"
    view.stop("cancelled")

    shown = [line.rstrip() for line in screen_text(console).splitlines() if line.strip()]
    assert shown[0] == "Trying three things"
    assert re.fullmatch(
        r'  ✗ fetch\(url="https://example.com"\) +0\.25s exception: boom: refused', shown[1]
    )
    assert re.fullmatch(r"  ✓ count\(n=3\) +0\.50s", shown[2])
    assert re.fullmatch(r"  ■ wait\(\) +\d+\.\d\ds cancelled", shown[3])
    assert frame(view) == []


def test_calls_are_listed_in_the_order_the_model_gave_them() -> None:
    view = LiveView(terminal())
    message = reply(tool_call("first", id="t1"), tool_call("second", id="t2"))
    view.event(ResponseReceived("run_1", 1, message, None, 0.1))
    view.event(ToolCallStarted("t2", "second", {}))
    view.event(ToolCallStarted("t1", "first", {}))
    lines = frame(view)
    assert [line.split()[1] for line in lines] == ["first()", "second()"]


def test_the_status_line_says_what_is_awaited() -> None:
    view = LiveView(terminal())
    view.event(RunStarted("run_1", "claude-test"))
    (line,) = frame(view)
    assert line[0] in SPINNER
    assert line.endswith("waiting for claude-test")
    view.event(RequestSent("run_1", 2, True))
    assert frame(view)[0].endswith("waiting for claude-test (turn 2)")
    view.event(TextDelta("Hel"))
    assert frame(view) == ["Hel"]
