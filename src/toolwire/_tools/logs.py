"""Quiet logging of tool failures: the model gets the message, the log gets the traceback."""

from __future__ import annotations

from toolwire._logging import emit

__all__ = ["log_tool_exception"]


def log_tool_exception(tool_name: str, tool_use_id: str, exc: BaseException) -> None:
    """Log a tool's exception with its traceback, at INFO: feeding it back is normal operation.

    Through structlog when the application configured it, otherwise through the standard
    ``logging.getLogger("toolwire")``, silent until the application turns it up. Only the tool's
    name, the call's id and the exception are logged, never the tool's input.
    """
    emit("toolwire.tool_exception", "info", exc_info=exc, tool=tool_name, tool_use_id=tool_use_id)
