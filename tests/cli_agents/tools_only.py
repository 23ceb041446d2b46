"""Tools without an agent."""

from __future__ import annotations

from toolwire import tool


@tool
def shout(text: str) -> str:
    """Say it louder."""
    return text.upper()


@tool(name="count_words")
def words(text: str) -> int:
    """Count the words of a text."""
    return len(text.split())


NOT_A_TOOL = 42
