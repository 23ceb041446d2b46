"""``TemporalSteps``: the loop's requests and tool calls as activities, from inside a workflow.

The same ``Run`` as a local run decides; these steps act, by scheduling activities and
waiting on them, which the engine records, so a replay takes every answer from history and
sends nothing twice. The tools of a turn are scheduled in order and awaited together; a
``sequential`` tool runs alone, as the dispatcher does it (the same segments). Calls that
need no tool (an unknown tool, input cut off by ``max_tokens``) are answered here, with the
dispatcher's own results, and the run's budget of invalid inputs is kept here, so a run ends
with ``ToolRetriesExceeded`` or ``ToolAborted`` exactly where a local run would.

Only asyncio is used: an anyio cancel scope re-delivers its cancellation on every turn of the
event loop, while the engine holds a cancelled activity open until the server answers, so the
two together never yield and the worker reports a deadlock.
"""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.exceptions import CancelledError as StepCancelled
from temporalio.exceptions import TimeoutError as StepTimeout

from .._dispatch import _incomplete, _incomplete_outcome, _segments
from .._errors import APIConnectionError, APITimeoutError, ToolRetriesExceeded, ToolwireError
from .._tools import Tool
from .._wire.blocks import ToolResultBlock, ToolUseBlock
from .._wire.messages import Message
from .._wire.request import MessageRequest
from ._activities import AgentActivities
from ._data import RequestCall, RequestDone, ToolCall, ToolDone, encoded_size
from ._errors import PayloadTooLarge
from ._failures import RECORD, find_record, rebuild_error
from ._options import TemporalOptions

if TYPE_CHECKING:
    from .._agent.loop import Run

__all__ = ["CarryOver", "TemporalSteps"]

_CANCELLED = "The tool call was cancelled before it finished."


class CarryOver(Exception):
    """Raised before a request when the workflow should continue as new; not an error."""


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _cancelled(block: ToolUseBlock) -> ToolResultBlock:
    return ToolResultBlock(tool_use_id=block.id, content=_CANCELLED, is_error=True)


def _unknown(block: ToolUseBlock, names: list[str]) -> ToolResultBlock:
    available = f"Available tools: {', '.join(names)}." if names else "No tools are available."
    return ToolResultBlock(
        tool_use_id=block.id, content=f"Unknown tool {block.name!r}. {available}", is_error=True
    )


def _step_error(exc: ActivityError, what: str) -> BaseException:
    """What the loop should see for a step that failed for good."""
    cause = exc.cause
    if isinstance(cause, StepCancelled):
        # The run itself was cancelled (or timed out) while the step was in flight.
        return asyncio.CancelledError()
    detail = find_record(exc)
    if detail is not None:
        return rebuild_error(detail[RECORD])
    if isinstance(cause, StepTimeout):
        kind = cause.type.name.lower() if cause.type is not None else "timeout"
        return APITimeoutError(f"{what} did not complete in time ({kind})")
    return APIConnectionError(f"{what} failed: {cause if cause is not None else exc}")


class TemporalSteps:
    """Requests and tool calls as the activities of ``AgentActivities``, for one workflow run.

    ``agent`` names the registered agent; ``deps`` is the run's deps data. The steps count
    the requests this workflow run made and, once ``options.continue_as_new_after`` is
    reached (or the engine suggests it), raise ``CarryOver`` before the next request, at a
    point where the run can resume exactly.
    """

    def __init__(self, *, agent: str, deps: Any, options: TemporalOptions) -> None:
        self.agent = agent
        self.deps = deps
        self.options = options
        self.requests = 0
        self.failures: dict[str, int] = {}
        self._scheduled: set[str] = set()

    # -- bookkeeping -----------------------------------------------------------------------

    def record_failure(self, run: Run, tool_name: str, max_retries: int | None) -> bool:
        """Count one invalid call in the run's budget; ``True`` when that is one too many."""
        self.failures[tool_name] = self.failures.get(tool_name, 0) + 1
        return run.budget.record_failure(tool_name, max_retries)

    def restore(self, run: Run, failures: dict[str, int]) -> None:
        """Put back the counts a run carried over ``continue-as-new``."""
        for name, count in failures.items():
            for _ in range(count):
                self.record_failure(run, name, None)

    def check_size(self, what: str, *values: Any) -> None:
        """Raise ``PayloadTooLarge`` when ``values`` would pass the payload cap."""
        limit = self.options.max_payload_bytes
        if limit is None:
            return
        size = encoded_size(workflow.payload_converter(), *values)
        if size > limit:
            raise PayloadTooLarge(what, size, limit)

    def _should_carry(self, run: Run) -> bool:
        if self.requests == 0 or run._pause_streak > 0:
            # A pause_turn continuation completes the assistant turn in flight: finish it here.
            return False
        if (
            self.requests < self.options.continue_as_new_after
            and not workflow.info().is_continue_as_new_suggested()
        ):
            return False
        # A request past a limit is the last one (on_limit="final_answer"); it is not resumed
        # elsewhere, where the limit's note to the model would be added a second time.
        return run.agent.limits.exceeded(run.turns - 1, run.usage) is None

    # -- Steps -----------------------------------------------------------------------------

    async def request(self, run: Run, request: MessageRequest) -> Message:
        """One request, as one activity, unless the workflow should continue as new first."""
        options = self.options
        call = RequestCall(
            agent=self.agent,
            run_id=run.run_id,
            turn=run.turns,
            body=_dumps(request.to_wire()),
            stream=run.streamed,
            max_payload_bytes=options.max_payload_bytes,
        )
        # Checked before any continue-as-new: the next workflow run would send it as it is.
        self.check_size(f"the request of turn {run.turns}", call)
        if self._should_carry(run):
            raise CarryOver
        self.requests += 1
        try:
            done: RequestDone = await workflow.execute_activity_method(
                AgentActivities.request,
                call,
                start_to_close_timeout=timedelta(seconds=options.request_timeout),
                heartbeat_timeout=options.heartbeat(),
                retry_policy=options.retry_policy(options.request_attempts),
            )
        except ActivityError as exc:
            raise _step_error(exc, f"the request of turn {run.turns}") from None
        message = Message.model_validate_json(done.message)
        message._request_id = done.request_id
        return message

    async def call_tools(
        self, run: Run, uses: list[ToolUseBlock], results: list[ToolResultBlock]
    ) -> None:
        """The turn's calls, segment by segment; ``results`` filled in order, always."""
        slots: list[ToolResultBlock | None] = [None] * len(uses)
        try:
            for segment in _segments(uses, run.agent.toolset):
                abort = await self._segment(run, uses, segment, slots)
                if abort is not None:
                    raise abort
        finally:
            # Every tool_use answered, even when the run was cancelled or ends here.
            results[:] = [
                slot if slot is not None else _cancelled(block)
                for slot, block in zip(slots, uses, strict=True)
            ]

    async def close(self) -> None:
        """Nothing to release: the activities own their clients."""

    # -- one segment -----------------------------------------------------------------------

    async def _segment(
        self,
        run: Run,
        uses: list[ToolUseBlock],
        segment: list[int],
        slots: list[ToolResultBlock | None],
    ) -> ToolwireError | None:
        toolset = run.agent.toolset
        runnable: list[tuple[int, Tool[Any]]] = []
        for index in segment:
            block = uses[index]
            if _incomplete(block):
                slots[index] = _incomplete_outcome(block).result
                continue
            declared = toolset.get(block.name)
            if declared is None:
                slots[index] = _unknown(block, toolset.names)
                if self.record_failure(run, block.name, None):
                    # The dispatcher stops at once: the segment's other calls never finish.
                    return ToolRetriesExceeded(
                        f"the model called the unknown tool {block.name!r} "
                        f"{run.budget.failures(block.name)} times"
                    )
                continue
            runnable.append((index, declared))

        pending: dict[asyncio.Future[ToolDone], int] = {}
        abort: ToolwireError | None = None
        try:
            for index, declared in runnable:
                pending[self._start(run, uses[index], declared)] = index
            while pending and abort is None:
                done, _ = await workflow.wait(list(pending), return_when=asyncio.FIRST_COMPLETED)
                for handle in sorted(done, key=pending.__getitem__):
                    index = pending.pop(handle)
                    slot, problem = self._settle(
                        run, uses[index], toolset.get(uses[index].name), handle
                    )
                    slots[index] = slot
                    abort = abort or problem
        finally:
            for handle in pending:
                handle.cancel()
        return abort

    def _start(
        self, run: Run, block: ToolUseBlock, declared: Tool[Any]
    ) -> asyncio.Future[ToolDone]:
        options = self.options
        call = ToolCall(
            agent=self.agent,
            run_id=run.run_id,
            tool_use=_dumps(block.to_wire()),
            deps=self.deps,
            usage=run.usage.to_wire(),
            max_payload_bytes=options.max_payload_bytes,
        )
        self.check_size(f"the call of tool {block.name!r} ({block.id})", call)
        # Named by its tool_use id where that is unique, so the history reads like the run.
        activity_id = block.id if block.id not in self._scheduled else None
        self._scheduled.add(block.id)
        return workflow.start_activity_method(
            AgentActivities.call_tool,
            call,
            activity_id=activity_id,
            start_to_close_timeout=options.tool_deadline(declared.timeout),
            heartbeat_timeout=options.heartbeat(),
            retry_policy=options.retry_policy(options.tool_attempts),
        )

    def _settle(
        self,
        run: Run,
        block: ToolUseBlock,
        declared: Tool[Any] | None,
        handle: asyncio.Future[ToolDone],
    ) -> tuple[ToolResultBlock | None, ToolwireError | None]:
        try:
            done = handle.result()
        except ActivityError as exc:
            if isinstance(exc.cause, StepCancelled):
                return None, None
            detail = find_record(exc)
            if detail is not None and isinstance(detail.get("tool_result"), str):
                # The tool policy ended the run: the call's own result is kept, as locally.
                aborted = rebuild_error(detail[RECORD])
                cause = exc.cause.__cause__ if isinstance(exc.cause, ApplicationError) else None
                aborted.__cause__ = cause
                return ToolResultBlock.model_validate_json(detail["tool_result"]), aborted
            # Every attempt failed (the worker kept dying, the step kept timing out): the
            # model learns that this call failed, as it would of a tool's own exception.
            why = exc.cause if exc.cause is not None else exc
            text = f"The tool call could not be completed: {why}"
            return ToolResultBlock(tool_use_id=block.id, content=text, is_error=True), None
        result = ToolResultBlock.model_validate_json(done.result)
        if done.error == "unknown_tool" and self.record_failure(run, block.name, None):
            # Declared in the run's spec, missing from the worker's agent: counted as locally.
            return result, ToolRetriesExceeded(
                f"the model called the unknown tool {block.name!r} "
                f"{run.budget.failures(block.name)} times"
            )
        max_retries = declared.max_retries if declared is not None else None
        if done.error == "validation" and self.record_failure(run, block.name, max_retries):
            return result, ToolRetriesExceeded(
                f"tool {block.name!r} received invalid input "
                f"{run.budget.failures(block.name)} times, more than its "
                f"max_retries={max_retries}; last: {done.problem}"
            )
        return result, None
