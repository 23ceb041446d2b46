"""Tool and parameter descriptions from docstrings (Google, NumPy, reST/Sphinx, Epydoc)."""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field

import docstring_parser

__all__ = ["DocInfo", "parse_doc"]


@dataclass(frozen=True)
class DocInfo:
    """A docstring split into the tool's description and one description per parameter."""

    description: str | None = None
    params: dict[str, str] = field(default_factory=dict)


def parse_doc(*docs: str | None) -> DocInfo:
    """Parse docstrings in order of precedence; the first one with a description gives it.

    Parameter descriptions are merged, earlier docstrings winning. The style is detected per
    docstring; sections other than the summary, the long description and the parameters
    (returns, raises, examples) are left out of the description.
    """
    description: str | None = None
    params: dict[str, str] = {}
    for raw in docs:
        if not raw or not raw.strip():
            continue
        parsed = docstring_parser.parse(inspect.cleandoc(raw))
        if description is None:
            parts = [p.strip() for p in (parsed.short_description, parsed.long_description) if p]
            description = "\n\n".join(p for p in parts if p) or None
        for param in parsed.params:
            text = (param.description or "").strip()
            if text and param.arg_name not in params:
                params[param.arg_name] = text
    return DocInfo(description=description, params=params)
