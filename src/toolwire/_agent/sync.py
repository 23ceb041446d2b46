"""Running a coroutine from synchronous code, including where an event loop already runs."""

from __future__ import annotations

import asyncio
import sys
import threading
from collections.abc import Awaitable, Callable
from typing import TypeVar

import anyio

T = TypeVar("T")

__all__ = ["run_sync"]


def _loop_running_here() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        return True
    trio = sys.modules.get("trio")
    if trio is not None:
        try:
            trio.lowlevel.current_trio_token()
        except RuntimeError:
            return False
        return True
    return False


def run_sync(fn: Callable[[], Awaitable[T]]) -> T:
    """Run ``fn()`` to completion and return its value, from code that is not async.

    With no event loop on this thread (scripts, worker threads), it runs on a fresh loop here.
    Where a loop already runs on this thread (a notebook cell), blocking it from inside would
    deadlock, so the coroutine runs on a private loop in a helper thread while this one waits.
    """

    async def main() -> T:
        return await fn()

    if not _loop_running_here():
        return anyio.run(main)

    outcome: list[T] = []
    failure: list[BaseException] = []

    def target() -> None:
        try:
            outcome.append(anyio.run(main))
        except BaseException as exc:  # handed to the calling thread below
            failure.append(exc)

    thread = threading.Thread(target=target, name="toolwire-run-sync", daemon=True)
    thread.start()
    thread.join()
    if failure:
        raise failure[0]
    return outcome[0]
