"""The command line's arguments (argparse)."""

from __future__ import annotations

import argparse

from toolwire import __version__

__all__ = ["build_parser"]

DEFAULT_FAKE_PORT = 8799


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number, got {text!r}") from None
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be between 1 and 65535, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The ``toolwire`` parser: the commands ``run``, ``tools`` and ``fake-api``."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--debug", action="store_true", help="show the traceback of an error, not just one line"
    )

    parser = argparse.ArgumentParser(
        prog="toolwire",
        description="Run toolwire agents, list their tools, serve a fake Messages API.",
        epilog="Exit codes: 0 done, 1 the run failed, 2 usage error, 130 interrupted (Ctrl-C).",
    )
    parser.add_argument("--version", action="version", version=f"toolwire {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    run = commands.add_parser(
        "run",
        parents=[common],
        help="run an agent on a prompt, with a live view",
        description="Run an agent on a prompt. On a terminal the run is shown live; otherwise "
        "as plain lines.",
    )
    run.add_argument(
        "target",
        metavar="PATH_OR_MODULE[:AGENT]",
        help="a file (agent.py:agent) or module (pkg.mod:agent); the name may be left out "
        "when the module has one Agent",
    )
    run.add_argument(
        "prompt", nargs="?", help="the prompt ('-' reads it from stdin); optional with --resume"
    )
    run.add_argument("--json", action="store_true", help="print the run's result as JSON")
    run.add_argument(
        "--save",
        metavar="FILE",
        help="write the transcript to FILE after each turn and at the end, also when the "
        "run fails or is interrupted",
    )
    run.add_argument("--resume", metavar="FILE", help="continue the transcript saved in FILE")
    run.add_argument("--model", help="use this model instead of the agent's")
    run.add_argument(
        "--max-tokens", type=_positive_int, metavar="N", help="max_tokens for each request"
    )
    run.add_argument(
        "--plain", action="store_true", help="plain lines even on a terminal (no live view)"
    )

    tools = commands.add_parser(
        "tools",
        parents=[common],
        help="print tool definitions as they are sent",
        description="Print the tool definitions of an agent, a tool or a module as the "
        "request's 'tools' list carries them (JSON).",
    )
    tools.add_argument(
        "target",
        metavar="PATH_OR_MODULE[:NAME]",
        help="an Agent, Tool or Toolset; without a name, the module's agent, or else all "
        "of its tools",
    )

    fake = commands.add_parser(
        "fake-api",
        parents=[common],
        help="serve a scripted fake Messages API on 127.0.0.1",
        description="Serve the fake Messages API (toolwire.testing) on 127.0.0.1 until Ctrl-C. "
        "Each request takes the next entry of the script; the script repeats when it runs out.",
    )
    fake.add_argument(
        "--port",
        type=_port,
        default=DEFAULT_FAKE_PORT,
        help=f"port to listen on (default {DEFAULT_FAKE_PORT})",
    )
    fake.add_argument(
        "--script",
        metavar="FILE",
        help="a JSON list of replies (see toolwire.testing); without one, every request gets "
        "a short text reply",
    )
    return parser
