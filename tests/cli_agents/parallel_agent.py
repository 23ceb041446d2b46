"""An agent whose two weather calls must run at the same time: each waits for the other."""

from __future__ import annotations

import anyio

from toolwire import Agent, ToolError, tool

_arrived = 0


async def _meet() -> None:
    """Return once the other call of this pair has started too (calls come in pairs)."""
    global _arrived
    _arrived += 1
    pair = (_arrived + 1) // 2
    with anyio.fail_after(10):
        while _arrived < 2 * pair:
            await anyio.sleep(0.005)


@tool
async def get_weather(city: str) -> dict[str, object]:
    """Get the current weather for a city.

    Args:
        city: City name.
    """
    await _meet()
    return {"city": city, "temp": 21 if city == "Paris" else 18}


@tool
def fail(reason: str) -> str:
    """Always fails, with the reason given."""
    raise ToolError(f"could not do it: {reason}")


agent = Agent("claude-test", tools=[get_weather, fail], max_tokens=512)
