"""Finding what a command works on: ``PATH_OR_MODULE[:NAME]`` to a module and an object in it.

``PATH_OR_MODULE`` is a Python file (``examples/quickstart.py``) or a module path
(``mypkg.agents``). A file is run as a module of its own name (never ``__main__``, so its
``if __name__ == "__main__":`` block stays quiet), with its directory on ``sys.path`` the way
``python file.py`` would have it; a module path is imported with the current directory on
``sys.path``, as ``python -m`` does. ``NAME`` may be dotted (``registry.agent``).
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

from toolwire import Agent, Tool, Toolset

__all__ = [
    "UsageError",
    "find_agent",
    "load_module",
    "module_agents",
    "placeholder_credential",
    "resolve",
    "split_target",
    "tool_definitions",
]


class UsageError(Exception):
    """The command cannot start as asked; the message names the cause (exit code 2)."""


def split_target(spec: str) -> tuple[str, str | None]:
    """``"file.py:agent"`` to ``("file.py", "agent")``; ``(spec, None)`` without a name.

    The split is at the last colon, and only when what follows is a (dotted) Python name, so
    a Windows drive letter (``C:\\work\\a.py``) is not taken for one.
    """
    where, sep, name = spec.rpartition(":")
    if sep and where and name and all(part.isidentifier() for part in name.split(".")):
        return where, name
    return spec, None


def _kind(obj: object) -> str:
    """``"a FunctionTool"``, ``"an int"``: what ``obj`` is, for a message."""
    name = type(obj).__name__
    return f"{'an' if name[:1].lower() in 'aeiou' else 'a'} {name}"


def _is_path(where: str) -> bool:
    return where.endswith(".py") or "/" in where or os.sep in where or os.path.exists(where)


def _free_name(stem: str) -> str:
    base = re.sub(r"\W", "_", stem) or "target"
    if base[0].isdigit():
        base = f"_{base}"
    name, n = base, 1
    while name in sys.modules:
        n += 1
        name = f"{base}_{n}"
    return name


def _load_file(path: Path) -> ModuleType:
    name = _free_name(path.stem)
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise UsageError(f"{path} is not a Python file")
    module = importlib.util.module_from_spec(spec)
    directory = str(path.resolve().parent)
    if directory not in sys.path:
        sys.path.insert(0, directory)
    # Registered before it runs: dataclasses, pickle and pydantic look a module up by name.
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        del sys.modules[name]
        raise UsageError(f"cannot load {path}: {type(exc).__name__}: {exc}") from exc
    return module


def _import(dotted: str) -> ModuleType:
    if not all(part.isidentifier() for part in dotted.split(".")):
        raise UsageError(f"{dotted!r} is neither an existing file nor a module path")
    cwd = os.getcwd()
    if cwd not in sys.path:
        sys.path.insert(0, cwd)
    try:
        return importlib.import_module(dotted)
    except ModuleNotFoundError as exc:
        missing = exc.name or ""
        if missing and (dotted == missing or dotted.startswith(missing + ".")):
            raise UsageError(
                f"no module named {missing!r} (and no file {dotted!r}); give a path such as "
                f"agent.py or a module importable from {cwd}"
            ) from exc
        raise UsageError(f"cannot load {dotted}: {type(exc).__name__}: {exc}") from exc
    except Exception as exc:
        raise UsageError(f"cannot load {dotted}: {type(exc).__name__}: {exc}") from exc


def load_module(where: str) -> ModuleType:
    """The module ``where`` names: a ``.py`` file, or a dotted module path.

    A missing file or module, or an exception while it runs, is a ``UsageError`` naming it
    (the exception is its ``__cause__``).
    """
    if _is_path(where):
        path = Path(where)
        if path.is_dir():
            raise UsageError(f"{where} is a directory; give a .py file or a module path")
        if not path.is_file():
            raise UsageError(f"no such file: {where}")
        return _load_file(path)
    return _import(where)


def resolve(module: ModuleType, where: str, name: str) -> Any:
    """``module.name`` (dotted names walk attributes); a ``UsageError`` naming what is missing."""
    obj: Any = module
    walked: list[str] = []
    for part in name.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            owner = where if not walked else f"{where}:{'.'.join(walked)}"
            agents = module_agents(module)
            hint = f"; it has: {', '.join(agents)}" if agents and not walked else ""
            raise UsageError(f"{owner} has no attribute {part!r}{hint}") from None
        walked.append(part)
    return obj


def module_agents(module: ModuleType) -> dict[str, Agent[Any]]:
    """The module's top-level agents by name, in definition order."""
    return {name: value for name, value in vars(module).items() if isinstance(value, Agent)}


def find_agent(spec: str) -> Agent[Any]:
    """The agent ``PATH_OR_MODULE[:NAME]`` names; without a name, the module's only agent."""
    where, name = split_target(spec)
    module = load_module(where)
    if name is None:
        agents = module_agents(module)
        if len(agents) == 1:
            return next(iter(agents.values()))
        if not agents:
            raise UsageError(f"{where} defines no Agent at top level")
        raise UsageError(
            f"{where} defines several agents ({', '.join(agents)}); name one, e.g. "
            f"{where}:{next(iter(agents))}"
        )
    obj = resolve(module, where, name)
    if not isinstance(obj, Agent):
        raise UsageError(f"{where}:{name} is {_kind(obj)}, not an Agent")
    return obj


def _definitions_of(obj: Any, label: str) -> list[dict[str, Any]]:
    if isinstance(obj, Agent):
        return [d.to_wire() for d in [*obj.toolset.definitions(), *obj.server_tools]]
    if isinstance(obj, Tool):
        return [obj.definition().to_wire()]
    if isinstance(obj, Toolset):
        return [d.to_wire() for d in obj.definitions()]
    if isinstance(obj, (list, tuple)) and obj and all(isinstance(t, Tool) for t in obj):
        return [t.definition().to_wire() for t in obj]
    raise UsageError(f"{label} is {_kind(obj)}, not an Agent, a Tool or a Toolset")


def tool_definitions(spec: str) -> list[dict[str, Any]]:
    """The tool definitions ``PATH_OR_MODULE[:NAME]`` holds, exactly as a request carries them.

    A named object may be an ``Agent`` (its tools, then its server tools), a ``Tool``, a
    ``Toolset`` or a list of tools. Without a name: the module's agent when it has exactly
    one, else every top-level ``Tool`` of the module.
    """
    where, name = split_target(spec)
    module = load_module(where)
    if name is not None:
        return _definitions_of(resolve(module, where, name), f"{where}:{name}")
    agents = module_agents(module)
    if len(agents) == 1:
        return _definitions_of(next(iter(agents.values())), where)
    if len(agents) > 1:
        raise UsageError(
            f"{where} defines several agents ({', '.join(agents)}); name one, e.g. "
            f"{where}:{next(iter(agents))}"
        )
    tools = [value for value in vars(module).values() if isinstance(value, Tool)]
    if not tools:
        raise UsageError(f"{where} defines no Agent and no Tool at top level")
    return [t.definition().to_wire() for t in tools]


_CREDENTIAL_VARIABLES = ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN")


@contextmanager
def placeholder_credential() -> Iterator[None]:
    """A stand-in ``ANTHROPIC_API_KEY`` while a module loads, when no credential is set.

    For commands that never send a request (``toolwire tools``): an ``Agent`` built at import
    needs a credential to exist, not to be real.
    """
    if any(os.environ.get(v) for v in _CREDENTIAL_VARIABLES):
        yield
        return
    os.environ["ANTHROPIC_API_KEY"] = "placeholder-toolwire-tools"
    try:
        yield
    finally:
        os.environ.pop("ANTHROPIC_API_KEY", None)
