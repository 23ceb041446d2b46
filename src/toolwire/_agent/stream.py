"""The live view of a streamed run: its events as they happen, then its result."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream

from .._events import Event
from .._wire.messages import MessageParam, Usage
from .result import RunResult

if TYPE_CHECKING:
    from .loop import Run

__all__ = ["RunStream"]


class RunStream:
    """``async for event in run`` yields every event; ``run.result`` is the ``RunResult`` after.

    If the run failed, iteration ends by raising its exception (with the transcript attached),
    and so does ``result``. ``transcript`` and ``usage`` are live while the run goes on.
    """

    def __init__(self, receive: MemoryObjectReceiveStream[Event], run: Run) -> None:
        self._receive = receive
        self._run = run
        self._result: RunResult[Any] | None = None
        self._error: BaseException | None = None

    @property
    def run_id(self) -> str:
        """The run's id, as in its events and logs."""
        return self._run.run_id

    @property
    def transcript(self) -> list[MessageParam]:
        """The transcript so far; always valid to save and resume."""
        return list(self._run.transcript)

    @property
    def usage(self) -> Usage:
        """Tokens used so far."""
        return self._run.usage

    def __aiter__(self) -> AsyncIterator[Event]:
        return self._events()

    async def _events(self) -> AsyncIterator[Event]:
        receive = self._receive
        async with receive:
            while True:
                # Events already waiting are taken without a trip through the event loop;
                # a run emits them in bursts (every delta of a chunk at once).
                try:
                    event = receive.receive_nowait()
                except anyio.WouldBlock:
                    try:
                        event = await receive.receive()
                    except anyio.EndOfStream:
                        break
                except anyio.EndOfStream:
                    break
                yield event
        if self._error is not None:
            raise self._error

    @property
    def result(self) -> RunResult[Any]:
        """The finished run's result; raises the run's error if it failed."""
        if self._error is not None:
            raise self._error
        if self._result is None:
            raise RuntimeError("the run has not finished: iterate over its events first")
        return self._result
