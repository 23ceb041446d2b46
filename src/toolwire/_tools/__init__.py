"""The tools layer: functions become tools with a schema, a validator and a way to run."""

from .context import Context, DepsT
from .decorator import DEFAULT_MAX_RETRIES, FunctionTool, Tool, tool
from .errors import ToolInputError
from .feedback import FieldProblem
from .policy import Decision, ExceptionRules, ToolPolicy
from .results import DEFAULT_MAX_RESULT_CHARS, ErrorKind, ToolOutcome
from .toolset import Toolset

__all__ = [
    "DEFAULT_MAX_RESULT_CHARS",
    "DEFAULT_MAX_RETRIES",
    "Context",
    "Decision",
    "DepsT",
    "ErrorKind",
    "ExceptionRules",
    "FieldProblem",
    "FunctionTool",
    "Tool",
    "ToolInputError",
    "ToolOutcome",
    "ToolPolicy",
    "Toolset",
    "tool",
]
