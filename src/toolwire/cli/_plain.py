"""The view without a terminal: plain lines, for pipes, logs and CI.

The answer's text is written as it streams; each tool call gets one line when it starts and
one when it ends; the run ends with a summary line. Every line is flushed at once, so a
reader at the other end of a pipe sees the run as it goes.
"""

from __future__ import annotations

from typing import Any, TextIO

from toolwire import (
    Event,
    ResponseReceived,
    RunResult,
    TextDelta,
    ToolCallFinished,
    ToolCallStarted,
    ToolProgress,
)

from ._format import call_text, duration_text, failure_reason, shorten, summary_parts

__all__ = ["PlainView", "QuietView"]


class PlainView:
    """Writes a run to ``out`` as lines: ``[tool] ...`` for each call, ``[done] ...`` at the end."""

    def __init__(self, out: TextIO) -> None:
        self._out = out
        self._at_line_start = True
        self._running: dict[str, str] = {}

    def start(self) -> None:
        """Nothing to set up."""

    def close(self) -> None:
        """End an unfinished line."""
        self._end_line()

    def _write(self, text: str) -> None:
        self._out.write(text)
        self._out.flush()
        if text:
            self._at_line_start = text.endswith("\n")

    def _end_line(self) -> None:
        if not self._at_line_start:
            self._write("\n")

    def _line(self, text: str) -> None:
        self._end_line()
        self._write(text + "\n")

    def event(self, event: Event) -> None:
        """Show one event of the run."""
        if isinstance(event, TextDelta):
            self._write(event.text)
        elif isinstance(event, ResponseReceived):
            self._end_line()
        elif isinstance(event, ToolCallStarted):
            call = call_text(event.name, event.input)
            self._running[event.tool_use_id] = call
            self._line(f"[tool] {call} started")
        elif isinstance(event, ToolProgress):
            call = self._running.get(event.tool_use_id, event.name)
            self._line(f"[tool] {call} progress: {shorten(str(event.data), 80)}")
        elif isinstance(event, ToolCallFinished):
            call = self._running.pop(event.tool_use_id, event.name)
            took = duration_text(event.duration_s)
            if event.is_error:
                self._line(f"[tool] {call} error in {took}: {failure_reason(event)}")
            else:
                self._line(f"[tool] {call} ok in {took}")

    def finish(self, result: RunResult[Any], elapsed: float) -> None:
        """The summary line of a finished run."""
        self._line("[done] " + ", ".join(summary_parts(result, elapsed)))

    def stop(self, why: str) -> None:
        """The run ended without a result: calls still running are shown as ended by ``why``."""
        for call in self._running.values():
            self._line(f"[tool] {call} {why}")
        self._running.clear()


class QuietView:
    """Shows nothing while the run goes on (``--json`` prints only the result)."""

    def start(self) -> None:
        """Nothing to set up."""

    def close(self) -> None:
        """Nothing to tear down."""

    def event(self, event: Event) -> None:
        """Ignore the event."""

    def finish(self, result: RunResult[Any], elapsed: float) -> None:
        """Ignore the result; the command prints it."""

    def stop(self, why: str) -> None:
        """Nothing was shown, so nothing is left to end."""
