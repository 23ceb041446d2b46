"""The typed events of a run: one stream feeds ``Agent.stream()``, the CLI and the logs.

Events are small frozen dataclasses; consumers match on their class.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeAlias

if TYPE_CHECKING:
    from ._wire.blocks import ToolResultBlock
    from ._wire.messages import Message, Usage

__all__ = [
    "Event",
    "RequestSent",
    "ResponseReceived",
    "RunFinished",
    "RunStarted",
    "TextDelta",
    "ThinkingDelta",
    "ToolCallFinished",
    "ToolCallStarted",
    "ToolInputDelta",
    "ToolProgress",
]


@dataclass(frozen=True, slots=True)
class RunStarted:
    """A run began."""

    run_id: str
    model: str


@dataclass(frozen=True, slots=True)
class RequestSent:
    """Request number ``turn`` (from 1) of the run went to the endpoint."""

    run_id: str
    turn: int
    streamed: bool


@dataclass(frozen=True, slots=True)
class TextDelta:
    """More text of the assistant's answer, as it streams."""

    text: str
    index: int = 0


@dataclass(frozen=True, slots=True)
class ThinkingDelta:
    """More extended-thinking text, as it streams."""

    thinking: str
    index: int = 0


@dataclass(frozen=True, slots=True)
class ToolInputDelta:
    """More of a tool call's input JSON, as it streams."""

    tool_use_id: str
    name: str
    partial_json: str
    index: int = 0


@dataclass(frozen=True, slots=True)
class ResponseReceived:
    """A whole response arrived: its message, usage, stop reason and request id."""

    run_id: str
    turn: int
    message: Message
    request_id: str | None
    duration_s: float

    @property
    def usage(self) -> Usage:
        """Tokens this response cost."""
        return self.message.usage

    @property
    def stop_reason(self) -> str | None:
        """Why the model stopped."""
        return self.message.stop_reason


@dataclass(frozen=True, slots=True)
class ToolCallStarted:
    """A tool began running with a validated-to-be input."""

    tool_use_id: str
    name: str
    input: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ToolProgress:
    """A tool reported progress with ``ctx.progress(...)``; never sent to the model."""

    tool_use_id: str
    name: str
    data: Any


@dataclass(frozen=True, slots=True)
class ToolCallFinished:
    """A tool call ended; ``result`` is the tool_result block the model will receive.

    ``error`` says why it failed (validation, exception, timeout, cancelled), or is ``None``.
    """

    tool_use_id: str
    name: str
    result: ToolResultBlock
    duration_s: float
    error: str | None = None

    @property
    def is_error(self) -> bool:
        """Whether the model receives this result as an error."""
        return bool(self.result.is_error)


@dataclass(frozen=True, slots=True)
class RunFinished:
    """The run ended; ``result`` is its ``RunResult`` (typed loosely to keep layers apart)."""

    run_id: str
    result: Any = field(repr=False)


Event: TypeAlias = (
    RunStarted
    | RequestSent
    | TextDelta
    | ThinkingDelta
    | ToolInputDelta
    | ResponseReceived
    | ToolCallStarted
    | ToolProgress
    | ToolCallFinished
    | RunFinished
)
"""Any event of a run."""
