"""@tool builds the input schema from the signature and the docstring."""

from __future__ import annotations

import dataclasses
import datetime
import enum
import pathlib
import uuid
from collections.abc import Callable
from typing import Annotated, Any, Literal, Optional

import jsonschema  # type: ignore[import-untyped]
import pytest
from pydantic import BaseModel, Field
from typing_extensions import TypedDict

from toolwire._errors import ToolDefinitionError
from toolwire._tools import Context, Tool, tool


def schema_of(fn: Callable[..., Any], **options: Any) -> dict[str, Any]:
    made: Tool[Any] = tool(**options)(fn)
    jsonschema.Draft202012Validator.check_schema(made.input_schema)
    return made.input_schema


def walk(node: Any) -> list[dict[str, Any]]:
    """Every dict inside a JSON value."""
    found: list[dict[str, Any]] = []
    if isinstance(node, dict):
        found.append(node)
        for value in node.values():
            found.extend(walk(value))
    elif isinstance(node, list):
        for value in node:
            found.extend(walk(value))
    return found


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Address(BaseModel):
    """A postal address."""

    street: str
    zip_code: Annotated[str, Field(pattern=r"^\d{5}$")]


class Point(TypedDict):
    x: int
    y: int


@dataclasses.dataclass
class Box:
    width: float
    height: float = 1.0


class Node(BaseModel):
    value: int
    children: list[Node] = []


def test_the_design_example() -> None:
    @tool
    async def get_weather(
        city: str, unit: Literal["celsius", "fahrenheit"] = "celsius"
    ) -> dict[str, Any]:
        """Get the current weather for a city.

        Args:
            city: City name, e.g. "Paris".
            unit: Temperature unit.
        """
        return {"city": city}

    assert get_weather.name == "get_weather"
    assert get_weather.description == "Get the current weather for a city."
    assert get_weather.input_schema == {
        "type": "object",
        "properties": {
            "city": {"type": "string", "description": 'City name, e.g. "Paris".'},
            "unit": {
                "type": "string",
                "enum": ["celsius", "fahrenheit"],
                "default": "celsius",
                "description": "Temperature unit.",
            },
        },
        "required": ["city"],
        "additionalProperties": False,
    }
    definition = get_weather.definition().to_wire()
    assert definition == {
        "name": "get_weather",
        "description": "Get the current weather for a city.",
        "input_schema": get_weather.input_schema,
    }


def test_scalar_and_standard_types() -> None:
    def f(
        s: str,
        i: int,
        x: float,
        b: bool,
        n: None,
        when: datetime.datetime,
        day: datetime.date,
        ident: uuid.UUID,
        path: pathlib.Path,
    ) -> None:
        """Many types."""

    props = schema_of(f)["properties"]
    assert props["s"] == {"type": "string"}
    assert props["i"] == {"type": "integer"}
    assert props["x"] == {"type": "number"}
    assert props["b"] == {"type": "boolean"}
    assert props["n"] == {"type": "null"}
    assert props["when"] == {"type": "string", "format": "date-time"}
    assert props["day"] == {"type": "string", "format": "date"}
    assert props["ident"] == {"type": "string", "format": "uuid"}
    assert props["path"] == {"type": "string", "format": "path"}


def test_containers_unions_literals_enums() -> None:
    def f(
        tags: list[str],
        pair: tuple[int, str],
        unique: set[int],
        scores: dict[str, float],
        maybe: Optional[int],  # noqa: UP045 - the spelling under test
        either: int | str,
        mode: Literal["a", "b"],
        color: Color,
    ) -> None:
        """Containers."""

    schema = schema_of(f)
    props = schema["properties"]
    assert props["tags"] == {"type": "array", "items": {"type": "string"}}
    assert props["pair"] == {
        "type": "array",
        "prefixItems": [{"type": "integer"}, {"type": "string"}],
        "minItems": 2,
        "maxItems": 2,
    }
    assert props["unique"] == {"type": "array", "items": {"type": "integer"}, "uniqueItems": True}
    assert props["scores"] == {"type": "object", "additionalProperties": {"type": "number"}}
    assert props["maybe"] == {"anyOf": [{"type": "integer"}, {"type": "null"}]}
    assert props["either"] == {"anyOf": [{"type": "integer"}, {"type": "string"}]}
    assert props["mode"] == {"type": "string", "enum": ["a", "b"]}
    assert props["color"] == {"$ref": "#/$defs/Color"}
    assert schema["$defs"]["Color"] == {"type": "string", "enum": ["red", "blue"]}
    assert schema["required"] == [
        "tags", "pair", "unique", "scores", "maybe", "either", "mode", "color"
    ]  # fmt: skip


def test_nested_models_typeddict_dataclass_use_defs() -> None:
    def f(address: Address, point: Point, box: Box) -> None:
        """Nested."""

    schema = schema_of(f)
    assert schema["properties"] == {
        "address": {"$ref": "#/$defs/Address"},
        "point": {"$ref": "#/$defs/Point"},
        "box": {"$ref": "#/$defs/Box"},
    }
    assert schema["$defs"]["Address"] == {
        "type": "object",
        "description": "A postal address.",
        "properties": {
            "street": {"type": "string"},
            "zip_code": {"type": "string", "pattern": r"^\d{5}$"},
        },
        "required": ["street", "zip_code"],
    }
    assert schema["$defs"]["Point"]["required"] == ["x", "y"]
    assert schema["$defs"]["Box"]["properties"]["height"] == {"type": "number", "default": 1.0}


def test_inline_refs_leaves_no_reference() -> None:
    def f(address: Address, color: Color = Color.RED, where: Optional[Point] = None) -> None:  # noqa: UP045
        """Inline."""

    schema = schema_of(f, inline_refs=True)
    text = repr(schema)
    assert "$ref" not in text
    assert "$defs" not in text
    assert schema["properties"]["address"]["properties"]["zip_code"]["pattern"] == r"^\d{5}$"
    assert schema["properties"]["color"] == {
        "type": "string",
        "enum": ["red", "blue"],
        "default": "red",
    }
    assert schema["properties"]["where"]["anyOf"][0]["required"] == ["x", "y"]


def test_inline_refs_on_a_recursive_model_is_a_clear_error() -> None:
    def f(tree: Node) -> None:
        """Recursive."""

    assert "$ref" in repr(schema_of(f))  # fine with references
    with pytest.raises(
        ToolDefinitionError, match=r"parameter 'tree' uses 'Node'.*inline_refs=False"
    ):
        tool(inline_refs=True)(f)


def test_no_title_anywhere_but_a_parameter_may_be_called_title() -> None:
    def f(title: str, address: Address, point: Point, box: Box, node: Node) -> None:
        """Titles."""

    schema = schema_of(f)
    assert "title" in schema["properties"]
    for node in walk(schema):
        if node is not schema["properties"]:
            assert "title" not in node or not isinstance(node.get("title"), str)


def test_defaults_are_shown_and_required_is_exactly_the_params_without_default() -> None:
    def f(
        a: int,
        b: int = 2,
        c: Optional[str] = None,  # noqa: UP045
        d: list[int] | None = None,
        e: Optional[int] = 5,  # noqa: UP045
        f: Optional[int] = Field(None, description="explicit"),  # noqa: UP045
    ) -> None:
        """Defaults."""

    schema = schema_of(f)
    assert schema["required"] == ["a"]
    props = schema["properties"]
    assert props["b"]["default"] == 2
    assert props["c"]["default"] is None
    assert props["e"]["default"] == 5
    assert props["f"] == {
        "anyOf": [{"type": "integer"}, {"type": "null"}],
        "default": None,
        "description": "explicit",
    }


def test_every_schema_forbids_unknown_top_level_fields() -> None:
    def f() -> None:
        """No parameters."""

    assert schema_of(f) == {"type": "object", "properties": {}, "additionalProperties": False}


def test_annotated_constraints_are_in_the_schema() -> None:
    def f(
        n: Annotated[int, Field(ge=1, le=10)],
        x: Annotated[float, Field(gt=0, lt=1, multiple_of=0.25)],
        name: Annotated[str, Field(min_length=2, max_length=5, pattern="^[a-z]+$")],
        items: Annotated[list[int], Field(min_length=1, max_length=3)],
    ) -> None:
        """Constraints."""

    props = schema_of(f)["properties"]
    assert props["n"] == {"type": "integer", "minimum": 1, "maximum": 10}
    assert props["x"] == {
        "type": "number",
        "exclusiveMinimum": 0,
        "exclusiveMaximum": 1,
        "multipleOf": 0.25,
    }
    assert props["name"] == {
        "type": "string",
        "minLength": 2,
        "maxLength": 5,
        "pattern": "^[a-z]+$",
    }
    assert props["items"] == {
        "type": "array",
        "items": {"type": "integer"},
        "minItems": 1,
        "maxItems": 3,
    }


DOCSTRINGS = {
    "google": """Search the catalogue.

        Looks up items by keyword.

        Args:
            query (str): Words to look for.
            limit: How many items at most.

        Returns:
            The items.
        """,
    "numpy": """Search the catalogue.

        Looks up items by keyword.

        Parameters
        ----------
        query : str
            Words to look for.
        limit : int
            How many items at most.

        Returns
        -------
        list
            The items.
        """,
    "rest": """Search the catalogue.

        Looks up items by keyword.

        :param query: Words to look for.
        :param limit: How many items at most.
        :returns: The items.
        """,
    "epydoc": """Search the catalogue.

        Looks up items by keyword.

        @param query: Words to look for.
        @param limit: How many items at most.
        @return: The items.
        """,
}


@pytest.mark.parametrize("style", sorted(DOCSTRINGS))
def test_docstring_styles(style: str) -> None:
    def search(query: str, limit: int = 10) -> list[str]:
        return []

    search.__doc__ = DOCSTRINGS[style]
    made = tool(search)
    assert made.description == "Search the catalogue.\n\nLooks up items by keyword."
    props = made.input_schema["properties"]
    assert props["query"]["description"] == "Words to look for."
    assert props["limit"]["description"] == "How many items at most."


def test_explicit_descriptions_win_over_the_docstring() -> None:
    def f(
        a: Annotated[int, Field(description="from Field")],
        b: Annotated[int, "from Annotated text"],
        c: int = Field(3, description="from the default Field"),
        d: int = 0,
    ) -> None:
        """Descriptions.

        Args:
            a: from the docstring
            b: from the docstring
            c: from the docstring
            d: from the docstring
        """

    props = schema_of(f)["properties"]
    assert props["a"]["description"] == "from Field"
    assert props["b"]["description"] == "from Annotated text"
    assert props["c"] == {"type": "integer", "default": 3, "description": "from the default Field"}
    assert props["d"]["description"] == "from the docstring"


def test_description_and_name_options() -> None:
    @tool(name="lookup-v2", description="Explicit description.")
    def lookup(key: str) -> str:
        """Docstring description.

        Args:
            key: The key.
        """
        return key

    assert lookup.name == "lookup-v2"
    assert lookup.description == "Explicit description."
    assert lookup.input_schema["properties"]["key"]["description"] == "The key."


def test_no_docstring_means_no_description() -> None:
    @tool
    def bare(x: int) -> int:
        return x

    assert bare.description is None
    assert "description" not in bare.definition().to_wire()


def test_context_is_injected_and_never_in_the_schema() -> None:
    class Deps:
        pass

    def first(ctx: Context[Deps], a: int) -> None:
        """First."""

    def middle(a: int, ctx: Context[Any], b: int = 1) -> None:
        """Middle."""

    def last(a: int, context: Context) -> None:
        """Last, unparametrised."""

    # Decorated here, so the local ``Deps`` resolves from this scope.
    assert tool(first).input_schema["properties"] == {"a": {"type": "integer"}}
    assert list(tool(middle).input_schema["properties"]) == ["a", "b"]
    assert tool(last).input_schema["required"] == ["a"]


def test_parameter_names_that_clash_with_pydantic_are_fine() -> None:
    def f(json: str, copy: int, model_config: bool, schema: float = 1.0) -> None:
        """Awkward names."""

    schema = schema_of(f)
    assert list(schema["properties"]) == ["json", "copy", "model_config", "schema"]
    assert tool(f).validate({"json": "x", "copy": 1, "model_config": True}) == {
        "json": "x",
        "copy": 1,
        "model_config": True,
        "schema": 1.0,
    }


def args_fn(*items: int) -> None:
    """Variadic."""


def kwargs_fn(a: int, **options: int) -> None:
    """Variadic keywords."""


def positional_fn(a: int, /, b: int) -> None:
    """Positional-only."""


def unannotated_fn(a, b: int) -> None:  # type: ignore[no-untyped-def]
    """Missing annotation."""


def callable_fn(callback: Callable[[int], int]) -> None:
    """No JSON Schema for callables."""


class Opaque:
    pass


def opaque_fn(thing: Opaque) -> None:
    """No schema for arbitrary classes."""


def unresolved_fn(a: int, b: Undefined) -> None:  # type: ignore[name-defined]  # noqa: F821
    """A name that does not exist."""


@pytest.mark.parametrize(
    ("fn", "pattern"),
    [
        (args_fn, r"args_fn: parameter 'items' \*items"),
        (kwargs_fn, r"kwargs_fn: parameter 'options' \*\*options"),
        (positional_fn, r"positional_fn: parameter 'a' is positional-only"),
        (unannotated_fn, r"unannotated_fn: parameter 'a' has no type annotation"),
        (callable_fn, r"callable_fn: parameter 'callback' has an unsupported type"),
        (opaque_fn, r"opaque_fn: parameter 'thing' has an unsupported type Opaque"),
        (unresolved_fn, r"unresolved_fn: parameter 'b' .*cannot be resolved.*Undefined"),
    ],
)
def test_unsupported_signatures_fail_at_decoration(fn: Callable[..., Any], pattern: str) -> None:
    with pytest.raises(ToolDefinitionError, match=pattern):
        tool(fn)


def test_a_method_decorated_in_its_class_points_to_the_bound_method() -> None:
    with pytest.raises(ToolDefinitionError, match=r"'self'.*tool\(instance.method\)"):

        class Service:
            @tool
            def lookup(self, key: str) -> str:
                return key


def fine_fn(a: int) -> int:
    """Nothing wrong here."""
    return a


def test_invalid_names_and_options_fail_at_decoration() -> None:
    with pytest.raises(ToolDefinitionError, match="tool name 'has space'"):
        tool(name="has space")(fine_fn)
    with pytest.raises(ToolDefinitionError, match="<lambda>"):
        tool(lambda: None)
    with pytest.raises(ToolDefinitionError, match="timeout must be a positive"):
        tool(timeout=0)(fine_fn)
    with pytest.raises(ToolDefinitionError, match="max_retries"):
        tool(max_retries=-1)(fine_fn)
    with pytest.raises(ToolDefinitionError, match="max_result_chars"):
        tool(max_result_chars=0)(fine_fn)


def test_tool_definition_error_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        tool(args_fn)
