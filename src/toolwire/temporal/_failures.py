"""Errors across the engine's boundary: a toolwire error as an ``ApplicationError`` and back.

An activity or the workflow raises ``ApplicationError`` whose ``type`` is the toolwire error's
class name and whose first detail is a record of it: its message, its plain attributes
(``status_code``, ``limit``, ...), any ``Message`` it holds, and, for the error that ends a
run, the transcript and usage. On the other side the record becomes the same class again, so
``except LimitExceeded`` works the same on a durable run as on a local one.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from temporalio.exceptions import ApplicationError

from .._errors import ToolwireError
from .._wire.messages import Message, MessageParam, Usage, transcript_adapter

__all__ = [
    "RECORD",
    "application_error",
    "error_from_failure",
    "error_record",
    "find_record",
    "rebuild_error",
    "transcript_json",
]

RECORD = "toolwire_error"
"""The key of a toolwire error's record in an ``ApplicationError``'s first detail."""


def transcript_json(transcript: list[MessageParam]) -> str:
    """A transcript as JSON text, each message exactly as it is sent."""
    return json.dumps([m.to_wire() for m in transcript], ensure_ascii=False, separators=(",", ":"))


def _plain(value: Any) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True


def error_record(
    exc: ToolwireError, *, transcript: str | None = None, usage: Usage | None = None
) -> dict[str, Any]:
    """The record of ``exc``; ``transcript`` (JSON text) and ``usage`` when given."""
    attrs: dict[str, Any] = {}
    messages: dict[str, str] = {}
    for name, value in vars(exc).items():
        if name in ("transcript", "usage") or name.startswith("_"):
            continue
        if isinstance(value, Message):
            messages[name] = value.model_dump_json(exclude_unset=True, by_alias=True)
        elif _plain(value):
            attrs[name] = value
    record: dict[str, Any] = {
        "type": type(exc).__name__,
        "message": str(exc),
        "attrs": attrs,
        "messages": messages,
    }
    if transcript is not None:
        record["transcript"] = transcript
    if usage is not None:
        record["usage"] = usage.to_wire()
    return record


def _subclasses(cls: type[ToolwireError]) -> dict[str, type[ToolwireError]]:
    found: dict[str, type[ToolwireError]] = {}
    for sub in cls.__subclasses__():
        if sub.__module__.startswith("toolwire."):
            found[sub.__name__] = sub
        found.update(_subclasses(sub))
    return found


def rebuild_error(record: Mapping[str, Any]) -> ToolwireError:
    """The toolwire error a record describes: same class, message and attributes."""
    cls = _subclasses(ToolwireError).get(str(record.get("type")), ToolwireError)
    # The classes' constructors differ; the record holds what they computed.
    error = cls.__new__(cls)
    Exception.__init__(error, str(record.get("message", "")))
    for name, value in dict(record.get("attrs") or {}).items():
        setattr(error, name, value)
    for name, text in dict(record.get("messages") or {}).items():
        setattr(error, name, Message.model_validate_json(text))
    usage = Usage.model_validate(record["usage"]) if record.get("usage") else None
    if record.get("transcript") is not None:
        error.attach(transcript_adapter.validate_json(record["transcript"]), usage or Usage())
    elif usage is not None:
        error.usage = usage
    return error


def application_error(
    exc: ToolwireError,
    *,
    retryable: bool = False,
    delay: float | None = None,
    transcript: str | None = None,
    usage: Usage | None = None,
    extra: Mapping[str, Any] | None = None,
) -> ApplicationError:
    """``exc`` as the engine's error: typed by class name, retried only when ``retryable``."""
    detail: dict[str, Any] = {
        RECORD: error_record(exc, transcript=transcript, usage=usage),
        **(extra or {}),
    }
    return ApplicationError(
        str(exc),
        detail,
        type=type(exc).__name__,
        non_retryable=not retryable,
        next_retry_delay=None if delay is None else timedelta(seconds=delay),
    )


def find_record(exc: BaseException | None) -> Mapping[str, Any] | None:
    """The first detail holding a toolwire record along ``exc``'s chain of causes, if any."""
    for _ in range(20):  # a bound, against a cycle of causes
        if exc is None:
            return None
        if isinstance(exc, ApplicationError) and exc.details:
            detail = exc.details[0]
            if isinstance(detail, Mapping) and isinstance(detail.get(RECORD), Mapping):
                return detail
        exc = exc.__cause__
    return None


def error_from_failure(exc: BaseException) -> ToolwireError | None:
    """The toolwire error inside a Temporal failure (``WorkflowFailureError``,
    ``ActivityError``...), rebuilt with its transcript and usage; ``None`` if there is none."""
    detail = find_record(exc)
    if detail is None:
        return None
    return rebuild_error(detail[RECORD])
