"""The commands: ``run``, ``tools`` and ``fake-api``; each returns the process's exit code."""

from __future__ import annotations

import argparse
import contextlib
import copy
import functools
import importlib.util
import json
import socket
import sys
import threading
import time
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

import anyio

from toolwire import Agent, MessageParam, ToolwireError

from ._format import error_line, scrub
from ._load import UsageError, find_agent, placeholder_credential, tool_definitions
from ._plain import PlainView, QuietView
from ._run import Outcome, View, drive
from ._transcript import check_writable, read_transcript, write_transcript

__all__ = [
    "EXIT_DONE",
    "EXIT_INTERRUPTED",
    "EXIT_RUN_ERROR",
    "EXIT_USAGE",
    "fake_api_command",
    "run_command",
    "tools_command",
]

EXIT_DONE = 0
EXIT_RUN_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report a process that Ctrl-C ended


def _view_for(args: argparse.Namespace, out: TextIO) -> View:
    if args.json:
        return QuietView()
    if not args.plain and out.isatty():
        try:
            from ._view import LiveView
        except ImportError:  # rich is the optional ``cli`` extra
            return PlainView(out)
        from rich.console import Console

        console = Console() if out is sys.stdout else Console(file=out)
        if not console.is_dumb_terminal:
            return LiveView(console)
    return PlainView(out)


def _with_overrides(agent: Agent[Any], model: str | None, max_tokens: int | None) -> Agent[Any]:
    if model is None and max_tokens is None:
        return agent
    # A copy, so an agent imported from a module other code shares is left as it was.
    changed = copy.copy(agent)
    if model is not None:
        changed.model = model
    if max_tokens is not None:
        changed.max_tokens = max_tokens
    return changed


def _prompt_and_history(
    args: argparse.Namespace, stdin: TextIO
) -> tuple[str | None, list[MessageParam] | None]:
    history = read_transcript(Path(args.resume)) if args.resume else None
    prompt: str | None = args.prompt
    if prompt == "-":
        prompt = stdin.read()
    if prompt is not None and not prompt.strip():
        raise UsageError("the prompt is empty")
    if prompt is None:
        if history is None:
            raise UsageError("give a prompt, or --resume FILE to continue a saved transcript")
        if history[-1].role == "assistant":
            raise UsageError(
                f"--resume {args.resume}: the transcript ends with the model's answer; "
                "give a prompt to continue it"
            )
    return prompt, history


async def _run_and_close(
    agent: Agent[Any],
    prompt: str | None,
    history: Sequence[MessageParam] | None,
    view: View,
    save: Path | None,
) -> Outcome:
    checkpoint = functools.partial(write_transcript, save) if save is not None else None
    try:
        return await drive(agent, prompt, history=history, view=view, checkpoint=checkpoint)
    finally:
        with anyio.CancelScope(shield=True):
            await agent.aclose()


def _show_error(err: TextIO, exc: BaseException, debug: bool, note: str) -> None:
    if debug:
        err.write(scrub("".join(traceback.format_exception(exc))))
    hint = "" if debug or isinstance(exc, ToolwireError) else " (--debug shows the traceback)"
    err.write(f"toolwire: error: {error_line(exc)}{note}{hint}\n")


def run_command(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """``toolwire run``: run the agent, show it, print or save what it produced."""
    save = Path(args.save) if args.save else None
    if save is not None:
        check_writable(save)
    prompt, history = _prompt_and_history(args, sys.stdin)
    agent = _with_overrides(find_agent(args.target), args.model, args.max_tokens)
    view = _view_for(args, out)
    outcome = anyio.run(_run_and_close, agent, prompt, history, view, save)

    note = ""
    if save is not None and outcome.transcript is not None:
        write_transcript(save, outcome.transcript)
        note = f"; transcript saved to {save}"
    if outcome.interrupted:
        err.write(f"toolwire: interrupted, the run was cancelled{note}\n")
        return EXIT_INTERRUPTED
    if outcome.error is not None:
        _show_error(err, outcome.error, args.debug, note)
        return EXIT_RUN_ERROR
    if outcome.result is None:
        # Cancelled from outside (not by Ctrl-C): nothing finished, nothing to print.
        err.write(f"toolwire: the run was cancelled{note}\n")
        return EXIT_INTERRUPTED
    if args.json:
        # RunResult's JSON holds the transcript exactly as the wire carries it.
        data = json.loads(outcome.result.to_json())
        out.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
        out.flush()
    return EXIT_DONE


def tools_command(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """``toolwire tools``: the tool definitions, as the request's ``tools`` list carries them."""
    with placeholder_credential():
        definitions = tool_definitions(args.target)
    out.write(json.dumps(definitions, indent=2, ensure_ascii=False) + "\n")
    return EXIT_DONE


def _port_taken(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # The same option the server binds with, so a port in TIME_WAIT still counts as free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def _announce_when_listening(port: int, banner: str, out: TextIO) -> None:
    # The banner promises a server that answers, so it waits until one does: whoever reads
    # it (a person, a script) may connect at once.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                pass
        except OSError:
            time.sleep(0.02)
            continue
        out.write(banner)
        out.flush()
        return


def fake_api_command(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """``toolwire fake-api``: serve the fake Messages API on 127.0.0.1 until Ctrl-C."""
    from toolwire.testing import load_script, serve_forever

    described = "no script: every request gets a short text reply"
    if args.script:
        try:
            entries = load_script(args.script)
        except FileNotFoundError:
            raise UsageError(f"--script {args.script}: no such file") from None
        except (OSError, ValueError) as exc:
            raise UsageError(f"--script {scrub(str(exc))}") from None
        count = f"{len(entries)} entr{'y' if len(entries) == 1 else 'ies'}"
        described = f"script {args.script}: {count}, repeated when used up"
    if importlib.util.find_spec("uvicorn") is None:
        err.write("toolwire: error: fake-api needs uvicorn: pip install 'toolwire[testing]'\n")
        return EXIT_RUN_ERROR
    if _port_taken(args.port):
        err.write(f"toolwire: error: port {args.port} on 127.0.0.1 is in use; try --port N\n")
        return EXIT_RUN_ERROR
    base_url = f"http://127.0.0.1:{args.port}"
    banner = (
        f"Fake Messages API on {base_url} ({described})\n"
        "Point a client at it, in another shell:\n"
        f"  export ANTHROPIC_BASE_URL={base_url}\n"
        "  export ANTHROPIC_API_KEY=any-key   # any key is accepted\n"
        "Ctrl-C stops it.\n"
    )
    threading.Thread(
        target=_announce_when_listening, args=(args.port, banner, out), daemon=True
    ).start()
    # uvicorn stops on Ctrl-C by itself, then passes the signal on: the normal way to stop.
    with contextlib.suppress(KeyboardInterrupt):
        serve_forever(args.port, args.script)
    out.write("Stopped.\n")
    return EXIT_DONE


COMMANDS = {"run": run_command, "tools": tools_command, "fake-api": fake_api_command}
"""Each command's function, by name."""
