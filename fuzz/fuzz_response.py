"""Coverage-guided fuzzing of response parsing: JSON bodies, success and error alike.

Any bytes, read as a response body, must give a ``Message``, pydantic's ``ValidationError``
(from ``Message.model_validate_json``) or a ``ToolwireError`` (from the client's parsing), and
no error message may hold the client's key (see ``checks.check_response``):

    uv run python fuzz/run.py response -- -runs=2000
    uv run python fuzz/run.py response --corpus fuzz/corpus/response -- -max_total_time=3600

Arguments after ``--`` go to libFuzzer unchanged.
"""

from __future__ import annotations

import sys

import anyio
import atheris  # type: ignore[import-untyped,import-not-found,unused-ignore]
import httpx2
import pydantic

# Imported first: they are not what is fuzzed, and instrumenting them would slow the start.
_ = (anyio, httpx2, pydantic)

with atheris.instrument_imports(include=["toolwire", "checks"]):
    import checks


def main() -> None:
    """Hand ``check_response`` to libFuzzer with the command line's options."""
    atheris.Setup(sys.argv, checks.check_response)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
