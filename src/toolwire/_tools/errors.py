"""The exception for tool input that failed validation."""

from __future__ import annotations

from collections.abc import Sequence

from toolwire._errors import ToolwireError

from .feedback import FieldProblem, format_problems

__all__ = ["ToolInputError"]


class ToolInputError(ToolwireError, ValueError):
    """A tool's input did not match its schema; the message is the feedback the model receives."""

    def __init__(self, tool_name: str, problems: Sequence[FieldProblem]) -> None:
        self.tool_name = tool_name
        self.problems = list(problems)
        super().__init__(format_problems(tool_name, self.problems))
