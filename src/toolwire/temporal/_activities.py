"""The activities: the only place a durable run touches the world.

``request`` sends one model request with the agent's endpoint (consuming a stream whole when
the run streams) and returns the whole response. ``call_tool`` runs one tool call with the
same dispatcher as a local run (validation, timeout, result conversion, exception policy),
so a call behaves the same here as there. ``describe`` gives a registered agent's
configuration as data. Each runs on whichever worker the engine picks, possibly more than
once: the engine retries a step whose worker died, so tool calls are at-least-once.

Retries belong to the engine: the request client is made with ``max_retries=0``, and an
error is raised as an ``ApplicationError`` marked retryable (connection errors, 408, 409,
429, 5xx, 529, a stream cut short) or not (any other 4xx, an invalid request or response).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import time
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any, TypeAlias

from pydantic import ValidationError
from temporalio import activity

from .._agent.agent import Agent
from .._client import MessagesClient, MessageStream
from .._dispatch import RetryBudget, dispatch
from .._errors import (
    APIConnectionError,
    APIStatusError,
    ConfigError,
    RequestParameterError,
    StreamIncompleteError,
    ToolAborted,
    ToolwireError,
)
from .._events import (
    Event,
    RequestSent,
    ResponseReceived,
    TextDelta,
    ThinkingDelta,
    ToolCallFinished,
    ToolInputDelta,
)
from .._logging import EventLogger
from .._tools import Context, Tool
from .._wire.blocks import ToolResultBlock, ToolUseBlock
from .._wire.messages import Message, Usage
from .._wire.request import MessageRequest
from .._wire.stream_events import (
    ContentBlockDeltaEvent,
    ContentBlockStartEvent,
    InputJSONDeltaPayload,
    TextDeltaPayload,
    ThinkingDeltaPayload,
)
from ._data import RequestCall, RequestDone, ToolCall, ToolDone, encoded_size
from ._errors import PayloadTooLarge
from ._failures import application_error
from ._spec import AgentSpec

__all__ = ["AgentActivities", "DepsResolver", "EventSink"]

EventSink: TypeAlias = Callable[[str, Event], None]
"""Receives ``(run_id, event)`` for the events a step produces on this worker."""

DepsResolver: TypeAlias = Callable[[Any], Any]
"""Turns a run's ``deps`` data into what its tools get as ``Context.deps`` (may be async)."""


class _Unbounded(RetryBudget):
    """Counts nothing: a run's budget of invalid inputs is kept by its workflow."""

    def record_failure(self, tool_name: str, max_retries: int | None = None) -> bool:
        return False


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _retryable(exc: ToolwireError) -> bool:
    if isinstance(exc, APIStatusError):
        return exc.retryable
    return isinstance(exc, (APIConnectionError, StreamIncompleteError))


@contextlib.asynccontextmanager
async def _heartbeats() -> AsyncIterator[None]:
    """Heartbeat while the step runs, so a dead worker is noticed and a cancel delivered."""
    timeout = activity.info().heartbeat_timeout
    if not timeout:
        yield
        return
    interval = max(timeout.total_seconds() / 3, 0.05)

    async def beat() -> None:
        while True:
            activity.heartbeat()
            await asyncio.sleep(interval)

    task = asyncio.ensure_future(beat())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


class AgentActivities:
    """The activities of durable runs, for the agents this worker serves, by name.

    ``deps`` turns a run's deps data into the tools' ``Context.deps`` (the data itself
    when omitted). ``on_event`` receives ``(run_id, event)`` for each event a step produces
    here: ``RequestSent``, the stream's ``TextDelta`` / ``ThinkingDelta`` / ``ToolInputDelta``
    (runs that stream), ``ResponseReceived``, ``ToolCallStarted``, ``ToolProgress`` and
    ``ToolCallFinished``. It is called in the worker's event loop and should be quick (put the
    event on a queue); an exception it raises is dropped. A retried step sends its events
    again. ``ToolwireWorker`` makes one of these; use ``definitions()`` to add the activities
    to a ``temporalio.worker.Worker`` of your own.
    """

    def __init__(
        self,
        agents: Mapping[str, Agent[Any]],
        *,
        deps: DepsResolver | None = None,
        on_event: EventSink | None = None,
    ) -> None:
        if not agents:
            raise ConfigError("agents", "must name at least one agent")
        for name, agent in agents.items():
            if not isinstance(name, str) or not name:
                raise ConfigError("agents", f"keys must be non-empty names, got {name!r}")
            if not isinstance(agent, Agent):
                raise ConfigError("agents", f"{name!r} maps to {type(agent).__name__}, not Agent")
        self.agents: dict[str, Agent[Any]] = dict(agents)
        self.deps = deps
        self.on_event = on_event
        self._clients: dict[str, tuple[MessagesClient, bool]] = {}

    def definitions(self) -> list[Callable[..., Any]]:
        """The activity functions to register on a worker."""
        return [self.describe, self.request, self.call_tool]

    async def aclose(self) -> None:
        """Close the clients this worker opened for its agents."""
        clients, self._clients = self._clients, {}
        for client, owned in clients.values():
            if owned:
                await client.aclose()

    # -- helpers ---------------------------------------------------------------------------

    def _agent(self, name: str) -> Agent[Any]:
        agent = self.agents.get(name)
        if agent is None:
            known = ", ".join(sorted(self.agents))
            error = ConfigError("agent", f"{name!r} is not served by this worker (it has: {known})")
            # Another worker on the same task queue may serve it: let the engine try again.
            raise application_error(error, retryable=True)
        return agent

    def _client(self, name: str, agent: Agent[Any]) -> MessagesClient:
        found = self._clients.get(name)
        if found is None:
            if agent._client is not None:
                # Given by the caller, used as is: its own retries add to the engine's.
                found = (agent._client, False)
            else:
                assert agent._endpoint is not None
                found = (MessagesClient(agent._endpoint, max_retries=0), True)
            self._clients[name] = found
        return found[0]

    def _emit(self, run_id: str, event: Event) -> None:
        sink = self.on_event
        if sink is None:
            return
        try:
            sink(run_id, event)
        except Exception:
            activity.logger.exception("toolwire: the on_event callback raised; event dropped")

    async def _deps(self, data: Any) -> Any:
        if self.deps is None:
            return data
        value = self.deps(data)
        if inspect.isawaitable(value):
            value = await value
        return value

    # -- the activities --------------------------------------------------------------------

    @activity.defn(name="toolwire.describe")
    async def describe(self, agent: str) -> AgentSpec:
        """The configuration of the agent registered as ``agent``."""
        return AgentSpec.of(self._agent(agent))

    @activity.defn(name="toolwire.request")
    async def request(self, call: RequestCall) -> RequestDone:
        """Send one model request; return the whole response."""
        agent = self._agent(call.agent)
        try:
            request = MessageRequest.model_validate_json(call.body)
        except ValidationError as exc:
            raise application_error(RequestParameterError([("body", str(exc))])) from None
        client = self._client(call.agent, agent)
        logger = EventLogger(call.run_id, request.model, agent._secrets())
        self._emit(call.run_id, RequestSent(call.run_id, call.turn, call.stream))
        started = time.perf_counter()
        try:
            async with _heartbeats():
                message = await self._send(client, request, call)
        except ToolwireError as exc:
            delay = exc.retry_after if isinstance(exc, APIStatusError) else None
            raise application_error(exc, retryable=_retryable(exc), delay=delay) from None
        done = RequestDone(
            message=message.model_dump_json(exclude_unset=True, by_alias=True),
            request_id=message.request_id,
        )
        limit = call.max_payload_bytes
        if limit is not None:
            size = encoded_size(activity.payload_converter(), done)
            if size > limit:
                too_large = PayloadTooLarge(f"the response to turn {call.turn}", size, limit)
                raise application_error(too_large)
        event = ResponseReceived(
            call.run_id, call.turn, message, message.request_id, time.perf_counter() - started
        )
        if logger.enabled:
            logger(event)
        self._emit(call.run_id, event)
        return done

    async def _send(
        self, client: MessagesClient, request: MessageRequest, call: RequestCall
    ) -> Message:
        if not call.stream:
            return await client.create(request)
        async with client.stream(request) as stream:
            if self.on_event is not None:
                await self._relay(call.run_id, stream)
            return await stream.final_message()

    async def _relay(self, run_id: str, stream: MessageStream) -> None:
        tools: dict[int, tuple[str, str]] = {}
        async for event in stream:
            if isinstance(event, ContentBlockDeltaEvent):
                delta = event.delta
                if isinstance(delta, TextDeltaPayload):
                    self._emit(run_id, TextDelta(delta.text, event.index))
                elif isinstance(delta, ThinkingDeltaPayload):
                    self._emit(run_id, ThinkingDelta(delta.thinking, event.index))
                elif isinstance(delta, InputJSONDeltaPayload) and event.index in tools:
                    ident, name = tools[event.index]
                    self._emit(run_id, ToolInputDelta(ident, name, delta.partial_json, event.index))
            elif isinstance(event, ContentBlockStartEvent):
                block = event.content_block
                if isinstance(block, ToolUseBlock):
                    tools[event.index] = (block.id, block.name)

    @activity.defn(name="toolwire.call_tool")
    async def call_tool(self, call: ToolCall) -> ToolDone:
        """Run one tool call, as the local dispatcher runs it; return its tool_result."""
        agent = self._agent(call.agent)
        block = ToolUseBlock.model_validate_json(call.tool_use)
        deps = await self._deps(call.deps)
        usage = Usage.model_validate(call.usage)
        logger = EventLogger(call.run_id, agent.model, agent._secrets())
        finished: list[ToolCallFinished] = []

        def context(use: ToolUseBlock, tool: Tool[Any]) -> Context[Any]:
            return Context(
                deps=deps, run_id=call.run_id, tool_use_id=use.id, tool_name=tool.name, usage=usage
            )

        def on_event(event: Event) -> None:
            if isinstance(event, ToolCallFinished):
                finished.append(event)
                if logger.enabled:
                    logger(event)
            self._emit(call.run_id, event)

        results: list[ToolResultBlock] = []
        aborted: ToolAborted | None = None
        try:
            async with _heartbeats():
                await dispatch(
                    [block],
                    agent.toolset,
                    context_factory=context,
                    on_event=on_event,
                    default_timeout=agent.tool_timeout,
                    policy=agent.tool_policy,
                    budget=_Unbounded(),
                    max_result_chars=agent.max_result_chars,
                    results=results,
                )
        except ToolAborted as exc:
            aborted = exc
        result = results[0]
        error = finished[0].error if finished else None
        text = _dumps(result.to_wire())
        limit = call.max_payload_bytes
        if limit is not None and aborted is None:
            size = encoded_size(activity.payload_converter(), ToolDone(text, error))
            if size > limit:
                # The model can do something about it: ask for less, or for a reference.
                result = ToolResultBlock(
                    tool_use_id=block.id,
                    content=(
                        f"The tool's result was {size} bytes, over the {limit} bytes one step "
                        f"of a durable run may hold, so it was dropped. Ask for less (a "
                        f"summary, one page, a reference to stored data)."
                    ),
                    is_error=True,
                )
                text, error = _dumps(result.to_wire()), "too_large"
        if aborted is not None:
            detail = {"tool_result": text}
            cause = aborted.__cause__
            raise application_error(aborted, extra=detail) from cause
        problem = None
        if error == "validation":
            problem = result.content if isinstance(result.content, str) else None
        return ToolDone(result=text, error=error, problem=problem)
