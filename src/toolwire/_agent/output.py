"""Structured final output: a final-answer tool whose input is the requested type."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from pydantic import TypeAdapter, ValidationError

from .._wire.request import ToolDefinition

T = TypeVar("T")

__all__ = ["FINAL_ANSWER_TOOL", "OutputSpec"]

FINAL_ANSWER_TOOL = "final_answer"


def _strip_titles(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            k: _strip_titles(v)
            for k, v in node.items()
            if not (k == "title" and isinstance(v, str))
        }
    if isinstance(node, list):
        return [_strip_titles(v) for v in node]
    return node


class OutputSpec(Generic[T]):
    """How a run asks for, and checks, an answer of type ``output_type``.

    The model answers by calling the ``final_answer`` tool; its input is validated by the same
    pydantic adapter that produced the schema. A non-object type is wrapped as ``{"value": ...}``.
    """

    def __init__(self, output_type: type[T], *, retries: int = 2) -> None:
        self.output_type = output_type
        self.retries = retries
        self._adapter: TypeAdapter[T] = TypeAdapter(output_type)
        schema = _strip_titles(self._adapter.json_schema())
        self.wrapped = schema.get("type") != "object"
        if self.wrapped:
            defs = schema.pop("$defs", None)
            schema = {"type": "object", "properties": {"value": schema}, "required": ["value"]}
            if defs:
                schema["$defs"] = defs
        self.definition = ToolDefinition(
            name=FINAL_ANSWER_TOOL,
            description=(
                "Give the final answer. Call this exactly once, when the task is done, "
                "with the answer as input."
            ),
            input_schema=schema,
        )

    def validate(self, data: dict[str, Any]) -> T:
        """The validated answer; raises ``ValidationError`` with what was wrong."""
        if self.wrapped:
            if "value" not in data:
                return self._adapter.validate_python(data)
            return self._adapter.validate_python(data["value"])
        return self._adapter.validate_python(data)

    @staticmethod
    def describe(exc: ValidationError) -> str:
        """A compact, per-field account of what was wrong, for the model to correct."""
        parts = []
        for err in exc.errors(include_url=False):
            where = ".".join(str(p) for p in err["loc"]) or "input"
            parts.append(f"{where}: {err['msg']}")
        return "Invalid final answer: " + "; ".join(parts)
