#!/usr/bin/env python3
"""How long ``import toolwire`` takes in a fresh interpreter: the median over N runs, in ms.

Each run is a new interpreter timing the import itself (interpreter start-up is not counted).
Bytecode caches go to a private prefix (``PYTHONPYCACHEPREFIX``) that one untimed run fills
first, so the figure is that of an installed package, whatever ``PYTHONDONTWRITEBYTECODE`` says,
and nothing is written next to the sources. ``--cold`` measures without any bytecode cache
(every module compiled from source), as a first import after an install without compilation.
Wall-clock and CPU time are both reported: on a busy machine the CPU time (this
interpreter's own) is the steadier one. The slowest imports of one more run
(``-X importtime``) show what the time goes to.

    uv run python benchmarks/import_time.py [--runs 15] [--module toolwire] [--cold]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile

PROBE = (
    "import time; t, c = time.perf_counter(), time.process_time(); import {module}; "
    "print((time.perf_counter() - t) * 1000, (time.process_time() - c) * 1000)"
)


def _env(cache: str | None) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if cache is None:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        env["PYTHONPYCACHEPREFIX"] = tempfile.mkdtemp(prefix="toolwire-nocache-")
    else:
        env["PYTHONPYCACHEPREFIX"] = cache
    return env


def once(python: str, module: str, env: dict[str, str]) -> tuple[float, float]:
    """Milliseconds one fresh interpreter spends importing ``module``: wall clock, and CPU."""
    out = subprocess.run(
        [python, "-c", PROBE.format(module=module)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    wall, cpu = out.stdout.strip().splitlines()[-1].split()
    return float(wall), float(cpu)


def slowest_imports(python: str, module: str, env: dict[str, str], top: int) -> list[str]:
    """The ``-X importtime`` lines of the modules with the largest cumulative time."""
    out = subprocess.run(
        [python, "-X", "importtime", "-c", f"import {module}"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    rows: list[tuple[int, int, str]] = []
    for line in out.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        own, cum, name = (part.strip() for part in line[len("import time:") :].split("|"))
        rows.append((int(cum), int(own), name))
    rows.sort(reverse=True)
    return [
        f"{cum / 1000:8.1f} ms cum {own / 1000:7.1f} ms self  {name}"
        for cum, own, name in rows[:top]
    ]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", type=int, default=15)
    p.add_argument("--module", default="toolwire")
    p.add_argument("--python", default=sys.executable, help="interpreter to measure")
    p.add_argument("--cold", action="store_true", help="no bytecode cache at all")
    p.add_argument("--top", type=int, default=20, help="rows of the -X importtime breakdown")
    args = p.parse_args()

    with tempfile.TemporaryDirectory(prefix="toolwire-pycache-") as cache:
        env = _env(None if args.cold else cache)
        once(args.python, args.module, env)  # fills the bytecode cache; not counted
        samples = [once(args.python, args.module, env) for _ in range(args.runs)]
        mode = "cold (no bytecode cache)" if args.cold else "bytecode cached"
        for label, times in (("wall", [s[0] for s in samples]), ("CPU", [s[1] for s in samples])):
            print(
                f"import {args.module}: {label} median {statistics.median(times):.1f} ms, "
                f"min {min(times):.1f}, max {max(times):.1f} over {args.runs} fresh "
                f"interpreters ({mode})"
            )
        if args.top:
            print(f"\nslowest imports (-X importtime, one run, {mode}):")
            print("\n".join(slowest_imports(args.python, args.module, env, args.top)))


if __name__ == "__main__":
    main()
