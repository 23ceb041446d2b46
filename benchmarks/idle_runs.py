#!/usr/bin/env python3
"""Memory of idle concurrent runs: N runs in one process, each parked in a tool call.

Every run sends its first request to the harness's fake server (one tool_use, no latency),
then its ``work`` tool waits until released. Runs start in waves (``--wave``, 250): the next
wave starts once the last one is parked, so that N runs are alive at once without N requests
queued in the connection pool together (httpx2's pool bookkeeping grows with its queue: with
1000 requests queued at once, raw httpx2 and toolwire alike spend seconds of CPU). Once all N
runs are parked, the script records the resident set size, releases the waves one by one,
lets every run finish, and reports the memory per idle run: (RSS with N runs parked - RSS
before) / N; ``--tracemalloc`` adds the Python heap per run. Both this process and the fake
server get their open-file limit raised (``--nofile``).

    uv run python benchmarks/idle_runs.py --runs 10000            # Agent.run()
    uv run python benchmarks/idle_runs.py --runs 10000 --stream   # Agent.stream(), every event read
    uv run python benchmarks/idle_runs.py --runs 10000 --raw      # a bare httpx2 loop, the floor
"""

from __future__ import annotations

import argparse
import asyncio
import contextvars
import gc
import resource
import sys
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from typing import Any

from _fakeserver import fakeserver, stats, use_harness_drivers

RunOnce = Callable[[], Awaitable[str]]


def rss_mb() -> float:
    """This process's resident set size now, in MiB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def peak_rss_mb() -> float:
    """The largest resident set size this process has had, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def raise_nofile(wanted: int) -> int:
    """Raise this process's open-file limit towards ``wanted``; returns the soft limit in force."""
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    for limit in ((wanted, max(hard, wanted)), (min(wanted, hard), hard)):
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, limit)
            break
        except (ValueError, OSError):
            continue
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


WAVE: contextvars.ContextVar[int] = contextvars.ContextVar("wave", default=-1)
"""The wave a run belongs to; runs outside any wave (the warm-up) are not held."""


class Gate:
    """The tool's side: holds each call until its run's wave is released, counting them."""

    def __init__(self, runs: int, wave_size: int) -> None:
        self.wave_size = wave_size
        waves = -(-runs // wave_size)
        self.sizes = [min(wave_size, runs - w * wave_size) for w in range(waves)]
        self.parked = 0
        self.parked_in = [0] * waves
        self.opens = [asyncio.Event() for _ in range(waves)]
        self.all_parked = [asyncio.Event() for _ in range(waves)]

    async def wait(self, i: int) -> str:
        wave = WAVE.get()
        if wave >= 0:
            self.parked += 1
            self.parked_in[wave] += 1
            if self.parked_in[wave] >= self.sizes[wave]:
                self.all_parked[wave].set()
            await self.opens[wave].wait()
        return f"result {i}"


def toolwire_runner(url: str, gate: Gate, stream: bool) -> tuple[RunOnce, Callable[[], Any]]:
    """One agent shared by every run, its tool parked on the gate."""
    from _common import MAX_TOKENS, MODEL, PROMPT  # type: ignore[import-not-found]

    from toolwire import Agent, Endpoint, tool

    @tool(name="work")
    async def work(i: int) -> str:
        """Do one unit of work.

        Args:
            i: index of the unit.
        """
        return await gate.wait(i)

    agent: Agent[Any] = Agent(
        MODEL,
        tools=[work],
        endpoint=Endpoint(base_url=url, api_key="x"),
        max_tokens=MAX_TOKENS,
    )

    async def run_json() -> str:
        return (await agent.run(PROMPT)).text

    async def run_streamed() -> str:
        async with agent.stream(PROMPT) as run:
            async for _ in run:
                pass
        return run.result.text

    return (run_streamed if stream else run_json), agent.aclose


def raw_runner(url: str, gate: Gate) -> tuple[RunOnce, Callable[[], Any]]:
    """The floor: a hand-written loop on one httpx2 client, as the harness's raw driver."""
    import httpx2
    from _common import MAX_TOKENS, MODEL, PROMPT
    from raw_httpx import TOOLS  # type: ignore[import-not-found]

    client = httpx2.AsyncClient(
        base_url=url,
        timeout=600,
        headers={"x-api-key": "x", "anthropic-version": "2023-06-01"},
        limits=httpx2.Limits(max_connections=1000, max_keepalive_connections=1000),
    )

    async def run_once() -> str:
        messages: list[dict[str, Any]] = [{"role": "user", "content": PROMPT}]
        while True:
            body = {"model": MODEL, "max_tokens": MAX_TOKENS, "tools": TOOLS, "messages": messages}
            response = await client.post("/v1/messages", json=body)
            response.raise_for_status()
            msg = response.json()
            messages.append({"role": "assistant", "content": msg["content"]})
            uses = [b for b in msg["content"] if b["type"] == "tool_use"]
            if msg["stop_reason"] != "tool_use" or not uses:
                return "".join(b["text"] for b in msg["content"] if b["type"] == "text")
            outs = await asyncio.gather(*(gate.wait(u["input"]["i"]) for u in uses))
            messages.append(
                {
                    "role": "user",
                    "content": [
                        {"type": "tool_result", "tool_use_id": u["id"], "content": o}
                        for u, o in zip(uses, outs, strict=True)
                    ],
                }
            )

    return run_once, client.aclose


async def measure(opts: argparse.Namespace, url: str) -> dict[str, Any]:
    use_harness_drivers()
    scenario = f"{url}/k=1,lat=0,c=idle"
    gate = Gate(opts.runs, opts.wave)
    if opts.raw:
        run_once, close = raw_runner(scenario, gate)
    else:
        run_once, close = toolwire_runner(scenario, gate, opts.stream)
    # Imports, lazy caches and the client's pool are paid before the baseline.
    for _ in range(20):
        await run_once()

    async def in_wave(wave: int) -> str:
        WAVE.set(wave)
        return await run_once()

    gc.collect()
    if opts.tracemalloc:
        tracemalloc.start()
    before = rss_mb()
    traced0 = tracemalloc.get_traced_memory()[0] if opts.tracemalloc else 0
    started = time.perf_counter()
    waves: list[list[asyncio.Future[str]]] = []
    wave_s: list[float] = []
    for wave, size in enumerate(gate.sizes):
        wave_started = time.perf_counter()
        # Started a wave at a time: the pool then never has thousands of requests queued,
        # whose bookkeeping costs grow with the queue (the same for any httpx2 client).
        waves.append([asyncio.ensure_future(in_wave(wave)) for _ in range(size)])
        try:
            await asyncio.wait_for(gate.all_parked[wave].wait(), opts.timeout)
        except TimeoutError:
            break
        wave_s.append(time.perf_counter() - wave_started)
    park_s = time.perf_counter() - started
    parked = gate.parked
    gc.collect()
    during = rss_mb()
    traced = tracemalloc.get_traced_memory()[0] - traced0 if opts.tracemalloc else 0
    sites: list[str] = []
    if opts.tracemalloc:
        grown = tracemalloc.take_snapshot().statistics("lineno")
        for stat in grown[: opts.sites]:
            frame = stat.traceback[0]
            where = frame.filename.split("site-packages/")[-1].split("/src/")[-1]
            per_run = stat.size / max(gate.parked, 1)
            sites.append(f"{per_run:8.0f} B/run  {where}:{frame.lineno}")
    outcomes: list[Any] = []
    for wave, tasks in enumerate(waves):
        gate.opens[wave].set()
        outcomes += await asyncio.gather(*tasks, return_exceptions=True)
    for wave in range(len(waves), len(gate.sizes)):
        outcomes += ["never started"] * gate.sizes[wave]
    total_s = time.perf_counter() - started
    await close()
    failures = [o for o in outcomes if not (isinstance(o, str) and o.startswith("done:"))]
    result = {
        "contender": "raw_httpx2" if opts.raw else "toolwire" + (" stream" if opts.stream else ""),
        "runs": opts.runs,
        "parked": parked,
        "wave": opts.wave,
        "seconds_to_park_all": round(park_s, 2),
        "seconds_total": round(total_s, 2),
        "seconds_first_last_wave": (round(wave_s[0], 3), round(wave_s[-1], 3)) if wave_s else None,
        "rss_before_mb": round(before, 1),
        "rss_parked_mb": round(during, 1),
        "kib_per_idle_run": round((during - before) * 1024 / max(parked, 1), 1),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "failures": len(failures),
    }
    if opts.tracemalloc:
        result["traced_kib_per_idle_run"] = round(traced / 1024 / max(parked, 1), 1)
        result["largest_allocation_sites"] = "\n  " + "\n  ".join(sites)
    if failures:
        result["first_failure"] = repr(failures[0])[:300]
    return result


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", type=int, default=10_000)
    p.add_argument("--stream", action="store_true", help="runs through Agent.stream()")
    p.add_argument("--raw", action="store_true", help="a bare httpx2 loop instead of toolwire")
    p.add_argument("--nofile", type=int, default=None, help="open-file limit (default: 2*runs)")
    p.add_argument("--wave", type=int, default=250, help="runs started (and released) at once")
    p.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for a wave")
    p.add_argument("--tracemalloc", action="store_true", help="also count Python heap per run")
    p.add_argument("--sites", type=int, default=15, help="--tracemalloc: allocation sites shown")
    opts = p.parse_args()
    nofile = opts.nofile or max(4096, 2 * opts.runs + 1024)
    limit = raise_nofile(nofile)
    print(f"open-file limit: {limit} (client and fake server)", file=sys.stderr)
    with fakeserver(nofile=limit) as url:
        result = asyncio.run(measure(opts, url))
        result["server_requests"] = sum(b["requests"] for b in stats(url)["buckets"].values())
        result["server_violations"] = stats(url)["violations_total"]
    for key, value in result.items():
        print(f"{key}: {value}")
    if result["failures"] or result["parked"] < opts.runs:
        sys.exit(1)


if __name__ == "__main__":
    main()
