"""Structured logs of runs: one line per request and per tool call, secrets scrubbed.

toolwire configures nothing globally. When the application has configured structlog, lines go
through ``structlog.get_logger("toolwire")`` and its processors. Otherwise they go to the standard
library's ``logging.getLogger("toolwire")``, which says nothing below WARNING until the
application turns it up, so a library import stays quiet. ``redact_secrets`` is a structlog
processor applications can add to their own chain as well.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable, MutableMapping
from typing import Any

from ._events import Event, RequestSent, ResponseReceived, RunStarted, ToolCallFinished

__all__ = ["EventLogger", "emit", "redact_secrets"]

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING}
_stdlib = logging.getLogger("toolwire")


def _structlog_configured() -> bool:
    # An application that configured structlog has imported it; toolwire never imports it
    # otherwise (importing it pulls in its console renderer, and costs import time).
    module = sys.modules.get("structlog")
    return module is not None and bool(module.is_configured())


def enabled(level: str = "info") -> bool:
    """Whether a line at ``level`` would go anywhere."""
    return _structlog_configured() or _stdlib.isEnabledFor(_LEVELS[level])


def emit(
    name: str, level: str = "info", exc_info: BaseException | None = None, **fields: Any
) -> None:
    """Log one line: through structlog when the application configured it, else the stdlib.

    Unconfigured structlog prints every level to stdout; a library stays quiet until asked.
    """
    if _structlog_configured():
        import structlog

        logger = structlog.get_logger("toolwire")
        if exc_info is not None:
            fields["exc_info"] = exc_info
        getattr(logger, level)(name, **fields)
        return
    lvl = _LEVELS[level]
    if _stdlib.isEnabledFor(lvl):
        text = " ".join(f"{key}={value!r}" for key, value in fields.items())
        _stdlib.log(lvl, "%s %s", name, text, exc_info=exc_info)


def _scrub(value: Any, secrets: tuple[str, ...]) -> Any:
    if isinstance(value, str):
        for secret in secrets:
            if secret in value:
                value = value.replace(secret, "[redacted]")
        return value
    if isinstance(value, dict):
        return {k: _scrub(v, secrets) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_scrub(v, secrets) for v in value)
    return value


class redact_secrets:
    """A structlog processor replacing every given secret with ``[redacted]`` in an event dict."""

    def __init__(self, secrets: Iterable[str]) -> None:
        self.secrets = tuple(s for s in secrets if s)

    def __call__(
        self, logger: Any, method: str, event_dict: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        """Scrub the event dict in place and return it."""
        if not self.secrets:
            return event_dict
        for key, value in list(event_dict.items()):
            event_dict[key] = _scrub(value, self.secrets)
        return event_dict


class EventLogger:
    """Turns a run's events into log lines bound with the run id; secrets are scrubbed."""

    def __init__(self, run_id: str, model: str, secrets: Iterable[str] = ()) -> None:
        self._redact = redact_secrets(secrets)
        self._bound = {"run_id": run_id, "model": model}
        self.enabled = enabled("info")

    def __call__(self, event: Event) -> None:
        """Log one event, if it is one worth a line."""
        if not self.enabled:
            return
        if isinstance(event, ResponseReceived):
            usage = event.message.usage
            self._emit(
                "toolwire.response",
                turn=event.turn,
                request_id=event.request_id,
                duration_ms=round(event.duration_s * 1000, 1),
                stop_reason=event.message.stop_reason,
                input_tokens=usage.input_tokens,
                output_tokens=usage.output_tokens,
                tools=[b.name for b in event.message.tool_uses],
            )
        elif isinstance(event, ToolCallFinished):
            self._emit(
                "toolwire.tool_call",
                tool=event.name,
                tool_use_id=event.tool_use_id,
                duration_ms=round(event.duration_s * 1000, 1),
                error=event.error,
            )
        elif isinstance(event, RequestSent):
            self._emit("toolwire.request", turn=event.turn, streamed=event.streamed, level="debug")
        elif isinstance(event, RunStarted):
            self._emit("toolwire.run_started", level="debug")

    def _emit(self, name: str, level: str = "info", **fields: Any) -> None:
        emit(name, level, **dict(self._redact(None, level, {**self._bound, **fields})))
