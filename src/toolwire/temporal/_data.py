"""What crosses the engine: a run's input and output, and each step's call and answer.

All of it is plain dataclasses that Temporal's default converter encodes, so a client needs no
special data converter. Protocol JSON inside the steps (requests, responses, tool results, a
carried transcript) travels as text: the converter sorts object keys, and a request must go
out exactly as the loop built it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from temporalio.converter import PayloadConverter

from .._agent.result import RunResult
from .._wire.messages import Message, MessageParam, Usage
from ._options import TemporalOptions
from ._spec import AgentSpec

__all__ = [
    "RequestCall",
    "RequestDone",
    "RunInput",
    "RunOutput",
    "RunState",
    "ToolCall",
    "ToolDone",
    "encoded_size",
]


def encoded_size(converter: PayloadConverter, *values: Any) -> int:
    """The bytes ``values`` take as the payloads of one engine command."""
    return sum(p.ByteSize() for p in converter.to_payloads(list(values)))


@dataclass(frozen=True)
class RunState:
    """Where a run stands when its workflow continues as new; set by the workflow itself.

    ``transcript`` is JSON text; ``failures`` counts invalid tool inputs per tool name;
    ``started_at`` is the workflow time the run began (for ``Limits.timeout``).
    """

    run_id: str
    transcript: str
    usage: dict[str, Any]
    turns: int
    tool_calls: int
    container: str | None
    failures: dict[str, int]
    started_at: float
    generation: int = 1


@dataclass(frozen=True)
class RunInput:
    """The input of one durable run.

    ``agent`` names an agent registered on the workers. ``prompt`` (text, or content blocks as
    dicts) and ``history`` (a saved transcript, as dicts) start it, as with ``Agent.run``.
    ``deps`` is data handed to the tools' ``Context.deps`` (or turned into live objects by the
    worker's ``deps`` resolver). ``run_id`` names the run, for idempotency keys (the
    workflow id when ``None``). ``spec`` overrides the registered agent's configuration for
    this run; ``None`` asks a worker for it. ``state`` is set by the run itself when it
    continues as new.
    """

    agent: str
    prompt: str | list[dict[str, Any]] | None = None
    history: list[dict[str, Any]] | None = None
    deps: Any = None
    run_id: str | None = None
    spec: AgentSpec | None = None
    options: TemporalOptions = field(default_factory=TemporalOptions)
    state: RunState | None = None


@dataclass(frozen=True)
class RunOutput:
    """The result of a durable run, as the workflow returns it; ``result()`` makes it a
    ``RunResult``."""

    run_id: str
    text: str
    messages: list[dict[str, Any]]
    usage: dict[str, Any]
    stop_reason: str | None = None
    stop_sequence: str | None = None
    turns: int = 0
    tool_calls: int = 0
    last_response: dict[str, Any] | None = None
    truncated: list[str] | None = None

    @classmethod
    def of(cls, result: RunResult[Any]) -> RunOutput:
        """The output for a finished run's result."""
        last = result.last_response
        return cls(
            run_id=result.run_id,
            text=result.text,
            messages=[m.to_wire() for m in result.messages],
            usage=result.usage.to_wire(),
            stop_reason=result.stop_reason,
            stop_sequence=result.stop_sequence,
            turns=result.turns,
            tool_calls=result.tool_calls,
            last_response=None if last is None else last.to_wire(),
            truncated=result.truncated,
        )

    def result(self) -> RunResult[Any]:
        """The run's ``RunResult``, as ``Agent.run`` gives it."""
        return RunResult(
            run_id=self.run_id,
            text=self.text,
            messages=[MessageParam.model_validate(m) for m in self.messages],
            usage=Usage.model_validate(self.usage),
            stop_reason=self.stop_reason,
            stop_sequence=self.stop_sequence,
            turns=self.turns,
            tool_calls=self.tool_calls,
            last_response=(
                None if self.last_response is None else Message.model_validate(self.last_response)
            ),
            truncated=self.truncated,
        )


@dataclass(frozen=True)
class RequestCall:
    """One model request: the agent whose endpoint serves it, and the body as JSON text."""

    agent: str
    run_id: str
    turn: int
    body: str
    stream: bool
    max_payload_bytes: int | None


@dataclass(frozen=True)
class RequestDone:
    """The whole response of one model request, as JSON text, and its request id."""

    message: str
    request_id: str | None


@dataclass(frozen=True)
class ToolCall:
    """One tool call: the agent whose tool it is, the tool_use block as JSON text, the run's
    deps and usage so far."""

    agent: str
    run_id: str
    tool_use: str
    deps: Any
    usage: dict[str, Any]
    max_payload_bytes: int | None


@dataclass(frozen=True)
class ToolDone:
    """One tool call's result (a tool_result block as JSON text), why it failed if it did,
    and, for invalid input, what was wrong."""

    result: str
    error: str | None = None
    problem: str | None = None
