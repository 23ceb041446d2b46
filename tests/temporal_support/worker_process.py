"""A durable-run worker in its own process, for the tests that kill one.

``python worker_process.py ADDRESS TASK_QUEUE API_BASE_URL LEDGER`` serves the agent ``"ledger"``
until killed. Its tools append a line per event to the LEDGER file: ``start KEY PID`` when a
call begins and ``done KEY PID`` when it completes, KEY being the call's idempotency key.
``slow`` runs until a file named LEDGER + ``.release`` exists, so that a test can kill the
worker in the middle of it. The worker
keeps no workflow in cache, so every workflow task replays the run from its history.
"""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Any

from temporalio.client import Client

from toolwire import Agent, Context, Endpoint, tool
from toolwire.temporal import ToolwireWorker
from toolwire.testing import FAKE_API_KEY


def _ledger(path: str, what: str, ctx: Context[Any]) -> None:
    line = f"{what} {ctx.idempotency_key} {os.getpid()}\n".encode()
    # One write on an O_APPEND descriptor: lines from two processes never interleave.
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


def ledger_agent(base_url: str, ledger: str) -> Agent[Any]:
    """The agent the ledger tests run, against the fake Messages API at ``base_url``."""

    @tool
    async def quick(n: int, ctx: Context[Any]) -> int:
        """Double a number at once."""
        _ledger(ledger, "start", ctx)
        _ledger(ledger, "done", ctx)
        return n * 2

    @tool
    async def slow(n: int, ctx: Context[Any]) -> int:
        """Triple a number, slowly."""
        _ledger(ledger, "start", ctx)
        # Slow until the test lets it finish (the release file exists), at most a minute.
        for _ in range(1200):
            if os.path.exists(ledger + ".release"):
                break
            await asyncio.sleep(0.05)
        _ledger(ledger, "done", ctx)
        return n * 3

    return Agent(
        "claude-test",
        tools=[quick, slow],
        endpoint=Endpoint(base_url, api_key=FAKE_API_KEY),
        max_tokens=256,
    )


async def main(address: str, task_queue: str, base_url: str, ledger: str) -> None:
    """Serve until killed; print ``ready`` once polling."""
    client = await Client.connect(address)
    worker = ToolwireWorker(
        client,
        task_queue=task_queue,
        agents={"ledger": ledger_agent(base_url, ledger)},
        max_cached_workflows=0,
        # An explicit build id: without one the SDK hashes every loaded module, for seconds.
        build_id="toolwire-tests",
    )
    async with worker:
        print("ready", flush=True)
        await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:5]))
