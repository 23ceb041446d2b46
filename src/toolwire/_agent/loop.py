"""The loop of one run: request, act on the stop reason, dispatch tools, feed results back."""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import anyio
from pydantic import ValidationError

from .._dispatch import RetryBudget
from .._errors import (
    ContextWindowExceeded,
    LimitExceeded,
    MaxTokensReached,
    OutputValidationError,
    RefusalError,
    ToolwireError,
    UnexpectedStopReason,
)
from .._events import (
    Event,
    RequestSent,
    ResponseReceived,
    RunFinished,
    RunStarted,
)
from .._logging import EventLogger
from .._wire.blocks import ContentBlock, TextBlock, ToolResultBlock, ToolUseBlock
from .._wire.messages import Message, MessageParam, Usage
from .._wire.request import (
    MessageRequest,
    ServerTool,
    ToolChoiceAny,
    ToolChoiceAuto,
    ToolChoiceNone,
    ToolChoiceTool,
    ToolDefinition,
)
from .output import FINAL_ANSWER_TOOL, OutputSpec
from .result import RunResult
from .steps import LocalSteps, Steps

if TYPE_CHECKING:
    from .agent import Agent

__all__ = ["Run"]

Checkpoint = Callable[[list[MessageParam]], Awaitable[None] | None]

_FINAL_ANSWER_NUDGE = (
    "Give your final answer now by calling the final_answer tool; plain text is not accepted."
)
_ANSWER_NOW = (
    "A limit of this run has been reached: no more tools can be called. "
    "Answer now with what you have."
)


def _not_run(tool_use: ToolUseBlock, why: str) -> ToolResultBlock:
    return ToolResultBlock(tool_use_id=tool_use.id, content=f"Not run: {why}", is_error=True)


@dataclass
class Run:
    """The state of one run; the transcript is always valid to send or to save."""

    agent: Agent[Any]
    transcript: list[MessageParam]
    deps: Any = None
    output: OutputSpec[Any] | None = None
    streamed: bool = False
    emit: Callable[[Event], None] | None = None
    checkpoint: Checkpoint | None = None
    run_id: str = field(default_factory=lambda: f"run_{uuid.uuid4().hex[:24]}")
    usage: Usage = field(default_factory=Usage)
    turns: int = 0
    tool_calls: int = 0
    container: str | None = None
    budget: RetryBudget = field(default_factory=RetryBudget)
    steps: Steps = field(default_factory=LocalSteps)
    pending_prompt: list[ContentBlock] | None = None
    """A prompt that follows the results of tool calls the saved transcript left unanswered."""
    clock: Callable[[], float] = time.perf_counter
    log: bool = True
    _pause_streak: int = 0
    _output_failures: int = 0
    _log: EventLogger | None = None

    def event(self, event: Event) -> None:
        """Hand one event to the log and to whoever listens to the run."""
        if self._log is not None:
            self._log(event)
        if self.emit is not None:
            self.emit(event)

    async def _save(self) -> None:
        if self.checkpoint is not None:
            outcome = self.checkpoint(list(self.transcript))
            if outcome is not None:
                await outcome

    # -- the loop ------------------------------------------------------------------------

    async def execute(self) -> RunResult[Any]:
        """Run to the end; every exception leaves with the transcript and usage attached."""
        agent = self.agent
        if self.log:
            logger = EventLogger(self.run_id, agent.model, agent._secrets())
            self._log = logger if logger.enabled else None
        self.event(RunStarted(self.run_id, agent.model))
        timeout = agent.limits.timeout
        try:
            if timeout is None:
                result = await self._loop()
            else:
                finished: RunResult[Any] | None = None
                with anyio.move_on_after(timeout):
                    finished = await self._loop()
                if finished is None:
                    raise LimitExceeded("timeout", timeout, timeout)
                result = finished
        except ToolwireError as exc:
            exc.attach(self.transcript, self.usage)
            # A server may echo the credential anywhere, a stop reason included.
            exc.redact(agent._secrets())
            raise
        except BaseException as exc:
            # Cancellation included: whoever catches it can still save the transcript.
            try:
                exc.transcript = list(self.transcript)  # type: ignore[attr-defined]
                exc.usage = self.usage  # type: ignore[attr-defined]
            except AttributeError:
                pass
            raise
        finally:
            await self.steps.close()
        self.event(RunFinished(self.run_id, result))
        return result

    async def _loop(self) -> RunResult[Any]:
        agent = self.agent
        limits = agent.limits
        # A forced tool_choice applies to a run's first request; a run resumed mid-way
        # (turns carried over) is past it.
        forced_pending = self.turns == 0
        answer_now = False
        pending = self._unanswered()
        if pending is not None:
            # A run saved between a response and its tool results (a worker that died while
            # tools ran) resumes by running them, under the same ids and idempotency keys.
            final = await self._tools(pending)
            await self._save()
            if final is not None:
                return final
        if self.pending_prompt:
            self._append_user_content(self.pending_prompt)
            self.pending_prompt = None
        while True:
            if not answer_now:
                over = limits.exceeded(self.turns, self.usage)
                if over is not None:
                    if limits.on_limit != "final_answer":
                        raise over
                    answer_now = True
                    self._append_user_text(_ANSWER_NOW)
            request = self._request(first=forced_pending, answer_now=answer_now)
            forced_pending = False
            message = await self._send(request)
            stop = message.stop_reason

            if stop == "pause_turn":
                self._append_assistant(message, merge=self._pause_streak > 0)
                self._pause_streak += 1
                await self._save()
                if self._pause_streak > limits.max_pause_turns:
                    raise LimitExceeded(
                        "max_pause_turns", self._pause_streak, limits.max_pause_turns
                    )
                continue
            self._append_assistant(message, merge=self._pause_streak > 0)
            self._pause_streak = 0

            # Some gateways label a tool turn end_turn, or leave the stop reason out: the
            # content decides. A tool_use stop with no client tool call is a plain answer.
            tool_turn = bool(message.tool_uses) and stop in ("tool_use", "end_turn", None)
            if tool_turn and not answer_now:
                await self._save()
                final = await self._tools(message)
                await self._save()
                if final is not None:
                    return final
                continue
            if stop in ("end_turn", "stop_sequence", "tool_use", None):
                if message.tool_uses:
                    self._answer_unrun(message, "the run is ending")
                if self.output is not None and not answer_now:
                    self._output_failures += 1
                    if self._output_failures > self.output.retries:
                        raise OutputValidationError(
                            "the model answered without calling final_answer"
                        )
                    self._append_user_text(_FINAL_ANSWER_NUDGE)
                    await self._save()
                    continue
                await self._save()
                if answer_now and self.output is not None:
                    raise OutputValidationError("a limit was reached before a final answer")
                return self._result(message)
            if stop == "max_tokens":
                cut = [f"{b.name} ({b.id})" for b in message.tool_uses]
                self._answer_unrun(message, "the response was cut by max_tokens")
                await self._save()
                what = f"tool calls {', '.join(cut)}" if cut else "the answer text"
                if agent.on_max_tokens == "return":
                    result = self._result(message)
                    result.truncated = cut or ["text"]
                    return result
                raise MaxTokensReached(
                    f"the response hit max_tokens ({agent.max_tokens}); cut: {what}",
                    message,
                    cut,
                )
            self._answer_unrun(message, f"the response stopped with {stop!r}")
            await self._save()
            if stop == "refusal":
                raise RefusalError("the model refused to continue (stop_reason 'refusal')", message)
            if stop == "model_context_window_exceeded":
                raise ContextWindowExceeded(
                    "the model's context window is full (stop_reason "
                    "'model_context_window_exceeded')",
                    message,
                )
            err = UnexpectedStopReason(f"unexpected stop_reason {stop!r}; no tool was run", message)
            err.stop_reason = stop  # type: ignore[attr-defined]
            raise err

    # -- requests ------------------------------------------------------------------------

    def _request(self, *, first: bool, answer_now: bool = False) -> MessageRequest:
        agent = self.agent
        tools: list[ToolDefinition | ServerTool] = list(agent._tool_definitions)
        if self.output is not None:
            tools.append(self.output.definition)
        choice = agent.tool_choice
        if answer_now:
            # The tools stay (the API rejects tool blocks in a request without tools); the
            # choice stops the model from calling them, or asks for the final answer.
            if self.output is None:
                choice = ToolChoiceNone()
            elif agent.thinking:
                choice = ToolChoiceAuto()
            else:
                choice = ToolChoiceTool(name=FINAL_ANSWER_TOOL)
            first = True
        if (
            choice is not None
            and not first
            and agent.tool_choice_once
            and isinstance(choice, (ToolChoiceAny, ToolChoiceTool))
        ):
            flag = choice.disable_parallel_tool_use
            choice = (
                ToolChoiceAuto() if flag is None else ToolChoiceAuto(disable_parallel_tool_use=flag)
            )
        if not tools:
            choice = None
        fields: dict[str, Any] = dict(agent._request_fields)
        if tools:
            fields["tools"] = tools
        if choice is not None:
            fields["tool_choice"] = choice
        if self.container is not None:
            fields["container"] = self.container
        return MessageRequest(
            model=agent.model, max_tokens=agent.max_tokens, messages=self.transcript, **fields
        )

    async def _send(self, request: MessageRequest) -> Message:
        self.turns += 1
        self.event(RequestSent(self.run_id, self.turns, self.streamed))
        started = self.clock()
        message = await self.steps.request(self, request)
        self.usage = self.usage + message.usage
        if message.container is not None:
            self.container = message.container.id
        self.event(
            ResponseReceived(
                self.run_id, self.turns, message, message.request_id, self.clock() - started
            )
        )
        return message

    # -- transcript ----------------------------------------------------------------------

    def _append_assistant(self, message: Message, *, merge: bool) -> None:
        content: list[ContentBlock] = list(message.content)
        last = self.transcript[-1] if self.transcript else None
        if merge and last is not None and last.role == "assistant":
            # A pause_turn continuation completes the same assistant turn.
            self.transcript[-1] = MessageParam(role="assistant", content=last.blocks() + content)
        elif content:
            self.transcript.append(MessageParam(role="assistant", content=content))

    def _append_user_text(self, text: str) -> None:
        self._append_user_content([TextBlock(text=text)])

    def _append_user_content(self, content: list[ContentBlock]) -> None:
        last = self.transcript[-1] if self.transcript else None
        if last is not None and last.role == "user":
            self.transcript[-1] = MessageParam(role="user", content=[*last.blocks(), *content])
        else:
            self.transcript.append(MessageParam(role="user", content=list(content)))

    def _unanswered(self) -> Message | None:
        """The last assistant turn, if the transcript ends with tool calls left unanswered."""
        last = self.transcript[-1] if self.transcript else None
        if last is None or last.role != "assistant":
            return None
        message = Message(content=last.blocks(), stop_reason="tool_use")
        return message if message.tool_uses else None

    def _answer_unrun(self, message: Message, why: str) -> None:
        """Answer tool calls that will not run, so the transcript stays valid to resume."""
        uses = message.tool_uses
        if uses:
            self.transcript.append(
                MessageParam(role="user", content=[_not_run(u, why) for u in uses])
            )

    def _result(self, message: Message, output: Any = None) -> RunResult[Any]:
        # Not RunResult[Any](...): pydantic caches parametrised classes weakly, so that class
        # is collected between runs and rebuilt, at several milliseconds each time.
        return RunResult(
            run_id=self.run_id,
            text=message.text,
            output=output,
            messages=list(self.transcript),
            usage=self.usage,
            stop_reason=message.stop_reason,
            stop_sequence=message.stop_sequence,
            turns=self.turns,
            tool_calls=self.tool_calls,
            last_response=message,
        )

    # -- tools ---------------------------------------------------------------------------

    async def _tools(self, message: Message) -> RunResult[Any] | None:
        """Run one turn's tool calls and append their results; a final answer ends the run."""
        uses = message.tool_uses
        limits = self.agent.limits
        final_use = next((u for u in uses if u.name == FINAL_ANSWER_TOOL and self.output), None)
        if final_use is not None and self.output is not None:
            try:
                answer = self.output.validate(final_use.input)
            except ValidationError as exc:
                self._output_failures += 1
                problem = OutputSpec.describe(exc)
                if self._output_failures > self.output.retries:
                    self._answer_unrun(message, "the final answer was invalid")
                    raise OutputValidationError(problem) from None
                retry = [
                    ToolResultBlock(tool_use_id=u.id, content=problem, is_error=True)
                    if u is final_use
                    else _not_run(u, "the final answer must come alone")
                    for u in uses
                ]
                self.transcript.append(MessageParam(role="user", content=list(retry)))
                return None
            accepted = [
                ToolResultBlock(tool_use_id=u.id, content="Final answer received.")
                if u is final_use
                else _not_run(u, "the run ended with the final answer")
                for u in uses
            ]
            self.transcript.append(MessageParam(role="user", content=list(accepted)))
            return self._result(message, answer)

        if (
            limits.max_tool_calls is not None
            and self.tool_calls + len(uses) > limits.max_tool_calls
        ):
            self._answer_unrun(message, "the run's tool call limit was reached")
            raise LimitExceeded(
                "max_tool_calls", self.tool_calls + len(uses), limits.max_tool_calls
            )
        self.tool_calls += len(uses)
        results: list[ToolResultBlock] = []
        try:
            await self.steps.call_tools(self, uses, results)
        finally:
            # Filled even when the dispatch was cancelled or ended the run, so every tool_use
            # is answered and the transcript stays valid to resume.
            if results:
                self.transcript.append(MessageParam(role="user", content=list(results)))
        return None
