"""A small structural JSON Schema checker for tools whose schema comes from elsewhere.

It covers the keywords tool schemas use: ``type``, ``enum``, ``const``, ``properties``,
``required``, ``additionalProperties``, ``patternProperties``, ``items``, ``prefixItems``,
``minItems``/``maxItems``, ``uniqueItems``, ``minLength``/``maxLength``, ``pattern``,
``minimum``/``maximum`` and their exclusive forms, ``multipleOf``, ``minProperties``/
``maxProperties``, ``anyOf``/``oneOf``/``allOf``/``not``, and local ``$ref`` (``#/...``).
Other keywords (``format``, ``if``/``then``, ...) are not checked: a value the checker lets
through is still validated by the tool itself, if it cares. Problems come out in the same
per-field form as pydantic's, so the model reads one style of feedback.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from .feedback import FieldProblem, key_text, show

__all__ = ["check"]

_TYPE_WORDS = {
    "object": "an object",
    "array": "an array",
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "null": "null",
}


def check(schema: Mapping[str, Any], value: Any) -> list[FieldProblem]:
    """Every problem of ``value`` under ``schema``; an empty list means it is valid."""
    problems: list[FieldProblem] = []
    _check(schema, value, "", schema, problems)
    return problems


def _is_type(value: Any, kind: str) -> bool:
    if kind == "object":
        return isinstance(value, dict)
    if kind == "array":
        return isinstance(value, list | tuple)
    if kind == "string":
        return isinstance(value, str)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "null":
        return value is None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    if kind == "integer":
        return isinstance(value, int) or (math.isfinite(value) and value == int(value))
    return kind == "number"


def _resolve(root: Mapping[str, Any], ref: str) -> Mapping[str, Any]:
    if not ref.startswith("#"):
        raise ValueError(f"only local references are supported, got {ref!r}")
    node: Any = root
    for part in ref.removeprefix("#").split("/"):
        if part:
            node = node[part.replace("~1", "/").replace("~0", "~")]
    return node  # type: ignore[no-any-return]


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key_text(key)}" if path else key_text(key)


def _equal(a: Any, b: Any) -> bool:
    # JSON equality: true is not 1, and 1 equals 1.0.
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    return _same_kind(a, b) and a == b


def _same_kind(a: Any, b: Any) -> bool:
    numbers = (int, float)
    if isinstance(a, numbers) and isinstance(b, numbers):
        return True
    return type(a) is type(b)


def _check(
    schema: Any, value: Any, path: str, root: Mapping[str, Any], out: list[FieldProblem]
) -> None:
    if schema is True or schema == {}:
        return
    if schema is False:
        out.append(FieldProblem(path, "no value is allowed here", value))
        return
    if not isinstance(schema, Mapping):
        return
    if "$ref" in schema:
        _check(_resolve(root, schema["$ref"]), value, path, root, out)
    if not _check_type(schema, value, path, out):
        return
    if "const" in schema and not _equal(value, schema["const"]):
        out.append(FieldProblem(path, f"expected {show(schema['const'])}", value))
    if "enum" in schema and not any(_equal(value, option) for option in schema["enum"]):
        options = " or ".join(show(option) for option in schema["enum"])
        out.append(FieldProblem(path, f"expected {options}", value))
    if isinstance(value, dict):
        _check_object(schema, value, path, root, out)
    elif isinstance(value, list | tuple):
        _check_array(schema, list(value), path, root, out)
    elif isinstance(value, str):
        _check_string(schema, value, path, out)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        _check_number(schema, value, path, out)
    _check_combinators(schema, value, path, root, out)


def _check_type(schema: Mapping[str, Any], value: Any, path: str, out: list[FieldProblem]) -> bool:
    kinds = schema.get("type")
    if kinds is None:
        return True
    options = [kinds] if isinstance(kinds, str) else list(kinds)
    if any(_is_type(value, kind) for kind in options):
        return True
    words = " or ".join(_TYPE_WORDS.get(kind, kind) for kind in options)
    out.append(FieldProblem(path, f"expected {words}", value))
    return False


def _check_object(
    schema: Mapping[str, Any],
    value: dict[str, Any],
    path: str,
    root: Mapping[str, Any],
    out: list[FieldProblem],
) -> None:
    properties: Mapping[str, Any] = schema.get("properties", {})
    for name in schema.get("required", ()):
        if name not in value:
            out.append(FieldProblem(_join(path, name), "missing required field"))
    patterns: Mapping[str, Any] = schema.get("patternProperties", {})
    additional = schema.get("additionalProperties", True)
    for key, item in value.items():
        matched = False
        if key in properties:
            matched = True
            _check(properties[key], item, _join(path, key), root, out)
        for pattern, sub in patterns.items():
            if re.search(pattern, key):
                matched = True
                _check(sub, item, _join(path, key), root, out)
        if not matched:
            if additional is False:
                accepted = f" (accepted: {', '.join(properties)})" if properties else ""
                out.append(FieldProblem(_join(path, key), f"unexpected field{accepted}"))
            else:
                _check(additional, item, _join(path, key), root, out)
    if "minProperties" in schema and len(value) < schema["minProperties"]:
        out.append(FieldProblem(path, f"expected at least {schema['minProperties']} fields"))
    if "maxProperties" in schema and len(value) > schema["maxProperties"]:
        out.append(FieldProblem(path, f"expected at most {schema['maxProperties']} fields"))


def _check_array(
    schema: Mapping[str, Any],
    value: list[Any],
    path: str,
    root: Mapping[str, Any],
    out: list[FieldProblem],
) -> None:
    prefix: list[Any] = list(schema.get("prefixItems", ()))
    for index, item in enumerate(value):
        if index < len(prefix):
            _check(prefix[index], item, _join(path, index), root, out)
        elif "items" in schema:
            _check(schema["items"], item, _join(path, index), root, out)
    if "minItems" in schema and len(value) < schema["minItems"]:
        out.append(FieldProblem(path, f"expected at least {schema['minItems']} items", value))
    if "maxItems" in schema and len(value) > schema["maxItems"]:
        out.append(FieldProblem(path, f"expected at most {schema['maxItems']} items", value))
    if schema.get("uniqueItems"):
        for i, item in enumerate(value):
            if any(_equal(item, other) for other in value[:i]):
                out.append(FieldProblem(_join(path, i), "expected unique items, got a repeat"))
                break


def _check_string(
    schema: Mapping[str, Any], value: str, path: str, out: list[FieldProblem]
) -> None:
    if "minLength" in schema and len(value) < schema["minLength"]:
        out.append(FieldProblem(path, f"expected at least {schema['minLength']} characters", value))
    if "maxLength" in schema and len(value) > schema["maxLength"]:
        out.append(FieldProblem(path, f"expected at most {schema['maxLength']} characters", value))
    pattern = schema.get("pattern")
    if isinstance(pattern, str) and re.search(pattern, value) is None:
        out.append(FieldProblem(path, f"expected a string matching {pattern}", value))


def _check_number(
    schema: Mapping[str, Any], value: float, path: str, out: list[FieldProblem]
) -> None:
    bounds = (
        ("minimum", "greater than or equal to"),
        ("maximum", "less than or equal to"),
        ("exclusiveMinimum", "greater than"),
        ("exclusiveMaximum", "less than"),
    )
    for keyword, words in bounds:
        bound = schema.get(keyword)
        if not isinstance(bound, int | float) or isinstance(bound, bool):
            continue
        holds = {
            "minimum": value >= bound,
            "maximum": value <= bound,
            "exclusiveMinimum": value > bound,
            "exclusiveMaximum": value < bound,
        }[keyword]
        if not holds:
            out.append(FieldProblem(path, f"expected a number {words} {bound}", value))
    step = schema.get("multipleOf")
    if isinstance(step, int | float) and step > 0:
        quotient = value / step
        if not math.isclose(quotient, round(quotient), rel_tol=0, abs_tol=1e-9):
            out.append(FieldProblem(path, f"expected a multiple of {step}", value))


def _check_combinators(
    schema: Mapping[str, Any],
    value: Any,
    path: str,
    root: Mapping[str, Any],
    out: list[FieldProblem],
) -> None:
    for sub in schema.get("allOf", ()):
        _check(sub, value, path, root, out)
    for keyword in ("anyOf", "oneOf"):
        options = schema.get(keyword)
        if not options:
            continue
        results = [_problems_under(option, value, path, root) for option in options]
        passing = sum(1 for found in results if not found)
        if passing == 0:
            out.extend(problem for found in results for problem in found)
        elif keyword == "oneOf" and passing > 1:
            out.append(
                FieldProblem(path, "expected a value matching exactly one alternative", value)
            )
    if "not" in schema and not _problems_under(schema["not"], value, path, root):
        out.append(FieldProblem(path, "expected a value not matching the excluded schema", value))


def _problems_under(
    schema: Any, value: Any, path: str, root: Mapping[str, Any]
) -> list[FieldProblem]:
    found: list[FieldProblem] = []
    _check(schema, value, path, root, found)
    return found
