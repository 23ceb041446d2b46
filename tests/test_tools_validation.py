"""Input from the model is validated, and a failure says per field what was wrong."""

from __future__ import annotations

import dataclasses
import datetime
import enum
import pathlib
import uuid
from typing import Annotated, Any, Literal

import pytest
from pydantic import BaseModel, Field, field_validator
from typing_extensions import TypedDict

from toolwire._errors import ToolwireError
from toolwire._tools import Context, Tool, ToolInputError, tool


def problem(made: Tool[Any], data: dict[str, Any]) -> str:
    with pytest.raises(ToolInputError) as info:
        made.validate(data)
    return str(info.value)


@tool
def get_weather(city: str, unit: Literal["celsius", "fahrenheit"] = "celsius") -> str:
    """Weather."""
    return city


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Item(BaseModel):
    name: str
    qty: Annotated[int, Field(ge=1)]

    @field_validator("name")
    @classmethod
    def no_spaces(cls, value: str) -> str:
        if " " in value:
            raise ValueError("must not contain spaces")
        return value


class Point(TypedDict):
    x: int
    y: int


@dataclasses.dataclass
class Box:
    width: float


@tool
def order(
    items: list[Item],
    color: Color = Color.RED,
    when: datetime.date | None = None,
    where: Point | None = None,
    box: Box | None = None,
    either: int | list[int] = 0,
) -> str:
    """Order."""
    return "ok"


def test_the_message_lists_each_field_compactly() -> None:
    assert problem(get_weather, {"unit": "kelvin"}) == (
        "Invalid input for get_weather: city: missing required field; "
        "unit: expected 'celsius' or 'fahrenheit', got 'kelvin'"
    )


def test_no_pydantic_noise() -> None:
    text = problem(order, {"items": [{"name": 1}], "color": "green", "when": "soon", "x": 1})
    assert "pydantic" not in text
    assert "http" not in text
    assert "Input should be" not in text
    assert "Item" not in text  # the internal type names stay internal


def test_nested_paths_and_expectations() -> None:
    text = problem(
        order,
        {
            "items": [{"name": "ok", "qty": 1}, {"name": "a b", "qty": 0}, {"qty": "many"}],
            "color": "green",
            "when": "soon",
            "where": {"x": 1},
            "box": {"width": "wide"},
        },
    )
    assert text.startswith("Invalid input for order: ")
    parts = text.removeprefix("Invalid input for order: ").split("; ")
    assert parts == [
        "items[1].name: must not contain spaces, got 'a b'",
        "items[1].qty: expected a number greater than or equal to 1, got 0",
        "items[2].name: missing required field",
        "items[2].qty: expected an integer, got 'many'",
        "color: expected 'red' or 'blue', got 'green'",
        "when: expected a date string (YYYY-MM-DD), got 'soon'",
        "where.y: missing required field",
        "box.width: expected a number, got 'wide'",
    ]


def test_union_alternatives_are_joined() -> None:
    text = problem(order, {"items": [], "either": "x"})
    assert text == ("Invalid input for order: either: expected an integer or an array, got 'x'")


def test_unknown_fields_name_the_accepted_ones() -> None:
    assert problem(get_weather, {"city": "Paris", "country": "FR"}) == (
        "Invalid input for get_weather: country: unexpected field (accepted: city, unit)"
    )


def test_the_error_carries_structured_problems() -> None:
    with pytest.raises(ToolInputError) as info:
        get_weather.validate({"unit": 3})
    error = info.value
    assert isinstance(error, ToolwireError)
    assert isinstance(error, ValueError)
    assert error.tool_name == "get_weather"
    assert [(p.path, p.expected, p.got) for p in error.problems][1] == (
        "unit",
        "expected 'celsius' or 'fahrenheit'",
        3,
    )


def test_long_values_are_shortened_and_many_problems_summarised() -> None:
    @tool
    def many(a: int, b: int, c: int, d: int, e: int, f: int, g: int, h: int, i: int, j: int,
             k: int, m: int) -> None:  # fmt: skip
        """Twelve."""

    text = problem(many, {"a": "x" * 500})
    assert len(text) < 400
    assert "…" in text
    assert text.endswith("and 2 more problems")


def test_valid_input_becomes_typed_arguments() -> None:
    args = order.validate(
        {
            "items": [{"name": "bolt", "qty": 2}],
            "color": "blue",
            "when": "2025-01-31",
            "where": {"x": 1, "y": 2},
            "box": {"width": 2},
            "either": [1, 2],
        }
    )
    assert args == {
        "items": [Item(name="bolt", qty=2)],
        "color": Color.BLUE,
        "when": datetime.date(2025, 1, 31),
        "where": {"x": 1, "y": 2},
        "box": Box(width=2.0),
        "either": [1, 2],
    }


def test_lax_mode_coerces_where_the_meaning_is_unambiguous() -> None:
    @tool
    def lax(n: int, x: float, flag: bool) -> None:
        """Lax."""

    assert lax.validate({"n": "3", "x": "2.5", "flag": "true"}) == {"n": 3, "x": 2.5, "flag": True}
    assert lax.validate({"n": 3.0, "x": 1, "flag": 1}) == {"n": 3, "x": 1.0, "flag": True}
    assert "n: expected an integer" in problem(lax, {"n": 3.5, "x": 1, "flag": True})
    assert "n: expected an integer" in problem(lax, {"n": "three", "x": 1, "flag": True})


def test_strict_mode_accepts_exactly_the_schema_types() -> None:
    @tool(strict=True)
    def strict(
        n: int,
        flag: bool,
        when: datetime.datetime,
        ident: uuid.UUID,
        path: pathlib.Path,
        color: Color,
        pair: tuple[int, str],
        unique: set[int],
    ) -> None:
        """Strict."""

    good = {
        "n": 3,
        "flag": True,
        "when": "2025-01-31T12:00:00Z",
        "ident": "12345678-1234-5678-1234-567812345678",
        "path": "/tmp/x",
        "color": "red",
        "pair": [1, "a"],
        "unique": [1, 2],
    }
    args = strict.validate(good)
    assert args["when"] == datetime.datetime(2025, 1, 31, 12, tzinfo=datetime.UTC)
    assert args["ident"] == uuid.UUID("12345678-1234-5678-1234-567812345678")
    assert args["path"] == pathlib.Path("/tmp/x")
    assert args["color"] is Color.RED
    assert args["pair"] == (1, "a")
    assert args["unique"] == {1, 2}
    assert "n: expected an integer, got '3'" in problem(strict, {**good, "n": "3"})
    assert "flag: expected true or false, got 1" in problem(strict, {**good, "flag": 1})


def test_string_constraints_are_enforced() -> None:
    @tool
    def named(
        code: Annotated[str, Field(pattern=r"^[A-Z]{3}$")],
        label: Annotated[str, Field(min_length=2, max_length=4)] = "ab",
        tags: Annotated[list[str], Field(max_length=2)] = [],  # noqa: B006
    ) -> None:
        """Constraints."""

    text = problem(named, {"code": "abc", "label": "x", "tags": ["a", "b", "c"]})
    assert "code: expected a string matching ^[A-Z]{3}$, got 'abc'" in text
    assert "label: expected at least 2 characters, got 'x'" in text
    assert "tags: expected at most 2 items" in text


def test_context_parameters_are_not_input() -> None:
    @tool
    def with_ctx(ctx: Context[None], a: int) -> int:
        """Context."""
        return a

    assert with_ctx.validate({"a": 1}) == {"a": 1}
    assert "ctx: unexpected field" in problem(with_ctx, {"a": 1, "ctx": {}})


def test_unset_defaults_come_from_the_signature() -> None:
    marker: list[int] = []

    @tool
    def defaults(a: int = 1, b: list[int] = marker) -> None:
        """Defaults."""

    args = defaults.validate({})
    assert args["a"] == 1
    assert args["b"] == []


class TestFromSchema:
    schema: dict[str, Any] = {  # noqa: RUF012
        "type": "object",
        "properties": {
            "query": {"type": "string", "minLength": 1},
            "limit": {"type": "integer", "minimum": 1, "maximum": 50},
            "mode": {"enum": ["fast", "deep"]},
            "filters": {"$ref": "#/$defs/Filters"},
            "ids": {"type": "array", "items": {"type": "integer"}, "uniqueItems": True},
            "flag": {"anyOf": [{"type": "boolean"}, {"type": "null"}]},
        },
        "required": ["query"],
        "additionalProperties": False,
        "$defs": {
            "Filters": {
                "type": "object",
                "properties": {"lang": {"type": "string", "pattern": "^[a-z]{2}$"}},
                "required": ["lang"],
            }
        },
    }

    def make(self) -> Tool[Any]:
        def search(**kwargs: Any) -> dict[str, Any]:
            return kwargs

        return Tool.from_schema(
            name="search", description="Search.", input_schema=self.schema, fn=search
        )

    def test_definition_keeps_the_schema(self) -> None:
        made = self.make()
        assert made.definition().to_wire() == {
            "name": "search",
            "description": "Search.",
            "input_schema": self.schema,
        }

    def test_valid_input_passes_unchanged(self) -> None:
        data = {"query": "x", "limit": 5, "mode": "deep", "filters": {"lang": "en"}, "ids": [1]}
        assert self.make().validate(data) == data

    def test_invalid_input_gets_the_same_feedback_style(self) -> None:
        text = problem(
            self.make(),
            {
                "limit": 0,
                "mode": "slow",
                "filters": {"lang": "english"},
                "ids": [1, 1],
                "flag": "yes",
                "extra": True,
            },
        )
        parts = text.removeprefix("Invalid input for search: ").split("; ")
        assert parts == [
            "query: missing required field",
            "limit: expected a number greater than or equal to 1, got 0",
            "mode: expected 'fast' or 'deep', got 'slow'",
            "filters.lang: expected a string matching ^[a-z]{2}$, got 'english'",
            "ids[1]: expected unique items, got a repeat",
            "flag: expected true or false or null, got 'yes'",
            "extra: unexpected field (accepted: query, limit, mode, filters, ids, flag)",
        ]

    def test_the_schema_must_describe_an_object(self) -> None:
        from toolwire._errors import ToolDefinitionError

        with pytest.raises(ToolDefinitionError, match='"type": "object"'):
            Tool.from_schema(name="x", description=None, input_schema={"type": "array"}, fn=print)

    @pytest.mark.anyio
    async def test_it_runs_with_keyword_arguments_and_context(self) -> None:
        seen: dict[str, Any] = {}

        def fn(query: str, ctx: Context[str]) -> str:
            seen["deps"] = ctx.deps
            return query.upper()

        made = Tool.from_schema(
            name="upper",
            description=None,
            input_schema={"type": "object", "properties": {"query": {"type": "string"}}},
            fn=fn,
        )
        outcome = await made.run({"query": "abc"}, Context(deps="D", tool_use_id="t"))
        assert outcome.result.content == "ABC"
        assert seen == {"deps": "D"}
