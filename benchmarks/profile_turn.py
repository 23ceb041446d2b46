#!/usr/bin/env python3
"""Where toolwire's client CPU goes on the bench's ``per-turn`` config, profiled in-process.

Starts the harness's fake server (for ``per-turn``: one tool_use per run, no latency, no tool
sleep, one run at a time; ``--config loaded`` as the harness's loaded config) pinned to another
CPU than this process, as the harness does, and drives the bench drivers' ``run_once`` in this
process. Three modes:

- default: profile toolwire under cProfile and print, per run (2 turns): the top functions by
  cumulative and by self time, toolwire's own functions by cumulative time, and self time
  grouped by package;
- ``--compare``: profile toolwire and the raw httpx2 loop alike and print where toolwire
  spends more, by package and by function;
- ``--ab``: no profiler; CPU per run of both, measured in alternating rounds in one process
  (noise on a shared machine hits both alike), with the median ratio.

    uv run python benchmarks/profile_turn.py [--stream]
    uv run python benchmarks/profile_turn.py --compare [--stream]
    uv run python benchmarks/profile_turn.py --ab [--stream]
    uv run python benchmarks/profile_turn.py --profiler pyinstrument   # sampling, if installed

cProfile's timer here is this process's CPU time (``--timer wall`` counts blocked syscalls
too), and it adds a fixed cost to every Python call, so it overstates code made of many small
calls: read its rows as shares, and take absolute CPU figures from ``--ab``.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import importlib
import os
import pstats
import resource
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import Any

from _fakeserver import fakeserver, split_cpus, stats, use_harness_drivers

RunOnce = Callable[[], Awaitable[str]]
Func = tuple[str, int, str]
Stats = dict[Func, tuple[Any, ...]]
DRIVERS = {"toolwire": "toolwire_driver", "raw": "raw_httpx"}
# The harness's configs: tool_use blocks per run, server latency ms, tool sleep ms, concurrency.
CONFIGS = {"per-turn": (1, 0, 0, 1), "loaded": (4, 20, 50, 50)}
SCENARIO = CONFIGS["per-turn"]


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", type=int, default=1000, help="profiled runs (each is 2 turns)")
    p.add_argument("--stream", action="store_true", help="streamed requests, every event read")
    p.add_argument("--driver", choices=tuple(DRIVERS), default="toolwire")
    p.add_argument(
        "--config", choices=tuple(CONFIGS), default="per-turn", help="the harness config to run"
    )
    p.add_argument("--compare", action="store_true", help="profile toolwire and raw, diff them")
    p.add_argument("--ab", action="store_true", help="unprofiled CPU/run, toolwire vs raw")
    p.add_argument("--rounds", type=int, default=9, help="--ab: alternating rounds")
    p.add_argument("--profiler", choices=("cprofile", "pyinstrument"), default="cprofile")
    p.add_argument("--timer", choices=("cpu", "wall"), default="cpu")
    p.add_argument("--top", type=int, default=25, help="rows per table")
    p.add_argument("--no-pin", action="store_true", help="do not pin client and server apart")
    p.add_argument("--base-url", help="a running fake server's URL (default: start one)")
    p.add_argument("--dump", help="write the cProfile stats to this file (for snakeviz etc.)")
    return p.parse_args()


async def setup_driver(
    name: str, url: str, *, stream: bool
) -> tuple[RunOnce, Callable[[], Awaitable[None]]]:
    """``run_once`` and ``teardown`` of a bench driver, on the chosen config's scenario."""
    use_harness_drivers()
    module = importlib.import_module(DRIVERS[name])
    k, latency_ms, sleep_ms, concurrency = SCENARIO
    args = argparse.Namespace(
        base_url=f"{url}/k={k},lat={latency_ms},c=profile-{name}",
        tool_sleep_s=sleep_ms / 1000,
        stream=stream,
        httpx1=False,
        concurrency=concurrency,
    )
    run_once, teardown = await module.setup(args)
    return run_once, teardown


async def runs(run_once: RunOnce, n: int) -> None:
    """``n`` runs, as many at once as the config says, each checked to reach the final answer."""
    todo = iter(range(n))

    async def worker() -> None:
        for _ in todo:
            text = await run_once()
            if not text.startswith("done:"):
                raise RuntimeError(f"unexpected final text {text!r}")

    await asyncio.gather(*(worker() for _ in range(min(SCENARIO[3], n))))


def cpu_s() -> float:
    """This process's user + system CPU seconds so far."""
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


async def cpu_per_run(run_once: RunOnce, n: int) -> float:
    """Milliseconds of CPU per run over ``n`` runs."""
    return (await measured(run_once, n))[0]


async def measured(run_once: RunOnce, n: int) -> tuple[float, float]:
    """CPU milliseconds per run and runs per second (wall clock) over ``n`` runs."""
    start, wall = cpu_s(), time.perf_counter()
    await runs(run_once, n)
    return (cpu_s() - start) / n * 1e3, n / (time.perf_counter() - wall)


async def profiled(run_once: RunOnce, n: int, timer: str, dump: str | None = None) -> Stats:
    """The cProfile stats of ``n`` runs (also written to ``dump`` when given)."""
    profile = cProfile.Profile(time.process_time if timer == "cpu" else time.perf_counter)
    profile.enable()
    await runs(run_once, n)
    profile.disable()
    if dump:
        profile.dump_stats(dump)
    data: Stats = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    return data


def _where(func: Func) -> str:
    filename, line, name = func
    if filename == "~":
        return name
    for marker in ("/site-packages/", "/src/", "/lib/python3"):
        if marker in filename:
            filename = filename.split(marker, 1)[1]
            if marker == "/lib/python3":
                filename = filename.split("/", 1)[1]
            break
    return f"{filename}:{line}({name})"


def package(func: Func) -> str:
    """The package a profiled function belongs to (toolwire by subpackage)."""
    filename, _, name = func
    if filename == "~":
        if "pydantic_core" in name:
            return "pydantic_core (C)"
        if "json" in name:
            return "json (C)"
        if any(k in name for k in ("socket", "epoll", "select", "poll")):
            return "sockets/selectors (C)"
        return "other builtins (C)"
    if "/toolwire/" in filename:
        sub = filename.split("/toolwire/", 1)[1]
        return "toolwire/" + sub.split("/", 1)[0]
    if "/site-packages/" in filename:
        return filename.split("/site-packages/", 1)[1].split("/", 1)[0].removesuffix(".py")
    if "/lib/python3" in filename:
        rest = filename.split("/lib/python3", 1)[1].split("/", 1)[1]
        return "stdlib " + rest.split("/", 1)[0].removesuffix(".py")
    return "bench: " + os.path.basename(filename)


def _table(rows: list[tuple[Func, tuple[Any, ...]]], n: int, title: str) -> None:
    print(f"\n{title}")
    print(f"{'calls/run':>9} {'self us/run':>11} {'cum us/run':>10}  function")
    for func, (_cc, nc, tt, ct, _callers) in rows:
        print(f"{nc / n:9.1f} {tt / n * 1e6:11.1f} {ct / n * 1e6:10.1f}  {_where(func)}")


def by_package(data: Stats) -> dict[str, float]:
    """Self seconds per package."""
    groups: dict[str, float] = defaultdict(float)
    for func, value in data.items():
        groups[package(func)] += value[2]
    return groups


def report(data: Stats, n: int, top: int) -> None:
    """The per-run tables of one profile."""
    total = sum(v[2] for v in data.values())
    print(f"profiled self time: {total / n * 1e6:.0f} us/run (profiler overhead included)")
    items = list(data.items())
    by_cum = sorted(items, key=lambda kv: kv[1][3], reverse=True)
    _table(by_cum[:top], n, "Top by cumulative time")
    own = [kv for kv in by_cum if "/toolwire/" in kv[0][0]]
    _table(own[: top * 2], n, "toolwire functions by cumulative time")
    _table(sorted(items, key=lambda kv: kv[1][2], reverse=True)[:top], n, "Top by self time")
    print("\nSelf time by package")
    for name, tt in sorted(by_package(data).items(), key=lambda kv: kv[1], reverse=True):
        if tt / n * 1e6 >= 1:
            print(f"{tt / n * 1e6:9.1f} us/run {tt / total * 100:5.1f}%  {name}")


def compare(mine: Stats, base: Stats, n: int, top: int) -> None:
    """Where ``mine`` (toolwire) spends more self time than ``base`` (raw), per run."""
    total_m = sum(v[2] for v in mine.values()) / n * 1e6
    total_b = sum(v[2] for v in base.values()) / n * 1e6
    print(f"profiled self time: toolwire {total_m:.0f} us/run, raw {total_b:.0f} us/run, ")
    print(f"difference {total_m - total_b:+.0f} us/run (profiler overhead included)")
    pm, pb = by_package(mine), by_package(base)
    print(f"\n{'toolwire':>9} {'raw':>9} {'diff':>9}  self us/run by package")
    rows = sorted(set(pm) | set(pb), key=lambda k: pm.get(k, 0) - pb.get(k, 0), reverse=True)
    for name in rows:
        a, b = pm.get(name, 0) / n * 1e6, pb.get(name, 0) / n * 1e6
        if abs(a - b) >= 5:
            print(f"{a:9.1f} {b:9.1f} {a - b:+9.1f}  {name}")
    keys = set(mine) | set(base)

    def diff(key: Func) -> float:
        return float(mine.get(key, (0, 0, 0.0))[2] - base.get(key, (0, 0, 0.0))[2])

    print(
        f"\n{'calls tw':>8} {'calls raw':>9} {'diff us':>8}  self time by function, largest first"
    )
    for key in sorted(keys, key=diff, reverse=True)[:top]:
        ca, cb = mine.get(key, (0, 0))[1], base.get(key, (0, 0))[1]
        print(f"{ca / n:8.1f} {cb / n:9.1f} {diff(key) / n * 1e6:+8.1f}  {_where(key)}")


async def main_async(opts: argparse.Namespace, url: str) -> None:
    names = ["toolwire", "raw"] if (opts.compare or opts.ab) else [opts.driver]
    drivers = {name: await setup_driver(name, url, stream=opts.stream) for name in names}
    mode = "streamed" if opts.stream else "JSON"
    try:
        for run_once, _ in drivers.values():
            await runs(run_once, 50)  # warm-up: connections, caches, lazy imports
        if opts.ab:
            batch = max(50, opts.runs // 4)
            ms: dict[str, list[float]] = {name: [] for name in names}
            rps: dict[str, list[float]] = {name: [] for name in names}
            for _ in range(opts.rounds):
                for name in names:
                    cpu, rate = await measured(drivers[name][0], batch)
                    ms[name].append(cpu)
                    rps[name].append(rate)
            print(f"{opts.config} {mode}, {opts.rounds} alternating rounds of {batch} runs each:")
            for label, data, unit in (("CPU", ms, "ms/run"), ("throughput", rps, "runs/s")):
                for name in names:
                    values = ", ".join(f"{v:.2f}" for v in data[name])
                    median = statistics.median(data[name])
                    print(f"  {name:8} {label} {unit} median {median:.3f} ({values})")
                ratios = [t / r for t, r in zip(data["toolwire"], data["raw"], strict=True)]
                print(
                    f"  {label} ratio toolwire/raw: median {statistics.median(ratios):.2f}, "
                    f"min {min(ratios):.2f}, max {max(ratios):.2f}"
                )
            return
        for name in names:
            cpu = await cpu_per_run(drivers[name][0], max(200, opts.runs // 2))
            print(f"{name}, {opts.config} {mode}: unprofiled CPU {cpu:.3f} ms/run (2 turns)")
        if opts.profiler == "pyinstrument":
            pyinstrument = importlib.import_module("pyinstrument")  # optional: not a dependency
            sampler = pyinstrument.Profiler(interval=0.0002, async_mode="disabled")
            sampler.start()
            await runs(drivers[names[0]][0], opts.runs)
            sampler.stop()
            print(sampler.output_text(unicode=False, color=False, show_all=False))
            return
        profiles = {
            name: await profiled(
                drivers[name][0], opts.runs, opts.timer, opts.dump if name == names[0] else None
            )
            for name in names
        }
        if opts.compare:
            compare(profiles["toolwire"], profiles["raw"], opts.runs, opts.top)
        else:
            report(profiles[names[0]], opts.runs, opts.top)
    finally:
        for _, teardown in drivers.values():
            await teardown()


def main() -> None:
    global SCENARIO
    opts = parse_args()
    SCENARIO = CONFIGS[opts.config]
    if opts.base_url:
        asyncio.run(main_async(opts, opts.base_url))
        return
    client_cpus, server_cpus = split_cpus()
    if not opts.no_pin:
        os.sched_setaffinity(0, client_cpus)
    with fakeserver(cpus=() if opts.no_pin else sorted(server_cpus)) as url:
        asyncio.run(main_async(opts, url))
        violations = stats(url)["violations_total"]
    if violations:
        print(f"the fake server counted {violations} protocol violations", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
