"""dispatch runs one assistant turn's tool calls concurrently and answers each, in order."""

from __future__ import annotations

import threading
import time
from typing import Any

import anyio
import pytest

from toolwire._dispatch import RetryBudget, dispatch
from toolwire._errors import ToolAborted, ToolError, ToolRetriesExceeded
from toolwire._events import Event, ToolCallFinished, ToolCallStarted, ToolProgress
from toolwire._tools import Context, Decision, Tool, ToolPolicy, Toolset, tool
from toolwire._wire.blocks import ToolResultBlock, ToolUseBlock

pytestmark = pytest.mark.anyio


def use(name: str, index: int, **input: Any) -> ToolUseBlock:
    return ToolUseBlock(id=f"toolu_{index}", name=name, input=input)


class CutBlock(ToolUseBlock):
    """A tool_use whose input was cut off by max_tokens."""

    @property
    def incomplete(self) -> bool:
        return True


class Recorder:
    """Start and end times of each call, and how many ran at once."""

    def __init__(self) -> None:
        self.spans: dict[str, tuple[float, float]] = {}
        self.active = 0
        self.peak = 0

    async def span(self, key: str, seconds: float) -> None:
        start = time.perf_counter()
        self.active += 1
        self.peak = max(self.peak, self.active)
        try:
            await anyio.sleep(seconds)
        finally:
            self.active -= 1
        self.spans[key] = (start, time.perf_counter())

    def overlapping(self, *keys: str) -> bool:
        """Every call started before any of them ended."""
        return max(self.spans[k][0] for k in keys) < min(self.spans[k][1] for k in keys)

    def before(self, first: str, then: str) -> bool:
        return self.spans[first][1] <= self.spans[then][0]


def texts(results: list[ToolResultBlock]) -> list[Any]:
    return [r.content for r in results]


async def test_four_tools_sleeping_200ms_run_at_the_same_time() -> None:
    recorder = Recorder()

    def sleeper(label: str) -> Tool[Any]:
        async def nap(n: int) -> str:
            await recorder.span(f"{label}{n}", 0.2)
            return f"{label}{n}"

        nap.__doc__ = "Nap."
        return tool(name=label)(nap)

    tools = Toolset([sleeper("a"), sleeper("b"), sleeper("c"), sleeper("d")])
    blocks = [use(name, i, n=i) for i, name in enumerate("abcd")]
    results = await dispatch(blocks, tools)
    assert texts(results) == ["a0", "b1", "c2", "d3"]
    assert recorder.overlapping("a0", "b1", "c2", "d3")


async def test_sync_tools_overlap_in_worker_threads() -> None:
    spans: dict[int, tuple[float, float]] = {}
    barrier = threading.Barrier(3, timeout=5)

    @tool
    def blocking(n: int) -> int:
        """Blocks its thread until all three calls are running."""
        start = time.perf_counter()
        barrier.wait()  # only returns once three threads wait at once
        spans[n] = (start, time.perf_counter())
        return n

    results = await dispatch([use("blocking", i, n=i) for i in range(3)], Toolset([blocking]))
    assert texts(results) == ["0", "1", "2"]
    assert max(s for s, _ in spans.values()) < min(e for _, e in spans.values())


async def test_results_follow_the_blocks_order_not_the_finishing_order() -> None:
    finished: list[int] = []

    @tool
    async def wait(n: int) -> int:
        """Waits longer for smaller n."""
        await anyio.sleep(0.01 * (5 - n))
        finished.append(n)
        return n

    results = await dispatch([use("wait", i, n=i) for i in range(5)], Toolset([wait]))
    assert texts(results) == ["0", "1", "2", "3", "4"]
    assert [r.tool_use_id for r in results] == [f"toolu_{i}" for i in range(5)]
    assert finished == [4, 3, 2, 1, 0]


async def test_the_limiter_bounds_how_many_run_at_once() -> None:
    recorder = Recorder()

    @tool
    async def work(n: int) -> None:
        """Work."""
        await recorder.span(str(n), 0.02)

    await dispatch(
        [use("work", i, n=i) for i in range(6)],
        Toolset([work]),
        limiter=anyio.CapacityLimiter(2),
    )
    assert recorder.peak == 2
    assert len(recorder.spans) == 6


async def test_sequential_tools_are_barriers_and_run_alone() -> None:
    recorder = Recorder()

    @tool
    async def par(n: int) -> None:
        """Parallel."""
        await recorder.span(f"p{n}", 0.05)

    @tool(sequential=True)
    async def seq(n: int) -> None:
        """Sequential."""
        await recorder.span(f"s{n}", 0.02)

    blocks = [
        use("par", 0, n=0),
        use("par", 1, n=1),
        use("seq", 2, n=0),
        use("seq", 3, n=1),
        use("par", 4, n=2),
        use("par", 5, n=3),
    ]
    results = await dispatch(blocks, Toolset([par, seq]))
    assert [r.tool_use_id for r in results] == [b.id for b in blocks]
    assert recorder.overlapping("p0", "p1")
    assert recorder.overlapping("p2", "p3")
    for earlier in ("p0", "p1"):
        assert recorder.before(earlier, "s0")
    assert recorder.before("s0", "s1")
    for later in ("p2", "p3"):
        assert recorder.before("s1", later)


async def test_a_failure_or_timeout_is_its_own_result_and_cancels_no_sibling() -> None:
    @tool
    async def ok(n: int) -> int:
        """Fine."""
        await anyio.sleep(0.05)
        return n

    @tool
    async def boom() -> None:
        """Raises."""
        raise ValueError("bad value")

    @tool
    async def refuse() -> None:
        """Refuses."""
        raise ToolError("not allowed")

    @tool(timeout=0.01)
    async def hang() -> None:
        """Never ends."""
        await anyio.sleep_forever()

    blocks = [
        use("ok", 0, n=1),
        use("boom", 1),
        use("refuse", 2),
        use("hang", 3),
        use("ok", 4, n=2),
    ]
    results = await dispatch(blocks, Toolset([ok, boom, refuse, hang]))
    assert [(r.content, r.is_error) for r in results] == [
        ("1", None),
        ("ValueError: bad value", True),
        ("not allowed", True),
        ("The tool call timed out after 0.01 s and was stopped.", True),
        ("2", None),
    ]


async def test_default_timeout_applies_to_tools_without_their_own() -> None:
    @tool
    async def slow() -> str:
        """Slow."""
        await anyio.sleep(5)
        return "late"

    @tool(timeout=5)
    async def patient() -> str:
        """Has its own, longer timeout."""
        await anyio.sleep(0.05)
        return "on time"

    results = await dispatch(
        [use("slow", 0), use("patient", 1)], Toolset([slow, patient]), default_timeout=0.02
    )
    assert texts(results) == ["The tool call timed out after 0.02 s and was stopped.", "on time"]


async def test_a_timed_out_sync_tool_sees_its_cancelled_flag() -> None:
    saw_flag = threading.Event()

    @tool(timeout=0.02)
    def polling(ctx: Context[None]) -> str:
        """Checks ctx.cancelled while it works."""
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if ctx.cancelled:
                saw_flag.set()
                return "stopped"
            time.sleep(0.001)
        return "finished"

    events: list[Event] = []
    results = await dispatch([use("polling", 0)], Toolset([polling]), on_event=events.append)
    assert results[0].is_error is True
    assert results[0].content == "The tool call timed out after 0.02 s and was stopped."
    assert await anyio.to_thread.run_sync(saw_flag.wait, 5)
    finished = [e for e in events if isinstance(e, ToolCallFinished)]
    assert [e.error for e in finished] == ["timeout"]


async def test_a_sync_tool_that_ignores_cancellation_cannot_hang_the_dispatch() -> None:
    release = threading.Event()

    @tool(timeout=0.02)
    def stubborn() -> str:
        """Blocks until released, whatever happens."""
        release.wait(10)
        return "done"

    try:
        results = await dispatch([use("stubborn", 0)], Toolset([stubborn]))
        assert results[0].is_error is True
        assert "timed out" in str(results[0].content)
    finally:
        release.set()


async def test_unknown_tools_are_answered_with_the_available_ones() -> None:
    @tool
    def known() -> str:
        """Known."""
        return "yes"

    events: list[Event] = []
    results = await dispatch(
        [use("invented", 0), use("known", 1)], Toolset([known]), on_event=events.append
    )
    assert results[0].to_wire() == {
        "type": "tool_result",
        "tool_use_id": "toolu_0",
        "content": "Unknown tool 'invented'. Available tools: known.",
        "is_error": True,
    }
    assert results[1].content == "yes"
    assert [type(e).__name__ for e in events if e.tool_use_id == "toolu_0"] == [  # type: ignore[union-attr]
        "ToolCallFinished"
    ]
    empty = await dispatch([use("x", 0)], Toolset())
    assert empty[0].content == "Unknown tool 'x'. No tools are available."


async def test_a_model_inventing_a_tool_again_and_again_ends_the_run() -> None:
    budget = RetryBudget(default_max_retries=1)
    await dispatch([use("ghost", 0)], Toolset(), budget=budget)
    with pytest.raises(ToolRetriesExceeded, match="unknown tool 'ghost' 2 times"):
        await dispatch([use("ghost", 1)], Toolset(), budget=budget)


async def test_incomplete_tool_uses_are_never_run() -> None:
    calls: list[str] = []

    @tool
    def record(x: str = "") -> None:
        """Records calls."""
        calls.append(x)

    cut = CutBlock(id="toolu_0", name="record", input={})
    results = await dispatch([cut, use("record", 1, x="whole")], Toolset([record]))
    assert calls == ["whole"]
    assert results[0].is_error is True
    assert "cut off" in str(results[0].content)
    assert results[1].is_error is None


async def test_events_bracket_every_call() -> None:
    @tool
    async def step(ctx: Context[None], n: int) -> int:
        """Reports progress."""
        ctx.progress(f"half of {n}")
        return n

    @tool
    def sync_step(ctx: Context[None]) -> None:
        """Reports progress from a thread."""
        ctx.progress("thread")

    events: list[Event] = []
    loop_thread = threading.get_ident()
    threads: set[int] = set()

    def listen(event: Event) -> None:
        threads.add(threading.get_ident())
        events.append(event)

    blocks = [use("step", 0, n=1), use("sync_step", 1), use("step", 2, n="bad")]
    await dispatch(blocks, Toolset([step, sync_step]), on_event=listen)
    assert threads == {loop_thread}
    for block in blocks:
        mine = [e for e in events if getattr(e, "tool_use_id", None) == block.id]
        assert isinstance(mine[0], ToolCallStarted)
        assert mine[0].input == block.input
        assert isinstance(mine[-1], ToolCallFinished)
        assert mine[-1].duration_s >= 0
    by_id = {e.tool_use_id: e for e in events if isinstance(e, ToolCallFinished)}
    assert by_id["toolu_0"].error is None
    assert by_id["toolu_0"].result.content == "1"
    assert by_id["toolu_2"].error == "validation"
    assert by_id["toolu_2"].is_error
    progress = [e for e in events if isinstance(e, ToolProgress)]
    assert sorted((p.tool_use_id, p.name, p.data) for p in progress) == [
        ("toolu_0", "step", "half of 1"),
        ("toolu_1", "sync_step", "thread"),
    ]


async def test_a_failing_listener_breaks_nothing() -> None:
    @tool
    def fine() -> str:
        """Fine."""
        return "ok"

    def broken(event: Event) -> None:
        raise RuntimeError("listener bug")

    results = await dispatch([use("fine", 0)], Toolset([fine]), on_event=broken)
    assert results[0].content == "ok"


async def test_the_context_factory_builds_each_context() -> None:
    seen: list[tuple[str, str, str, Any]] = []

    @tool
    def who(ctx: Context[dict[str, str]]) -> str:
        """Who."""
        seen.append((ctx.tool_use_id, ctx.tool_name, ctx.idempotency_key, ctx.deps))
        return ctx.deps["user"]

    def factory(block: ToolUseBlock, found: Tool[Any]) -> Context[Any]:
        assert found is who
        return Context(deps={"user": "ada"}, run_id="run_1", tool_use_id=block.id)

    results = await dispatch(
        [use("who", 0), use("who", 1)], Toolset([who]), context_factory=factory
    )
    assert texts(results) == ["ada", "ada"]
    assert sorted(seen) == [
        ("toolu_0", "who", "run_1:toolu_0", {"user": "ada"}),
        ("toolu_1", "who", "run_1:toolu_1", {"user": "ada"}),
    ]


async def test_no_tool_uses_no_results() -> None:
    assert await dispatch([], Toolset()) == []


async def test_cancelling_the_dispatch_still_answers_every_tool_use() -> None:
    contexts: list[Context[None]] = []
    thread_saw_cancel = threading.Event()

    @tool
    def fast() -> str:
        """Done at once."""
        return "fast"

    @tool
    async def forever(ctx: Context[None]) -> None:
        """Never ends."""
        contexts.append(ctx)
        await anyio.sleep_forever()

    @tool
    def blocking(ctx: Context[None]) -> None:
        """A sync tool that polls its flag."""
        contexts.append(ctx)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not ctx.cancelled:
            time.sleep(0.001)
        if ctx.cancelled:
            thread_saw_cancel.set()

    @tool(sequential=True)
    def later() -> str:
        """Queued behind the others; never starts."""
        return "never"

    events: list[Event] = []
    ready = anyio.Event()

    def listen(event: Event) -> None:
        events.append(event)
        started = {e.name for e in events if isinstance(e, ToolCallStarted)}
        done = {e.name for e in events if isinstance(e, ToolCallFinished)}
        if {"forever", "blocking"} <= started and "fast" in done:
            ready.set()

    blocks = [use("fast", 0), use("forever", 1), use("blocking", 2), use("later", 3)]
    results: list[ToolResultBlock] = []
    with anyio.CancelScope() as scope:
        async with anyio.create_task_group() as group:

            async def cancel_when_ready() -> None:
                await ready.wait()
                await anyio.sleep(0.01)  # let the sync tool's thread get going
                scope.cancel()

            group.start_soon(cancel_when_ready)
            await dispatch(
                blocks, Toolset([fast, forever, blocking, later]), on_event=listen, results=results
            )
    assert scope.cancelled_caught
    cancelled = "The tool call was cancelled before it finished."
    assert [(r.tool_use_id, r.content, r.is_error) for r in results] == [
        ("toolu_0", "fast", None),
        ("toolu_1", cancelled, True),
        ("toolu_2", cancelled, True),
        ("toolu_3", cancelled, True),
    ]
    assert all(ctx.cancelled for ctx in contexts)
    assert len(contexts) == 2
    assert await anyio.to_thread.run_sync(thread_saw_cancel.wait, 5)
    finished = {e.tool_use_id: e.error for e in events if isinstance(e, ToolCallFinished)}
    assert finished == {
        "toolu_0": None,
        "toolu_1": "cancelled",
        "toolu_2": "cancelled",
        "toolu_3": "cancelled",
    }


async def test_the_retry_budget_spans_the_run_and_then_ends_it() -> None:
    @tool(max_retries=1)
    def strict_add(a: int, b: int) -> int:
        """Add."""
        return a + b

    @tool
    async def slow_sibling() -> str:
        """Still running when the run ends."""
        await anyio.sleep_forever()
        return "never"

    tools = Toolset([strict_add, slow_sibling])
    budget = RetryBudget()
    first = await dispatch([use("strict_add", 0, a="x", b=1)], tools, budget=budget)
    assert first[0].is_error is True
    assert budget.failures("strict_add") == 1
    ok = await dispatch([use("strict_add", 1, a=1, b=2)], tools, budget=budget)
    assert ok[0].content == "3"

    results: list[ToolResultBlock] = []
    with pytest.raises(ToolRetriesExceeded) as info:
        await dispatch(
            [use("slow_sibling", 2), use("strict_add", 3, a=1)],
            tools,
            budget=budget,
            results=results,
        )
    assert "'strict_add' received invalid input 2 times" in str(info.value)
    assert "max_retries=1" in str(info.value)
    assert "b: missing required field" in str(info.value)
    assert [(r.tool_use_id, r.is_error) for r in results] == [("toolu_2", True), ("toolu_3", True)]
    assert results[0].content == "The tool call was cancelled before it finished."
    assert "Invalid input for strict_add" in str(results[1].content)


async def test_without_a_shared_budget_each_dispatch_starts_afresh() -> None:
    @tool(max_retries=0)
    def picky(a: int) -> int:
        """Picky."""
        return a

    with pytest.raises(ToolRetriesExceeded):
        await dispatch([use("picky", 0)], Toolset([picky]))
    with pytest.raises(ToolRetriesExceeded):
        await dispatch([use("picky", 1)], Toolset([picky]))


async def test_the_policy_can_abort_the_run_with_the_exception_as_cause() -> None:
    @tool
    def forbidden() -> None:
        """Raises PermissionError."""
        raise PermissionError("read-only file system")

    @tool
    def wrong() -> None:
        """Raises ValueError."""
        raise ValueError("fed back")

    tools = Toolset([forbidden, wrong])
    policy: dict[type[BaseException], Decision] = {PermissionError: "abort"}
    fed = await dispatch([use("wrong", 0)], tools, policy=policy)
    assert fed[0].content == "ValueError: fed back"

    results: list[ToolResultBlock] = []
    with pytest.raises(ToolAborted) as info:
        await dispatch([use("forbidden", 1)], tools, policy=policy, results=results)
    assert isinstance(info.value.__cause__, PermissionError)
    assert "'forbidden'" in str(info.value)
    assert "PermissionError: read-only file system" in str(info.value)
    assert results[0].content == "PermissionError: read-only file system"
    assert results[0].is_error is True


async def test_a_policy_function_decides_and_tool_error_is_always_fed_back() -> None:
    @tool
    def fails(kind: str) -> None:
        """Fails."""
        if kind == "tool":
            raise ToolError("for the model")
        raise OSError(kind)

    def decide(exc: BaseException) -> Decision:
        return "abort"

    tools = Toolset([fails])
    fed = await dispatch([use("fails", 0, kind="tool")], tools, policy=decide)
    assert fed[0].content == "for the model"
    with pytest.raises(ToolAborted):
        await dispatch([use("fails", 1, kind="disk")], tools, policy=decide)


def test_tool_policy_picks_the_most_specific_rule() -> None:
    policy = ToolPolicy({OSError: "abort", FileNotFoundError: "feed_back"})
    assert policy.decide(FileNotFoundError()) == "feed_back"
    assert policy.decide(PermissionError()) == "abort"
    assert policy.decide(ValueError()) == "feed_back"
    assert ToolPolicy(default="abort").decide(ValueError()) == "abort"
    assert ToolPolicy.of(policy) is policy
    with pytest.raises(ValueError, match="'feed_back' or 'abort'"):
        ToolPolicy(lambda exc: "ignore").decide(ValueError())  # type: ignore[arg-type]
