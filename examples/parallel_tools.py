"""Parallel tool calls: one turn's calls run at once, a failure stays its own, a barrier waits.

    python examples/parallel_tools.py

An on-call agent checks five services in one turn. The checks run concurrently (one of them
fails, and only its own result is an error), then it reads a log in a worker thread (a sync
tool) and restarts a service with a tool marked ``sequential=True``, which runs alone. The
timeline at the end is drawn from the run's events.
"""

from __future__ import annotations

import time
from typing import Any

import anyio
from _offline import MODEL, scripted_model

from toolwire import Agent, Event, ToolCallFinished, ToolCallStarted, ToolError, tool
from toolwire.testing import reply, tool_call

LATENCY = {"api": 0.15, "db": 0.3, "queue": 0.25, "search": 0.2}
RESTARTED: list[str] = []


@tool
async def check_health(service: str) -> dict[str, Any]:
    """Check one service's health endpoint.

    Args:
        service: Service name: api, db, queue, search or billing.
    """
    if service == "billing":
        # The monitoring network is down for this one: the call fails, its siblings do not.
        raise ConnectionError("billing-health.internal: connection refused")
    if service not in LATENCY:
        raise ToolError(f"Unknown service {service!r}.")
    await anyio.sleep(LATENCY[service])
    healthy = service != "queue" or "queue" in RESTARTED
    return {"service": service, "healthy": healthy, "p99_ms": 870 if not healthy else 45}


@tool
def read_log(service: str, lines: int = 3) -> str:
    """The last lines of a service's log.

    Args:
        service: Service name.
        lines: How many lines to return.
    """
    time.sleep(0.1)  # a blocking read: sync tools run in worker threads, off the event loop
    log = [
        f"{service}: consumer lag 48213 messages",
        f"{service}: worker 3 stuck on partition 7",
        f"{service}: heartbeat missed (worker 3)",
    ]
    return "\n".join(log[-lines:])


@tool(sequential=True)
async def restart_service(service: str) -> str:
    """Restart a service. Runs alone: nothing else runs while a service restarts.

    Args:
        service: Service name.
    """
    await anyio.sleep(0.2)
    RESTARTED.append(service)
    return f"{service} restarted"


def timeline(events: list[tuple[float, Event]]) -> list[str]:
    """One bar per tool call, on a shared time axis: overlapping bars ran at the same time."""
    starts: dict[str, tuple[float, str]] = {}
    spans: list[tuple[float, float, str, bool]] = []
    for at, event in events:
        if isinstance(event, ToolCallStarted):
            label = f"{event.name}({', '.join(map(str, event.input.values()))})"
            starts[event.tool_use_id] = (at, label)
        elif isinstance(event, ToolCallFinished) and event.tool_use_id in starts:
            begun, label = starts[event.tool_use_id]
            spans.append((begun, at, label, event.is_error))
    spans.sort()
    origin = min(s[0] for s in spans)
    end = max(s[1] for s in spans)
    scale = 50 / (end - origin)
    lines = []
    for begun, ended, label, failed in spans:
        left = round((begun - origin) * scale)
        width = max(1, round((ended - begun) * scale))
        bar = " " * left + ("x" if failed else "=") * width
        lines.append(f"  {label:<24} |{bar:<51}| {'error' if failed else 'ok'}")
    return lines


def concurrency(events: list[tuple[float, Event]]) -> dict[str, int]:
    """For each tool, the most calls running at once while one of its calls ran.

    Counted from the order of the events, not from timings.
    """
    running: set[str] = set()
    names: dict[str, str] = {}
    peak: dict[str, int] = {}
    for _, event in events:
        if isinstance(event, ToolCallStarted):
            running.add(event.tool_use_id)
            names[event.tool_use_id] = event.name
        elif isinstance(event, ToolCallFinished):
            running.discard(event.tool_use_id)
            continue
        else:
            continue
        for ident in running:
            name = names[ident]
            peak[name] = max(peak.get(name, 0), len(running))
    return peak


async def main() -> None:
    agent = Agent(MODEL, tools=[check_health, read_log, restart_service], max_tokens=1024)
    events: list[tuple[float, Event]] = []
    async with agent, agent.stream("Some requests are slow. Check every service.") as run:
        async for event in run:
            events.append((time.perf_counter(), event))
            if isinstance(event, ToolCallFinished) and event.is_error:
                print(f"{event.name} failed on its own: {event.result.content}")
    result = run.result
    print("\n".join(timeline(events)))
    peak = concurrency(events)
    print(f"check_health calls running at once: {peak['check_health']}")
    print(f"restart_service ran alone: {peak['restart_service'] == 1}")
    print(f"\n{result.text}")


SCRIPT = [
    reply(
        "Checking all five services at once.",
        *(
            tool_call("check_health", {"service": name}, id=f"toolu_0{n}")
            for n, name in enumerate(["api", "db", "queue", "search", "billing"], start=1)
        ),
    ),
    reply(
        "The queue is unhealthy. Reading its log, then restarting it.",
        tool_call("read_log", {"service": "queue"}, id="toolu_06"),
        tool_call("restart_service", {"service": "queue"}, id="toolu_07"),
        tool_call("check_health", {"service": "queue"}, id="toolu_08"),
    ),
    reply(
        "The queue had a stuck worker (partition 7) and is healthy again after a restart. "
        "api, db and search are fine. billing could not be checked: its health endpoint "
        "refused the connection, so look at it by hand."
    ),
]

if __name__ == "__main__":
    with scripted_model(SCRIPT):
        anyio.run(main)
