"""The events of a streamed response (``stream: true``), as the server sends them.

Events and deltas of kinds this library does not know parse as ``UnknownStreamEvent`` and
``UnknownDelta``; the accumulator ignores unknown events and keeps unknown deltas on the block.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeAlias

from pydantic import Discriminator, Field, Tag, TypeAdapter

from .base import WireModel
from .blocks import ContentBlock
from .messages import Message


class TextDeltaPayload(WireModel):
    """More text for a text block."""

    type: Literal["text_delta"] = "text_delta"
    text: str


class InputJSONDeltaPayload(WireModel):
    """More of a tool_use block's input, as a fragment of JSON text."""

    type: Literal["input_json_delta"] = "input_json_delta"
    partial_json: str = ""


class ThinkingDeltaPayload(WireModel):
    """More text for a thinking block."""

    type: Literal["thinking_delta"] = "thinking_delta"
    thinking: str


class SignatureDeltaPayload(WireModel):
    """The signature of a thinking block."""

    type: Literal["signature_delta"] = "signature_delta"
    signature: str


class CitationsDeltaPayload(WireModel):
    """One citation for a text block."""

    type: Literal["citations_delta"] = "citations_delta"
    citation: dict[str, Any]


class UnknownDelta(WireModel):
    """A delta of a kind this library does not model, kept as sent."""

    type: str


_DELTA_TAGS = frozenset(
    {"text_delta", "input_json_delta", "thinking_delta", "signature_delta", "citations_delta"}
)


def _delta_tag(value: Any) -> str:
    kind = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
    return kind if isinstance(kind, str) and kind in _DELTA_TAGS else "unknown"


Delta: TypeAlias = Annotated[
    Annotated[TextDeltaPayload, Tag("text_delta")]
    | Annotated[InputJSONDeltaPayload, Tag("input_json_delta")]
    | Annotated[ThinkingDeltaPayload, Tag("thinking_delta")]
    | Annotated[SignatureDeltaPayload, Tag("signature_delta")]
    | Annotated[CitationsDeltaPayload, Tag("citations_delta")]
    | Annotated[UnknownDelta, Tag("unknown")],
    Discriminator(_delta_tag),
]


class MessageStartEvent(WireModel):
    """The stream's first event: the message with empty content and the input usage."""

    type: Literal["message_start"] = "message_start"
    message: Message


class ContentBlockStartEvent(WireModel):
    """A new content block at ``index``."""

    type: Literal["content_block_start"] = "content_block_start"
    index: int
    content_block: ContentBlock


class ContentBlockDeltaEvent(WireModel):
    """More content for the block at ``index``."""

    type: Literal["content_block_delta"] = "content_block_delta"
    index: int
    delta: Delta


class ContentBlockStopEvent(WireModel):
    """The block at ``index`` is complete."""

    type: Literal["content_block_stop"] = "content_block_stop"
    index: int


class MessageDeltaPayload(WireModel):
    """The top-level fields a ``message_delta`` changes."""

    stop_reason: str | None = None
    stop_sequence: str | None = None


class MessageDeltaEvent(WireModel):
    """The stop reason and the final (cumulative) output usage."""

    type: Literal["message_delta"] = "message_delta"
    delta: MessageDeltaPayload = Field(default_factory=MessageDeltaPayload)
    usage: dict[str, Any] | None = None


class MessageStopEvent(WireModel):
    """The stream is complete."""

    type: Literal["message_stop"] = "message_stop"


class PingEvent(WireModel):
    """A keep-alive; carries nothing."""

    type: Literal["ping"] = "ping"


class ErrorEvent(WireModel):
    """The server failed mid-stream (``overloaded_error``, ...)."""

    type: Literal["error"] = "error"
    error: dict[str, Any] = Field(default_factory=dict)


class UnknownStreamEvent(WireModel):
    """An event of a kind this library does not model."""

    type: str


_EVENT_TAGS = frozenset(
    {
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
        "ping",
        "error",
    }
)


def _event_tag(value: Any) -> str:
    kind = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
    return kind if isinstance(kind, str) and kind in _EVENT_TAGS else "unknown"


StreamEvent: TypeAlias = Annotated[
    Annotated[MessageStartEvent, Tag("message_start")]
    | Annotated[ContentBlockStartEvent, Tag("content_block_start")]
    | Annotated[ContentBlockDeltaEvent, Tag("content_block_delta")]
    | Annotated[ContentBlockStopEvent, Tag("content_block_stop")]
    | Annotated[MessageDeltaEvent, Tag("message_delta")]
    | Annotated[MessageStopEvent, Tag("message_stop")]
    | Annotated[PingEvent, Tag("ping")]
    | Annotated[ErrorEvent, Tag("error")]
    | Annotated[UnknownStreamEvent, Tag("unknown")],
    Discriminator(_event_tag),
]
"""Any event of a streamed response."""

stream_event_adapter: TypeAdapter[StreamEvent] = TypeAdapter(StreamEvent)
