"""The ``toolwire`` command line: run an agent with a live view, list tools, serve a fake API.

```
toolwire run PATH_OR_MODULE[:AGENT] "prompt" [--json] [--save FILE] [--resume FILE]
toolwire tools PATH_OR_MODULE[:NAME]
toolwire fake-api [--port N] [--script FILE]
```

Exit codes: 0 done, 1 the run failed (one line naming the error; ``--debug`` for the
traceback), 2 usage error (bad arguments, a file or name that cannot be found or is not an
agent), 130 interrupted by Ctrl-C (the run is cancelled and ``--save`` still writes a valid
transcript). The live view needs rich (``pip install 'toolwire[cli]'``); without it, or
without a terminal, the run is shown as plain lines.
"""

from __future__ import annotations

import os
import sys
import threading
import traceback

from ._commands import COMMANDS, EXIT_INTERRUPTED, EXIT_RUN_ERROR, EXIT_USAGE
from ._format import error_line, scrub
from ._load import UsageError

__all__ = ["main"]


def _dispatch(argv: list[str] | None) -> int:
    from ._parser import build_parser

    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse has printed the usage and the problem
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    out, err = sys.stdout, sys.stderr
    try:
        return COMMANDS[args.command](args, out, err)
    except UsageError as exc:
        if args.debug and exc.__cause__ is not None:
            err.write(scrub("".join(traceback.format_exception(exc.__cause__))))
        err.write(f"toolwire {args.command}: error: {scrub(str(exc))}\n")
        return EXIT_USAGE
    except KeyboardInterrupt:
        err.write("toolwire: interrupted\n")
        return EXIT_INTERRUPTED
    except Exception as exc:
        if args.debug:
            err.write(scrub("".join(traceback.format_exception(exc))))
        hint = "" if args.debug else " (--debug shows the traceback)"
        err.write(f"toolwire: error: {error_line(exc)}{hint}\n")
        return EXIT_RUN_ERROR


def _lingering_threads() -> bool:
    return any(
        t is not threading.main_thread() and not t.daemon and t.is_alive()
        for t in threading.enumerate()
    )


def main(argv: list[str] | None = None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``); return the exit code.

    Called with no arguments, as the ``toolwire`` program is, a run that was interrupted or
    failed leaves at once even when a sync tool it abandoned still runs in a worker thread
    (the interpreter would otherwise wait for that thread at exit).
    """
    code = _dispatch(argv)
    if argv is None and code in (EXIT_RUN_ERROR, EXIT_INTERRUPTED) and _lingering_threads():
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code
