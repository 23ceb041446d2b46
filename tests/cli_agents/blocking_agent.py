"""An agent whose tools never finish on their own: one async, one sync in a worker thread."""

from __future__ import annotations

import time

import anyio

from toolwire import Agent, tool


@tool
async def wait_forever() -> str:
    """Wait until cancelled."""
    await anyio.sleep_forever()
    return "never"


@tool
def block(seconds: float) -> str:
    """Block the worker thread for a while."""
    time.sleep(seconds)
    return "woke up"


agent = Agent("claude-test", tools=[wait_forever, block])
