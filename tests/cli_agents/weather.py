"""A small weather agent for trying the command line: its tools take a moment, like real ones.

    toolwire fake-api --port 8799 --script tests/cli_agents/weather_script.json
    toolwire run tests/cli_agents/weather.py "Weather in Paris and Tokyo?"

``WEATHER_DELAY`` sets how long each tool takes (seconds, default 1).
"""

from __future__ import annotations

import os
from typing import Literal

import anyio

from toolwire import Agent, tool

DELAY = float(os.environ.get("WEATHER_DELAY", "1.0"))


@tool
async def get_weather(
    city: str, unit: Literal["celsius", "fahrenheit"] = "celsius"
) -> dict[str, object]:
    """Get the current weather for a city.

    Args:
        city: City name, e.g. "Paris".
        unit: Temperature unit.
    """
    await anyio.sleep(DELAY)
    temps = {"Paris": 21, "Tokyo": 18}
    return {"city": city, "temp": temps.get(city, 15), "unit": unit}


@tool
async def local_time(city: str) -> str:
    """The local time in a city, as HH:MM."""
    await anyio.sleep(DELAY / 2)
    return {"Paris": "14:05", "Tokyo": "21:05"}.get(city, "12:00")


agent = Agent("claude-sonnet-4-5", tools=[get_weather, local_time], max_tokens=1024)
