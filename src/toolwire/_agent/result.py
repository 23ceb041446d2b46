"""What a finished run gives back."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_serializer

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

    @field_serializer("messages")
    def _messages_as_sent(self, messages: list[MessageParam]) -> list[dict[str, Any]]:
        # Exactly the wire form: a field the server left out stays out, unknown ones stay in.
        return [m.to_wire() for m in messages]

    @field_serializer("last_response")
    def _response_as_received(self, message: Message | None) -> dict[str, Any] | None:
        return None if message is None else message.to_wire()

    @field_serializer("usage")
    def _usage_as_received(self, usage: Usage) -> dict[str, Any]:
        return usage.to_wire()

    def to_json(self) -> str:
        """The result as JSON; ``RunResult.model_validate_json`` reads it back."""
        return self.model_dump_json()

    def transcript_json(self) -> list[dict[str, Any]]:
        """The transcript as wire-ready dicts, exactly as it would be sent."""
        return [m.to_wire() for m in self.messages]
