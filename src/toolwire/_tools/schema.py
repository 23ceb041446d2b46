"""A function's signature and docstring as ONE pydantic model: the input schema and its validator.

The model has one field per parameter (the ``Context`` parameter excepted), so the JSON Schema the
model is shown and the validation its input goes through come from the same source: what the
schema promises is exactly what is accepted. Fields carry internal names and use the parameter
names as aliases, so a parameter may be called ``json``, ``copy`` or ``model_config`` freely.
"""

from __future__ import annotations

import functools
import inspect
import typing
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, create_model
from pydantic.fields import FieldInfo
from pydantic.json_schema import PydanticJsonSchemaWarning

from toolwire._errors import ToolDefinitionError

from .context import Context
from .docstrings import DocInfo

__all__ = [
    "InputModel",
    "build_input_model",
    "clean_schema",
    "hint_target",
    "inline_refs",
    "is_context",
]


@dataclass(frozen=True)
class InputModel:
    """The pydantic model behind a tool's input, and what is needed to call the function."""

    model: type[BaseModel]
    schema: dict[str, Any]
    params: dict[str, str]
    """Model field name → parameter name, in signature order."""
    context_params: tuple[str, ...]


def is_context(annotation: Any) -> bool:
    """Whether a parameter annotation asks for the run context (``Context`` or ``Context[X]``)."""
    if typing.get_origin(annotation) is Annotated:
        annotation = typing.get_args(annotation)[0]
    return annotation is Context or typing.get_origin(annotation) is Context


def build_input_model(
    fn: Callable[..., Any],
    *,
    label: str,
    doc: DocInfo,
    inline: bool = False,
    localns: Mapping[str, Any] | None = None,
) -> InputModel:
    """Build the input model of ``fn``; ``label`` names the function in error messages.

    ``localns`` resolves annotations naming local classes (a tool defined inside a function,
    in a module using ``from __future__ import annotations``).

    Raises ``ToolDefinitionError`` naming the function and the parameter when a parameter is
    variadic, positional-only, unannotated or of a type with no JSON Schema.
    """
    signature = _signature(fn, label)
    hints = _type_hints(fn, signature, label, localns)
    fields: dict[str, Any] = {}
    params: dict[str, str] = {}
    context_params: list[str] = []
    for index, (name, param) in enumerate(signature.parameters.items()):
        _check_kind(param, label)
        annotation = hints.get(name, inspect.Parameter.empty)
        if annotation is inspect.Parameter.empty:
            raise ToolDefinitionError(_missing_annotation(label, name))
        if is_context(annotation):
            context_params.append(name)
            continue
        field_name = f"p{index}"
        fields[field_name] = _field(name, param.default, annotation, doc)
        params[field_name] = name
    model = _create_model(label, fields, params)
    schema = _json_schema(model, label, fields, params)
    if inline:
        schema = _inline_top_level(schema, label)
    return InputModel(
        model=model, schema=schema, params=params, context_params=tuple(context_params)
    )


def _signature(fn: Callable[..., Any], label: str) -> inspect.Signature:
    try:
        return inspect.signature(fn)
    except (TypeError, ValueError) as exc:
        raise ToolDefinitionError(f"{label}: cannot read its signature ({exc})") from exc


def hint_target(fn: Callable[..., Any]) -> Any:
    """What ``get_type_hints`` reads for ``fn``: itself, or a callable object's ``__call__``."""
    if inspect.isfunction(fn) or inspect.ismethod(fn):
        return fn
    if isinstance(fn, functools.partial):
        return hint_target(fn.func)
    call = getattr(type(fn), "__call__", None)  # noqa: B004 - the class's own __call__, for its hints
    return call if call is not None else fn


def _type_hints(
    fn: Callable[..., Any],
    signature: inspect.Signature,
    label: str,
    localns: Mapping[str, Any] | None,
) -> dict[str, Any]:
    target = hint_target(fn)
    local = dict(localns) if localns is not None else None
    try:
        return typing.get_type_hints(target, localns=local, include_extras=True)
    except Exception as exc:
        # Find the parameter whose annotation cannot be resolved, to name it.
        namespace = getattr(inspect.unwrap(target), "__globals__", {})
        for name, param in signature.parameters.items():
            if isinstance(param.annotation, str):
                try:
                    eval(param.annotation, namespace, local)
                except Exception as inner:
                    raise ToolDefinitionError(
                        f"{label}: parameter {name!r} has an annotation that cannot be resolved: "
                        f"{param.annotation!r} ({inner})"
                    ) from inner
        raise ToolDefinitionError(f"{label}: cannot resolve its type annotations ({exc})") from exc


def _check_kind(param: inspect.Parameter, label: str) -> None:
    kind = param.kind
    if kind is inspect.Parameter.VAR_POSITIONAL:
        problem = f"*{param.name} cannot be described in a JSON Schema; list the parameters"
    elif kind is inspect.Parameter.VAR_KEYWORD:
        problem = f"**{param.name} cannot be described in a JSON Schema; list the parameters"
    elif kind is inspect.Parameter.POSITIONAL_ONLY:
        problem = "is positional-only, but tool input arrives by name; remove the '/'"
    else:
        return
    raise ToolDefinitionError(f"{label}: parameter {param.name!r} {problem}")


def _missing_annotation(label: str, name: str) -> str:
    if name in ("self", "cls"):
        return (
            f"{label}: parameter {name!r} has no type annotation; to make a method a tool, "
            f"pass the bound method, e.g. tool(instance.method)"
        )
    return f"{label}: parameter {name!r} has no type annotation; annotate it with its type"


def _explicit_description(annotation: Any) -> str | None:
    if typing.get_origin(annotation) is not Annotated:
        return None
    found: str | None = None
    for meta in typing.get_args(annotation)[1:]:
        if isinstance(meta, FieldInfo) and meta.description:
            found = meta.description
        elif isinstance(meta, str) and meta.strip():
            found = meta.strip()
    return found


def _field(name: str, default: Any, annotation: Any, doc: DocInfo) -> tuple[Any, FieldInfo]:
    """The (type, field) pair of one parameter; explicit descriptions beat the docstring's."""
    description = _explicit_description(annotation) or doc.params.get(name)
    if isinstance(default, FieldInfo):
        # ``x: int = Field(3, ge=0)``: the signature's default is itself the field; ours goes
        # into the metadata, where pydantic lets the user's own settings win.
        ours = Field(alias=name, description=description)
        return Annotated[annotation, ours], default
    if default is inspect.Parameter.empty:
        return annotation, Field(alias=name, description=description)
    return annotation, Field(default=default, alias=name, description=description)


_CONFIG = ConfigDict(extra="forbid", validate_by_alias=True, validate_by_name=False)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _create_model(label: str, fields: dict[str, Any], params: Mapping[str, str]) -> type[BaseModel]:
    try:
        return create_model("Input", __config__=_CONFIG, **fields)
    except Exception as exc:
        _blame(label, fields, params, exc)
        raise  # pragma: no cover - _blame always raises


def _json_schema(
    model: type[BaseModel], label: str, fields: dict[str, Any], params: Mapping[str, str]
) -> dict[str, Any]:
    try:
        with warnings.catch_warnings():
            # A default that is not JSON-serialisable is left out of the schema; that is fine.
            warnings.simplefilter("ignore", PydanticJsonSchemaWarning)
            schema = model.model_json_schema(by_alias=True, mode="validation")
    except Exception as exc:
        _blame(label, fields, params, exc)
        raise  # pragma: no cover - _blame always raises
    return clean_schema(schema)


def _blame(label: str, fields: dict[str, Any], params: Mapping[str, str], exc: Exception) -> None:
    """Raise a ``ToolDefinitionError`` naming the parameter whose type broke the model."""
    for field_name, (annotation, _) in fields.items():
        try:
            TypeAdapter(annotation).json_schema()
        except Exception as inner:
            raise ToolDefinitionError(
                f"{label}: parameter {params[field_name]!r} has an unsupported type "
                f"{_type_name(annotation)}: {_first_line(inner)}"
            ) from inner
    raise ToolDefinitionError(
        f"{label}: cannot build its input schema: {_first_line(exc)}"
    ) from exc


def _type_name(annotation: Any) -> str:
    if isinstance(annotation, type):
        return annotation.__qualname__
    return repr(annotation).replace("typing.", "")


# JSON Schema keywords whose values are schemas, maps of schemas, or lists of schemas. Walking
# only these keeps ``title`` as a property name (a parameter may be called ``title``) and leaves
# ``default``/``enum``/``const`` values untouched.
_SUBSCHEMA = (
    "items",
    "additionalProperties",
    "not",
    "if",
    "then",
    "else",
    "contains",
    "propertyNames",
    "unevaluatedItems",
    "unevaluatedProperties",
    "additionalItems",
)
_SUBSCHEMA_MAPS = ("properties", "$defs", "definitions", "patternProperties", "dependentSchemas")
_SUBSCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")


def _map_subschemas(schema: dict[str, Any], fn: Callable[[Any], Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in _SUBSCHEMA and isinstance(value, dict):
            out[key] = fn(value)
        elif key in _SUBSCHEMA_MAPS and isinstance(value, dict):
            out[key] = {k: fn(v) if isinstance(v, dict) else v for k, v in value.items()}
        elif key in _SUBSCHEMA_LISTS and isinstance(value, list):
            out[key] = [fn(v) if isinstance(v, dict) else v for v in value]
        else:
            out[key] = value
    return out


def clean_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema without ``title`` keywords at any depth (they only repeat the names)."""
    return _map_subschemas({k: v for k, v in schema.items() if k != "title"}, clean_schema)


class _RecursiveReference(Exception):
    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(name)


def inline_refs(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema with every local ``$ref`` replaced by its definition and ``$defs`` dropped.

    Raises ``ValueError`` naming the definition when one refers to itself (a recursive model
    has no finite inline form).
    """
    defs: dict[str, Any] = dict(schema.get("$defs", {}))
    try:
        return _inline({k: v for k, v in schema.items() if k != "$defs"}, defs, ())
    except _RecursiveReference as exc:
        raise ValueError(f"{exc.name!r} refers to itself, so it cannot be inlined") from None


def _inline(
    schema: dict[str, Any], defs: Mapping[str, Any], stack: tuple[str, ...]
) -> dict[str, Any]:
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        name = ref.removeprefix("#/$defs/")
        if name in stack:
            raise _RecursiveReference(name)
        target = _inline(defs[name], defs, (*stack, name))
        siblings = {k: v for k, v in schema.items() if k != "$ref"}
        return {**target, **_map_subschemas(siblings, lambda s: _inline(s, defs, stack))}
    return _map_subschemas(schema, lambda s: _inline(s, defs, stack))


def _inline_top_level(schema: dict[str, Any], label: str) -> dict[str, Any]:
    defs = schema.get("$defs", {})
    rest = {k: v for k, v in schema.items() if k != "$defs"}
    for name, prop in dict(rest.get("properties", {})).items():
        try:
            rest["properties"][name] = _inline(prop, defs, ())
        except _RecursiveReference as exc:
            raise ToolDefinitionError(
                f"{label}: parameter {name!r} uses {exc.name!r}, which refers to itself, so its "
                f"schema cannot be inlined; use inline_refs=False"
            ) from None
    return inline_refs(rest)
