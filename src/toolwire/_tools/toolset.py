"""``Toolset``: the tools of a run, in order, by unique name."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from toolwire._errors import ToolDefinitionError
from toolwire._wire.request import ToolDefinition

from .decorator import Tool, tool

__all__ = ["Toolset"]


class Toolset:
    """Tools in the order given, looked up by name; two tools may not share a name.

    Plain functions are accepted too and made tools with ``tool()``.
    """

    def __init__(self, tools: Iterable[Tool[Any] | Callable[..., Any]] = ()) -> None:
        self._tools: dict[str, Tool[Any]] = {}
        for item in tools:
            self.add(item)

    def add(self, item: Tool[Any] | Callable[..., Any]) -> Tool[Any]:
        """Add a tool (or a function, made a tool); a taken name raises ``ToolDefinitionError``."""
        added = item if isinstance(item, Tool) else tool(item)
        if added.name in self._tools:
            raise ToolDefinitionError(
                f"two tools are named {added.name!r}; tool names must be unique "
                f"(rename one with @tool(name=...))"
            )
        self._tools[added.name] = added
        return added

    def get(self, name: str) -> Tool[Any] | None:
        """The tool called ``name``, or ``None``."""
        return self._tools.get(name)

    def __getitem__(self, name: str) -> Tool[Any]:
        """The tool called ``name``; ``KeyError`` when there is none."""
        return self._tools[name]

    @property
    def names(self) -> list[str]:
        """The tools' names, in order."""
        return list(self._tools)

    def definitions(self) -> list[ToolDefinition]:
        """Every tool's definition, in order, for the request's ``tools`` list."""
        return [t.definition() for t in self._tools.values()]

    def __iter__(self) -> Iterator[Tool[Any]]:
        return iter(self._tools.values())

    def __len__(self) -> int:
        return len(self._tools)

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    def __repr__(self) -> str:
        return f"Toolset({self.names!r})"
