"""Transcript files: a JSON list of messages exactly as they go over the wire."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from toolwire import MessageParam

from ._load import UsageError

__all__ = ["check_writable", "read_transcript", "write_transcript"]


def write_transcript(path: Path, messages: Sequence[MessageParam]) -> None:
    """Write ``messages`` to ``path`` as a JSON list of wire dicts.

    The file is replaced in one step (written beside it, then renamed), so an interrupted
    write never leaves half a transcript where a whole one was.
    """
    data = [m.to_wire() for m in messages]
    scratch = path.with_name(f".{path.name}.partial")
    scratch.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(scratch, path)


def check_writable(path: Path) -> None:
    """Fail early (a ``UsageError``) when ``path`` could not be written at the end of a run."""
    parent = path.parent
    if path.is_dir():
        raise UsageError(f"--save {path}: is a directory")
    if not parent.is_dir():
        raise UsageError(f"--save {path}: directory {parent} does not exist")


def read_transcript(path: Path) -> list[MessageParam]:
    """The messages saved in ``path`` by ``--save`` (or the ``messages`` of ``--json`` output)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"--resume {path}: no such file") from None
    except OSError as exc:
        raise UsageError(f"--resume {path}: cannot read it ({exc.strerror})") from None
    try:
        data: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"--resume {path}: not JSON ({exc})") from None
    if isinstance(data, dict) and isinstance(data.get("messages"), list):
        data = data["messages"]
    if not isinstance(data, list) or not data:
        raise UsageError(f"--resume {path}: expected a non-empty JSON list of messages")
    messages: list[MessageParam] = []
    for n, item in enumerate(data):
        try:
            messages.append(MessageParam.model_validate(item))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            field = f" at {where}" if where else ""
            raise UsageError(
                f"--resume {path}: message {n} is not a message{field}: {first['msg']}"
            ) from None
    return messages
