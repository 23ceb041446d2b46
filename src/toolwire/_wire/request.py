"""The body of ``POST /v1/messages``: the request, tool definitions and tool_choice."""

from __future__ import annotations

import math
import re
from typing import Annotated, Any, Literal, TypeAlias

from pydantic import Discriminator, Field, Tag, TypeAdapter

from .base import WireModel
from .blocks import TextBlock
from .messages import MessageParam

TOOL_NAME_PATTERN = re.compile(r"^[a-zA-Z0-9_-]{1,128}$")
"""Names the protocol accepts for client tools."""


class ToolDefinition(WireModel):
    """A client tool as the model sees it: a name, a description and a JSON Schema for its input."""

    name: str
    description: str | None = None
    input_schema: dict[str, Any]


class ServerTool(WireModel):
    """A tool the server runs itself (``web_search_20250305``, a provider's ``octen_search``)."""

    type: str
    name: str


def _tool_tag(value: Any) -> str:
    if isinstance(value, dict):
        return "custom" if "input_schema" in value else "server"
    return "custom" if isinstance(value, ToolDefinition) else "server"


AnyTool: TypeAlias = Annotated[
    Annotated[ToolDefinition, Tag("custom")] | Annotated[ServerTool, Tag("server")],
    Discriminator(_tool_tag),
]


class ToolChoiceAuto(WireModel):
    """The model decides whether to call tools."""

    type: Literal["auto"] = "auto"
    disable_parallel_tool_use: bool | None = None
    _always_sent = ("type",)


class ToolChoiceAny(WireModel):
    """The model must call one of the tools."""

    type: Literal["any"] = "any"
    disable_parallel_tool_use: bool | None = None
    _always_sent = ("type",)


class ToolChoiceTool(WireModel):
    """The model must call the named tool."""

    type: Literal["tool"] = "tool"
    name: str
    disable_parallel_tool_use: bool | None = None
    _always_sent = ("type",)


class ToolChoiceNone(WireModel):
    """The model must not call tools."""

    type: Literal["none"] = "none"
    _always_sent = ("type",)


ToolChoice: TypeAlias = Annotated[
    ToolChoiceAuto | ToolChoiceAny | ToolChoiceTool | ToolChoiceNone,
    Field(discriminator="type"),
]


class MessageRequest(WireModel):
    """One request to ``/v1/messages``. Extra fields go to the provider as given."""

    model: str
    messages: list[MessageParam]
    max_tokens: int
    system: str | list[TextBlock] | None = None
    tools: list[AnyTool] | None = None
    tool_choice: ToolChoice | None = None
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    stop_sequences: list[str] | None = None
    stream: bool | None = None
    thinking: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None
    container: str | None = None

    def problems(self) -> list[tuple[str, str]]:
        """The parameters the protocol would reject, as ``(parameter, reason)`` pairs."""
        found: list[tuple[str, str]] = []
        if not self.model:
            found.append(("model", "must be a non-empty model name"))
        if self.max_tokens < 1:
            found.append(("max_tokens", f"must be at least 1, got {self.max_tokens}"))
        for name in ("temperature", "top_p"):
            value = getattr(self, name)
            if value is not None and (not math.isfinite(value) or not 0.0 <= value <= 1.0):
                found.append((name, f"must be between 0 and 1, got {value}"))
        if self.top_k is not None and self.top_k < 0:
            found.append(("top_k", f"must be 0 or more, got {self.top_k}"))
        if not self.messages:
            found.append(("messages", "must hold at least one message"))
        seen: set[str] = set()
        for i, tool in enumerate(self.tools or []):
            if isinstance(tool, ToolDefinition) and not TOOL_NAME_PATTERN.match(tool.name):
                found.append(
                    (f"tools[{i}].name", f"{tool.name!r} must match {TOOL_NAME_PATTERN.pattern}")
                )
            if tool.name in seen:
                found.append((f"tools[{i}].name", f"{tool.name!r} is used by another tool"))
            seen.add(tool.name)
        choice = self.tool_choice
        if isinstance(choice, ToolChoiceTool) and choice.name not in seen:
            found.append(("tool_choice.name", f"{choice.name!r} is not one of the request's tools"))
        return found


tool_definition_adapter: TypeAdapter[AnyTool] = TypeAdapter(AnyTool)
