"""How the command line shows calls, results and outcomes, the same in every view."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from typing import Any

from toolwire import RunResult, ToolCallFinished, Usage

__all__ = [
    "call_text",
    "duration_text",
    "error_line",
    "failure_reason",
    "scrub",
    "shorten",
    "summary_parts",
]

# Values the environment holds that must never be printed, even inside an error message.
_SECRET_VARIABLES = ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN")
# Shorter values are no real credential, and replacing them would garble ordinary words.
_MIN_SECRET_LENGTH = 8


def shorten(text: str, limit: int) -> str:
    """``text`` on one line, cut to ``limit`` characters with an ellipsis when longer."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: max(limit - 1, 0)] + "…"


def call_text(name: str, arguments: Mapping[str, Any], limit: int = 80) -> str:
    """A tool call as ``name(key="value", n=2)``, cut to ``limit`` characters."""
    shown = ", ".join(
        f"{key}={json.dumps(value, ensure_ascii=False, default=str)}"
        for key, value in arguments.items()
    )
    return shorten(f"{name}({shown})", limit)


def duration_text(seconds: float) -> str:
    """``0.42s``, ``12.3s``, ``2m05s``."""
    if seconds < 10:
        return f"{seconds:.2f}s"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes}m{rest:02d}s"


def failure_reason(event: ToolCallFinished, limit: int = 60) -> str:
    """Why a tool call failed, in a few words: its kind and the start of what the model got."""
    content = event.result.content
    if isinstance(content, str):
        text = content
    elif isinstance(content, list):
        text = " ".join(getattr(block, "text", "") for block in content).strip()
    else:
        text = ""
    kind = event.error or "error"
    return shorten(f"{kind}: {text}" if text else kind, limit)


def _tokens(usage: Usage) -> str:
    cached = ""
    if usage.cache_read_input_tokens:
        cached = f" (+{usage.cache_read_input_tokens:,} cache read)"
    return f"{usage.input_tokens:,} input{cached} / {usage.output_tokens:,} output tokens"


def summary_parts(result: RunResult[Any], elapsed: float) -> list[str]:
    """The end-of-run summary: stop reason, requests, tool calls, tokens, time."""
    turns = f"{result.turns} turn{'' if result.turns == 1 else 's'}"
    calls = f"{result.tool_calls} tool call{'' if result.tool_calls == 1 else 's'}"
    parts = [result.stop_reason or "no stop reason", turns, calls, _tokens(result.usage)]
    if result.truncated:
        parts.append(f"truncated: {', '.join(result.truncated)}")
    parts.append(duration_text(elapsed))
    return parts


def scrub(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with every credential of the environment (and ``secrets``) replaced."""
    values = [os.environ.get(v, "") for v in _SECRET_VARIABLES]
    for secret in (*values, *secrets):
        if len(secret) >= _MIN_SECRET_LENGTH:
            text = text.replace(secret, "[redacted]")
    return text


def error_line(exc: BaseException, secrets: Iterable[str] = ()) -> str:
    """An exception as one line: its class name and its message, credentials removed."""
    message = " ".join(str(exc).split())
    line = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
    return scrub(line, secrets)
