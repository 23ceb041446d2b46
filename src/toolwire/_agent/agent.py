"""``Agent``: the configuration of an agent and the ways to run it."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from types import TracebackType
from typing import Any, Generic, Literal, TypeVar, overload

import anyio
import anyio.lowlevel

from .._client import MessagesClient
from .._endpoint import Endpoint
from .._errors import ConfigError
from .._events import Event
from .._tools import DepsT, Tool, ToolPolicy, Toolset, tool
from .._tools.policy import ExceptionRules
from .._wire.blocks import ContentBlock, TextBlock, ToolUseBlock
from .._wire.messages import MessageParam
from .._wire.request import (
    ServerTool,
    ToolChoice,
    ToolChoiceAny,
    ToolChoiceAuto,
    ToolChoiceNone,
    ToolChoiceTool,
    ToolDefinition,
)
from .conversation import Conversation
from .limits import Limits
from .loop import Checkpoint, Run
from .output import FINAL_ANSWER_TOOL, OutputSpec
from .result import RunResult
from .steps import LocalSteps
from .stream import RunStream
from .sync import run_sync

OutputT = TypeVar("OutputT")

__all__ = ["Agent"]

Prompt = str | Sequence[ContentBlock] | None
ToolChoiceSpec = ToolChoice | Literal["auto", "any", "none"] | None


def _tool_choice(spec: ToolChoiceSpec, disable_parallel: bool | None) -> ToolChoice | None:
    # Only a flag that was given is sent: an explicit null is not what the caller meant.
    flag: dict[str, Any] = (
        {} if disable_parallel is None else {"disable_parallel_tool_use": disable_parallel}
    )
    if spec is None:
        return ToolChoiceAuto(**flag) if disable_parallel else None
    if isinstance(spec, ToolChoiceNone):
        return spec
    if isinstance(spec, (ToolChoiceAuto, ToolChoiceAny, ToolChoiceTool)):
        if disable_parallel is None:
            return spec
        if spec.disable_parallel_tool_use not in (None, disable_parallel):
            raise ConfigError(
                "disable_parallel_tool_use",
                "contradicts the flag set on the tool_choice object; set it in one place",
            )
        return type(spec).model_validate({**spec.to_wire(), **flag})
    if spec == "auto":
        return ToolChoiceAuto(**flag)
    if spec == "any":
        return ToolChoiceAny(**flag)
    if spec == "none":
        return ToolChoiceNone()
    raise ConfigError(
        "tool_choice",
        f"must be 'auto', 'any', 'none' or a ToolChoice object, got {spec!r} "
        "(to force one tool: ToolChoiceTool(name=...))",
    )


class Agent(Generic[DepsT]):
    """An agent: a model, tools and settings, runnable many times and from many tasks at once.

    ``run()`` does one run to the final answer; ``run_sync()`` the same from code that is not
    async; ``stream()`` yields live events; ``conversation()`` keeps history across prompts.
    Every setting is checked here, at construction, with a ``ConfigError`` naming it.
    """

    def __init__(
        self,
        model: str,
        *,
        tools: Iterable[Tool[Any] | Callable[..., Any]] | Toolset = (),
        server_tools: Iterable[ServerTool | Mapping[str, Any]] = (),
        system: str | Sequence[TextBlock] | None = None,
        max_tokens: int = 4096,
        endpoint: Endpoint | None = None,
        client: MessagesClient | None = None,
        tool_choice: ToolChoiceSpec = None,
        disable_parallel_tool_use: bool | None = None,
        tool_choice_once: bool = True,
        thinking: Mapping[str, Any] | None = None,
        temperature: float | None = None,
        top_p: float | None = None,
        top_k: int | None = None,
        stop_sequences: Sequence[str] | None = None,
        metadata: Mapping[str, Any] | None = None,
        extra_body: Mapping[str, Any] | None = None,
        stream: bool = False,
        limits: Limits | None = None,
        on_max_tokens: Literal["raise", "return"] = "raise",
        max_concurrent_tools: int = 16,
        tool_timeout: float | None = None,
        max_result_chars: int | None = 100_000,
        tool_policy: ToolPolicy | ExceptionRules | None = None,
        output_retries: int = 2,
    ) -> None:
        if not isinstance(model, str) or not model.strip():
            raise ConfigError("model", "must be a non-empty model name")
        if not isinstance(max_tokens, int) or max_tokens < 1:
            raise ConfigError("max_tokens", f"must be an integer of at least 1, got {max_tokens!r}")
        if on_max_tokens not in ("raise", "return"):
            raise ConfigError(
                "on_max_tokens", f"must be 'raise' or 'return', got {on_max_tokens!r}"
            )
        if max_concurrent_tools < 1:
            raise ConfigError("max_concurrent_tools", "must be at least 1")
        if tool_timeout is not None and tool_timeout <= 0:
            raise ConfigError("tool_timeout", "must be positive or None")
        if client is not None and endpoint is not None:
            raise ConfigError("endpoint", "and client are both given; the client has its endpoint")
        self.model = model
        self.max_tokens = max_tokens
        self.toolset = (
            tools
            if isinstance(tools, Toolset)
            else Toolset([t if isinstance(t, Tool) else tool(t) for t in tools])
        )
        if FINAL_ANSWER_TOOL in self.toolset.names:
            raise ConfigError(
                "tools", f"the name {FINAL_ANSWER_TOOL!r} is reserved for output_type"
            )
        self.server_tools = [
            s if isinstance(s, ServerTool) else ServerTool.model_validate(dict(s))
            for s in server_tools
        ]
        self.tool_choice = _tool_choice(tool_choice, disable_parallel_tool_use)
        self.tool_choice_once = tool_choice_once
        self.thinking = dict(thinking) if thinking is not None else None
        self._check_tool_choice(self.tool_choice, "tool_choice")
        self.stream_default = stream
        self.limits = limits if limits is not None else Limits()
        self.on_max_tokens = on_max_tokens
        self.tool_timeout = tool_timeout
        self.max_result_chars = max_result_chars
        self.tool_policy = ToolPolicy.of(tool_policy)
        self.output_retries = output_retries
        self.max_concurrent_tools = max_concurrent_tools

        fields: dict[str, Any] = {}
        if system is not None:
            fields["system"] = system if isinstance(system, str) else list(system)
        for name, value in (
            ("thinking", self.thinking),
            ("temperature", temperature),
            ("top_p", top_p),
            ("top_k", top_k),
            ("stop_sequences", list(stop_sequences) if stop_sequences is not None else None),
            ("metadata", dict(metadata) if metadata is not None else None),
        ):
            if value is not None:
                fields[name] = value
        for name, value in (extra_body or {}).items():
            if name in ("model", "messages", "max_tokens", "tools", "tool_choice", "stream"):
                raise ConfigError(
                    "extra_body", f"may not set {name!r}; use the argument of that name"
                )
            fields[name] = value
        self._request_fields = fields
        self._tool_definitions: list[ToolDefinition | ServerTool] = [
            *self.toolset.definitions(),
            *self.server_tools,
        ]
        names = [d.name for d in self._tool_definitions]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ConfigError("server_tools", f"name {dupes[0]!r} is also a client tool's name")
        if isinstance(self.tool_choice, ToolChoiceTool) and self.tool_choice.name not in names:
            raise ConfigError(
                "tool_choice",
                f"names tool {self.tool_choice.name!r}, which the agent does not have",
            )
        self._own_client = client is None
        self._client = client
        self._endpoint = endpoint
        if client is None and endpoint is None:
            self._endpoint = Endpoint()
        self._loop_client: tuple[object, MessagesClient] | None = None

    def __repr__(self) -> str:
        return f"Agent(model={self.model!r}, tools={self.toolset.names!r})"

    def _check_tool_choice(self, choice: ToolChoice | None, setting: str) -> None:
        if self.thinking and isinstance(choice, (ToolChoiceAny, ToolChoiceTool)):
            raise ConfigError(
                setting,
                f"{choice.type!r} forces tool use, which the API rejects while extended thinking "
                "is enabled; use 'auto' or 'none', or turn thinking off",
            )

    # -- the client ----------------------------------------------------------------------

    def _secrets(self) -> tuple[str, ...]:
        if self._client is not None:
            return self._client.endpoint.secrets()
        assert self._endpoint is not None
        return self._endpoint.secrets()

    def _client_for_run(self, *, cache: bool = True) -> tuple[MessagesClient, bool]:
        """The client a run uses, and whether the run must close it when it ends.

        A ``client=`` given to the agent is always used. Otherwise the first event loop that runs
        the agent gets a pooled client kept until ``aclose()``; a connection pool is bound to
        its loop, so a run on any other loop (``run_sync``, a second thread) gets its own,
        closed when that run ends.
        """
        if self._client is not None:
            return self._client, False
        assert self._endpoint is not None
        token = anyio.lowlevel.current_token().native_token
        cached = self._loop_client
        if cached is not None and cached[0] is token:
            return cached[1], False
        client = MessagesClient(self._endpoint)
        if cache and cached is None:
            self._loop_client = (token, client)
            return client, False
        return client, True

    async def aclose(self) -> None:
        """Close the connection pool the agent opened (a ``client=`` given to it stays open)."""
        cached, self._loop_client = self._loop_client, None
        if cached is not None:
            await cached[1].aclose()

    async def __aenter__(self) -> Agent[DepsT]:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # -- tools ---------------------------------------------------------------------------

    # -- running -------------------------------------------------------------------------

    def _start(
        self,
        prompt: Prompt,
        history: Sequence[MessageParam | Mapping[str, Any]] | None,
        deps: Any,
        output_type: type[Any] | None,
        stream: bool | None,
        emit: Callable[[Event], None] | None,
        checkpoint: Checkpoint | None,
        run_id: str | None = None,
    ) -> Run:
        transcript = [
            m if isinstance(m, MessageParam) else MessageParam.model_validate(dict(m))
            for m in (history or ())
        ]
        pending_prompt: list[ContentBlock] | None = None
        if prompt is not None:
            content: str | list[ContentBlock] = prompt if isinstance(prompt, str) else list(prompt)
            last = transcript[-1] if transcript else None
            if (
                last is not None
                and last.role == "assistant"
                and any(isinstance(b, ToolUseBlock) for b in last.blocks())
            ):
                # Those calls are answered first; the prompt then joins their results.
                pending_prompt = [TextBlock(text=content)] if isinstance(content, str) else content
            elif last is not None and last.role == "user":
                # A saved transcript can end with tool results: the prompt joins that turn.
                merged = [
                    *last.blocks(),
                    *([TextBlock(text=content)] if isinstance(content, str) else content),
                ]
                transcript[-1] = MessageParam(role="user", content=merged)
            else:
                transcript.append(MessageParam(role="user", content=content))
        if not transcript:
            raise ConfigError("prompt", "is empty and there is no history to continue")
        if run_id is not None and (not isinstance(run_id, str) or not run_id):
            raise ConfigError("run_id", "must be a non-empty string")
        extra: dict[str, Any] = {} if run_id is None else {"run_id": run_id}
        return Run(
            **extra,
            pending_prompt=pending_prompt,
            agent=self,
            transcript=transcript,
            deps=deps,
            output=OutputSpec(output_type, retries=self.output_retries) if output_type else None,
            streamed=self.stream_default if stream is None else stream,
            emit=emit,
            checkpoint=checkpoint,
        )

    @overload
    async def run(
        self,
        prompt: Prompt = ...,
        *,
        history: Sequence[MessageParam | Mapping[str, Any]] | None = ...,
        deps: DepsT | None = ...,
        output_type: None = ...,
        stream: bool | None = ...,
        checkpoint: Checkpoint | None = ...,
        run_id: str | None = ...,
    ) -> RunResult[Any]: ...

    @overload
    async def run(
        self,
        prompt: Prompt = ...,
        *,
        history: Sequence[MessageParam | Mapping[str, Any]] | None = ...,
        deps: DepsT | None = ...,
        output_type: type[OutputT],
        stream: bool | None = ...,
        checkpoint: Checkpoint | None = ...,
        run_id: str | None = ...,
    ) -> RunResult[OutputT]: ...

    async def run(
        self,
        prompt: Prompt = None,
        *,
        history: Sequence[MessageParam | Mapping[str, Any]] | None = None,
        deps: DepsT | None = None,
        output_type: type[Any] | None = None,
        stream: bool | None = None,
        checkpoint: Checkpoint | None = None,
        run_id: str | None = None,
    ) -> RunResult[Any]:
        """Run to the final answer and return the ``RunResult``.

        ``history`` continues an earlier transcript (a ``RunResult.messages``, or one saved
        mid-run); ``prompt`` may then be ``None`` to resume exactly where it stopped.
        ``output_type`` asks for a validated structured answer in ``result.output``.
        ``checkpoint`` is called with the transcript after every turn, for workers that persist.
        ``run_id`` names the run (logs, events, ``Context.idempotency_key``); a worker that
        resumes a saved run passes the same id so that tools can recognise repeated calls.
        """
        run = self._start(prompt, history, deps, output_type, stream, None, checkpoint, run_id)
        return await run.execute()

    @overload
    def run_sync(
        self,
        prompt: Prompt = ...,
        *,
        history: Sequence[MessageParam | Mapping[str, Any]] | None = ...,
        deps: DepsT | None = ...,
        output_type: None = ...,
        stream: bool | None = ...,
        checkpoint: Checkpoint | None = ...,
        run_id: str | None = ...,
    ) -> RunResult[Any]: ...

    @overload
    def run_sync(
        self,
        prompt: Prompt = ...,
        *,
        history: Sequence[MessageParam | Mapping[str, Any]] | None = ...,
        deps: DepsT | None = ...,
        output_type: type[OutputT],
        stream: bool | None = ...,
        checkpoint: Checkpoint | None = ...,
        run_id: str | None = ...,
    ) -> RunResult[OutputT]: ...

    def run_sync(
        self,
        prompt: Prompt = None,
        *,
        history: Sequence[MessageParam | Mapping[str, Any]] | None = None,
        deps: DepsT | None = None,
        output_type: type[Any] | None = None,
        stream: bool | None = None,
        checkpoint: Checkpoint | None = None,
        run_id: str | None = None,
    ) -> RunResult[Any]:
        """``run()`` for code that is not async: scripts, worker threads, notebooks."""

        async def main() -> RunResult[Any]:
            # The loop lives for this call only: its run gets a client of its own.
            run = self._start(prompt, history, deps, output_type, stream, None, checkpoint, run_id)
            client, owned = self._client_for_run(cache=False)
            run.steps = LocalSteps(client, owns_client=owned)
            return await run.execute()

        return run_sync(main)

    @asynccontextmanager
    async def stream(
        self,
        prompt: Prompt = None,
        *,
        history: Sequence[MessageParam | Mapping[str, Any]] | None = None,
        deps: DepsT | None = None,
        output_type: type[Any] | None = None,
        checkpoint: Checkpoint | None = None,
        run_id: str | None = None,
    ) -> AsyncIterator[RunStream]:
        """Run with live events: ``async for event in run`` then ``run.result``.

        Requests are streamed, so text arrives as ``TextDelta`` events while it is generated.
        Leaving the block before the run ends cancels the run.
        """
        send, receive = anyio.create_memory_object_stream[Event](math.inf)
        run = self._start(
            prompt, history, deps, output_type, True, send.send_nowait, checkpoint, run_id
        )
        handle = RunStream(receive, run)

        async def drive() -> None:
            with send:
                try:
                    handle._result = await run.execute()
                except anyio.get_cancelled_exc_class():
                    raise
                except BaseException as exc:
                    # Handed to the consumer: iteration and ``result`` raise it.
                    handle._error = exc

        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(drive)
                try:
                    yield handle
                finally:
                    if handle._result is None and handle._error is None:
                        tg.cancel_scope.cancel()
                    receive.close()
        except BaseExceptionGroup as group:
            # The consumer's own exception (or the run's, re-raised by iteration) is the only
            # one here, since the run's task keeps its errors: surface it unwrapped.
            if len(group.exceptions) == 1:
                raise group.exceptions[0] from None
            raise

    def conversation(
        self,
        *,
        history: Sequence[MessageParam | Mapping[str, Any]] | None = None,
        deps: DepsT | None = None,
    ) -> Conversation[DepsT]:
        """A conversation: each ``send()`` continues the same history with the same tools."""
        return Conversation(self, history=history, deps=deps)
