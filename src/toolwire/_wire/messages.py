"""Messages: the transcript's entries, the server's response, and token usage."""

from __future__ import annotations

from typing import Any, Literal, TypeAlias

from pydantic import Field, PrivateAttr, TypeAdapter

from .base import WireModel
from .blocks import ContentBlock, TextBlock, ToolUseBlock

StopReason: TypeAlias = Literal[
    "end_turn",
    "max_tokens",
    "stop_sequence",
    "tool_use",
    "pause_turn",
    "refusal",
    "model_context_window_exceeded",
]
"""The stop reasons the protocol documents. Others are kept as strings."""

KNOWN_STOP_REASONS: frozenset[str] = frozenset(StopReason.__args__)  # type: ignore[attr-defined]


class Usage(WireModel):
    """Tokens one response cost; cache and server-tool counts appear when the server sends them."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_creation_input_tokens: int | None = None
    cache_read_input_tokens: int | None = None
    server_tool_use: dict[str, Any] | None = None

    def __add__(self, other: Usage) -> Usage:
        """Sum two usages: counts add up; a count neither side has stays absent."""

        def opt(a: int | None, b: int | None) -> int | None:
            return None if a is None and b is None else (a or 0) + (b or 0)

        tools: dict[str, Any] | None = None
        if self.server_tool_use is not None or other.server_tool_use is not None:
            tools = dict(self.server_tool_use or {})
            for key, value in (other.server_tool_use or {}).items():
                if isinstance(value, int) and isinstance(tools.get(key, 0), int):
                    tools[key] = tools.get(key, 0) + value
                else:
                    tools[key] = value
        return Usage(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            cache_creation_input_tokens=opt(
                self.cache_creation_input_tokens, other.cache_creation_input_tokens
            ),
            cache_read_input_tokens=opt(
                self.cache_read_input_tokens, other.cache_read_input_tokens
            ),
            server_tool_use=tools,
        )

    @property
    def total_tokens(self) -> int:
        """Input (cached or not) plus output tokens."""
        return (
            self.input_tokens
            + self.output_tokens
            + (self.cache_creation_input_tokens or 0)
            + (self.cache_read_input_tokens or 0)
        )


class Container(WireModel):
    """The server-side container a response ran in; its id goes on the next request."""

    id: str
    expires_at: str | None = None


class MessageParam(WireModel):
    """One entry of the transcript sent to the server: a role and its content."""

    role: Literal["user", "assistant"]
    content: str | list[ContentBlock]

    def blocks(self) -> list[ContentBlock]:
        """The content as a list of blocks (a plain string becomes one text block)."""
        if isinstance(self.content, str):
            return [TextBlock(text=self.content)]
        return self.content


class Message(WireModel):
    """A response from ``POST /v1/messages``. Fields a provider omits take their defaults."""

    id: str = ""
    type: Literal["message"] = "message"
    role: Literal["assistant"] = "assistant"
    model: str = ""
    content: list[ContentBlock] = Field(default_factory=list)
    stop_reason: StopReason | str | None = None
    stop_sequence: str | None = None
    usage: Usage = Field(default_factory=Usage)
    container: Container | None = None
    _always_sent = ("type", "role")
    _request_id: str | None = PrivateAttr(default=None)

    @property
    def request_id(self) -> str | None:
        """The endpoint's ``request-id`` header for this response, when it sent one."""
        return self._request_id

    @property
    def text(self) -> str:
        """The concatenated text of the message's text blocks."""
        return "".join(b.text for b in self.content if isinstance(b, TextBlock))

    @property
    def tool_uses(self) -> list[ToolUseBlock]:
        """The client tool calls the message asks for, in order."""
        return [b for b in self.content if isinstance(b, ToolUseBlock)]

    def to_param(self) -> MessageParam:
        """This message as the assistant entry of a transcript, its content unchanged."""
        return MessageParam(role="assistant", content=list(self.content))


message_adapter: TypeAdapter[Message] = TypeAdapter(Message)
transcript_adapter: TypeAdapter[list[MessageParam]] = TypeAdapter(list[MessageParam])
