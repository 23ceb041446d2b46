"""Runs one assistant turn's tool calls and answers every one of them, in order.

- The calls run concurrently in an anyio task group, at most as many at once as the capacity
  limiter allows; sync tools run in worker threads.
- A tool marked ``sequential=True`` is a barrier: the calls before it finish first, it runs
  alone, and the calls after it start once it is done. The model's order is kept wherever
  it could matter, and the calls between two sequential ones still run together.
- A failure, an exception or a timeout is that call's own ``is_error`` result; no sibling is
  cancelled. A call to a tool that does not exist, and a call whose input was cut off
  (``block.incomplete``), are answered with an error and never run.
- Results come back in the order of the tool_use blocks, one per block, ready to open the
  next user message.
- Cancelling the dispatch (the run is cancelled) cancels every running tool. Before the
  cancellation propagates, the ``results`` list the caller passed is filled with one result
  per block: the real result for calls that finished, an ``is_error`` "cancelled" result for
  the others. The transcript stays valid.
- Two things end the run instead of answering: a tool whose input failed validation more
  often than its ``max_retries`` allows over the run (``ToolRetriesExceeded``), and an
  exception the tool policy says aborts on (``ToolAborted``, the exception as its cause).
  The other calls of the turn are cancelled and ``results`` is filled first, as above.

Every call yields exactly one ``ToolCallFinished`` event; calls that were run are preceded by
a ``ToolCallStarted``; ``ctx.progress(...)`` yields ``ToolProgress`` events in between.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any, TypeAlias

import anyio
import anyio.lowlevel

from toolwire._errors import ToolAborted, ToolRetriesExceeded
from toolwire._events import Event, ToolCallFinished, ToolCallStarted, ToolProgress
from toolwire._tools.context import Context
from toolwire._tools.decorator import DEFAULT_MAX_RETRIES, Tool
from toolwire._tools.logs import log_tool_exception
from toolwire._tools.policy import ExceptionRules, ToolPolicy
from toolwire._tools.results import DEFAULT_MAX_RESULT_CHARS, ToolOutcome
from toolwire._tools.toolset import Toolset
from toolwire._wire.blocks import ToolResultBlock, ToolUseBlock

__all__ = ["ContextFactory", "RetryBudget", "dispatch"]

ContextFactory: TypeAlias = Callable[[ToolUseBlock, Tool[Any]], Context[Any]]
"""Builds the context of one call from its tool_use block and its tool."""


class RetryBudget:
    """How often each tool's input failed validation over a whole run.

    The run owns one and passes it to every ``dispatch`` of the run. A tool may receive
    invalid input ``max_retries`` times; the next failure ends the run. Calls to tools that
    do not exist count too, under the invented name, against ``default_max_retries``, so a
    model that keeps inventing a tool cannot loop forever.
    """

    def __init__(self, default_max_retries: int = DEFAULT_MAX_RETRIES) -> None:
        self.default_max_retries = default_max_retries
        self._failures: dict[str, int] = {}

    def failures(self, tool_name: str) -> int:
        """How many invalid calls to ``tool_name`` this run has seen."""
        return self._failures.get(tool_name, 0)

    def record_failure(self, tool_name: str, max_retries: int | None = None) -> bool:
        """Count one invalid call; ``True`` when it is one more than the budget allows."""
        count = self._failures.get(tool_name, 0) + 1
        self._failures[tool_name] = count
        limit = self.default_max_retries if max_retries is None else max_retries
        return count > limit

    def __repr__(self) -> str:
        return f"RetryBudget({self._failures!r})"


def _default_context(block: ToolUseBlock, tool: Tool[Any]) -> Context[Any]:
    return Context(deps=None, tool_use_id=block.id, tool_name=tool.name)


async def dispatch(
    tool_uses: Sequence[ToolUseBlock],
    toolset: Toolset,
    *,
    context_factory: ContextFactory | None = None,
    on_event: Callable[[Event], None] | None = None,
    limiter: anyio.CapacityLimiter | None = None,
    default_timeout: float | None = None,
    policy: ToolPolicy | ExceptionRules | None = None,
    budget: RetryBudget | None = None,
    max_result_chars: int | None = DEFAULT_MAX_RESULT_CHARS,
    results: list[ToolResultBlock] | None = None,
) -> list[ToolResultBlock]:
    """Run one turn's tool calls and return one tool_result per block, in the blocks' order.

    ``context_factory`` builds each call's context (by default one with no deps); the
    dispatcher sets its ``tool_use_id`` and ``tool_name``. ``on_event`` receives the
    ``ToolCallStarted`` / ``ToolProgress`` / ``ToolCallFinished`` events, in the event loop's
    thread; an exception it raises is logged and dropped. ``limiter`` bounds how many calls
    run at once (share one to bound several runs together). ``default_timeout`` applies to
    tools without their own. ``policy`` decides which exceptions end the run. ``budget``
    carries validation failures across the run's turns (a fresh one per call if omitted).
    ``max_result_chars`` caps each result's text, unless the tool sets its own cap.

    ``results``, when given, is filled in place with the same list that is returned, and is
    filled even when the dispatch is cancelled or ends the run: pass one to still have a
    result for every block in those cases. Raises ``ToolRetriesExceeded`` or
    ``ToolAborted`` (see the module's description); cancellation propagates.
    """
    turn = _Turn(
        tool_uses,
        toolset,
        context_factory=context_factory or _default_context,
        on_event=on_event,
        limiter=limiter,
        default_timeout=default_timeout,
        policy=ToolPolicy.of(policy),
        budget=budget if budget is not None else RetryBudget(),
        max_result_chars=max_result_chars,
    )
    out = results if results is not None else []
    try:
        with anyio.CancelScope() as turn.scope:
            for segment in _segments(tool_uses, toolset):
                if turn.abort is not None:
                    break
                if len(segment) == 1:
                    await turn.run(segment[0])
                    continue
                async with anyio.create_task_group() as group:
                    for index in segment:
                        group.start_soon(turn.run, index)
    finally:
        out[:] = turn.close()
    if turn.abort is not None:
        raise turn.abort
    return out


def _segments(tool_uses: Sequence[ToolUseBlock], toolset: Toolset) -> list[list[int]]:
    """Indexes grouped into runs of concurrent calls, each sequential call alone in its group."""
    segments: list[list[int]] = []
    current: list[int] = []
    for index, block in enumerate(tool_uses):
        found = toolset.get(block.name)
        if found is not None and found.sequential and not _incomplete(block):
            if current:
                segments.append(current)
                current = []
            segments.append([index])
        else:
            current.append(index)
    if current:
        segments.append(current)
    return segments


def _incomplete(block: ToolUseBlock) -> bool:
    return bool(getattr(block, "incomplete", False))


class _Turn:
    """The state of one dispatch: a slot per block, the live contexts, the abort if any."""

    def __init__(
        self,
        tool_uses: Sequence[ToolUseBlock],
        toolset: Toolset,
        *,
        context_factory: ContextFactory,
        on_event: Callable[[Event], None] | None,
        limiter: anyio.CapacityLimiter | None,
        default_timeout: float | None,
        policy: ToolPolicy,
        budget: RetryBudget,
        max_result_chars: int | None,
    ) -> None:
        self.tool_uses = tool_uses
        self.toolset = toolset
        self.context_factory = context_factory
        self.on_event = on_event
        self.limiter = limiter
        self.default_timeout = default_timeout
        self.policy = policy
        self.budget = budget
        self.max_result_chars = max_result_chars
        self.slots: list[ToolResultBlock | None] = [None] * len(tool_uses)
        self.contexts: dict[int, Context[Any]] = {}
        self.started_at: dict[int, float] = {}
        self.abort: ToolAborted | ToolRetriesExceeded | None = None
        self.scope = anyio.CancelScope()

    def emit(self, event: Event) -> None:
        if self.on_event is None:
            return
        try:
            self.on_event(event)
        except Exception as exc:
            # A failing listener must not take the tool calls down with it.
            log_tool_exception(getattr(event, "name", "?"), getattr(event, "tool_use_id", "?"), exc)

    def emit_progress(self, event: ToolProgress) -> None:
        self.emit(event)

    async def run(self, index: int) -> None:
        await anyio.lowlevel.checkpoint_if_cancelled()
        if self.abort is not None:
            return
        block = self.tool_uses[index]
        if _incomplete(block):
            self.settle(index, _incomplete_outcome(block))
            return
        found = self.toolset.get(block.name)
        if found is None:
            self.settle(index, self.unknown_outcome(block))
            if self.budget.record_failure(block.name):
                self.stop(
                    ToolRetriesExceeded(
                        f"the model called the unknown tool {block.name!r} "
                        f"{self.budget.failures(block.name)} times"
                    )
                )
            return
        limiter = self.limiter
        if limiter is None:
            await self.execute(index, block, found)
            return
        try:
            # A free slot is taken at once: awaiting acquire() would give up a loop round
            # even when nothing has to wait.
            limiter.acquire_nowait()
        except anyio.WouldBlock:
            await limiter.acquire()
        try:
            await self.execute(index, block, found)
        finally:
            limiter.release()

    async def execute(self, index: int, block: ToolUseBlock, tool: Tool[Any]) -> None:
        ctx = self.context_factory(block, tool)
        ctx.tool_use_id = block.id
        ctx.tool_name = tool.name
        ctx._listen(self.emit_progress if self.on_event is not None else None)
        self.contexts[index] = ctx
        self.started_at[index] = time.perf_counter()
        self.emit(ToolCallStarted(tool_use_id=block.id, name=tool.name, input=block.input))
        timeout = tool.timeout if tool.timeout is not None else self.default_timeout
        outcome: ToolOutcome | None = None
        try:
            if timeout is None:
                outcome = await tool.run(block.input, ctx, max_result_chars=self.max_result_chars)
            else:
                with anyio.move_on_after(timeout):
                    outcome = await tool.run(
                        block.input, ctx, max_result_chars=self.max_result_chars
                    )
        except anyio.get_cancelled_exc_class():
            ctx._cancel()
            raise
        if outcome is None:
            ctx._cancel()
            text = f"The tool call timed out after {timeout or 0:g} s and was stopped."
            outcome = ToolOutcome.failure(block.id, text, "timeout")
        self.settle(index, outcome)
        self.check(tool, block, outcome)

    def check(self, tool: Tool[Any], block: ToolUseBlock, outcome: ToolOutcome) -> None:
        """End the run when the budget or the policy says so."""
        if outcome.error == "validation" and self.budget.record_failure(
            tool.name, tool.max_retries
        ):
            self.stop(
                ToolRetriesExceeded(
                    f"tool {tool.name!r} received invalid input "
                    f"{self.budget.failures(tool.name)} times, more than its "
                    f"max_retries={tool.max_retries}; last: {outcome.exception}"
                )
            )
        elif (
            outcome.error == "exception"
            and outcome.exception is not None
            and self.policy.decide(outcome.exception) == "abort"
        ):
            exc = outcome.exception
            error = ToolAborted(
                f"tool {tool.name!r} (tool_use {block.id}) raised {type(exc).__name__}: {exc}; "
                f"the tool policy ends the run"
            )
            error.__cause__ = exc
            self.stop(error)

    def stop(self, error: ToolAborted | ToolRetriesExceeded) -> None:
        if self.abort is None:
            self.abort = error
        self.scope.cancel()

    def unknown_outcome(self, block: ToolUseBlock) -> ToolOutcome:
        names = self.toolset.names
        available = f"Available tools: {', '.join(names)}." if names else "No tools are available."
        return ToolOutcome.failure(
            block.id, f"Unknown tool {block.name!r}. {available}", "unknown_tool"
        )

    def settle(self, index: int, outcome: ToolOutcome) -> None:
        block = self.tool_uses[index]
        self.slots[index] = outcome.result
        ctx = self.contexts.get(index)
        if ctx is not None:
            ctx._detach()
        started = self.started_at.get(index)
        self.emit(
            ToolCallFinished(
                tool_use_id=block.id,
                name=block.name,
                result=outcome.result,
                duration_s=0.0 if started is None else time.perf_counter() - started,
                error=outcome.error,
            )
        )

    def close(self) -> list[ToolResultBlock]:
        """Every slot filled: calls that did not finish are answered as cancelled."""
        for index, slot in enumerate(self.slots):
            if slot is not None:
                continue
            ctx = self.contexts.get(index)
            if ctx is not None:
                ctx._cancel()
            block = self.tool_uses[index]
            text = "The tool call was cancelled before it finished."
            self.settle(index, ToolOutcome.failure(block.id, text, "cancelled"))
        return [slot for slot in self.slots if slot is not None]


def _incomplete_outcome(block: ToolUseBlock) -> ToolOutcome:
    return ToolOutcome.failure(
        block.id,
        "The input of this tool call was cut off before it was complete (the response reached "
        "its token limit), so the tool was not run. Call it again with the complete input.",
        "incomplete",
    )
