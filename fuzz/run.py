"""Run a fuzz target with a corpus seeded from tests/data, or replay the seeds without atheris.

    uv run python fuzz/run.py sse -- -runs=2000                 # a short run (what CI does)
    uv run python fuzz/run.py response -- -max_total_time=3600  # an hour
    uv run python fuzz/run.py sse --corpus fuzz/corpus/sse -- -max_total_time=3600 -jobs=2
    uv run python fuzz/run.py sse --replay                      # seeds only, no atheris needed

Without ``--corpus`` the corpus lives in a temporary directory that is removed afterwards; with
it, the corpus is kept and grows across runs. Crashing inputs go to ``--artifacts`` (default
``fuzz/artifacts/``); replay one with ``python fuzz/fuzz_sse.py path/to/crash-...``. Arguments
after ``--`` go to libFuzzer unchanged; ``-timeout=10`` (seconds per input, so that a hang is
a finding) is added unless given. The exit status is the fuzzer's: 0 when nothing was found.
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import checks  # noqa: E402 - found beside this file

__all__ = ["main", "replay", "write_seeds"]


def write_seeds(target: str, corpus: Path) -> int:
    """Write the target's seeds into ``corpus`` (named by content); returns how many."""
    corpus.mkdir(parents=True, exist_ok=True)
    found = checks.seeds(target)
    for seed in found:
        (corpus / hashlib.sha1(seed).hexdigest()).write_bytes(seed)
    return len(found)


def replay(target: str) -> int:
    """Run every seed through the target's check in this process; returns how many ran."""
    check = checks.TARGETS[target]
    found = checks.seeds(target)
    for seed in found:
        check(seed)
    return len(found)


def fuzz(target: str, corpus: Path, artifacts: Path, options: Sequence[str]) -> int:
    """Run the atheris target over ``corpus`` as a subprocess; returns its exit status."""
    artifacts.mkdir(parents=True, exist_ok=True)
    flags = list(options)
    if not any(flag.startswith("-timeout=") for flag in flags):
        flags.append("-timeout=10")
    command = [
        sys.executable,
        str(HERE / f"fuzz_{target}.py"),
        str(corpus),
        f"-artifact_prefix={artifacts}/",
        *flags,
    ]
    return subprocess.run(command, check=False).returncode


def main(argv: Sequence[str] | None = None) -> int:
    """The command line; see the module's description."""
    args = list(sys.argv[1:] if argv is None else argv)
    options: list[str] = []
    if "--" in args:
        at = args.index("--")
        args, options = args[:at], args[at + 1 :]
    parser = argparse.ArgumentParser(description="Run a toolwire fuzz target.")
    parser.add_argument("target", choices=sorted(checks.TARGETS))
    parser.add_argument("--corpus", type=Path, help="keep the corpus here (grows across runs)")
    parser.add_argument("--artifacts", type=Path, default=HERE / "artifacts")
    parser.add_argument("--replay", action="store_true", help="run the seeds only, no atheris")
    parsed = parser.parse_args(args)
    if parsed.replay:
        print(f"{parsed.target}: {replay(parsed.target)} seeds passed")
        return 0
    if parsed.corpus is not None:
        write_seeds(parsed.target, parsed.corpus)
        return fuzz(parsed.target, parsed.corpus, parsed.artifacts, options)
    with tempfile.TemporaryDirectory(prefix=f"toolwire-fuzz-{parsed.target}-") as scratch:
        corpus = Path(scratch)
        write_seeds(parsed.target, corpus)
        return fuzz(parsed.target, corpus, parsed.artifacts, options)


if __name__ == "__main__":
    sys.exit(main())
