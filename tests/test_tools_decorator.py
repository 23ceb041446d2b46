"""@tool on functions, coroutines, bound methods and callable objects; Context; Toolset."""

from __future__ import annotations

import functools
import inspect
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from toolwire._errors import ToolDefinitionError
from toolwire._events import ToolProgress
from toolwire._tools import Context, FunctionTool, Tool, Toolset, tool
from toolwire._wire.messages import MessageParam, Usage


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@tool(name="weather", timeout=5, sequential=True, max_retries=1)
async def get_weather(city: str) -> dict[str, Any]:
    """Get the weather."""
    return {"city": city, "temp": 21}


def test_the_tool_stays_callable_like_the_function() -> None:
    assert add(2, 3) == 5
    assert add(a=2, b=3) == 5
    assert isinstance(add, Tool)
    assert isinstance(add, FunctionTool)
    assert add.__name__ == "add"
    assert add.__doc__ == "Add two integers."
    assert str(inspect.signature(add)) == "(a: 'int', b: 'int') -> 'int'"
    assert repr(add) == "FunctionTool(name='add')"


@pytest.mark.anyio
async def test_an_async_tool_stays_awaitable() -> None:
    assert await get_weather("Paris") == {"city": "Paris", "temp": 21}
    assert get_weather.is_async
    assert not add.is_async


def test_options_are_kept() -> None:
    assert get_weather.name == "weather"
    assert get_weather.timeout == 5
    assert get_weather.sequential is True
    assert get_weather.max_retries == 1
    assert add.timeout is None
    assert add.sequential is False
    assert add.max_retries == 3
    assert add.strict is False


def test_redecorating_a_tool_with_options_wraps_the_original_function() -> None:
    renamed = tool(name="plus")(add)
    assert renamed.name == "plus"
    assert renamed(1, 1) == 2
    assert renamed.fn is add.fn


class Library:
    """Holds books."""

    def __init__(self) -> None:
        self.books = {"dune": "Herbert"}

    def author(self, title: str) -> str:
        """Find a book's author.

        Args:
            title: The book's title.
        """
        return self.books[title]

    async def count(self) -> int:
        """How many books there are."""
        return len(self.books)


@dataclass
class Multiplier:
    """Multiply by a fixed factor."""

    factor: int

    def __call__(self, x: int) -> int:
        """Multiply.

        Args:
            x: The number.
        """
        return x * self.factor


class AsyncEcho:
    """Echo text back."""

    async def __call__(self, text: str, ctx: Context[None]) -> str:
        return f"{text} ({ctx.tool_use_id})"


def ctx(tool_use_id: str = "toolu_1", deps: Any = None) -> Context[Any]:
    return Context(deps=deps, tool_use_id=tool_use_id, run_id="run_1", tool_name="t")


@pytest.mark.anyio
async def test_bound_methods_are_tools_without_self() -> None:
    library = Library()
    author = tool(library.author)
    count = tool(library.count)
    assert author.name == "author"
    assert author.description == "Find a book's author."
    assert author.input_schema["properties"] == {
        "title": {"type": "string", "description": "The book's title."}
    }
    assert author("dune") == "Herbert"
    assert (await author.run({"title": "dune"}, ctx())).result.content == "Herbert"
    assert count.is_async
    assert (await count.run({}, ctx())).result.content == "1"


@pytest.mark.anyio
async def test_callable_objects_are_tools() -> None:
    triple = tool(Multiplier(3))
    assert triple.name == "Multiplier"
    assert triple.description == "Multiply by a fixed factor."
    assert triple.input_schema["properties"]["x"] == {
        "type": "integer",
        "description": "The number.",
    }
    assert triple(2) == 6
    assert (await triple.run({"x": 4}, ctx())).result.content == "12"

    echo = tool(name="echo")(AsyncEcho())
    assert echo.is_async
    assert echo.input_schema["required"] == ["text"]
    assert (await echo.run({"text": "hi"}, ctx("toolu_9"))).result.content == "hi (toolu_9)"


@pytest.mark.anyio
async def test_sync_tools_run_in_a_worker_thread_and_async_ones_in_the_loop() -> None:
    loop_thread = threading.get_ident()
    seen: dict[str, int] = {}

    @tool
    def sync_tool() -> None:
        """Sync."""
        seen["sync"] = threading.get_ident()

    @tool
    async def async_tool() -> None:
        """Async."""
        seen["async"] = threading.get_ident()

    await sync_tool.run({}, ctx())
    await async_tool.run({}, ctx())
    assert seen["sync"] != loop_thread
    assert seen["async"] == loop_thread


@pytest.mark.anyio
async def test_a_plain_wrapper_around_a_coroutine_function_counts_as_async() -> None:
    def logged(fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            return fn(*args, **kwargs)

        return wrapper

    @logged
    async def fetch(key: str) -> str:
        """Fetch."""
        return key.upper()

    made = tool(fetch)
    assert made.is_async
    assert made.input_schema["required"] == ["key"]
    assert (await made.run({"key": "k"}, ctx())).result.content == "K"


@pytest.mark.anyio
async def test_partials_are_tools_named_and_documented_by_their_function() -> None:
    def scale(x: int, factor: int) -> int:
        """Scale a number.

        Args:
            x: The number.
        """
        return x * factor

    double = tool(functools.partial(scale, factor=2))
    assert double.name == "scale"
    assert double.description == "Scale a number."
    assert double.input_schema["required"] == ["x"]
    assert double(3) == 6
    assert (await double.run({"x": 4}, ctx())).result.content == "8"


@dataclass
class Deps:
    api_base: str


@pytest.mark.anyio
async def test_context_gives_the_run_to_the_tool() -> None:
    received: list[Context[Deps]] = []

    @tool
    async def inspect_run(query: str, ctx: Context[Deps]) -> str:
        """Look at the run."""
        received.append(ctx)
        return f"{ctx.deps.api_base}/{query}"

    transcript = [MessageParam(role="user", content="hi")]
    context = Context(
        deps=Deps("https://api.example"),
        run_id="run_7",
        tool_use_id="toolu_3",
        tool_name="inspect_run",
        usage=Usage(input_tokens=10, output_tokens=2),
        transcript=transcript,
    )
    outcome = await inspect_run.run({"query": "q"}, context)
    assert outcome.result.content == "https://api.example/q"
    (got,) = received
    assert got is context
    assert got.usage.input_tokens == 10
    assert got.transcript == transcript
    assert got.idempotency_key == "run_7:toolu_3"
    assert got.cancelled is False
    assert "api.example" not in repr(got)  # deps stay out of reprs


@pytest.mark.anyio
async def test_progress_reaches_the_sink_from_the_loop_and_from_worker_threads() -> None:
    events: list[ToolProgress] = []
    threads: list[int] = []

    def sink(event: ToolProgress) -> None:
        threads.append(threading.get_ident())
        events.append(event)

    @tool
    def sync_worker(ctx: Context[None]) -> None:
        """Reports from its worker thread."""
        ctx.progress({"step": 1})
        ctx.progress({"step": 2})

    @tool
    async def async_worker(ctx: Context[None]) -> None:
        """Reports from the loop."""
        ctx.progress("half")

    context = ctx("toolu_p")
    context.tool_name = "sync_worker"
    context._listen(sink)
    await sync_worker.run({}, context)
    other = ctx("toolu_q")
    other.tool_name = "async_worker"
    other._listen(sink)
    await async_worker.run({}, other)
    assert events == [
        ToolProgress(tool_use_id="toolu_p", name="sync_worker", data={"step": 1}),
        ToolProgress(tool_use_id="toolu_p", name="sync_worker", data={"step": 2}),
        ToolProgress(tool_use_id="toolu_q", name="async_worker", data="half"),
    ]
    assert set(threads) == {threading.get_ident()}  # always delivered in the loop's thread


def test_progress_without_a_listener_or_after_cancellation_is_dropped() -> None:
    context = ctx()
    context.progress("nobody listens")  # no error
    seen: list[ToolProgress] = []
    context._sink = seen.append
    context._cancel()
    context.progress("too late")
    assert seen == []
    assert context.cancelled


class TestToolset:
    def test_order_lookup_len_and_definitions(self) -> None:
        tools = Toolset([add, get_weather])
        assert len(tools) == 2
        assert [t.name for t in tools] == ["add", "weather"]
        assert tools.names == ["add", "weather"]
        assert tools.get("weather") is get_weather
        assert tools["add"] is add
        assert tools.get("nope") is None
        assert "add" in tools
        assert [d.name for d in tools.definitions()] == ["add", "weather"]
        assert tools.definitions()[0].to_wire() == {
            "name": "add",
            "description": "Add two integers.",
            "input_schema": add.input_schema,
        }
        assert repr(tools) == "Toolset(['add', 'weather'])"

    def test_plain_functions_are_made_tools(self) -> None:
        def shout(text: str) -> str:
            """Shout."""
            return text.upper()

        tools = Toolset([shout])
        assert tools["shout"].input_schema["required"] == ["text"]

    def test_duplicate_names_are_refused(self) -> None:
        @tool(name="add")
        def other_add(x: int) -> int:
            """Another add."""
            return x

        with pytest.raises(ToolDefinitionError, match="two tools are named 'add'"):
            Toolset([add, other_add])
        tools = Toolset([add])
        with pytest.raises(ToolDefinitionError, match="unique"):
            tools.add(other_add)
        assert len(tools) == 1
