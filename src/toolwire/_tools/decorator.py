"""``@tool`` and ``Tool``: a function, its input schema, its validator, and how to run it."""

from __future__ import annotations

import functools
import inspect
import sys
import typing
from collections.abc import Callable, Mapping
from typing import Any, Generic, ParamSpec, TypeVar, overload

import anyio.to_thread
from pydantic import BaseModel, ValidationError
from pydantic_core import PydanticSerializationError, to_json

from toolwire._errors import ToolDefinitionError, ToolError
from toolwire._wire.request import TOOL_NAME_PATTERN, ToolDefinition

from .context import Context, DepsT
from .docstrings import parse_doc
from .errors import ToolInputError
from .feedback import FieldProblem, problems_from_pydantic
from .logs import log_tool_exception
from .results import DEFAULT_MAX_RESULT_CHARS, ToolOutcome, as_blocks, cap_content, to_content
from .schema import build_input_model, hint_target, is_context
from .schema_check import check

__all__ = ["DEFAULT_MAX_RETRIES", "FunctionTool", "Tool", "tool"]

P = ParamSpec("P")
R = TypeVar("R")

DEFAULT_MAX_RETRIES = 3
"""How many times, by default, the model may send a tool invalid input in one run."""

Validator = Callable[[Mapping[str, Any]], dict[str, Any]]


class Tool(Generic[DepsT]):
    """A tool the model can call: a name, a description, an input schema and a function.

    Build one with ``@tool`` (from a function's signature and docstring) or with
    ``Tool.from_schema`` (from a JSON Schema made elsewhere). ``run()`` validates the model's
    input, calls the function and turns its return value or exception into a tool_result.

    Options: ``timeout`` (seconds, ``None`` for the dispatcher's default), ``sequential`` (the
    call runs alone, never alongside other tools), ``max_retries`` (invalid inputs the model
    may send in one run before the run fails), ``max_result_chars`` (the cap on the result's
    text, ``None`` for the dispatcher's default) and ``strict`` (no type coercion).
    """

    def __init__(
        self,
        *,
        name: str,
        description: str | None,
        input_schema: dict[str, Any],
        fn: Callable[..., Any],
        validator: Validator,
        context_params: tuple[str, ...] = (),
        timeout: float | None = None,
        sequential: bool = False,
        strict: bool = False,
        max_retries: int = DEFAULT_MAX_RETRIES,
        max_result_chars: int | None = None,
    ) -> None:
        _check_options(
            name,
            name=name,
            timeout=timeout,
            max_retries=max_retries,
            max_result_chars=max_result_chars,
        )
        self.name = name
        self.description = description
        self.input_schema = input_schema
        self.fn = fn
        self.timeout = timeout
        self.sequential = sequential
        self.strict = strict
        self.max_retries = max_retries
        self.max_result_chars = max_result_chars
        self.is_async = _is_async(fn)
        self._validator = validator
        self._context_params = context_params

    @classmethod
    def from_schema(
        cls,
        *,
        name: str,
        description: str | None,
        input_schema: Mapping[str, Any],
        fn: Callable[..., Any],
        timeout: float | None = None,
        sequential: bool = False,
        max_retries: int = DEFAULT_MAX_RETRIES,
        max_result_chars: int | None = None,
    ) -> Tool[Any]:
        """A tool whose input schema comes from elsewhere (a server, a file, another library).

        ``fn`` is called with the input's fields as keyword arguments, plus the run context
        for a parameter annotated ``Context``. Input is checked against ``input_schema`` by a
        structural checker (types, required and unknown fields, enums, bounds, lengths,
        patterns, ``anyOf``/``oneOf``/``allOf``, local ``$ref``; formats are not checked) and
        passed on unchanged: no coercion.
        """
        schema = dict(input_schema)
        if schema.get("type") != "object":
            raise ToolDefinitionError(
                f'{name}: input_schema must describe an object ("type": "object"), '
                f"got type {schema.get('type')!r}"
            )
        if not callable(fn):
            raise ToolDefinitionError(f"{name}: fn must be callable, got {type(fn).__name__}")

        def validate(data: Mapping[str, Any]) -> dict[str, Any]:
            problems = check(schema, dict(data))
            if problems:
                raise ToolInputError(name, problems)
            return dict(data)

        return cls(
            name=name,
            description=description,
            input_schema=schema,
            fn=fn,
            validator=validate,
            context_params=_context_params_of(fn),
            timeout=timeout,
            sequential=sequential,
            max_retries=max_retries,
            max_result_chars=max_result_chars,
        )

    def definition(self) -> ToolDefinition:
        """The tool as the request's ``tools`` list carries it."""
        if self.description is None:
            return ToolDefinition(name=self.name, input_schema=self.input_schema)
        return ToolDefinition(
            name=self.name, description=self.description, input_schema=self.input_schema
        )

    def validate(self, input: Mapping[str, Any]) -> dict[str, Any]:
        """The keyword arguments for the function, from the model's input.

        Raises ``ToolInputError``, whose message is the per-field feedback for the model.
        """
        return self._validator(input)

    async def call(self, arguments: Mapping[str, Any], ctx: Context[Any]) -> Any:
        """Call the function with validated ``arguments`` and the context; return its value.

        A sync function runs in a worker thread that is abandoned if the call is cancelled
        (its ``ctx.cancelled`` turns true, so it can stop on its own).
        """
        kwargs = dict(arguments)
        for name in self._context_params:
            kwargs[name] = ctx
        if self.is_async:
            return await self.fn(**kwargs)
        return await anyio.to_thread.run_sync(
            functools.partial(self.fn, **kwargs), abandon_on_cancel=True
        )

    async def run(
        self,
        input: Mapping[str, Any],
        ctx: Context[Any],
        *,
        max_result_chars: int | None = DEFAULT_MAX_RESULT_CHARS,
    ) -> ToolOutcome:
        """Validate, call, convert: one tool_use answered, failures as ``is_error`` results.

        Invalid input gives the per-field feedback; ``ToolError`` gives its content; any other
        exception gives ``"{ExceptionType}: {message}"`` (its traceback goes to the log, never
        to the model). Cancellation is not caught. The tool's own ``max_result_chars`` beats
        the one given here.
        """
        limit = self.max_result_chars if self.max_result_chars is not None else max_result_chars
        tool_use_id = ctx.tool_use_id
        try:
            arguments = self.validate(input)
        except ToolInputError as exc:
            return ToolOutcome.failure(tool_use_id, cap_content(str(exc), limit), "validation", exc)
        try:
            content = to_content(await self.call(arguments, ctx))
        except ToolError as exc:
            raw = exc.content if isinstance(exc.content, str) else as_blocks(exc.content)
            return ToolOutcome.failure(tool_use_id, cap_content(raw, limit), "tool_error", exc)
        except Exception as exc:
            log_tool_exception(self.name, tool_use_id, exc)
            text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            return ToolOutcome.failure(tool_use_id, cap_content(text, limit), "exception", exc)
        return ToolOutcome.success(tool_use_id, cap_content(content, limit))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


class FunctionTool(Tool[Any], Generic[P, R]):
    """A tool made by ``@tool``; calling it calls the function, exactly as before.

    It carries the function's ``__name__``, ``__doc__``, ``__module__`` and ``__wrapped__``,
    so ``inspect.signature`` and documentation tools see the function.
    """

    __name__: str

    def __init__(
        self,
        fn: Callable[P, R],
        *,
        name: str | None = None,
        description: str | None = None,
        timeout: float | None = None,
        sequential: bool = False,
        strict: bool = False,
        max_retries: int = DEFAULT_MAX_RETRIES,
        inline_refs: bool = False,
        max_result_chars: int | None = None,
        localns: Mapping[str, Any] | None = None,
    ) -> None:
        if not callable(fn):
            raise ToolDefinitionError(f"@tool needs a function, got {type(fn).__name__}")
        label = _label(fn)
        tool_name = name if name is not None else _default_name(fn)
        _check_options(
            label,
            name=tool_name,
            timeout=timeout,
            max_retries=max_retries,
            max_result_chars=max_result_chars,
        )
        doc = parse_doc(*_docstrings(fn))
        spec = build_input_model(fn, label=label, doc=doc, inline=inline_refs, localns=localns)
        super().__init__(
            name=tool_name,
            description=description if description is not None else doc.description,
            input_schema=spec.schema,
            fn=fn,
            validator=_pydantic_validator(tool_name, spec.model, spec.params, strict),
            context_params=spec.context_params,
            timeout=timeout,
            sequential=sequential,
            strict=strict,
            max_retries=max_retries,
            max_result_chars=max_result_chars,
        )
        self._wrapped: Callable[P, R] = fn
        self.__name__ = _default_name(fn)
        functools.update_wrapper(self, fn, updated=())

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        """Call the function directly, as if it had never been decorated."""
        return self._wrapped(*args, **kwargs)


@overload
def tool(fn: Callable[P, R], /) -> FunctionTool[P, R]: ...


@overload
def tool(
    *,
    name: str | None = None,
    description: str | None = None,
    timeout: float | None = None,
    sequential: bool = False,
    strict: bool = False,
    max_retries: int = DEFAULT_MAX_RETRIES,
    inline_refs: bool = False,
    max_result_chars: int | None = None,
) -> Callable[[Callable[P, R]], FunctionTool[P, R]]: ...


def tool(
    fn: Callable[P, R] | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    timeout: float | None = None,
    sequential: bool = False,
    strict: bool = False,
    max_retries: int = DEFAULT_MAX_RETRIES,
    inline_refs: bool = False,
    max_result_chars: int | None = None,
) -> FunctionTool[P, R] | Callable[[Callable[P, R]], FunctionTool[P, R]]:
    """Make a function a tool: bare ``@tool``, or ``@tool(name=..., ...)`` with options.

    Works on ``def`` and ``async def`` functions, bound methods (``tool(obj.method)``) and
    callable objects. The input schema comes from the signature, the descriptions from the
    docstring (Google, NumPy, reST or Epydoc style) and from ``Annotated[T, Field(...)]`` or
    ``Annotated[T, "text"]``, which win over the docstring. A parameter annotated ``Context``
    receives the run context and stays out of the schema. Problems (``*args``, ``**kwargs``,
    positional-only or unannotated parameters, types with no JSON Schema) raise
    ``ToolDefinitionError`` here, naming the function and the parameter.

    Input is validated as the JSON it is. By default pydantic's lax mode applies, which
    also takes values whose meaning is unambiguous: ``"3"`` or ``3.0`` for an integer,
    ``"2.5"`` for a number, ``"true"``/``1`` for a boolean. ``strict=True`` takes exactly the
    JSON types the schema names (``3.0`` and ``"3"`` are refused for an integer). In both modes
    dates, times, UUIDs and paths arrive as the strings the schema describes, enums as their
    values, tuples and sets as arrays. ``inline_refs=True`` inlines ``$defs`` for endpoints
    that reject ``$ref``.
    """

    def make(
        function: Callable[P, R], localns: Mapping[str, Any] | None = None
    ) -> FunctionTool[P, R]:
        if localns is None:
            localns = sys._getframe(1).f_locals
        target: Callable[P, R] = function
        if isinstance(function, FunctionTool):
            target = function._wrapped
        return FunctionTool(
            target,
            name=name,
            description=description,
            timeout=timeout,
            sequential=sequential,
            strict=strict,
            max_retries=max_retries,
            inline_refs=inline_refs,
            max_result_chars=max_result_chars,
            localns=localns,
        )

    if fn is None:
        return make
    # The decorating scope's names resolve annotations of classes defined next to the tool.
    return make(fn, sys._getframe(1).f_locals)


def _pydantic_validator(
    tool_name: str, model: type[BaseModel], params: Mapping[str, str], strict: bool
) -> Validator:
    names = tuple(params.values())

    def validate(data: Mapping[str, Any]) -> dict[str, Any]:
        # JSON mode: the input is JSON, and the schema describes JSON. Dates, UUIDs, paths,
        # enums, tuples and sets arrive as the strings and arrays the schema promises, in strict
        # mode too. Lax mode also takes "3" for 3 and "true" for true.
        try:
            raw = to_json(dict(data))
        except PydanticSerializationError as exc:
            raise ToolInputError(
                tool_name, [FieldProblem("", f"expected JSON input ({exc})")]
            ) from exc
        try:
            instance = model.model_validate_json(raw, strict=strict)
        except ValidationError as exc:
            raise ToolInputError(
                tool_name, problems_from_pydantic(exc, data, names=names)
            ) from None
        return {param: getattr(instance, field) for field, param in params.items()}

    return validate


def _check_options(
    label: str,
    *,
    name: str,
    timeout: float | None,
    max_retries: int,
    max_result_chars: int | None,
) -> None:
    if not TOOL_NAME_PATTERN.match(name):
        raise ToolDefinitionError(
            f"{label}: tool name {name!r} must be 1 to 128 letters, digits, '_' or '-'; "
            f"pass name=... to choose one"
        )
    if timeout is not None and not timeout > 0:
        raise ToolDefinitionError(f"{label}: timeout must be a positive number of seconds")
    if max_retries < 0:
        raise ToolDefinitionError(f"{label}: max_retries must be 0 or more")
    if max_result_chars is not None and max_result_chars < 1:
        raise ToolDefinitionError(f"{label}: max_result_chars must be at least 1")


def _is_async(fn: Callable[..., Any]) -> bool:
    # unwrap: a decorator's plain wrapper around a coroutine function returns coroutines.
    if inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(inspect.unwrap(fn)):
        return True
    call = getattr(fn, "__call__", None)  # noqa: B004 - a callable object's own __call__
    return call is not None and inspect.iscoroutinefunction(call)


def _base(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The function under ``functools.partial`` layers, which carries the name and the docs."""
    while isinstance(fn, functools.partial):
        fn = fn.func
    return fn


def _label(fn: Callable[..., Any]) -> str:
    fn = _base(fn)
    qualname = getattr(fn, "__qualname__", None)
    if isinstance(qualname, str):
        return qualname
    return type(fn).__qualname__


def _default_name(fn: Callable[..., Any]) -> str:
    fn = _base(fn)
    name = getattr(fn, "__name__", None)
    return name if isinstance(name, str) else type(fn).__name__


def _docstrings(fn: Callable[..., Any]) -> tuple[str | None, ...]:
    fn = _base(fn)
    if inspect.isfunction(fn) or inspect.ismethod(fn):
        return (fn.__doc__,)
    # A callable object: its __call__ documents the parameters, its class the tool.
    call_doc = getattr(getattr(type(fn), "__call__", None), "__doc__", None)  # noqa: B004
    return (type(fn).__doc__, call_doc)


def _context_params_of(fn: Callable[..., Any]) -> tuple[str, ...]:
    """The parameters of ``fn`` annotated ``Context``, when its annotations can be read."""
    try:
        hints = typing.get_type_hints(hint_target(fn))
    except Exception:
        return ()
    return tuple(name for name, hint in hints.items() if name != "return" and is_context(hint))
