"""A day-trip planner: three tools, parallel calls, and the answer streamed as it is written.

    python examples/quickstart.py

With no ANTHROPIC_API_KEY (or ANTHROPIC_AUTH_TOKEN) set, a scripted model on 127.0.0.1 plays
the model's part; with one set, the same code talks to the real endpoint
(ANTHROPIC_BASE_URL, or api.anthropic.com) and ANTHROPIC_MODEL picks the model.
"""

from __future__ import annotations

import json
import time
from typing import Any, Literal

import anyio
from _offline import MODEL, scripted_model

from toolwire import (
    Agent,
    Event,
    MessageParam,
    MessageRequest,
    TextDelta,
    ToolCallFinished,
    ToolCallStarted,
    ToolError,
    ToolResultBlock,
    tool,
)
from toolwire.testing import Reply, reply, tool_call

PROMPT = (
    "I'm in Paris with 150 euros for a day trip on Saturday: Lyon or London? "
    "Check the weather and the trains, and tell me what I'd have left to spend there."
)

# -- the tools: plain functions, made tools by @tool ------------------------------------------

FORECASTS = {
    "lyon": {"sky": "sunny", "high_c": 24, "rain_chance": 0.05},
    "london": {"sky": "showers", "high_c": 17, "rain_chance": 0.7},
    "paris": {"sky": "cloudy", "high_c": 20, "rain_chance": 0.3},
}
TRAINS = {
    ("paris", "lyon"): {"operator": "TGV", "hours": 2.0, "return_fare_eur": 64},
    ("paris", "london"): {"operator": "Eurostar", "hours": 2.3, "return_fare_eur": 112},
}
EUR_RATES = {"EUR": 1.0, "GBP": 0.85, "USD": 1.08, "CHF": 0.94}


@tool
async def get_forecast(
    city: str, day: Literal["saturday", "sunday"] = "saturday"
) -> dict[str, Any]:
    """Weather forecast for a city on a day of the coming weekend.

    Args:
        city: City name, e.g. "Lyon".
        day: Which day of the weekend.
    """
    await anyio.sleep(0.2)  # a weather service takes a moment to answer
    forecast = FORECASTS.get(city.lower())
    if forecast is None:
        raise ToolError(f"No forecast for {city!r}; known cities: {', '.join(FORECASTS)}.")
    return {"city": city, "day": day, **forecast}


@tool
async def find_trains(origin: str, destination: str) -> dict[str, Any]:
    """The fastest return train between two cities, with its fare in euros.

    Args:
        origin: Departure city.
        destination: Arrival city.
    """
    await anyio.sleep(0.35)  # booking systems are slower still
    train = TRAINS.get((origin.lower(), destination.lower()))
    if train is None:
        raise ToolError(f"No direct train from {origin} to {destination}.")
    return {"origin": origin, "destination": destination, **train}


@tool
def convert_currency(amount: float, from_currency: str, to_currency: str) -> dict[str, Any]:
    """Convert an amount of money between currencies at today's rate.

    Args:
        amount: The amount to convert.
        from_currency: ISO code of the amount's currency, e.g. "EUR".
        to_currency: ISO code of the currency wanted, e.g. "GBP".
    """
    rates = {code: EUR_RATES.get(code.upper()) for code in (from_currency, to_currency)}
    unknown = [code for code, rate in rates.items() if rate is None]
    if unknown:
        raise ToolError(f"Unknown currency {unknown[0]!r}; known: {', '.join(EUR_RATES)}.")
    converted = amount / EUR_RATES[from_currency.upper()] * EUR_RATES[to_currency.upper()]
    return {"amount": round(converted, 2), "currency": to_currency.upper()}


def trip_planner() -> Agent:
    """The agent. Built once the endpoint is known: it reads ANTHROPIC_* when it is made."""
    return Agent(
        MODEL,
        tools=[get_forecast, find_trains, convert_currency],
        system="You plan day trips. Check facts with the tools; call independent tools together.",
        max_tokens=1024,
    )


# -- running it, with a live view of what happens ---------------------------------------------


class LiveView:
    """Prints a run as it happens: streamed text, and a line per tool call as it starts and ends."""

    def __init__(self) -> None:
        self.column = 0  # streamed text does not end its lines: where the cursor is
        self.running: set[str] = set()  # tool_use ids of this turn's calls still running
        self.durations: list[float] = []  # of this turn's calls
        self.turn_started = 0.0

    def show(self, event: Event) -> None:
        if isinstance(event, TextDelta):
            print(event.text, end="", flush=True)
            self.column += len(event.text)
        elif isinstance(event, ToolCallStarted):
            self.new_line()
            if not self.running:
                self.turn_started, self.durations = time.perf_counter(), []
            self.running.add(event.tool_use_id)
            arguments = ", ".join(f"{name}={value!r}" for name, value in event.input.items())
            print(f"  -> {event.name}({arguments})", flush=True)
        elif isinstance(event, ToolCallFinished):
            self.new_line()
            self.running.discard(event.tool_use_id)
            self.durations.append(event.duration_s)
            content = event.result.content
            text = content if isinstance(content, str) else str(content)
            text = text if len(text) <= 100 else text[:97] + "..."
            status = "error" if event.is_error else "ok"
            print(f"  <- {event.name} {status} in {event.duration_s:.2f} s: {text}", flush=True)
            if not self.running:
                self.turn_done()

    def turn_done(self) -> None:
        if len(self.durations) > 1:
            took = time.perf_counter() - self.turn_started
            print(
                f"  [{len(self.durations)} calls ran in parallel: {took:.2f} s in all, "
                f"{sum(self.durations):.2f} s one after another]"
            )
        print()

    def new_line(self) -> None:
        if self.column:
            print()
            self.column = 0


async def main() -> None:
    print(f"> {PROMPT}\n")
    view = LiveView()
    agent = trip_planner()
    async with agent, agent.stream(PROMPT) as run:
        async for event in run:
            view.show(event)
    result = run.result
    usage = result.usage
    print(
        f"\n\n[{result.turns} requests, {result.tool_calls} tool calls, "
        f"{usage.input_tokens} input + {usage.output_tokens} output tokens, "
        f"stop_reason {result.stop_reason}]"
    )


# -- the offline model: what a model would plausibly answer, computed from the tool results ---


def results_in(message: MessageParam) -> dict[str, Any]:
    """The JSON results of one message of tool results, by tool_use id."""
    return {
        b.tool_use_id: json.loads(b.content)
        for b in message.blocks()
        if isinstance(b, ToolResultBlock) and isinstance(b.content, str) and not b.is_error
    }


def plan_checks(request: MessageRequest) -> Reply:
    """Turn 1: everything that can be looked up at once."""
    return reply(
        "I'll check the weather and the trains for both cities at once.",
        tool_call("get_forecast", {"city": "Lyon", "day": "saturday"}, id="toolu_01"),
        tool_call("get_forecast", {"city": "London", "day": "saturday"}, id="toolu_02"),
        tool_call("find_trains", {"origin": "Paris", "destination": "Lyon"}, id="toolu_03"),
        tool_call("find_trains", {"origin": "Paris", "destination": "London"}, id="toolu_04"),
    )


def convert_what_is_left(request: MessageRequest) -> Reply:
    """Turn 2: what the fares leave, and a conversion that needed them."""
    found = results_in(request.messages[-1])
    left_lyon = 150 - found["toolu_03"]["return_fare_eur"]
    left_london = 150 - found["toolu_04"]["return_fare_eur"]
    return reply(
        f"Lyon leaves you {left_lyon} EUR. London leaves {left_london} EUR; "
        "let me see what that is in pounds.",
        tool_call(
            "convert_currency",
            {"amount": left_london, "from_currency": "EUR", "to_currency": "GBP"},
            id="toolu_05",
        ),
    )


def recommend(request: MessageRequest) -> Reply:
    """Turn 3: the answer, from every result so far."""
    checks = results_in(request.messages[-3])
    pounds = results_in(request.messages[-1])["toolu_05"]
    lyon, london = checks["toolu_01"], checks["toolu_02"]
    lyon_train, london_train = checks["toolu_03"], checks["toolu_04"]
    return reply(
        f"Go to Lyon. Saturday's forecast there is {lyon['sky']}, {lyon['high_c']} C, with a "
        f"{lyon['rain_chance']:.0%} chance of rain; London expects {london['sky']} "
        f"({london['rain_chance']:.0%}). The {lyon_train['operator']} takes "
        f"{lyon_train['hours']:g} hours and the return fare is {lyon_train['return_fare_eur']} "
        f"EUR, which leaves you {150 - lyon_train['return_fare_eur']} EUR for lunch and the old "
        f"town. London would cost {london_train['return_fare_eur']} EUR by "
        f"{london_train['operator']} and leave only {pounds['amount']:.2f} "
        f"{pounds['currency']} to spend."
    )


if __name__ == "__main__":
    with scripted_model([plan_checks, convert_what_is_left, recommend]):
        anyio.run(main)
