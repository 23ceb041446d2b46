"""Coverage-guided fuzzing of the SSE parser: framing, event decoding and accumulation.

Any bytes, read as a streamed response body, must give a ``Message`` or a ``ToolwireError``
(see ``checks.check_sse``). Run it through the runner, which seeds a corpus from tests/data:

    uv run python fuzz/run.py sse -- -runs=2000
    uv run python fuzz/run.py sse --corpus fuzz/corpus/sse -- -max_total_time=3600

Arguments after ``--`` go to libFuzzer unchanged.
"""

from __future__ import annotations

import sys

import anyio
import atheris  # type: ignore[import-untyped,import-not-found,unused-ignore]
import pydantic

# Imported first: they are not what is fuzzed, and instrumenting them would slow the start.
_ = (anyio, pydantic)

# Instrument toolwire and httpx2 (whose EventSource frames the events) as they are imported,
# so the fuzzer sees the branches it reaches in them.
with atheris.instrument_imports(include=["toolwire", "httpx2", "checks"]):
    import checks


def main() -> None:
    """Hand ``check_sse`` to libFuzzer with the command line's options."""
    atheris.Setup(sys.argv, checks.check_sse)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
