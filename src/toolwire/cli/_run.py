"""One run of an agent for the command line: events to a view, Ctrl-C to a clean cancel.

Ctrl-C (SIGINT) cancels the run like any other cancellation: running tools are cancelled,
every tool call of the turn still gets its answer, and the transcript stays valid to save
and resume. The handler is in place only until that first Ctrl-C; a second one while the
run is winding down interrupts the process outright.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import anyio
from anyio.abc import TaskStatus

from toolwire import Agent, Event, MessageParam, RunResult, RunStream
from toolwire._agent.loop import Checkpoint

__all__ = ["Outcome", "View", "drive"]


class View(Protocol):
    """What shows a run: ``start``, then ``event`` for each event, then ``finish`` or ``stop``,
    then ``close``."""

    def start(self) -> None:
        """Begin showing the run."""

    def event(self, event: Event) -> None:
        """Show one event."""

    def finish(self, result: RunResult[Any], elapsed: float) -> None:
        """The run finished with ``result`` after ``elapsed`` seconds."""

    def stop(self, why: str) -> None:
        """The run ended without a result (``why`` is ``"failed"`` or ``"cancelled"``)."""

    def close(self) -> None:
        """Stop showing the run; what is on screen stays."""


@dataclass
class Outcome:
    """How a run ended: its result, or the exception that ended it, or an interruption.

    ``transcript`` is the transcript at the end, whatever the ending (``None`` only when the
    run never started).
    """

    result: RunResult[Any] | None = None
    error: Exception | None = None
    interrupted: bool = False
    transcript: list[MessageParam] | None = None


async def _cancel_on_sigint(
    scope: anyio.CancelScope, outcome: Outcome, *, task_status: TaskStatus[None]
) -> None:
    if threading.current_thread() is not threading.main_thread():
        # Signals reach the main thread only; elsewhere the caller owns interruption.
        task_status.started()
        return
    previous = signal.getsignal(signal.SIGINT)
    try:
        with anyio.open_signal_receiver(signal.SIGINT) as signals:
            task_status.started()
            async for _ in signals:
                outcome.interrupted = True
                scope.cancel()
                return
    finally:
        # Closing the receiver resets SIGINT to Python's default; a caller may have had its own.
        signal.signal(signal.SIGINT, previous)


async def drive(
    agent: Agent[Any],
    prompt: str | None,
    *,
    history: Sequence[MessageParam] | None,
    view: View,
    checkpoint: Checkpoint | None = None,
    catch_sigint: bool = True,
) -> Outcome:
    """Run ``agent`` with streamed events shown by ``view``; never raises for the run's errors.

    The run's exception (a ``ToolwireError`` or any other ``Exception``) comes back in
    ``Outcome.error``. With ``catch_sigint``, Ctrl-C cancels the run and sets
    ``Outcome.interrupted``.
    """
    outcome = Outcome()
    started = time.monotonic()
    async with anyio.create_task_group() as tg:
        with anyio.CancelScope() as scope:
            if catch_sigint:
                await tg.start(_cancel_on_sigint, scope, outcome)
            handle: RunStream | None = None
            view.start()
            try:
                async with agent.stream(prompt, history=history, checkpoint=checkpoint) as run:
                    handle = run
                    async for event in run:
                        view.event(event)
                    outcome.result = run.result
            except Exception as exc:
                outcome.error = exc
            finally:
                if handle is not None:
                    outcome.transcript = handle.transcript
                if outcome.result is not None:
                    view.finish(outcome.result, time.monotonic() - started)
                else:
                    view.stop("failed" if outcome.error is not None else "cancelled")
                view.close()
        tg.cancel_scope.cancel()
    return outcome
