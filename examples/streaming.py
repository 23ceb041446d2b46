"""Every event of a streamed run, as it happens.

    python examples/streaming.py

``agent.stream(prompt)`` runs the agent with streamed requests and yields typed events:
the run starting, each request, thinking and text as they are generated, a tool call's
input as it is written, the call starting, its progress reports, its result, each response's
usage and stop reason, and the run's end. This example prints one line per event.
"""

from __future__ import annotations

import anyio
from _offline import MODEL, scripted_model

from toolwire import (
    Agent,
    Context,
    RequestSent,
    ResponseReceived,
    RunFinished,
    RunStarted,
    TextDelta,
    ThinkingDelta,
    ToolCallFinished,
    ToolCallStarted,
    ToolInputDelta,
    ToolProgress,
    tool,
)
from toolwire.testing import reply, thinking, tool_call

FILES = {"2025-01.csv": 1200, "2025-02.csv": 1150, "2025-03.csv": 1325}


@tool
async def count_rows(ctx: Context, pattern: str) -> dict[str, int]:
    """Count the rows of the data files matching a pattern.

    Args:
        pattern: A file name prefix, e.g. "2025-".
    """
    counts = {}
    for name, rows in FILES.items():
        if name.startswith(pattern):
            await anyio.sleep(0.05)
            counts[name] = rows
            # Progress goes to the events (a UI, a log), never to the model.
            ctx.progress(f"{len(counts)} files read")
    return counts


async def main() -> None:
    agent = Agent(
        MODEL,
        tools=[count_rows],
        max_tokens=4096,
        thinking={"type": "enabled", "budget_tokens": 1024},
    )
    async with agent, agent.stream("How many rows do this year's files hold?") as run:
        async for event in run:
            match event:
                case RunStarted(model=model):
                    print(f"RunStarted        model={model}")
                case RequestSent(turn=turn, streamed=streamed):
                    print(f"RequestSent       turn={turn} streamed={streamed}")
                case ThinkingDelta(thinking=text):
                    print(f"ThinkingDelta     {text!r}")
                case TextDelta(text=text):
                    print(f"TextDelta         {text!r}")
                case ToolInputDelta(name=name, partial_json=partial):
                    print(f"ToolInputDelta    {name} {partial!r}")
                case ResponseReceived():
                    usage = event.usage
                    print(
                        f"ResponseReceived  turn={event.turn} stop_reason={event.stop_reason} "
                        f"tokens={usage.input_tokens}+{usage.output_tokens}"
                    )
                case ToolCallStarted(name=name, input=arguments):
                    print(f"ToolCallStarted   {name} {arguments}")
                case ToolProgress(name=name, data=data):
                    print(f"ToolProgress      {name} {data!r}")
                case ToolCallFinished(name=name, result=result):
                    print(f"ToolCallFinished  {name} {result.content} error={event.error}")
                case RunFinished():
                    print("RunFinished")
    print(f"\nresult.text: {run.result.text}")


SCRIPT = [
    reply(
        thinking("The files are monthly; this year's start with 2025-. I should count them."),
        "Let me count the rows.",
        tool_call("count_rows", {"pattern": "2025-"}),
    ),
    reply(
        thinking("Three files: 1200 + 1150 + 1325 = 3675."),
        "This year's three files hold 3675 rows: 1200 in January, 1150 in February and "
        "1325 in March.",
    ),
]

if __name__ == "__main__":
    with scripted_model(SCRIPT):
        anyio.run(main)
