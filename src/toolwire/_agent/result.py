"""What a finished run gives back."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from .._wire.messages import Message, MessageParam, Usage

OutputT = TypeVar("OutputT")

__all__ = ["RunResult"]


class RunResult(BaseModel, Generic[OutputT]):
    """The outcome of one run: the answer, the whole transcript, and what it cost.

    ``messages`` is JSON-serialisable and resumable: pass it as ``history=`` to continue.
    ``output`` holds the validated structured output when the run asked for an ``output_type``.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    run_id: str
    text: str
    output: OutputT | None = None
    messages: list[MessageParam]
    usage: Usage = Field(default_factory=Usage)
    stop_reason: str | None = None
    stop_sequence: str | None = None
    turns: int = 0
    tool_calls: int = 0
    last_response: Message | None = None
    truncated: list[str] | None = None
    """Set when the run ended at ``max_tokens`` with ``on_max_tokens="return"``: what was cut."""

    def to_json(self) -> str:
        """The result as JSON (the transcript is written as it goes over the wire)."""
        return self.model_dump_json(exclude_unset=False, exclude={"last_response"})

    def transcript_json(self) -> list[dict[str, Any]]:
        """The transcript as wire-ready dicts, exactly as it would be sent."""
        return [m.to_wire() for m in self.messages]
