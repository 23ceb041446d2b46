"""Four ways providers expose the Messages API, and how an ``Endpoint`` reaches each.

    python examples/providers.py

1. A base URL with a path prefix (``…/anthropic``), the key sent as ``x-api-key``.
2. A base URL that already ends in ``/v1/``: normalised, never ``/v1/v1/messages``.
3. A relay that wants ``Authorization: Bearer`` (``auth_token=``, or ``ANTHROPIC_AUTH_TOKEN``).
4. An aggregator with its own model aliases and its own server tool, ``octen_search``, which
   it runs itself: its turn comes back as ``server_tool_use`` + result and ``pause_turn``,
   and the loop sends it back to let the model finish.

The endpoints are shown with their secrets hidden; nothing is sent to those hosts. The
aggregator's run goes to the scripted model offline, or to your endpoint when one is
configured (without the server tool, which only the aggregator knows).
"""

from __future__ import annotations

import anyio
from _offline import MODEL, scripted_model

from toolwire import (
    Agent,
    Endpoint,
    MessagesClient,
    ResponseReceived,
    ServerTool,
    ServerToolResultBlock,
    ServerToolUseBlock,
)
from toolwire.testing import reply

DEMO_KEY = "sk-demo-not-a-real-key"

ENDPOINTS = {
    "path prefix, x-api-key": Endpoint("https://api.hacxgpt.com/anthropic", api_key=DEMO_KEY),
    "base ending in /v1/": Endpoint("https://api.relax.ai/v1/", api_key=DEMO_KEY),
    # The same as setting ANTHROPIC_BASE_URL and ANTHROPIC_AUTH_TOKEN in the environment.
    "Bearer relay": Endpoint(
        env={"ANTHROPIC_BASE_URL": "https://relay.example.com", "ANTHROPIC_AUTH_TOKEN": DEMO_KEY}
    ),
    "aggregator": Endpoint("https://llm-gateway.example.com/anthropic", api_key=DEMO_KEY),
}

ALIASES = ["sonnet", "haiku", "octen/claude-sonnet-4.5", "octen/claude-haiku-4.5"]
OCTEN_SEARCH = ServerTool(type="octen_search", name="octen_search")


def shown(endpoint: Endpoint) -> dict[str, str]:
    """The endpoint's headers, with the credential hidden."""
    hidden = {"x-api-key": "<hidden>", "authorization": "Bearer <hidden>"}
    return {name: hidden.get(name, value) for name, value in endpoint.headers().items()}


async def aggregator_run(offline: bool) -> None:
    async with MessagesClient() as client:  # ANTHROPIC_* from the environment
        names = [m.id for m in await client.models()]
        print(f"models the endpoint lists: {', '.join(names)}")
        # An aggregator's alias is just the model name to send; it picks the real model.
        model = "sonnet" if offline else MODEL
        agent = Agent(
            model,
            client=client,
            server_tools=[OCTEN_SEARCH] if offline else [],
            max_tokens=1024,
        )
        stops = []
        async with agent.stream("What changed in the latest Python release?") as run:
            async for event in run:
                if isinstance(event, ResponseReceived):
                    stops.append(f"{event.stop_reason} ({event.message.model})")
        result = run.result
    print(f"asked for {model!r}; responses: {', '.join(stops)}")
    for message in result.messages:
        print(f"  {message.role}: {[block.type for block in message.blocks()]}")
    print(result.text)


def main(offline: bool) -> None:
    for style, endpoint in ENDPOINTS.items():
        print(f"{style}:\n  POST {endpoint.url}\n  auth {endpoint.auth}: {shown(endpoint)}")
    print()
    anyio.run(aggregator_run, offline)


SEARCH = ServerToolUseBlock(
    id="srvtoolu_01", name="octen_search", input={"query": "latest Python release changes"}
)
FOUND = ServerToolResultBlock(
    type="octen_search_tool_result",
    tool_use_id="srvtoolu_01",
    content=[
        {
            "type": "octen_search_result",
            "title": "What's New In Python 3.14",
            "url": "https://docs.python.org/3.14/whatsnew/3.14.html",
        }
    ],
)
SERVED_BY = "claude-sonnet-4-5-20250929"  # the model the alias resolved to

SCRIPT = [
    # The aggregator ran its search and paused the turn: the loop sends the turn back as is.
    reply("Let me search for that.", SEARCH, FOUND, stop_reason="pause_turn", model=SERVED_BY),
    reply(
        "Python 3.14 brings template strings (t-strings), deferred evaluation of annotations "
        "and an officially supported free-threaded build (source: docs.python.org).",
        model=SERVED_BY,
    ),
]

if __name__ == "__main__":
    with scripted_model(SCRIPT, models=ALIASES) as fake:
        main(offline=fake is not None)
