#!/usr/bin/env python3
"""toolwire as a contender of the agent-loop bench in ``benchmarks/harness``.

The harness runs this file with ``PYTHONPATH`` pointing at its ``drivers/`` folder, so ``_common``
(the CLI, the ``work`` tool body and the timed loop) is shared with every other contender.
``--stream`` runs each agent run through ``Agent.stream()`` and consumes every event, as an
application showing the stream would; without it, ``Agent.run()`` sends JSON requests.
"""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from typing import Any

from _common import MAX_TOKENS, MODEL, PROMPT, main, work  # type: ignore[import-not-found]

from toolwire import Agent, Endpoint, tool

RunOnce = Callable[[], Awaitable[str]]
Teardown = Callable[[], Awaitable[None]]


def make_agent(args: argparse.Namespace) -> Agent[Any]:
    """The agent every run of the bench uses: one ``work`` tool, the harness's model settings."""
    sleep_s = args.tool_sleep_s

    @tool(name="work")
    async def work_tool(i: int) -> str:
        """Do one unit of work.

        Args:
            i: index of the unit.
        """
        result: str = await work(i, sleep_s)
        return result

    endpoint = Endpoint(base_url=args.base_url, api_key="x")
    return Agent(MODEL, tools=[work_tool], endpoint=endpoint, max_tokens=MAX_TOKENS)


async def setup(args: argparse.Namespace) -> tuple[RunOnce, Teardown]:
    """The harness's entry point: one shared agent, one run per call of ``run_once``."""
    agent = make_agent(args)

    async def run_json() -> str:
        result = await agent.run(PROMPT)
        return result.text

    async def run_streamed() -> str:
        async with agent.stream(PROMPT) as run:
            async for _ in run:
                pass
        return run.result.text

    return (run_streamed if args.stream else run_json), agent.aclose


if __name__ == "__main__":
    main("toolwire", setup)
