"""Invalid tool input as the model should read it: per field, what was wrong and what was expected.

``Invalid input for get_weather: unit: expected 'celsius' or 'fahrenheit', got 'kelvin'; city:
missing required field``. No documentation links, no internal type names: the model needs only
the field, the expectation and what it sent, so it can correct the call.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

__all__ = ["MISSING", "FieldProblem", "format_problems", "key_text", "problems_from_pydantic"]


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()
"""Marks a problem with no offending value (a missing field)."""

_MAX_PROBLEMS = 10
_MAX_VALUE_CHARS = 60


@dataclass(frozen=True)
class FieldProblem:
    """One thing wrong with a tool's input: where, what was expected (or why), what was sent."""

    path: str
    expected: str
    got: Any = MISSING

    def render(self) -> str:
        """``path: expected ..., got ...`` (the path is left out at the top level)."""
        text = self.expected if self.got is MISSING else f"{self.expected}, got {show(self.got)}"
        return f"{self.path}: {text}" if self.path else text


def show(value: Any) -> str:
    """A short rendering of a value the model sent: strings quoted, the rest as compact JSON."""
    if isinstance(value, str):
        text = repr(value)
    else:
        try:
            text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)
        except (TypeError, ValueError):
            text = repr(value)
    if len(text) > _MAX_VALUE_CHARS:
        text = text[: _MAX_VALUE_CHARS - 1] + "…"
    return text


def format_problems(tool_name: str, problems: Sequence[FieldProblem]) -> str:
    """The one-line message the model receives for invalid input to ``tool_name``."""
    merged = _merge(problems)
    shown = [p.render() for p in merged[:_MAX_PROBLEMS]]
    if len(merged) > _MAX_PROBLEMS:
        shown.append(f"and {len(merged) - _MAX_PROBLEMS} more problems")
    return f"Invalid input for {tool_name}: " + "; ".join(shown)


def _merge(problems: Iterable[FieldProblem]) -> list[FieldProblem]:
    """Join the alternatives a union reports for one field: ``expected A or B, got X``."""
    order: list[str] = []
    by_path: dict[str, list[FieldProblem]] = {}
    for problem in problems:
        if problem.path not in by_path:
            order.append(problem.path)
            by_path[problem.path] = []
        if problem not in by_path[problem.path]:
            by_path[problem.path].append(problem)
    merged: list[FieldProblem] = []
    for path in order:
        group = by_path[path]
        first = group[0]
        if len(group) > 1 and all(
            p.expected.startswith("expected ") and p.got == first.got for p in group
        ):
            alternatives = " or ".join(p.expected.removeprefix("expected ") for p in group)
            merged.append(FieldProblem(path, f"expected {alternatives}", first.got))
        else:
            merged.extend(group)
    return merged


def problems_from_pydantic(
    error: ValidationError, data: Any, *, names: Sequence[str] = ()
) -> list[FieldProblem]:
    """The problems of a pydantic ``ValidationError`` raised while validating ``data``.

    ``names`` are the accepted top-level fields, listed when the model sent an unknown one.
    """
    return [
        FieldProblem(
            _path(detail, data),
            _expected(detail, names if len(detail["loc"]) == 1 else ()),
            _got(detail),
        )
        for detail in error.errors(include_url=False)
    ]


def _path(detail: ErrorDetails, data: Any) -> str:
    """The field path of an error, e.g. ``items[2].name``.

    Pydantic's locations also name the member of a union being tried (``int``, ``list[int]``,
    a model's name). Walking the input alongside tells those apart from real keys and indexes.
    """
    loc = detail["loc"]
    current = data
    parts: list[str] = []
    for i, element in enumerate(loc):
        last = i == len(loc) - 1
        if isinstance(element, int) and isinstance(current, list) and 0 <= element < len(current):
            parts.append(f"[{element}]")
            current = current[element]
        elif isinstance(element, str) and isinstance(current, dict) and element in current:
            parts.append(f".{key_text(element)}")
            current = current[element]
        elif last and isinstance(element, str) and detail["type"] == "missing":
            parts.append(f".{key_text(element)}")
    return "".join(parts).removeprefix(".")


_PLAIN_KEY = re.compile(r"[^.\[\]\s:\"']+")


def key_text(key: str) -> str:
    """A key as a path shows it: as is, or quoted when it is empty or holds ``.``, ``[``,
    ``]``, ``:``, quotes or whitespace (``""`` and ``"a.b"`` must still name a field)."""
    return key if _PLAIN_KEY.fullmatch(key) else json.dumps(key, ensure_ascii=False)


def _got(detail: ErrorDetails) -> Any:
    if detail["type"] in ("missing", "extra_forbidden"):
        return MISSING
    return detail.get("input", MISSING)


_EXPECTED = {
    "missing": "missing required field",
    "string_type": "expected a string",
    "int_type": "expected an integer",
    "int_parsing": "expected an integer",
    "int_from_float": "expected an integer",
    "float_type": "expected a number",
    "float_parsing": "expected a number",
    "finite_number": "expected a finite number",
    "bool_type": "expected true or false",
    "bool_parsing": "expected true or false",
    "none_required": "expected null",
    "list_type": "expected an array",
    "tuple_type": "expected an array",
    "set_type": "expected an array of unique items",
    "frozen_set_type": "expected an array of unique items",
    "dict_type": "expected an object",
    "model_type": "expected an object",
    "model_attributes_type": "expected an object",
    "dataclass_type": "expected an object",
    "datetime_type": "expected a date-time string (ISO 8601)",
    "datetime_parsing": "expected a date-time string (ISO 8601)",
    "datetime_from_date_parsing": "expected a date-time string (ISO 8601)",
    "date_type": "expected a date string (YYYY-MM-DD)",
    "date_parsing": "expected a date string (YYYY-MM-DD)",
    "date_from_datetime_parsing": "expected a date string (YYYY-MM-DD)",
    "date_from_datetime_inexact": "expected a date string (YYYY-MM-DD)",
    "time_type": "expected a time string (HH:MM[:SS])",
    "time_parsing": "expected a time string (HH:MM[:SS])",
    "uuid_type": "expected a UUID string",
    "uuid_parsing": "expected a UUID string",
    "path_type": "expected a path string",
    "json_invalid": "expected valid JSON",
}

_WITH_CONTEXT = {
    "greater_than": "expected a number greater than {gt}",
    "greater_than_equal": "expected a number greater than or equal to {ge}",
    "less_than": "expected a number less than {lt}",
    "less_than_equal": "expected a number less than or equal to {le}",
    "multiple_of": "expected a multiple of {multiple_of}",
    "string_too_short": "expected at least {min_length} characters",
    "string_too_long": "expected at most {max_length} characters",
    "string_pattern_mismatch": "expected a string matching {pattern}",
    "too_short": "expected at least {min_length} items",
    "too_long": "expected at most {max_length} items",
    "literal_error": "expected {expected}",
    "enum": "expected {expected}",
}


def _expected(detail: ErrorDetails, names: Sequence[str]) -> str:
    kind = detail["type"]
    if kind == "extra_forbidden":
        allowed = f" (accepted: {', '.join(names)})" if names else ""
        return f"unexpected field{allowed}"
    if kind in _EXPECTED:
        return _EXPECTED[kind]
    template = _WITH_CONTEXT.get(kind)
    context = detail.get("ctx") or {}
    if template is not None:
        try:
            return template.format(**context)
        except (KeyError, IndexError):
            pass
    message = detail["msg"]
    if kind in ("value_error", "assertion_error"):
        # A validator's own words: keep them, without pydantic's prefix.
        return message.split(", ", 1)[1] if ", " in message else message
    if message.startswith("Input should be "):
        return "expected " + message.removeprefix("Input should be ")
    return message[:1].lower() + message[1:]
