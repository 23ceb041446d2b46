"""The run context a tool can ask for by annotating a parameter ``Context``."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Generic

import anyio.from_thread
import anyio.lowlevel
from typing_extensions import TypeVar

from toolwire._events import ToolProgress
from toolwire._wire.messages import MessageParam, Usage

if TYPE_CHECKING:
    from anyio.lowlevel import EventLoopToken

__all__ = ["Context", "DepsT"]

DepsT = TypeVar("DepsT", default=Any)
"""The type of the dependencies a run hands to its tools (``Context[MyDeps]``)."""


class Context(Generic[DepsT]):
    """What a tool call knows about its run; injected, never part of the tool's input schema.

    Annotate one parameter ``Context`` (or ``Context[MyDeps]``), in any position, and the call
    receives the run's ``deps``, its ``run_id``, this call's ``tool_use_id`` and ``tool_name``,
    the ``usage`` and ``transcript`` so far (read them, do not change them), a ``progress()``
    method that reports progress as events (never as model input), and ``cancelled``, which
    turns true when the call timed out or the run was cancelled, so a sync tool running in a
    worker thread can stop early.
    """

    def __init__(
        self,
        *,
        deps: DepsT,
        run_id: str = "",
        tool_use_id: str = "",
        tool_name: str = "",
        usage: Usage | None = None,
        transcript: Sequence[MessageParam] = (),
    ) -> None:
        self.deps = deps
        self.run_id = run_id
        self.tool_use_id = tool_use_id
        self.tool_name = tool_name
        self.usage = usage if usage is not None else Usage()
        self.transcript: list[MessageParam] = list(transcript)
        self._cancelled = False
        self._sink: Callable[[ToolProgress], None] | None = None
        self._loop_thread: int | None = None
        self._token: EventLoopToken | None = None

    @property
    def cancelled(self) -> bool:
        """True once this call timed out or its run was cancelled; its result is already final."""
        return self._cancelled

    @property
    def idempotency_key(self) -> str:
        """``"{run_id}:{tool_use_id}"``: the same for every attempt at this call, unique per run."""
        return f"{self.run_id}:{self.tool_use_id}"

    def progress(self, data: Any) -> None:
        """Report progress; it becomes a ``ToolProgress`` event and never reaches the model.

        Safe to call from the event loop and from the worker thread a sync tool runs in.
        Reports made after the call was cancelled, or with nobody listening, are dropped.
        """
        sink = self._sink
        if sink is None or self._cancelled:
            return
        event = ToolProgress(tool_use_id=self.tool_use_id, name=self.tool_name, data=data)
        if threading.get_ident() == self._loop_thread:
            sink(event)
            return
        try:
            anyio.from_thread.run_sync(self._deliver, event, token=self._token)
        except Exception:
            # The run ended while a worker thread was still reporting: nobody is listening.
            return

    def _deliver(self, event: ToolProgress) -> None:
        # In the loop's thread; the call may have ended since the worker thread sent this.
        sink = self._sink
        if sink is not None and not self._cancelled:
            sink(event)

    def _listen(self, sink: Callable[[ToolProgress], None] | None) -> None:
        """Send progress to ``sink``; called by the dispatcher from inside the event loop."""
        self._sink = sink
        self._loop_thread = threading.get_ident()
        self._token = anyio.lowlevel.current_token()

    def _detach(self) -> None:
        """Stop reporting progress: the call is over."""
        self._sink = None

    def _cancel(self) -> None:
        self._cancelled = True

    def __repr__(self) -> str:
        # deps may hold clients and keys: never shown.
        return (
            f"Context(run_id={self.run_id!r}, tool_name={self.tool_name!r}, "
            f"tool_use_id={self.tool_use_id!r}, cancelled={self._cancelled})"
        )
