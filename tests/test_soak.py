"""The soak at test-suite size: thousands of runs at once, random faults, nothing left behind.

The machinery is ``benchmarks/soak.py`` (the longer, configurable soak is that file run as a
script); this test runs it small enough for CI, on asyncio and on trio. One fake Messages API
serves every run: most of them in-process, a smaller share over ``api.serve()`` on loopback.
Its script is one callable that answers each request, at random but seeded, with a tool turn,
a final text, or a fault.

What it holds: every run ends in success or a typed ``ToolwireError``, never another exception;
every transcript, failed runs' included, is valid to send; every request the fake received was
valid. Afterwards there is no task left in the event loop, no thread but idle workers of the
backend's thread pool, no socket left open, and as many memory blocks allocated as before,
within a margin.

On the threads: sync tools run in the backend's worker threads, which stay in the pool, idle,
for reuse (anyio's pool on asyncio until the event loop ends, trio's thread cache for 10 s).
Those are accounted for, not waited for: a new thread after the soak must carry the idle name
of a pool worker (``AnyIO worker thread``; ``Trio thread N``, which trio gives a worker only
while it has no job), and there may be no more of them than the default thread limiter lets
run at once. Any other new thread fails the test.
"""

from __future__ import annotations

import gc
import importlib.util
import sys
import weakref
from collections import Counter
from pathlib import Path
from types import ModuleType
from typing import Any

import anyio
import anyio.to_thread
import pytest

from toolwire import Agent, MessagesClient
from toolwire.testing import FakeMessagesAPI, check_request, reply, thinking, tool_call

pytestmark = pytest.mark.anyio


def _load_soak() -> ModuleType:
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "soak.py"
    spec = importlib.util.spec_from_file_location("toolwire_benchmarks_soak", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being built
    spec.loader.exec_module(module)
    return module


soak = _load_soak()

IN_PROCESS_RUNS = 1000
LOOPBACK_RUNS = 200
BLOCK_MARGIN = 1_000
"""Memory blocks the soak may leave allocated: fewer than one per run."""
BLOCKS_PER_POOL_WORKER = 150
"""What one new idle worker thread holds (its thread object, queue, locks: about 130 blocks)."""


def allocated_blocks() -> int:
    gc.collect()
    sys._clear_type_cache()
    return sys.getallocatedblocks()


def object_types() -> Counter[str]:
    return Counter(type(o).__qualname__ for o in gc.get_objects())


async def settled_sockets(baseline: int) -> int:
    """The socket count once closed connections' last callbacks have run (at most 2 s)."""
    count: int = soak.socket_fds()
    with anyio.move_on_after(2.0):
        while count > baseline:
            await anyio.sleep(0.01)
            count = soak.socket_fds()
    return count


def check_report(report: Any, runs: int) -> None:
    assert report.untyped == [], report.untyped[:5]
    assert report.invalid_transcripts == [], report.invalid_transcripts[:5]
    assert report.runs == runs
    assert sum(report.outcomes.values()) == runs
    assert report.outcomes["ok"] > 0
    assert len(report.outcomes) > 1, "no run ended in an error: the faults did not bite"
    assert 0 < report.streamed < runs


async def warm_up() -> None:
    """A few runs both ways on a fake of their own, so that what is loaded or cached once
    (modules, schemas, the server's imports) is there before the census; and pydantic-core's
    table of short strings parsed from JSON, which has a fixed size, filled."""
    warm = FakeMessagesAPI([soak.SoakScript(seed=1, fault_rate=0.15)], cycle=True)
    config = soak.SoakConfig(runs=100, concurrency=50, seed=1)
    async with warm.client(retry=soak.RETRIES) as client:
        await soak.run_soak(client, config)
    with warm.serve() as url:
        async with MessagesClient(warm.endpoint(url), retry=soak.RETRIES) as client:
            await soak.run_soak(client, config, first_run=config.runs)
    soak.fill_string_cache()


async def test_soak_ends_every_run_typed_and_leaves_nothing_behind() -> None:
    await warm_up()
    before = soak.census()
    types_before = object_types()
    blocks_before = allocated_blocks()

    script = soak.SoakScript(seed=7, fault_rate=0.15)
    api = FakeMessagesAPI([script], cycle=True)
    config = soak.SoakConfig(runs=IN_PROCESS_RUNS, concurrency=200, seed=7)
    async with api.client(retry=soak.RETRIES) as client:
        in_process = await soak.run_soak(client, config)
    check_report(in_process, IN_PROCESS_RUNS)

    with api.serve() as url:
        async with MessagesClient(api.endpoint(url), retry=soak.RETRIES) as client:
            over_loopback = await soak.run_soak(
                client,
                soak.SoakConfig(runs=LOOPBACK_RUNS, concurrency=50, seed=7),
                first_run=IN_PROCESS_RUNS,
            )
    check_report(over_loopback, LOOPBACK_RUNS)

    api.assert_valid()
    assert len(api.requests) > IN_PROCESS_RUNS + LOOPBACK_RUNS
    assert set(script.faults) == set(soak.FAULTS), "every kind of fault was injected"
    del api, script, client, in_process, over_loopback

    after = soak.census()
    left = soak.leaks(before, after)
    assert left.tasks == []
    assert left.threads == []
    limit = anyio.to_thread.current_default_thread_limiter().total_tokens
    assert len(left.pool_workers) <= limit
    assert await settled_sockets(before.sockets) == before.sockets
    grown = allocated_blocks() - blocks_before
    margin = BLOCK_MARGIN + BLOCKS_PER_POOL_WORKER * len(left.pool_workers)
    assert grown < margin, (
        f"{grown} more memory blocks allocated than before the soak (margin {margin}); "
        f"most grown: {(object_types() - types_before).most_common(8)}"
    )


# -- what the soak found ----------------------------------------------------------------------


async def test_the_fake_checks_only_against_responses_with_thinking(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Checking each request against every response sent made the fake quadratic in a soak."""
    from toolwire.testing import _app

    seen: list[int] = []

    def counting(body: Any, sent: Any = None) -> list[str]:
        seen.append(len(list(sent or [])))
        return check_request(body, sent)

    monkeypatch.setattr(_app, "check_request", counting)
    thought = thinking("Adding.")
    api = FakeMessagesAPI(
        [
            *[reply(f"answer {i}") for i in range(5)],
            reply(thought, tool_call("add", {"a": 1, "b": 2})),
            reply("3"),
        ]
    )
    async with api.client() as client:
        agent = Agent("claude-test", client=client, tools=soak.TOOLS)
        for i in range(5):
            await agent.run(f"question {i}")
        result = await agent.run("add 1 and 2")
    assert result.text == "3"
    api.assert_valid()
    # The thinking rules still see the one response that had thinking in it.
    assert seen == [0, 0, 0, 0, 0, 0, 1]


async def test_results_do_not_rebuild_a_class_per_run() -> None:
    """``RunResult[Any](...)`` rebuilt the parametrised class whenever it had been collected."""
    api = FakeMessagesAPI([reply("one"), reply("two")])
    async with api.client() as client:
        agent = Agent("claude-test", client=client)
        kind = weakref.ref(type(await agent.run("first")))
        gc.collect()
        second = await agent.run("second")
    assert type(second) is kind()
