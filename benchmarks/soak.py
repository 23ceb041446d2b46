#!/usr/bin/env python3
"""A soak of the agent loop: many runs at once against one fake Messages API that misbehaves.

Every request the fake gets is answered, at random but reproducibly, with a tool turn (one to
three calls of a sync tool and an async one), a final text, or a fault: 429 with
``retry-after: 0``, 529, 500, a dropped connection, a mid-stream ``error`` event, a truncated
response, or malformed JSON. Runs are JSON or streamed, mixed. At the end the script prints
throughput, outcome counts, run latency, peak RSS, and what was left behind: tasks, threads,
sockets. It exits non-zero if a run ended with anything but success or a typed ``ToolwireError``,
if a transcript was invalid, if a request broke a protocol rule, or if something leaked.

    uv run python benchmarks/soak.py --duration 150 --concurrency 200 --backend trio

``tests/test_soak.py`` runs the same machinery (``run_soak`` and the census functions) at
test-suite size.

Choices are keyed by the run's prompt, the request's turn and the attempt, so a run meets the
same faults whatever the interleaving, and a retry of a request that met a fault rolls again.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import random
import re
import resource
import sys
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any, Literal

import anyio
import anyio.to_thread
import pydantic_core

from toolwire import (
    Agent,
    MessageParam,
    MessageRequest,
    MessagesClient,
    RetryPolicy,
    Tool,
    ToolwireError,
    tool,
)
from toolwire.testing import FakeMessagesAPI, Fault, Reply, check_request, reply, tool_call

__all__ = [
    "FAULTS",
    "Census",
    "SoakConfig",
    "SoakReport",
    "SoakScript",
    "census",
    "leaks",
    "live_tasks",
    "run_soak",
    "socket_fds",
]

Transport = Literal["inprocess", "loopback"]

FAULTS: dict[str, Callable[[random.Random], Fault]] = {
    "429": lambda rng: Fault.status(429, retry_after=0),
    "529": lambda rng: Fault.status(529),
    "500": lambda rng: Fault.status(500),
    "drop": lambda rng: Fault.drop(),
    "stream_error": lambda rng: Fault.stream_error("overloaded_error", rng.randint(0, 6)),
    "truncate": lambda rng: Fault.truncate(rng.randint(1, 6)),
    "malformed_json": lambda rng: Fault.malformed_json(),
}
"""The faults injected, by name; each takes the request's random generator."""

RETRIES = RetryPolicy(max_retries=2, initial_delay=0.001, max_delay=0.01)
"""Backoff short enough for a soak: the waits are real sleeps."""


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@tool
async def lookup(key: str) -> dict[str, Any]:
    """Look a key up.

    Args:
        key: What to look up.
    """
    await anyio.sleep(0)
    return {"key": key, "value": len(key)}


TOOLS: list[Tool[Any]] = [add, lookup]


class SoakScript:
    """The fake's script: one callable answering every request, seeded and reproducible.

    Safe to call from the fake's server thread and the test's event loop at once.
    """

    def __init__(self, seed: int, fault_rate: float, max_tool_turns: int = 3) -> None:
        self.seed = seed
        self.fault_rate = fault_rate
        self.max_tool_turns = max_tool_turns
        self._attempts: dict[tuple[str, int], int] = {}
        self._lock = threading.Lock()
        self.faults: Counter[str] = Counter()

    def __call__(self, request: MessageRequest) -> Reply:
        """The answer to ``request``."""
        first = request.messages[0].content
        prompt = first if isinstance(first, str) else repr(first)
        turn = len(request.messages) // 2
        with self._lock:
            attempt = self._attempts.get((prompt, turn), 0)
            self._attempts[(prompt, turn)] = attempt + 1
        rng = random.Random(f"{self.seed}:{prompt}:{turn}:{attempt}")
        if rng.random() < self.fault_rate:
            kind = rng.choice(list(FAULTS))
            with self._lock:
                self.faults[kind] += 1
            return FAULTS[kind](rng)
        with self._lock:
            # This request is answered: a later request of the run has another turn.
            self._attempts.pop((prompt, turn), None)
        if turn < self.max_tool_turns and rng.random() < 0.6:
            calls = [
                tool_call("add", {"a": rng.randint(0, 99), "b": rng.randint(0, 99)})
                if rng.random() < 0.5
                else tool_call("lookup", {"key": f"k{rng.randint(0, 999)}"})
                for _ in range(rng.randint(1, 3))
            ]
            return reply(f"Turn {turn}: calling tools.", *calls)
        return reply(f"Final answer after {turn} tool turn(s).")


@dataclass
class SoakConfig:
    """How big a soak is. ``duration`` (seconds), when set, keeps starting runs until then."""

    runs: int = 2000
    concurrency: int = 200
    fault_rate: float = 0.15
    streamed_share: float = 0.5
    seed: int = 0
    duration: float | None = None


@dataclass
class SoakReport:
    """What a soak saw."""

    runs: int = 0
    seconds: float = 0.0
    outcomes: Counter[str] = field(default_factory=Counter)
    """``"ok"``, or the name of the typed error a run ended with."""
    untyped: list[str] = field(default_factory=list)
    """Runs that ended with an exception that is not a ``ToolwireError``."""
    invalid_transcripts: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    streamed: int = 0

    def percentile(self, p: float) -> float:
        """Run latency at percentile ``p`` (0-100), in seconds."""
        if not self.latencies:
            return 0.0
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]

    def merge(self, other: SoakReport) -> None:
        """Add another soak's figures to these."""
        self.runs += other.runs
        self.seconds += other.seconds
        self.outcomes.update(other.outcomes)
        self.untyped += other.untyped
        self.invalid_transcripts += other.invalid_transcripts
        self.latencies += other.latencies
        self.streamed += other.streamed


def transcript_problems(transcript: list[MessageParam] | None) -> list[str]:
    """What makes a transcript unfit to send (``[]``: it is valid)."""
    if transcript is None:
        return ["no transcript"]
    body = {"model": "m", "max_tokens": 1, "messages": [m.to_wire() for m in transcript]}
    return check_request(body)


async def run_soak(
    client: MessagesClient,
    config: SoakConfig,
    *,
    first_run: int = 0,
    on_progress: Callable[[SoakReport], Awaitable[None] | None] | None = None,
) -> SoakReport:
    """Run ``config.runs`` runs (or until ``config.duration``), ``config.concurrency`` at once.

    Every run uses ``client``; run ``n`` sends the prompt ``"soak run {n}"``, numbered from
    ``first_run`` so two soaks on one fake do not share choices.
    """
    agent = Agent("claude-soak", client=client, tools=TOOLS, max_tokens=256)
    report = SoakReport()
    pick = random.Random(config.seed)
    deadline = None if config.duration is None else time.monotonic() + config.duration
    numbers: Iterator[int] = iter(range(first_run, first_run + config.runs))
    if deadline is not None:
        numbers = _counting(first_run)

    def next_run() -> int | None:
        if deadline is not None and time.monotonic() >= deadline:
            return None
        return next(numbers, None)

    async def one(n: int) -> None:
        streamed = pick.random() < config.streamed_share
        started = time.perf_counter()
        report.runs += 1
        report.streamed += streamed
        transcript: list[MessageParam] | None
        try:
            result = await agent.run(f"soak run {n}", stream=streamed)
        except ToolwireError as exc:
            report.outcomes[type(exc).__name__] += 1
            transcript = exc.transcript
        except Exception as exc:
            report.untyped.append(f"run {n}: {exc!r}")
            return
        else:
            report.outcomes["ok"] += 1
            transcript = result.messages
        report.latencies.append(time.perf_counter() - started)
        problems = transcript_problems(transcript)
        if problems:
            report.invalid_transcripts.append(f"run {n}: {problems}")

    completed = 0

    async def worker() -> None:
        nonlocal completed
        while (n := next_run()) is not None:
            await one(n)
            completed += 1
            if on_progress is not None and completed % 500 == 0:
                outcome = on_progress(report)
                if outcome is not None:
                    await outcome

    began = time.perf_counter()
    async with anyio.create_task_group() as group:
        for _ in range(config.concurrency):
            group.start_soon(worker)
    report.seconds = time.perf_counter() - began
    return report


def _counting(start: int) -> Iterator[int]:
    n = start
    while True:
        yield n
        n += 1


# -- what a soak may leave behind -------------------------------------------------------------


def fill_string_cache() -> None:
    """Fill pydantic-core's cache of short strings parsed from JSON, before counting memory.

    Parsing JSON keeps recent short strings (ids, keys) in a fixed-size table (16,384 slots),
    each new string taking the slot of an old one. Filled up front, the table holds as much at
    the end of a soak as at its start, instead of growing towards its bound during the soak.
    """
    for start in range(0, 200_000, 5_000):  # in small parts: no peak of memory for this
        strings = [f"cache-filler-{i:07d}" for i in range(start, start + 5_000)]
        pydantic_core.from_json(json.dumps(strings), cache_strings=True)


_POOL_WORKER = re.compile(r"AnyIO worker thread|Trio thread \d+")
"""Idle worker threads of anyio's pool (asyncio) and of trio's thread cache."""


def socket_fds() -> int:
    """How many of the process's file descriptors are sockets."""
    count = 0
    for name in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{name}").startswith("socket:"):
                count += 1
        except OSError:
            continue  # closed between listing and reading
    return count


def live_tasks() -> set[object]:
    """Every task of the running event loop (asyncio or trio)."""
    try:
        return set(asyncio.all_tasks())
    except RuntimeError:
        pass
    import trio.lowlevel

    found: set[object] = set()
    pending = [trio.lowlevel.current_root_task()]
    while pending:
        task = pending.pop()
        if task is None:
            continue
        found.add(task)
        for nursery in task.child_nurseries:
            pending.extend(nursery.child_tasks)
    return found


@dataclass(frozen=True)
class Census:
    """What exists at one moment: tasks, threads, socket descriptors."""

    tasks: frozenset[object]
    threads: frozenset[threading.Thread]
    sockets: int


def census() -> Census:
    """What exists now; call it from inside the event loop."""
    return Census(frozenset(live_tasks()), frozenset(threading.enumerate()), socket_fds())


@dataclass(frozen=True)
class Leaks:
    """What a later census has that an earlier one had not."""

    tasks: list[str]
    threads: list[str]
    """New threads other than idle pool workers."""
    pool_workers: list[str]
    """New idle worker threads of the backend's thread pool (kept for reuse, by design)."""
    sockets: int

    @property
    def none(self) -> bool:
        """Whether nothing was left behind (idle pool workers aside)."""
        return not self.tasks and not self.threads and self.sockets <= 0


def leaks(before: Census, after: Census) -> Leaks:
    """What ``after`` has that ``before`` had not; pool workers are listed on their own."""
    new_threads = sorted(after.threads - before.threads, key=lambda t: t.name)
    pool = [t.name for t in new_threads if _POOL_WORKER.fullmatch(t.name)]
    others = [t.name for t in new_threads if not _POOL_WORKER.fullmatch(t.name)]
    return Leaks(
        tasks=sorted(repr(t) for t in after.tasks - before.tasks),
        threads=others,
        pool_workers=pool,
        sockets=after.sockets - before.sockets,
    )


# -- the script -------------------------------------------------------------------------------


def _client(api: FakeMessagesAPI, transport: Transport, stack: ExitStack) -> MessagesClient:
    if transport == "inprocess":
        return api.client(retry=RETRIES)
    url = stack.enter_context(api.serve())
    return MessagesClient(api.endpoint(url), retry=RETRIES)


def _trim_records(api: FakeMessagesAPI) -> tuple[int, list[str]]:
    """Forget the fake's records, so that a long soak measures the client, not the fake's log.

    Returns how many requests were recorded and the violations found, before forgetting.
    """
    app = api.app
    with app._lock:
        counted, violations = len(app._requests), list(app._violations)
        app._requests.clear()
        app._sent.clear()
        app._sent_thinking.clear()
        app._violations.clear()
    return counted, violations


@dataclass
class _Phase:
    report: SoakReport
    requests: int = 0
    violations: list[str] = field(default_factory=list)
    faults: dict[str, int] = field(default_factory=dict)


async def _soak_phase(config: SoakConfig, transport: Transport, first_run: int = 0) -> _Phase:
    """One soak against a fake of its own, which is gone when this returns."""
    script = SoakScript(config.seed, config.fault_rate)
    api = FakeMessagesAPI([script], cycle=True)
    phase = _Phase(SoakReport())
    shown = time.perf_counter()

    def progress(report: SoakReport) -> None:
        nonlocal shown
        counted, found = _trim_records(api)
        phase.requests += counted
        phase.violations += found
        if time.perf_counter() - shown > 10:
            shown = time.perf_counter()
            print(f"  … {report.runs} runs, RSS {_rss_now() / 2**20:.0f} MiB", file=sys.stderr)

    with ExitStack() as stack:
        async with _client(api, transport, stack) as client:
            phase.report = await run_soak(client, config, first_run=first_run, on_progress=progress)
    counted, found = _trim_records(api)
    phase.requests += counted
    phase.violations += found
    phase.faults = dict(script.faults)
    return phase


def _allocated_blocks() -> int:
    gc.collect()
    sys._clear_type_cache()
    return sys.getallocatedblocks()


async def _main(args: argparse.Namespace) -> int:
    config = SoakConfig(
        runs=args.runs,
        concurrency=args.concurrency,
        fault_rate=args.fault_rate,
        streamed_share=args.streamed_share,
        seed=args.seed,
        duration=args.duration,
    )
    # A warm-up first: what is loaded or cached once (modules, schemas, short strings) is
    # there before the census, and the thread pool has grown.
    warm = SoakConfig(runs=400, concurrency=config.concurrency, seed=args.seed + 1)
    await _soak_phase(warm, args.transport, first_run=10**9)
    fill_string_cache()
    before = census()
    rss_before = _rss_now()
    blocks_before = _allocated_blocks()

    phase = await _soak_phase(config, args.transport)
    report = phase.report
    p50, p99 = report.percentile(50), report.percentile(99)
    report.latencies.clear()  # a float per run: the report's own memory, not the library's

    await anyio.sleep(0.1)  # lets closed connections' last callbacks run
    left = leaks(before, census())
    blocks_grown = _allocated_blocks() - blocks_before
    rss_after = _rss_now()

    ok = report.outcomes.get("ok", 0)
    print(f"backend {args.backend}, transport {args.transport}, concurrency {config.concurrency}")
    print(
        f"runs {report.runs} in {report.seconds:.1f} s: {report.runs / report.seconds:.0f} runs/s, "
        f"{phase.requests} requests ({phase.requests / report.seconds:.0f}/s), "
        f"{report.streamed} streamed"
    )
    print(f"outcomes: ok {ok}, " + ", ".join(f"{k} {v}" for k, v in _errors(report)))
    print(f"faults injected: {', '.join(f'{k} {v}' for k, v in sorted(phase.faults.items()))}")
    print(f"run latency: p50 {p50 * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms")
    print(
        f"memory: peak RSS {_peak_rss() / 2**20:.0f} MiB; RSS after warm-up "
        f"{rss_before / 2**20:.0f} MiB, at the end {rss_after / 2**20:.0f} MiB; "
        f"memory blocks still allocated since warm-up {blocks_grown:+d}"
    )
    print(
        f"left in the event loop: {len(left.tasks)} tasks, {len(left.threads)} threads, "
        f"{left.sockets} sockets (and {len(left.pool_workers)} new idle pool worker threads)"
    )
    print(
        f"untyped errors {len(report.untyped)}, invalid transcripts "
        f"{len(report.invalid_transcripts)}, protocol violations {len(phase.violations)}"
    )
    for line in [*report.untyped[:5], *report.invalid_transcripts[:5], *phase.violations[:5]]:
        print("  " + line)
    bad = report.untyped or report.invalid_transcripts or phase.violations or not left.none
    return 1 if bad else 0


def _errors(report: SoakReport) -> list[tuple[str, int]]:
    return sorted(((k, v) for k, v in report.outcomes.items() if k != "ok"), key=lambda kv: -kv[1])


def _rss_now() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def main(argv: list[str] | None = None) -> int:
    """Parse the command line, run the soak, print the figures; the exit status says if it held."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=20_000, help="runs to make (default 20000)")
    parser.add_argument(
        "--duration", type=float, default=None, help="seconds to keep starting runs (beats --runs)"
    )
    parser.add_argument("--concurrency", type=int, default=200, help="runs at once (200)")
    parser.add_argument(
        "--fault-rate", type=float, default=0.15, help="share of requests that fault (0.15)"
    )
    parser.add_argument(
        "--streamed-share", type=float, default=0.5, help="share of streamed runs (0.5)"
    )
    parser.add_argument("--backend", choices=["asyncio", "trio"], default="asyncio")
    parser.add_argument("--transport", choices=["inprocess", "loopback"], default="inprocess")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    threads_before = set(threading.enumerate())
    status: int = anyio.run(_main, args, backend=args.backend)
    # The pool's idle workers end on their own: anyio's with the event loop, trio's after
    # 10 s idle. Waiting for them shows that nothing else stays.
    began = time.monotonic()
    while set(threading.enumerate()) - threads_before and time.monotonic() - began < 15:
        time.sleep(0.1)
    stayed = sorted(t.name for t in set(threading.enumerate()) - threads_before)
    print(
        f"threads left {time.monotonic() - began:.1f} s after the event loop ended: "
        f"{len(stayed)} {stayed if stayed else ''}".rstrip()
    )
    return status or (1 if stayed else 0)


if __name__ == "__main__":
    sys.exit(main())
