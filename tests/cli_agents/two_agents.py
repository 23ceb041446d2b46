"""Two agents in one module; one of them with a server tool."""

from __future__ import annotations

from toolwire import Agent, tool


@tool
def lookup(term: str, limit: int = 3) -> list[str]:
    """Look a term up in the glossary.

    Args:
        term: The term.
        limit: How many entries at most.
    """
    return [term][:limit]


plain = Agent("claude-test", tools=[lookup])
searching = Agent(
    "claude-test",
    tools=[lookup],
    server_tools=[{"type": "web_search_20250305", "name": "web_search", "max_uses": 2}],
)
