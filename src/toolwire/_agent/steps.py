"""The two things a run does that touch the world: ask the model, and call tools.

The loop (``Run``) decides; a ``Steps`` object acts. ``LocalSteps`` does both in this process,
with the agent's ``MessagesClient`` and the concurrent dispatcher. A durable engine supplies
its own ``Steps`` that runs each request and each tool call as a recorded activity, while the
same loop, now free of I/O, runs deterministically in its workflow.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

import anyio

from .._dispatch import dispatch
from .._events import TextDelta, ThinkingDelta, ToolInputDelta
from .._tools import Context, Tool
from .._wire.blocks import ToolResultBlock, ToolUseBlock
from .._wire.messages import Message
from .._wire.request import MessageRequest
from .._wire.stream_events import (
    ContentBlockDeltaEvent,
    ContentBlockStartEvent,
    InputJSONDeltaPayload,
    TextDeltaPayload,
    ThinkingDeltaPayload,
)

if TYPE_CHECKING:
    from .._client import MessagesClient, MessageStream
    from .loop import Run

__all__ = ["LocalSteps", "Steps"]


class Steps(Protocol):
    """How a run sends requests and calls tools."""

    async def request(self, run: Run, request: MessageRequest) -> Message:
        """Send one request (streamed when ``run.streamed``) and return the whole response."""
        ...

    async def call_tools(
        self, run: Run, uses: list[ToolUseBlock], results: list[ToolResultBlock]
    ) -> None:
        """Run one turn's tool calls, filling ``results`` (one per call, in order) even when
        cancelled or when the turn ends the run."""
        ...

    async def close(self) -> None:
        """Release what the steps opened for this run."""
        ...


class LocalSteps:
    """Requests through a ``MessagesClient``, tools through the concurrent dispatcher."""

    def __init__(self, client: MessagesClient | None = None, *, owns_client: bool = False) -> None:
        self.client = client
        self.owns_client = owns_client
        self._limiter: anyio.CapacityLimiter | None = None

    async def request(self, run: Run, request: MessageRequest) -> Message:
        """Send with the agent's client for this event loop (or the one given)."""
        client = self.client
        if client is None:
            client, self.owns_client = run.agent._client_for_run()
            self.client = client
        if not run.streamed:
            return await client.create(request)
        async with client.stream(request) as stream:
            if run.emit is not None:
                await _relay(run, stream)
            return await stream.final_message()

    async def call_tools(
        self, run: Run, uses: list[ToolUseBlock], results: list[ToolResultBlock]
    ) -> None:
        """Dispatch the calls concurrently, bounded by the run's tool limiter."""
        agent = run.agent
        if self._limiter is None:
            self._limiter = anyio.CapacityLimiter(agent.max_concurrent_tools)

        def context(block: ToolUseBlock, _tool: Tool[Any]) -> Context[Any]:
            return Context(
                deps=run.deps,
                run_id=run.run_id,
                tool_use_id=block.id,
                tool_name=block.name,
                usage=run.usage,
                transcript=run.transcript,
            )

        await dispatch(
            uses,
            agent.toolset,
            context_factory=context,
            on_event=run.event,
            limiter=self._limiter,
            default_timeout=agent.tool_timeout,
            policy=agent.tool_policy,
            budget=run.budget,
            max_result_chars=agent.max_result_chars,
            results=results,
        )

    async def close(self) -> None:
        """Close the client if this run opened it for itself."""
        if self.owns_client and self.client is not None:
            with anyio.CancelScope(shield=True):
                await self.client.aclose()


async def _relay(run: Run, stream: MessageStream) -> None:
    """Turn a response's stream events into the run's delta events."""
    emit = run.event
    tools: dict[int, tuple[str, str]] = {}
    async for event in stream:
        if isinstance(event, ContentBlockDeltaEvent):
            delta = event.delta
            if isinstance(delta, TextDeltaPayload):
                emit(TextDelta(delta.text, event.index))
            elif isinstance(delta, ThinkingDeltaPayload):
                emit(ThinkingDelta(delta.thinking, event.index))
            elif isinstance(delta, InputJSONDeltaPayload) and event.index in tools:
                ident, name = tools[event.index]
                emit(ToolInputDelta(ident, name, delta.partial_json, event.index))
        elif isinstance(event, ContentBlockStartEvent):
            block = event.content_block
            if isinstance(block, ToolUseBlock):
                tools[event.index] = (block.id, block.name)
