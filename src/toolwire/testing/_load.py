"""Scripts as JSON: a list whose items are messages, plain text, or faults.

```json
[
  "Hello!",
  {"fault": "status", "status": 429, "retry_after": 0},
  {"content": [{"type": "text", "text": "It is 21°C."}], "stop_reason": "end_turn"},
  {"fault": "delay", "seconds": 0.5, "then": "Sorry for the wait."}
]
```

A string is a text reply; an object with ``"fault"`` is a ``Fault`` (the name of its class
method, then its arguments by name; ``status`` may stand for ``code``; ``then`` and ``message``
/ ``reply`` entries nest); any other object is a response message, missing fields filled in
as ``reply()`` fills them.
"""

from __future__ import annotations

import inspect
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, get_args

from toolwire._wire.messages import Message

from ._faults import Fault, FaultKind
from ._script import reply
from ._types import Reply

__all__ = ["entry_from_json", "load_script"]

_FAULT_NAMES = frozenset(get_args(FaultKind))

# Arguments that hold a script entry of their own.
_NESTED = {
    "delay": ("then",),
    "drop_mid_stream": ("message",),
    "truncate": ("message",),
    "stream_error": ("reply",),
}


def _message(data: Mapping[str, Any]) -> Message:
    fields = dict(data)
    if "stop_reason" not in fields:
        has_tool = any(
            isinstance(b, Mapping) and b.get("type") == "tool_use"
            for b in fields.get("content") or []
        )
        fields["stop_reason"] = "tool_use" if has_tool else "end_turn"
    fields.setdefault("stop_sequence", None)
    return Message.model_validate(fields)


def _fault(data: Mapping[str, Any]) -> Fault:
    args = dict(data)
    name = args.pop("fault")
    if name not in _FAULT_NAMES:
        raise ValueError(f"unknown fault {name!r}; known: {', '.join(sorted(_FAULT_NAMES))}")
    if name == "status" and "status" in args:
        args["code"] = args.pop("status")
    for key in _NESTED.get(name, ()):
        if key in args:
            args[key] = entry_from_json(args[key])
            if key != "then" and not isinstance(args[key], Message):
                raise ValueError(f"fault {name!r}: {key!r} must be a message")
    maker = getattr(Fault, name)
    try:
        inspect.signature(maker).bind(**args)
    except TypeError as exc:
        raise ValueError(f"fault {name!r}: {exc}") from None
    result = maker(**args)
    assert isinstance(result, Fault)
    return result


def entry_from_json(item: object) -> Message | Fault:
    """One script entry from its JSON form: a string, a message object, or a fault object."""
    if isinstance(item, str):
        return reply(item)
    if not isinstance(item, Mapping):
        raise ValueError(f"a script entry must be a string or an object, got {type(item).__name__}")
    if "fault" in item:
        return _fault(item)
    return _message(item)


def load_script(path: str | os.PathLike[str]) -> list[Reply]:
    """The entries of a JSON script file (a list; see the module docstring for the format)."""
    text = Path(path).read_text(encoding="utf-8")
    try:
        items = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{os.fspath(path)}: not valid JSON ({exc})") from None
    if not isinstance(items, list):
        raise ValueError(f"{os.fspath(path)}: a script must be a JSON list of entries")
    entries: list[Reply] = []
    for n, item in enumerate(items):
        try:
            entries.append(entry_from_json(item))
        except ValueError as exc:
            raise ValueError(f"{os.fspath(path)}: entry {n}: {exc}") from None
    return entries
