"""What a tool returns, as the content of its tool_result.

- ``str``: the text itself.
- ``None``: an empty result (no content).
- ``bytes`` and image objects (anything with ``save(fp, format=...)`` and a ``mode``, as PIL
  images have): an image block, its media type read from the magic bytes (PNG, JPEG, GIF, WEBP).
- content blocks (``TextBlock``, ``ImageBlock``, ``DocumentBlock``, ...): as given; a list that
  holds at least one block or image is content, its strings becoming text blocks.
- anything else (pydantic models, dataclasses, dicts, lists, numbers, booleans, dates, enums):
  compact JSON text.

Text longer than the cap is cut in the middle, keeping the head and the tail, with a marker
saying how many characters were dropped.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

from pydantic import BaseModel
from pydantic_core import PydanticSerializationError, to_json

from toolwire._wire.base import WireModel
from toolwire._wire.blocks import (
    Base64ImageSource,
    ContentBlock,
    ImageBlock,
    TextBlock,
    ToolResultBlock,
)

__all__ = [
    "DEFAULT_MAX_RESULT_CHARS",
    "Content",
    "as_blocks",
    "ErrorKind",
    "ToolOutcome",
    "cap_content",
    "cut_text",
    "image_block",
    "sniff_image_type",
    "to_content",
]

DEFAULT_MAX_RESULT_CHARS = 100_000
"""The default cap on a tool result's text, in characters (roughly 25k tokens)."""

Content: TypeAlias = str | list[ContentBlock] | None
"""A tool_result's content: text, a list of blocks, or nothing."""

ErrorKind: TypeAlias = Literal[
    "validation", "tool_error", "exception", "timeout", "cancelled", "unknown_tool", "incomplete"
]
"""Why a tool call's result is an error: its input was invalid, the tool raised ``ToolError``,
the tool raised another exception, it ran out of time, the run was cancelled, the model named
a tool that does not exist, or the call's input was cut off before it was complete."""


@dataclass(frozen=True)
class ToolOutcome:
    """One tool call's end: the tool_result to send, and why it failed when it did.

    ``exception`` is the exception a tool raised (``error == "exception"`` or ``"tool_error"``),
    kept for the exception policy and the logs; the model only sees ``result``.
    """

    result: ToolResultBlock
    error: ErrorKind | None = None
    exception: BaseException | None = None

    @staticmethod
    def failure(
        tool_use_id: str, content: Content, kind: ErrorKind, exception: BaseException | None = None
    ) -> ToolOutcome:
        """An ``is_error`` outcome with ``content``."""
        result = ToolResultBlock(tool_use_id=tool_use_id, content=content, is_error=True)
        return ToolOutcome(result=result, error=kind, exception=exception)

    @staticmethod
    def success(tool_use_id: str, content: Content) -> ToolOutcome:
        """A successful outcome with ``content`` (no content at all when it is ``None``)."""
        if content is None:
            return ToolOutcome(result=ToolResultBlock(tool_use_id=tool_use_id))
        return ToolOutcome(result=ToolResultBlock(tool_use_id=tool_use_id, content=content))


_IMAGE_FORMATS = {
    "PNG": "image/png",
    "JPEG": "image/jpeg",
    "GIF": "image/gif",
    "WEBP": "image/webp",
}


def sniff_image_type(data: bytes) -> str | None:
    """The media type of image bytes, from their magic number; ``None`` for other data."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def image_block(data: bytes) -> ImageBlock:
    """An inline image block for image bytes; ``TypeError`` when the bytes are no known image."""
    media_type = sniff_image_type(data)
    if media_type is None:
        raise TypeError(
            f"returned {len(data)} bytes that are not a PNG, JPEG, GIF or WEBP image; "
            f"return str for text"
        )
    source = Base64ImageSource(media_type=media_type, data=base64.b64encode(data).decode("ascii"))
    return ImageBlock(source=source)


def _is_image_object(value: Any) -> bool:
    return callable(getattr(value, "save", None)) and hasattr(value, "mode")


def _image_object_bytes(value: Any) -> bytes:
    fmt = str(getattr(value, "format", None) or "PNG").upper()
    buffer = io.BytesIO()
    value.save(buffer, format=fmt if fmt in _IMAGE_FORMATS else "PNG")
    return buffer.getvalue()


def _is_block(value: Any) -> bool:
    return isinstance(value, WireModel) and isinstance(getattr(value, "type", None), str)


def _is_binary(value: Any) -> bool:
    return isinstance(value, bytes | bytearray | memoryview)


def _as_block(value: Any) -> ContentBlock:
    if _is_block(value):
        return value  # type: ignore[no-any-return]
    if _is_binary(value):
        return image_block(bytes(value))
    if _is_image_object(value):
        return image_block(_image_object_bytes(value))
    if isinstance(value, str):
        return TextBlock(text=value)
    return TextBlock(text=_json(value))


def _json(value: Any) -> str:
    if isinstance(value, BaseModel):
        return value.model_dump_json()
    try:
        return to_json(value).decode()
    except PydanticSerializationError as exc:
        raise TypeError(
            f"returned a value of type {type(value).__name__} with no JSON form; return str, "
            f"a JSON-serialisable value or content blocks"
        ) from exc


def as_blocks(items: Sequence[Any]) -> list[ContentBlock]:
    """Each item as a content block: blocks as given, strings as text, bytes and images as
    image blocks, anything else as JSON text."""
    return [_as_block(item) for item in items]


def to_content(value: Any) -> Content:
    """A tool's return value as tool_result content (see the module's rules).

    Raises ``TypeError`` for a value with no faithful form (bytes that are no image, an object
    with no JSON form).
    """
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if _is_binary(value) or _is_image_object(value) or _is_block(value):
        return [_as_block(value)]
    if isinstance(value, list | tuple) and any(
        _is_block(item) or _is_binary(item) or _is_image_object(item) for item in value
    ):
        return [_as_block(item) for item in value]
    return _json(value)


def cut_text(text: str, limit: int) -> str:
    """``text`` cut to about ``limit`` characters, head and tail kept around a marker."""
    if len(text) <= limit:
        return text
    marker = ""
    keep = limit
    for _ in range(2):  # the marker's own length depends on the count it shows
        dropped = len(text) - keep
        marker = f"\n[... {dropped} characters dropped ...]\n"
        keep = max(limit - len(marker), 0)
    head = keep - keep // 2
    tail = keep // 2
    dropped = len(text) - head - tail
    marker = f"\n[... {dropped} characters dropped ...]\n"
    return text[:head] + marker + (text[len(text) - tail :] if tail else "")


def cap_content(content: Content, limit: int | None) -> Content:
    """Content whose text fits ``limit`` characters; blocks share the limit by their size."""
    if limit is None or content is None:
        return content
    if isinstance(content, str):
        return cut_text(content, limit)
    texts: Sequence[int] = [len(b.text) for b in content if isinstance(b, TextBlock)]
    total = sum(texts)
    if total <= limit:
        return content
    capped: list[ContentBlock] = []
    for block in content:
        if isinstance(block, TextBlock):
            share = limit * len(block.text) // total
            block = block.model_copy(update={"text": cut_text(block.text, share)})
        capped.append(block)
    return capped
