"""The fault matrix: every way a run can go wrong, at its first request and at a later turn.

Each entry of ``CASES`` is one fault (a server error, a broken connection, a broken response,
a misbehaving tool, a cancellation) and what a run must do about it, with JSON responses and
with streamed ones: succeed after retries, or end with one named typed error, after exactly so
many requests. ``test_fault`` runs every case at two places:

- ``first``: the fault answers the run's first request;
- ``later``: the first request is answered with two parallel tool calls, and the fault
  answers the second request.

Every case checks the outcome, the number of requests sent, that every request the fake API
received broke no protocol rule (a request the fake rejected counts as a violation), and that
the transcript on the result or on the exception is valid and resumable: a new run from it,
against a fresh fake that answers "done", completes.
"""

from __future__ import annotations

import json
import logging
import math
import re
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import httpx2
import pytest
import structlog

from toolwire import (
    Agent,
    APIConnectionError,
    APIResponseError,
    APITimeoutError,
    AuthenticationError,
    Context,
    InternalServerError,
    InvalidRequestError,
    LimitExceeded,
    Limits,
    MessageParam,
    MessagesClient,
    OverloadedError,
    RateLimitError,
    RetryPolicy,
    RunResult,
    StreamIncompleteError,
    Tool,
    ToolAborted,
    ToolInputJSONError,
    ToolResultBlock,
    ToolUseBlock,
    ToolwireError,
    UnexpectedStopReason,
    tool,
)
from toolwire.testing import FakeMessagesAPI, Fault, ScriptEntry, check_request, reply, tool_call

pytestmark = pytest.mark.anyio

PROMPT = "Add 1+2 and 3+4, then answer."
READ_TIMEOUT = 0.05
"""The client's read timeout: short, yet far above what an in-process answer takes."""
FAST_RETRIES = RetryPolicy(max_retries=2, initial_delay=0.001, max_delay=0.01)
ATTEMPTS = FAST_RETRIES.max_retries + 1
"""Requests a fault that keeps coming costs before its error is raised."""


# -- what the tools need from a test -------------------------------------------------------


@dataclass
class Probe:
    """Per-test signals, reaching tools as the run's ``deps`` and scripts as an argument."""

    reached: anyio.Event = field(default_factory=anyio.Event)
    """Set when the run is where the test means to cancel it."""
    entered: threading.Event = field(default_factory=threading.Event)
    """Set by the stubborn sync tool as it starts."""
    release: threading.Event = field(default_factory=threading.Event)
    """Lets the stubborn sync tool return."""
    finished: threading.Event = field(default_factory=threading.Event)
    """Set by the stubborn sync tool as it returns."""


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@tool
def explode() -> str:
    """Fail, always."""
    raise RuntimeError("the tool broke")


@tool(timeout=0.05)
async def hang() -> str:
    """Never finish."""
    await anyio.sleep_forever()
    return "unreachable"


@tool(timeout=0.05)
def stubborn(ctx: Context[Probe]) -> str:
    """Sleep in a loop that never looks at cancellation."""
    ctx.deps.entered.set()
    try:
        give_up = time.monotonic() + 30.0
        while not ctx.deps.release.is_set() and time.monotonic() < give_up:
            time.sleep(0.002)
    finally:
        ctx.deps.finished.set()
    return "finished late"


@tool
async def wait_here(ctx: Context[Probe]) -> str:
    """Say the call has started, then wait until cancelled."""
    ctx.deps.reached.set()
    await anyio.sleep_forever()
    return "unreachable"


TOOLS: list[Tool[Any]] = [add, explode, hang, stubborn, wait_here]


# -- the cases -----------------------------------------------------------------------------


class _Cancelled:
    """The expected outcome of a run cancelled from outside: the backend's cancellation."""

    __name__ = "cancelled"


CANCELLED = _Cancelled()
Error = type[BaseException] | _Cancelled


@dataclass(frozen=True)
class Expect:
    """What a run does about a fault: its error (``None``: it succeeds) and the requests spent.

    ``requests`` counts the fault's request, its retries and any request after it; a run with
    the fault at a later turn sends one more, before it.
    """

    error: Error | None
    requests: int
    said: str = ""
    """How a successful run got there, as the table in ``docs/reliability.md`` words it."""

    def describe(self) -> str:
        """The outcome as the table in ``docs/reliability.md`` words it."""
        if self.error is None:
            return self.said
        if isinstance(self.error, _Cancelled):
            return "cancelled"
        return f"`{self.error.__name__}`"


OK_AFTER_RETRY = Expect(None, 2, "retried, succeeds")
"""The fault's request fails, its retry gets the answer."""
FED_BACK = Expect(None, 2, "`is_error` result, the run goes on")
"""The tool call is answered with an error the model can act on; the next request succeeds."""
KEPT = Expect(None, 2, "kept, sent back, succeeds")
"""The unknown block stays in the transcript and goes back with the next request."""


@dataclass
class Outcome:
    """What a case's extra checks look at."""

    result: RunResult[Any] | None
    error: BaseException | None
    transcript: list[MessageParam]
    api: FakeMessagesAPI
    probe: Probe


Script = Callable[[Probe, bool], list[ScriptEntry]]
"""The script entries from the fault on, for a probe and for streamed (``True``) or JSON."""


@dataclass(frozen=True)
class Case:
    """One fault and what a run must do about it, with JSON responses and streamed ones."""

    name: str
    fault: str
    """The fault as the table in ``docs/reliability.md`` words it."""
    script: Script
    json: Expect
    streamed: Expect
    cancel: bool = False
    """Cancel the run once ``probe.reached`` is set."""
    refuse: bool = False
    """From the fault on, requests go to a closed port instead of the fake."""
    client: dict[str, Any] = field(default_factory=dict)
    agent: dict[str, Any] = field(default_factory=dict)
    check: Callable[[Outcome], None] | None = None


def entries(*items: ScriptEntry) -> Script:
    """The same entries, streamed or not."""
    return lambda probe, streamed: list(items)


def by_mode(json_entries: Sequence[ScriptEntry], streamed_entries: Sequence[ScriptEntry]) -> Script:
    """Entries that differ between a JSON request and a streamed one."""
    return lambda probe, streamed: list(streamed_entries if streamed else json_entries)


def done() -> ScriptEntry:
    return reply("done")


def stall(probe: Probe, streamed: bool) -> list[ScriptEntry]:
    """A request that is never answered; the probe says when it has arrived."""

    def answer(_request: Any) -> Fault:
        probe.reached.set()
        return Fault.delay(math.inf)

    return [answer]


def bad_tool_json_stream() -> Fault:
    """A streamed tool call whose input JSON stops half-way, with stop_reason tool_use."""
    events: list[dict[str, Any]] = [
        {
            "type": "message_start",
            "message": {
                "id": "msg_01badjson",
                "type": "message",
                "role": "assistant",
                "model": "claude-test",
                "content": [],
                "stop_reason": None,
                "stop_sequence": None,
                "usage": {"input_tokens": 12, "output_tokens": 1},
            },
        },
        {
            "type": "content_block_start",
            "index": 0,
            "content_block": {"type": "tool_use", "id": "toolu_01bad", "name": "add", "input": {}},
        },
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "input_json_delta", "partial_json": '{"a": 1, "b": '},
        },
        {"type": "content_block_stop", "index": 0},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "tool_use", "stop_sequence": None},
            "usage": {"output_tokens": 9},
        },
        {"type": "message_stop"},
    ]
    body = "".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n" for e in events)
    return Fault.raw(200, {"content-type": "text/event-stream"}, body)


MYSTERY_BLOCK = {"type": "mystery_block", "payload": {"kept": True, "n": [1, 2]}}


# -- extra checks ---------------------------------------------------------------------------


def results_for(transcript: list[MessageParam], name: str) -> list[ToolResultBlock]:
    """The tool_result blocks that answer the calls of tool ``name``."""
    ids = {
        b.id
        for m in transcript
        if m.role == "assistant"
        for b in m.blocks()
        if isinstance(b, ToolUseBlock) and b.name == name
    }
    return [
        b
        for m in transcript
        if m.role == "user"
        for b in m.blocks()
        if isinstance(b, ToolResultBlock) and b.tool_use_id in ids
    ]


def fed_back(name: str, pattern: str) -> Callable[[Outcome], None]:
    """The latest call of ``name`` was answered with an is_error result matching ``pattern``."""

    def check(outcome: Outcome) -> None:
        result = results_for(outcome.transcript, name)[-1]
        assert result.is_error
        assert re.search(pattern, str(result.content)), result.content

    return check


def waited_for_retry_after(outcome: Outcome) -> None:
    assert isinstance(outcome.error, RateLimitError)
    assert outcome.error.retry_after == 3600


def names_the_proxy_page(outcome: Outcome) -> None:
    assert "non-JSON text/html" in str(outcome.error)


def names_the_refused_endpoint(outcome: Outcome) -> None:
    assert "connection to http://127.0.0.1:" in str(outcome.error)


def unknown_stop_left_tools_unrun(outcome: Outcome) -> None:
    assert getattr(outcome.error, "stop_reason", None) == "brand_new_reason"
    fed_back("add", r"^Not run: .*'brand_new_reason'")(outcome)


def mystery_block_sent_back(outcome: Outcome) -> None:
    turns = outcome.api.requests[-1].body["messages"]
    assert MYSTERY_BLOCK in turns[-2]["content"], "the unknown block was not sent back unchanged"


def abort_keeps_the_cause(outcome: Outcome) -> None:
    assert isinstance(outcome.error, ToolAborted)
    assert isinstance(outcome.error.__cause__, RuntimeError)
    fed_back("explode", r"RuntimeError: the tool broke")(outcome)


def stubborn_still_running(outcome: Outcome) -> None:
    fed_back("stubborn", r"timed out after 0\.05 s")(outcome)
    # The run ended although the thread has not returned: it was abandoned, not waited for.
    assert not outcome.probe.finished.is_set()


# -- the table ------------------------------------------------------------------------------

CASES: list[Case] = [
    Case(
        "429-retry-after",
        "429 with `retry-after: 0`",
        entries(Fault.status(429, retry_after=0), done()),
        OK_AFTER_RETRY,
        OK_AFTER_RETRY,
    ),
    Case(
        "429-long-retry-after",
        "429 with `retry-after: 3600` (over `max_retry_after`)",
        entries(Fault.status(429, retry_after=3600)),
        Expect(RateLimitError, 1),
        Expect(RateLimitError, 1),
        check=waited_for_retry_after,
    ),
    Case(
        "429-repeating",
        "429 without `retry-after`, every time (a spend cap)",
        entries(*[Fault.status(429)] * ATTEMPTS),
        Expect(RateLimitError, ATTEMPTS),
        Expect(RateLimitError, ATTEMPTS),
    ),
    Case(
        "529-overloaded",
        "529 `overloaded_error`",
        entries(Fault.status(529), done()),
        OK_AFTER_RETRY,
        OK_AFTER_RETRY,
    ),
    Case(
        "529-repeating",
        "529 `overloaded_error`, every time",
        entries(*[Fault.status(529)] * ATTEMPTS),
        Expect(OverloadedError, ATTEMPTS),
        Expect(OverloadedError, ATTEMPTS),
    ),
    Case(
        "500",
        "500 `api_error`",
        entries(Fault.status(500), done()),
        OK_AFTER_RETRY,
        OK_AFTER_RETRY,
    ),
    Case(
        "503-html-proxy",
        "503 with an HTML page from a proxy",
        entries(Fault.html(503), done()),
        OK_AFTER_RETRY,
        OK_AFTER_RETRY,
    ),
    Case(
        "503-html-repeating",
        "503 with an HTML page, every time",
        entries(*[Fault.html(503)] * ATTEMPTS),
        Expect(InternalServerError, ATTEMPTS),
        Expect(InternalServerError, ATTEMPTS),
        check=names_the_proxy_page,
    ),
    Case(
        "200-error-body",
        "200 whose body is an `overloaded_error` object",
        entries(Fault.error_body_200(), done()),
        OK_AFTER_RETRY,
        OK_AFTER_RETRY,
    ),
    Case(
        "401",
        "401 `authentication_error`",
        entries(Fault.status(401)),
        Expect(AuthenticationError, 1),
        Expect(AuthenticationError, 1),
    ),
    Case(
        "400-invalid-request",
        "400 `invalid_request_error`",
        entries(Fault.status(400)),
        Expect(InvalidRequestError, 1),
        Expect(InvalidRequestError, 1),
    ),
    Case(
        "connection-refused",
        "connection refused (a closed loopback port)",
        entries(),
        Expect(APIConnectionError, ATTEMPTS),
        Expect(APIConnectionError, ATTEMPTS),
        refuse=True,
        check=names_the_refused_endpoint,
    ),
    Case(
        "connection-closed",
        "connection closed before any response",
        entries(Fault.drop(), done()),
        OK_AFTER_RETRY,
        OK_AFTER_RETRY,
    ),
    Case(
        "connection-reset-mid-response",
        "connection reset mid-response (half the body; 4 events)",
        by_mode([Fault.drop_mid_stream(), done()], [Fault.drop_mid_stream()]),
        OK_AFTER_RETRY,
        Expect(APIConnectionError, 1),
    ),
    Case(
        "read-timeout",
        f"read timeout ({READ_TIMEOUT:g} s) before the response",
        entries(Fault.delay(math.inf), done()),
        OK_AFTER_RETRY,
        OK_AFTER_RETRY,
        client={"read_timeout": READ_TIMEOUT},
    ),
    Case(
        "read-timeout-repeating",
        "read timeout, every time",
        entries(*[Fault.delay(math.inf)] * ATTEMPTS),
        Expect(APITimeoutError, ATTEMPTS),
        Expect(APITimeoutError, ATTEMPTS),
        client={"read_timeout": READ_TIMEOUT},
    ),
    Case(
        "read-timeout-mid-stream",
        "read timeout after 3 events (JSON: before the response)",
        by_mode(
            [Fault.delay(math.inf, after_events=3), done()],
            [Fault.delay(math.inf, after_events=3)],
        ),
        OK_AFTER_RETRY,
        Expect(APITimeoutError, 1),
        client={"read_timeout": READ_TIMEOUT},
    ),
    Case(
        "stream-error-before-content",
        "`error` event (overloaded) as the first event (JSON: a 529)",
        entries(Fault.stream_error("overloaded_error", after_events=0), done()),
        OK_AFTER_RETRY,
        OK_AFTER_RETRY,
    ),
    Case(
        "stream-error-after-content",
        "`error` event (overloaded) after 4 events (JSON: a 529)",
        by_mode(
            [Fault.stream_error("overloaded_error", after_events=4), done()],
            [Fault.stream_error("overloaded_error", after_events=4)],
        ),
        OK_AFTER_RETRY,
        Expect(OverloadedError, 1),
    ),
    Case(
        "truncated",
        "truncated: half the JSON body; 4 events and no `message_stop`",
        entries(Fault.truncate()),
        Expect(APIResponseError, 1),
        Expect(StreamIncompleteError, 1),
    ),
    Case(
        "malformed-json",
        "malformed JSON body (streamed: in the first event)",
        entries(Fault.malformed_json()),
        Expect(APIResponseError, 1),
        Expect(APIResponseError, 1),
    ),
    Case(
        "invalid-tool-input",
        "tool input that fails the schema; streamed: input JSON cut mid-way",
        lambda probe, streamed: (
            [bad_tool_json_stream()]
            if streamed
            else [reply(tool_call("add", {"a": "two", "b": 1})), done()]
        ),
        FED_BACK,
        Expect(ToolInputJSONError, 1),
        check=lambda outcome: (
            fed_back("add", r"\ba\b.*integer")(outcome) if outcome.error is None else None
        ),
    ),
    Case(
        "unknown-stop-reason",
        "unknown `stop_reason`, with a tool call",
        lambda probe, streamed: [
            reply("Hm.", tool_call("add", {"a": 5, "b": 6}), stop_reason="brand_new_reason")
        ],
        Expect(UnexpectedStopReason, 1),
        Expect(UnexpectedStopReason, 1),
        check=unknown_stop_left_tools_unrun,
    ),
    Case(
        "unknown-block-type",
        "unknown content block type, next to a tool call",
        lambda probe, streamed: [reply(MYSTERY_BLOCK, tool_call("add", {"a": 5, "b": 6})), done()],
        KEPT,
        KEPT,
        check=mystery_block_sent_back,
    ),
    Case(
        "tool-raises",
        "a tool raises",
        lambda probe, streamed: [reply(tool_call("explode")), done()],
        FED_BACK,
        FED_BACK,
        check=fed_back("explode", r"^RuntimeError: the tool broke$"),
    ),
    Case(
        "tool-raises-policy-aborts",
        "a tool raises what the tool policy says ends the run",
        lambda probe, streamed: [reply(tool_call("explode"))],
        Expect(ToolAborted, 1),
        Expect(ToolAborted, 1),
        agent={"tool_policy": {RuntimeError: "abort"}},
        check=abort_keeps_the_cause,
    ),
    Case(
        "tool-hangs",
        "an async tool hangs past its timeout (0.05 s)",
        lambda probe, streamed: [reply(tool_call("hang")), done()],
        FED_BACK,
        FED_BACK,
        check=fed_back("hang", r"timed out after 0\.05 s"),
    ),
    Case(
        "sync-tool-ignores-cancellation",
        "a sync tool in a `time.sleep` loop outlives its timeout (0.05 s)",
        lambda probe, streamed: [reply(tool_call("stubborn")), done()],
        FED_BACK,
        FED_BACK,
        check=stubborn_still_running,
    ),
    Case(
        "cancel-mid-request",
        "the run is cancelled while it waits for a response",
        stall,
        Expect(CANCELLED, 1),
        Expect(CANCELLED, 1),
        cancel=True,
    ),
    Case(
        "time-limit-mid-request",
        "the run's time limit (0.1 s) passes while it waits for a response",
        entries(Fault.delay(math.inf)),
        Expect(LimitExceeded, 1),
        Expect(LimitExceeded, 1),
        agent={"limits": Limits(timeout=0.1)},
    ),
    Case(
        "cancel-mid-tool",
        "the run is cancelled while a tool runs",
        lambda probe, streamed: [reply(tool_call("wait_here"))],
        Expect(CANCELLED, 1),
        Expect(CANCELLED, 1),
        cancel=True,
        check=fed_back("wait_here", r"cancelled"),
    ),
]


# -- running one case -----------------------------------------------------------------------


def closed_port() -> int:
    """A loopback port nothing listens on: bound, then closed."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


class RefusingAfter(httpx2.AsyncBaseTransport):
    """The fake in-process for the first ``served`` requests; then the real network.

    The endpoint's URL names a closed loopback port, which the in-process transport ignores
    and the real one connects to, and is refused.
    """

    def __init__(self, api: FakeMessagesAPI, served: int) -> None:
        self.fake = api.transport()
        self.network = httpx2.AsyncHTTPTransport()
        self.served = served
        self.refused = 0

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        if self.served > 0:
            self.served -= 1
            return await self.fake.handle_async_request(request)
        self.refused += 1
        return await self.network.handle_async_request(request)

    async def aclose(self) -> None:
        await self.network.aclose()
        await self.fake.aclose()


def first_turn() -> ScriptEntry:
    return reply(tool_call("add", {"a": 1, "b": 2}), tool_call("add", {"a": 3, "b": 4}))


async def drive(
    agent: Agent[Probe], probe: Probe, streamed: bool, cancel: bool
) -> tuple[RunResult[Any] | None, BaseException | None]:
    """Run the agent; the result, or the exception the run ended with."""
    if not cancel:
        try:
            return await agent.run(PROMPT, deps=probe, stream=streamed), None
        except Exception as exc:
            return None, exc
    caught: list[BaseException] = []

    async def runner() -> None:
        try:
            await agent.run(PROMPT, deps=probe, stream=streamed)
        except BaseException as exc:
            caught.append(exc)
            raise

    with anyio.fail_after(10):
        async with anyio.create_task_group() as group:
            group.start_soon(runner)
            await probe.reached.wait()
            group.cancel_scope.cancel()
    assert len(caught) == 1, "the run ended before it was cancelled"
    return None, caught[0]


def assert_valid_transcript(transcript: list[MessageParam]) -> None:
    body = {"model": "m", "max_tokens": 1, "messages": [m.to_wire() for m in transcript]}
    assert check_request(body) == []


async def assert_resumable(transcript: list[MessageParam], probe: Probe, streamed: bool) -> None:
    """A new run continues from the transcript: as is when it ends with a user turn (the run
    stopped before the model answered it), with a new prompt when it ends with the model's."""
    fresh = FakeMessagesAPI([reply("done")])
    prompt = None if transcript[-1].role == "user" else "Continue."
    async with fresh.client() as client:
        result = await Agent("claude-test", client=client, tools=TOOLS).run(
            prompt, history=transcript, deps=probe, stream=streamed
        )
    assert result.text == "done"
    fresh.assert_valid()
    [request] = fresh.requests
    assert request.body["messages"][: len(transcript)] == [m.to_wire() for m in transcript]


def assert_first_turn_kept(transcript: list[MessageParam]) -> None:
    assert [m.role for m in transcript[:3]] == ["user", "assistant", "user"]
    answers = [b for b in transcript[2].blocks() if isinstance(b, ToolResultBlock)]
    assert [(a.content, a.is_error) for a in answers] == [("3", None), ("7", None)]


@pytest.mark.parametrize("streamed", [False, True], ids=["json", "streamed"])
@pytest.mark.parametrize("at", ["first", "later"])
@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
async def test_fault(case: Case, at: str, streamed: bool) -> None:
    probe = Probe()
    later = at == "later"
    expect = case.streamed if streamed else case.json
    api = FakeMessagesAPI([*([first_turn()] if later else []), *case.script(probe, streamed)])
    options: dict[str, Any] = {"retry": FAST_RETRIES, **case.client}
    refusing: RefusingAfter | None = None
    if case.refuse:
        refusing = RefusingAfter(api, served=1 if later else 0)
        endpoint = api.endpoint(f"http://127.0.0.1:{closed_port()}")
        client = MessagesClient(endpoint, transport=refusing, **options)
    else:
        client = api.client(**options)
    try:
        async with client:
            agent = Agent("claude-test", client=client, tools=TOOLS, **case.agent)
            result, error = await drive(agent, probe, streamed, case.cancel)

        if expect.error is None:
            assert error is None, f"expected success, got {error!r}"
            assert result is not None
            transcript = result.messages
            assert result.text == "done"
        elif isinstance(expect.error, _Cancelled):
            assert isinstance(error, anyio.get_cancelled_exc_class()), repr(error)
            transcript = error.transcript  # type: ignore[attr-defined]
        else:
            assert type(error) is expect.error, f"expected {expect.error.__name__}, got {error!r}"
            assert isinstance(error, ToolwireError)
            assert error.usage is not None
            assert error.transcript is not None
            transcript = error.transcript

        if refusing is not None:
            assert refusing.refused == expect.requests
            assert len(api.requests) == int(later)
        else:
            assert len(api.requests) == expect.requests + int(later)
        api.assert_valid()
        assert api.remaining == 0

        assert_valid_transcript(transcript)
        if later:
            assert_first_turn_kept(transcript)
        if case.check is not None:
            case.check(Outcome(result, error, transcript, api, probe))
        await assert_resumable(transcript, probe, streamed)
    finally:
        # The abandoned thread is let go, and waited for, so that no test leaves it behind.
        probe.release.set()
        if probe.entered.is_set():
            assert await anyio.to_thread.run_sync(probe.finished.wait, 10.0)


# -- the table in the docs --------------------------------------------------------------------


def matrix_table() -> str:
    """The fault matrix as the Markdown table ``docs/reliability.md`` carries."""
    lines = [
        "| Fault | JSON | Streamed | Requests (JSON / streamed) |",
        "|---|---|---|---|",
    ]
    for case in CASES:
        sent = f"{case.json.requests} / {case.streamed.requests}"
        if case.refuse:
            sent += " (none reach the server)"
        lines.append(
            f"| {case.fault} | {case.json.describe()} | {case.streamed.describe()} | {sent} |"
        )
    return "\n".join(lines) + "\n"


def test_docs_carry_the_matrix_table() -> None:
    docs = Path(__file__).parents[1] / "docs" / "reliability.md"
    assert matrix_table() in docs.read_text(encoding="utf-8"), (
        "docs/reliability.md is out of date; its table is:\n" + matrix_table()
    )


# -- what the matrix found ------------------------------------------------------------------


async def test_retries_stay_quiet_unless_logging_asks(
    capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    """A retry's log line goes to the ``toolwire`` logger, not to stdout by way of an
    unconfigured structlog."""
    assert not structlog.is_configured()
    api = FakeMessagesAPI([Fault.status(529), reply("quiet"), Fault.status(529), reply("heard")])
    async with api.client(retry=FAST_RETRIES) as client:
        agent = Agent("claude-test", client=client)
        assert (await agent.run("hi")).text == "quiet"
        captured = capsys.readouterr()
        assert (captured.out, captured.err) == ("", "")
        with caplog.at_level(logging.DEBUG, logger="toolwire"):
            assert (await agent.run("hi")).text == "heard"
    retries = [r.getMessage() for r in caplog.records if "toolwire.retry" in r.getMessage()]
    assert len(retries) == 1
    assert "attempt=1" in retries[0]
    assert "OverloadedError" in retries[0]
    assert "status=529" in retries[0]
