"""The live terminal view of a run (rich): streamed text, tool calls with spinners, a summary.

What is final is printed once and scrolls up like any output: each complete line of text,
each turn's tool calls once they have all ended, the summary. Only what is still changing
sits in the live area at the bottom: the line of text being written, the current turn's tool
calls (a spinner and a clock per running call, so calls that run in parallel are seen
running together) and a status line while the model is being waited for.

rich redraws the live area from a thread of its own; the event handlers change state by
single assignments and take an item out of the live area before printing it, so a redraw
sees each item in one place or the other.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.padding import Padding
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text

from toolwire import (
    Event,
    RequestSent,
    ResponseReceived,
    RunResult,
    RunStarted,
    TextDelta,
    ThinkingDelta,
    ToolCallFinished,
    ToolCallStarted,
    ToolInputDelta,
    ToolProgress,
)

from ._format import call_text, duration_text, failure_reason, shorten, summary_parts

__all__ = ["LiveView"]

_REFRESH_PER_SECOND = 12.5


@dataclass
class _Call:
    """One tool call as the view shows it."""

    tool_use_id: str
    call: str
    started: float
    spinner: Spinner = field(default_factory=lambda: Spinner("dots", style="cyan"))
    duration: float | None = None
    state: str = "running"  # running, ok, error, cancelled
    detail: str = ""

    def mark(self) -> RenderableType:
        if self.state == "running":
            return self.spinner
        if self.state == "ok":
            return Text("✓", style="bold green")
        if self.state == "error":
            return Text("✗", style="bold red")
        return Text("■", style="yellow")

    def clock(self, now: float) -> Text:
        if self.duration is None:
            return Text(duration_text(now - self.started), style="dim")
        return Text(duration_text(self.duration))

    def note(self) -> Text:
        style = {"error": "red", "cancelled": "yellow"}.get(self.state, "dim")
        return Text(self.detail, style=style)


class LiveView:
    """Shows a run live on a terminal; ``console`` defaults to rich's console on stdout."""

    def __init__(self, console: Console | None = None) -> None:
        self.console = console if console is not None else Console()
        self._model = ""
        self._text = ""
        self._text_index: int | None = None
        self._calls: list[_Call] = []
        self._order: dict[str, int] = {}
        self._status: str | None = None
        self._status_spinner = Spinner("dots", style="cyan")
        self._live = Live(
            console=self.console,
            get_renderable=self.render,
            refresh_per_second=_REFRESH_PER_SECOND,
            transient=False,
        )

    # -- what the live area holds ------------------------------------------------------

    @property
    def running(self) -> list[str]:
        """The calls running now, as shown (``name(arg=...)``)."""
        return [c.call for c in self._calls if c.state == "running"]

    def render(self) -> RenderableType:
        """The live area as it is now."""
        items: list[RenderableType] = []
        text = self._text
        if text:
            items.append(Text(text))
        calls = list(self._calls)
        if calls:
            items.append(self._table(calls))
        status = self._status
        if status is not None:
            self._status_spinner.update(text=Text(status, style="dim"))
            items.append(self._status_spinner)
        return Group(*items)

    def _table(self, calls: list[_Call]) -> RenderableType:
        now = time.monotonic()
        table = Table.grid(padding=(0, 1))
        table.add_column(no_wrap=True, width=1)
        table.add_column(no_wrap=True, overflow="ellipsis", max_width=60)
        table.add_column(no_wrap=True, justify="right")
        table.add_column(no_wrap=True, overflow="ellipsis")
        for call in calls:
            table.add_row(call.mark(), Text(call.call), call.clock(now), call.note())
        return Padding(table, (0, 0, 0, 2), expand=False)

    # -- printing what is final --------------------------------------------------------

    def _flush_text(self) -> None:
        text, self._text = self._text, ""
        self._text_index = None
        if text:
            self.console.print(Text(text))

    def _flush_calls(self) -> None:
        calls, self._calls = self._calls, []
        if calls:
            self.console.print(self._table(calls))

    # -- the view protocol -------------------------------------------------------------

    def start(self) -> None:
        """Start drawing the live area."""
        self._live.start()

    def close(self) -> None:
        """Stop drawing; the last frame stays on screen."""
        self._live.stop()

    def event(self, event: Event) -> None:
        """Update the view with one event of the run."""
        if isinstance(event, TextDelta):
            self._on_text(event)
        elif isinstance(event, ToolCallStarted):
            self._status = None
            self._add(
                _Call(event.tool_use_id, call_text(event.name, event.input), time.monotonic())
            )
        elif isinstance(event, ToolCallFinished):
            self._on_finished(event)
        elif isinstance(event, ToolProgress):
            for call in self._calls:
                if call.tool_use_id == event.tool_use_id and call.state == "running":
                    call.detail = shorten(str(event.data), 40)
        elif isinstance(event, RunStarted):
            self._model = event.model
            self._status = f"waiting for {self._model}"
        elif isinstance(event, RequestSent):
            self._flush_calls()
            turn = f" (turn {event.turn})" if event.turn > 1 else ""
            self._status = f"waiting for {self._model}{turn}"
        elif isinstance(event, ThinkingDelta):
            self._status = "thinking"
        elif isinstance(event, ToolInputDelta):
            self._status = f"writing the input of {event.name}"
        elif isinstance(event, ResponseReceived):
            self._status = None
            self._order = {u.id: n for n, u in enumerate(event.message.tool_uses)}
            self._flush_text()

    def _add(self, call: _Call) -> None:
        # Calls start in whatever order the scheduler picks; they are listed in the model's.
        last = len(self._order)
        self._calls = sorted(
            [*self._calls, call], key=lambda c: self._order.get(c.tool_use_id, last)
        )

    def _on_text(self, event: TextDelta) -> None:
        self._status = None
        if self._text_index is not None and event.index != self._text_index:
            self._flush_text()
        self._text_index = event.index
        *done, rest = (self._text + event.text).split("\n")
        self._text = rest
        if done:
            self.console.print(Text("\n".join(done)))

    def _on_finished(self, event: ToolCallFinished) -> None:
        call = next((c for c in self._calls if c.tool_use_id == event.tool_use_id), None)
        if call is None:
            # A call that never ran (an unknown tool, a cut-off input) is answered all the same.
            call = _Call(event.tool_use_id, event.name, time.monotonic())
            self._add(call)
        call.detail = failure_reason(event) if event.is_error else ""
        call.duration = event.duration_s
        call.state = "error" if event.is_error else "ok"

    def finish(self, result: RunResult[Any], elapsed: float) -> None:
        """Print what is left and the summary of the finished run."""
        self._status = None
        self._flush_text()
        self._flush_calls()
        stop, *rest = summary_parts(result, elapsed)
        self.console.print(
            Text.assemble(
                ("done ", "bold green"), (stop, "bold"), (" · " + " · ".join(rest), "dim")
            )
        )

    def stop(self, why: str) -> None:
        """The run ended without a result: running calls are shown as ended by ``why``."""
        self._status = None
        now = time.monotonic()
        for call in self._calls:
            if call.state == "running":
                call.duration = now - call.started
                call.state = "cancelled"
                call.detail = why
        self._flush_text()
        self._flush_calls()
