"""Fuzzing tool input: random JSON against tools with random schemas.

Tools are built two ways: ``@tool`` on functions whose parameters are drawn from a pool of
annotated types (with awkward names and defaults), and ``Tool.from_schema`` on generated JSON
Schemas. Inputs mix valid values with random JSON (NaN and infinities included: the client's
JSON parser accepts them, so a server can send them).

Whatever the input, ``Tool.run`` returns: either a success, after calling the function once
with arguments of the declared types, or an ``is_error`` result whose text is the per-field
feedback (``Invalid input for <tool>: <field>: ...``) naming a field of the input or of the
tool, with the function never called. ``dispatch`` answers every call the same way and ends
the run only with ``ToolRetriesExceeded`` once a tool's retry budget is spent.

Two oracles: the official ``jsonschema`` validator says which inputs a generated schema accepts
(``Tool.from_schema`` must agree exactly on the keywords it checks), and an input valid under a
``@tool`` schema must be accepted by the tool (the schema promises nothing it refuses).
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import inspect
import json
import math
import os
import uuid
from typing import Annotated, Any, Literal

import jsonschema  # type: ignore[import-untyped]
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, Field, TypeAdapter
from typing_extensions import TypedDict

from toolwire import (
    Context,
    Tool,
    ToolInputError,
    ToolResultBlock,
    ToolRetriesExceeded,
    Toolset,
    ToolUseBlock,
    dispatch,
    tool,
)
from toolwire._tools import ToolOutcome
from toolwire._tools.feedback import key_text

# TOOLWIRE_FUZZ_EXAMPLES=2000 runs a longer search than the suite's quick one.
FUZZ = settings(
    max_examples=int(os.environ.get("TOOLWIRE_FUZZ_EXAMPLES", "30")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)

# -- random JSON, as a server may send it ----------------------------------------------------------

keys = st.sampled_from(["a", "b", "x", "y", "name", "value", "", "é", "0"]) | st.text(max_size=6)
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()
    | st.text(max_size=12)
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
    max_leaves=12,
)

# -- @tool parameters ------------------------------------------------------------------------------


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"


class Point(BaseModel):
    x: int
    y: int = 0


class Span(TypedDict):
    start: int
    end: int


@dataclasses.dataclass
class Pair:
    left: str
    right: bool = False


@dataclasses.dataclass(frozen=True)
class Kind:
    """One parameter type: its annotation, valid JSON values for it, and a default."""

    annotation: Any
    valid: st.SearchStrategy[Any]
    default: Any
    formats: bool = False
    """Whether the schema uses ``format`` (which JSON Schema validators do not check)."""


finite = st.floats(allow_nan=False, allow_infinity=False)
KINDS: list[Kind] = [
    Kind(int, st.integers(-(2**40), 2**40), 0),
    Kind(float, finite | st.integers(-1000, 1000), 1.5),
    Kind(str, st.text(max_size=10), ""),
    Kind(bool, st.booleans(), False),
    Kind(Literal["a", "b", "c"], st.sampled_from(["a", "b", "c"]), "a"),
    Kind(list[int], st.lists(st.integers(-5, 5), max_size=4), []),
    Kind(dict[str, float], st.dictionaries(st.text(max_size=3), finite, max_size=3), {}),
    Kind(tuple[int, str], st.tuples(st.integers(0, 9), st.text(max_size=3)).map(list), (0, "")),
    Kind(int | None, st.none() | st.integers(0, 9), None),
    Kind(str | int, st.text(max_size=4) | st.integers(0, 9), 0),
    Kind(Annotated[int, Field(ge=0, le=100)], st.integers(0, 100), 50),
    Kind(Annotated[str, Field(min_length=1, max_length=5)], st.text(min_size=1, max_size=5), "x"),
    Kind(Color, st.sampled_from(["red", "green"]), Color.RED),
    Kind(
        Point, st.fixed_dictionaries({"x": st.integers(0, 9)}, optional={"y": st.integers()}), None
    ),
    Kind(Span, st.fixed_dictionaries({"start": st.integers(0, 9), "end": st.integers(0, 9)}), None),
    Kind(
        Pair,
        st.fixed_dictionaries({"left": st.text(max_size=3)}, optional={"right": st.booleans()}),
        None,
    ),
    Kind(list[Point], st.lists(st.fixed_dictionaries({"x": st.integers(0, 9)}), max_size=2), []),
    Kind(datetime.date, st.dates().map(lambda d: d.isoformat()), None, formats=True),
    Kind(uuid.UUID, st.uuids().map(str), None, formats=True),
]

# Names that collide with pydantic's own attributes or JSON Schema keywords must work as well.
PARAM_NAMES = ["city", "json", "copy", "model_config", "title", "type", "items", "properties"]


@dataclasses.dataclass
class Spec:
    """A generated tool: its parameters as (name, kind, has_default), and how strict it is."""

    params: list[tuple[str, Kind, bool]]
    strict: bool

    @property
    def names(self) -> list[str]:
        return [name for name, _, _ in self.params]

    @property
    def formats(self) -> bool:
        return any(kind.formats for _, kind, _ in self.params)

    def __repr__(self) -> str:
        shown = [
            f"{name}: {getattr(k.annotation, '__name__', k.annotation)}{' = …' if d else ''}"
            for name, k, d in self.params
        ]
        return f"Spec({', '.join(shown)}; strict={self.strict})"


@st.composite
def specs(draw: st.DrawFn) -> Spec:
    names = draw(st.lists(st.sampled_from(PARAM_NAMES), unique=True, max_size=4))
    params = [(name, draw(st.sampled_from(KINDS)), draw(st.booleans())) for name in names]
    return Spec(params, draw(st.booleans()))


def build(spec: Spec) -> tuple[Tool[Any], list[dict[str, Any]]]:
    """A ``@tool`` with the spec's signature; the list receives every call's arguments."""
    calls: list[dict[str, Any]] = []

    async def fuzzed(**kwargs: Any) -> str:
        calls.append(kwargs)
        return "ok"

    parameters = [
        inspect.Parameter(
            name,
            inspect.Parameter.KEYWORD_ONLY,
            annotation=kind.annotation,
            default=kind.default if has_default else inspect.Parameter.empty,
        )
        for name, kind, has_default in spec.params
    ]
    fuzzed.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    fuzzed.__annotations__ = {name: kind.annotation for name, kind, _ in spec.params}
    fuzzed.__doc__ = "A tool with generated parameters."
    return tool(strict=spec.strict)(fuzzed), calls


@st.composite
def inputs_for(draw: st.DrawFn, spec: Spec) -> dict[str, Any]:
    """An input: for each parameter a valid value, random JSON, or nothing; maybe extra keys."""
    data: dict[str, Any] = {}
    for name, kind, _ in spec.params:
        choice = draw(st.sampled_from(["valid", "valid", "random", "absent"]))
        if choice == "valid":
            data[name] = draw(kind.valid)
        elif choice == "random":
            data[name] = draw(json_values)
    if draw(st.integers(0, 4)) == 0:
        data[draw(keys)] = draw(json_values)
    return data


@st.composite
def cases(
    draw: st.DrawFn, spec_strategy: st.SearchStrategy[Spec] | None = None
) -> tuple[Spec, dict[str, Any]]:
    """A tool spec and an input for it (drawn up front: async tests cannot draw mid-run)."""
    spec = draw(spec_strategy if spec_strategy is not None else specs())
    return spec, draw(inputs_for(spec))


def context() -> Context[None]:
    return Context(deps=None, tool_use_id="toolu_fuzz", tool_name="fuzzed")


def assert_feedback(outcome: ToolOutcome, tool_name: str, known: set[str]) -> None:
    """A validation failure's result is well-formed feedback naming a field."""
    result = outcome.result
    assert outcome.error == "validation"
    assert result.is_error is True
    assert result.tool_use_id == "toolu_fuzz"
    assert isinstance(result.content, str)
    prefix = f"Invalid input for {tool_name}: "
    assert result.content.startswith(prefix)
    assert len(result.content) > len(prefix)
    error = outcome.exception
    assert isinstance(error, ToolInputError)
    assert error.problems
    first = error.problems[0]
    # The feedback names where the problem is: a field the tool has or the input sent (an odd
    # key such as "" or "a.b" quoted, so that it still reads as one field).
    names = {key_text(name) for name in known}
    assert any(
        first.path == name or first.path.startswith((f"{name}.", f"{name}[")) for name in names
    ), f"{first.path!r} names no field: {result.content}"
    assert result.content.removeprefix(prefix).startswith(first.path)


def is_valid(annotation: Any, value: Any) -> bool:
    try:
        TypeAdapter(annotation).validate_python(value, strict=True)
    except Exception:
        return False
    return True


# -- the properties --------------------------------------------------------------------------------


@pytest.mark.anyio
@FUZZ
@given(case=cases())
async def test_random_input_gives_a_call_or_well_formed_feedback(
    case: tuple[Spec, dict[str, Any]],
) -> None:
    spec, given_input = case
    fuzzed, calls = build(spec)
    outcome = await fuzzed.run(given_input, context())
    event("accepted" if outcome.error is None else "refused")
    if outcome.error is None:
        assert calls == [calls[0]]
        arguments = calls[0]
        required = {name for name, _, has_default in spec.params if not has_default}
        assert required <= set(arguments) <= set(spec.names)
        for name, kind, _ in spec.params:
            if name in arguments and name in given_input:
                assert is_valid(kind.annotation, arguments[name]), (name, arguments[name])
        assert outcome.result.content == "ok"
    else:
        assert calls == []
        assert_feedback(outcome, fuzzed.name, set(spec.names) | set(given_input))


@pytest.mark.anyio
@FUZZ
@given(case=cases(specs().filter(lambda s: not s.strict and not s.formats)))
async def test_input_valid_under_the_tool_schema_is_accepted(
    case: tuple[Spec, dict[str, Any]],
) -> None:
    spec, given_input = case
    fuzzed, calls = build(spec)
    validator = jsonschema.Draft202012Validator(fuzzed.input_schema)
    outcome = await fuzzed.run(given_input, context())
    event(f"schema-valid: {validator.is_valid(given_input)}")
    if validator.is_valid(given_input):
        assert outcome.error is None, outcome.result.content
        assert len(calls) == 1


# -- Tool.from_schema against jsonschema -----------------------------------------------------------

simple_types = st.sampled_from(
    ["string", "integer", "number", "boolean", "null", "array", "object"]
)


@st.composite
def leaf_schemas(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(simple_types)
    schema: dict[str, Any] = {"type": kind}
    if draw(st.booleans()):
        schema["type"] = draw(st.lists(simple_types, min_size=1, max_size=3, unique=True))
    if kind == "string":
        if draw(st.booleans()):
            schema["minLength"] = draw(st.integers(0, 3))
        if draw(st.booleans()):
            schema["maxLength"] = draw(st.integers(0, 6))
        if draw(st.booleans()):
            schema["pattern"] = draw(st.sampled_from(["^a", "b$", "[0-9]+", "^$", "é"]))
    elif kind in ("integer", "number"):
        for keyword in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
            if draw(st.integers(0, 3)) == 0:
                schema[keyword] = draw(st.integers(-10, 10))
        if draw(st.integers(0, 4)) == 0:
            schema["multipleOf"] = draw(st.sampled_from([1, 2, 3, 5]))
    if draw(st.integers(0, 4)) == 0:
        schema = {"enum": draw(st.lists(scalars.filter(_finite), min_size=1, max_size=3))}
    if draw(st.integers(0, 6)) == 0:
        schema = {"const": draw(scalars.filter(_finite))}
    return schema


def _finite(value: Any) -> bool:
    return not (isinstance(value, float) and not math.isfinite(value))


def object_schemas(children: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[Any]:
    @st.composite
    def build_object(draw: st.DrawFn) -> dict[str, Any]:
        properties = draw(
            st.dictionaries(st.sampled_from(["a", "b", "c", "d"]), children, max_size=4)
        )
        schema: dict[str, Any] = {"type": "object", "properties": properties}
        if properties:
            schema["required"] = draw(st.lists(st.sampled_from(sorted(properties)), unique=True))
        choice = draw(st.sampled_from(["none", "false", "true", "schema"]))
        if choice == "false":
            schema["additionalProperties"] = False
        elif choice == "true":
            schema["additionalProperties"] = True
        elif choice == "schema":
            schema["additionalProperties"] = draw(children)
        if draw(st.integers(0, 4)) == 0:
            schema["minProperties"] = draw(st.integers(0, 3))
        if draw(st.integers(0, 4)) == 0:
            schema["maxProperties"] = draw(st.integers(0, 3))
        return schema

    return build_object()


@st.composite
def combined(draw: st.DrawFn, children: st.SearchStrategy[dict[str, Any]]) -> dict[str, Any]:
    keyword = draw(st.sampled_from(["anyOf", "oneOf", "allOf", "not", "items", "prefixItems"]))
    if keyword == "not":
        return {"not": draw(children)}
    if keyword == "items":
        schema: dict[str, Any] = {"type": "array", "items": draw(children)}
        if draw(st.booleans()):
            schema["minItems"] = draw(st.integers(0, 2))
        if draw(st.booleans()):
            schema["maxItems"] = draw(st.integers(0, 3))
        if draw(st.booleans()):
            schema["uniqueItems"] = True
        return schema
    if keyword == "prefixItems":
        return {"type": "array", "prefixItems": draw(st.lists(children, min_size=1, max_size=2))}
    return {keyword: draw(st.lists(children, min_size=1, max_size=3))}


schemas = st.recursive(
    leaf_schemas(),
    lambda children: object_schemas(children) | combined(children),
    max_leaves=6,
)
top_schemas = object_schemas(schemas)


@st.composite
def inputs_near(draw: st.DrawFn, schema: dict[str, Any]) -> dict[str, Any]:
    """Random objects using the schema's property names, so that some of them are valid."""
    names = [*sorted(schema.get("properties", {})), "a", "z"]
    values = json_values | st.integers(-12, 12) | st.sampled_from(["a", "ab", "b", "1", "", "é"])
    return draw(st.dictionaries(st.sampled_from(names), values, max_size=4))


@pytest.mark.anyio
@FUZZ
@st.composite
def schema_cases(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any]]:
    schema = draw(top_schemas)
    return schema, draw(inputs_near(schema))


@pytest.mark.anyio
@FUZZ
@given(case=schema_cases())
async def test_from_schema_agrees_with_jsonschema(
    case: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    schema, given_input = case
    calls: list[dict[str, Any]] = []

    async def fn(**kwargs: Any) -> str:
        calls.append(kwargs)
        return "ok"

    fuzzed = Tool.from_schema(name="from_schema", description=None, input_schema=schema, fn=fn)
    expected_valid = jsonschema.Draft202012Validator(schema).is_valid(given_input)
    event(f"schema-valid: {expected_valid}")
    outcome = await fuzzed.run(given_input, context())
    if expected_valid:
        assert outcome.error is None, outcome.result.content
        # No coercion: the function gets the input exactly as sent.
        assert calls == [given_input]
    else:
        assert calls == []
        result = outcome.result
        assert outcome.error == "validation"
        assert result.is_error is True
        assert isinstance(result.content, str)
        assert result.content.startswith("Invalid input for from_schema: ")
        assert len(result.content) > len("Invalid input for from_schema: ")


# -- dispatch: one answer per call, or the documented end of the run -------------------------------


@pytest.mark.anyio
@FUZZ
@st.composite
def turns(draw: st.DrawFn) -> tuple[Spec, int, list[tuple[bool, dict[str, Any]]]]:
    """A tool, its retry budget, and one turn of calls: (to the tool or an unknown one, input)."""
    spec = draw(specs())
    calls = draw(
        st.lists(st.tuples(st.integers(0, 2).map(bool), inputs_for(spec)), min_size=1, max_size=5)
    )
    return spec, draw(st.integers(0, 2)), calls


@pytest.mark.anyio
@FUZZ
@given(turn=turns())
async def test_dispatch_answers_every_random_call_or_ends_with_retries_exceeded(
    turn: tuple[Spec, int, list[tuple[bool, dict[str, Any]]]],
) -> None:
    spec, max_retries, planned = turn
    fuzzed, calls = build(spec)
    fuzzed.max_retries = max_retries
    uses = [
        ToolUseBlock(id=f"toolu_{i}", name=fuzzed.name if known else "not_a_tool", input=data)
        for i, (known, data) in enumerate(planned)
    ]
    results: list[ToolResultBlock] = []
    ended: ToolRetriesExceeded | None = None
    try:
        await dispatch(uses, Toolset([fuzzed]), results=results)
    except ToolRetriesExceeded as exc:
        ended = exc
    if ended is not None:
        assert fuzzed.name in str(ended) or "not_a_tool" in str(ended)
    assert [r.tool_use_id for r in results] == [u.id for u in uses]
    for result in results:
        if result.is_error:
            assert isinstance(result.content, str)
            assert result.content.strip()
        else:
            assert result.content == "ok"
    assert len(calls) == sum(1 for r in results if not r.is_error)


def test_a_generated_tool_has_the_declared_schema() -> None:
    spec = Spec([("city", KINDS[0], False), ("json", KINDS[4], True)], strict=False)
    fuzzed, _ = build(spec)
    assert fuzzed.input_schema["properties"]["city"] == {"type": "integer"}
    assert fuzzed.input_schema["properties"]["json"]["enum"] == ["a", "b", "c"]
    assert fuzzed.input_schema["required"] == ["city"]


@pytest.mark.anyio
@pytest.mark.parametrize("key", ["", "a.b", "x[0]", "two words"])
async def test_an_odd_unexpected_key_is_still_named(key: str) -> None:
    # Once "unexpected field (accepted: city)" with no field at all, for the key "".
    spec = Spec([("city", KINDS[2], False)], strict=False)
    fuzzed, calls = build(spec)
    outcome = await fuzzed.run({"city": "Oslo", key: 1}, context())
    assert calls == []
    expected = f"Invalid input for fuzzed: {json.dumps(key)}: unexpected field (accepted: city)"
    assert outcome.result.content == expected
    schema_tool = Tool.from_schema(
        name="schema_tool",
        description=None,
        input_schema={"type": "object", "properties": {}, "additionalProperties": False},
        fn=lambda: "never",
    )
    refused = await schema_tool.run({key: 1}, context())
    assert (
        refused.result.content
        == f"Invalid input for schema_tool: {json.dumps(key)}: unexpected field"
    )
