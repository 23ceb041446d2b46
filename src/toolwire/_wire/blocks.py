"""Content blocks: what a message's ``content`` list holds.

Every block type the protocol documents has a model; a block of any other type becomes an
``UnknownBlock`` that keeps all of its fields, so it can be sent back exactly as received
(providers add their own: server tools, compaction, citations of new kinds).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeAlias

from pydantic import Discriminator, Field, PrivateAttr, Tag, TypeAdapter

from .base import WireModel


class Base64ImageSource(WireModel):
    """Image bytes inline, base64-encoded."""

    type: Literal["base64"] = "base64"
    media_type: str
    data: str
    _always_sent = ("type",)


class URLImageSource(WireModel):
    """An image the server fetches from a URL."""

    type: Literal["url"] = "url"
    url: str
    _always_sent = ("type",)


class OtherSource(WireModel):
    """A source of a kind not modelled here (file ids, text, content), kept as sent."""

    type: str


def _source_tag(value: Any) -> str:
    kind = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
    return kind if kind in ("base64", "url") else "other"


Source: TypeAlias = Annotated[
    Annotated[Base64ImageSource, Tag("base64")]
    | Annotated[URLImageSource, Tag("url")]
    | Annotated[OtherSource, Tag("other")],
    Discriminator(_source_tag),
]


class TextBlock(WireModel):
    """Text, optionally with the citations that support it."""

    type: Literal["text"] = "text"
    text: str
    citations: list[dict[str, Any]] | None = None
    _always_sent = ("type",)


class ImageBlock(WireModel):
    """An image, inline (base64) or by URL."""

    type: Literal["image"] = "image"
    source: Source
    _always_sent = ("type",)


class DocumentBlock(WireModel):
    """A document (PDF, plain text, ...) given to the model."""

    type: Literal["document"] = "document"
    source: Source
    title: str | None = None
    context: str | None = None
    citations: dict[str, Any] | None = None
    _always_sent = ("type",)


class ToolUseBlock(WireModel):
    """The model asks for a client tool to be run with ``input``."""

    type: Literal["tool_use"] = "tool_use"
    id: str
    name: str
    input: dict[str, Any] = Field(default_factory=dict)
    _always_sent = ("type", "input")
    # Set when a stream was cut inside this call's input JSON; never serialised.
    _partial_json: str | None = PrivateAttr(default=None)

    @property
    def incomplete(self) -> bool:
        """True if the response was cut (``max_tokens``) in this call's input: never run it."""
        return self._partial_json is not None

    @property
    def partial_json(self) -> str | None:
        """The input JSON text received before the cut, when ``incomplete``; otherwise ``None``."""
        return self._partial_json

    def mark_incomplete(self, partial_json: str) -> None:
        """Record that this call's input was cut off after ``partial_json`` (``input`` is kept)."""
        self._partial_json = partial_json


class ToolResultBlock(WireModel):
    """The answer to one ``tool_use``: text or blocks, flagged ``is_error`` when it failed."""

    type: Literal["tool_result"] = "tool_result"
    tool_use_id: str
    content: str | list[ContentBlock] | None = None
    is_error: bool | None = None
    _always_sent = ("type",)


class ThinkingBlock(WireModel):
    """Extended thinking; its ``signature`` must be sent back untouched."""

    type: Literal["thinking"] = "thinking"
    thinking: str
    signature: str = ""
    _always_sent = ("type", "signature")


class RedactedThinkingBlock(WireModel):
    """Thinking the server encrypted; sent back untouched."""

    type: Literal["redacted_thinking"] = "redacted_thinking"
    data: str
    _always_sent = ("type",)


class ServerToolUseBlock(WireModel):
    """A server tool (web search, code execution, a provider's own) the server ran itself."""

    type: Literal["server_tool_use"] = "server_tool_use"
    id: str
    name: str
    input: dict[str, Any] = Field(default_factory=dict)
    _always_sent = ("type", "input")


class ServerToolResultBlock(WireModel):
    """A server tool's result: any block type ending in ``_tool_result`` except ``tool_result``."""

    type: str
    tool_use_id: str
    content: Any = None


class UnknownBlock(WireModel):
    """A block of a type this library does not model; every field is kept and sent back."""

    type: str


_KNOWN_TAGS = frozenset(
    {
        "text",
        "image",
        "document",
        "tool_use",
        "tool_result",
        "thinking",
        "redacted_thinking",
        "server_tool_use",
    }
)


def _block_tag(value: Any) -> str:
    kind = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
    # A type that is not a string (even an unhashable list) is a block of no known kind.
    if isinstance(kind, str) and kind in _KNOWN_TAGS:
        return kind
    if isinstance(value, dict) and isinstance(kind, str) and kind.endswith("_tool_result"):
        return "server_tool_result" if "tool_use_id" in value else "unknown"
    if isinstance(value, ServerToolResultBlock):
        return "server_tool_result"
    return "unknown"


ContentBlock: TypeAlias = Annotated[
    Annotated[TextBlock, Tag("text")]
    | Annotated[ImageBlock, Tag("image")]
    | Annotated[DocumentBlock, Tag("document")]
    | Annotated[ToolUseBlock, Tag("tool_use")]
    | Annotated[ToolResultBlock, Tag("tool_result")]
    | Annotated[ThinkingBlock, Tag("thinking")]
    | Annotated[RedactedThinkingBlock, Tag("redacted_thinking")]
    | Annotated[ServerToolUseBlock, Tag("server_tool_use")]
    | Annotated[ServerToolResultBlock, Tag("server_tool_result")]
    | Annotated[UnknownBlock, Tag("unknown")],
    Discriminator(_block_tag),
]
"""Any content block; unknown types parse as ``UnknownBlock``."""

ToolResultBlock.model_rebuild()

content_block_adapter: TypeAdapter[ContentBlock] = TypeAdapter(ContentBlock)


def parse_block(data: dict[str, Any]) -> ContentBlock:
    """Parse one block from its JSON dict."""
    return content_block_adapter.validate_python(data)
