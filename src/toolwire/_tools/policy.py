"""What a tool's exception does to the run: fed back to the model, or the end of the run."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Literal, TypeAlias

from toolwire._errors import ToolError

__all__ = ["Decision", "ExceptionRules", "ToolPolicy"]

Decision: TypeAlias = Literal["feed_back", "abort"]
"""``"feed_back"``: the model gets an ``is_error`` result and may try again. ``"abort"``: the
run ends with ``ToolAborted``, the exception as its ``__cause__``, the transcript intact."""

ExceptionRules: TypeAlias = (
    Mapping[type[BaseException], Decision] | Callable[[BaseException], Decision]
)
"""A mapping from exception class to decision, or a function deciding per exception."""


class ToolPolicy:
    """Decides, per exception a tool raises, whether the run goes on.

    ``rules`` maps exception classes to decisions (the most specific class in the exception's
    MRO wins) or is a function of the exception. Exceptions no rule covers get ``default``,
    which feeds everything back unless told otherwise. ``ToolError`` is always fed back: it is
    the tool's own message for the model.

    >>> policy = ToolPolicy({PermissionError: "abort"})
    >>> policy.decide(PermissionError("no"))
    'abort'
    >>> policy.decide(ValueError("bad"))
    'feed_back'
    """

    def __init__(
        self, rules: ExceptionRules | None = None, *, default: Decision = "feed_back"
    ) -> None:
        self.rules = rules
        self.default: Decision = default

    @classmethod
    def of(cls, policy: ToolPolicy | ExceptionRules | None) -> ToolPolicy:
        """A ``ToolPolicy`` from a policy, a mapping, a function, or ``None`` (feed back all)."""
        if isinstance(policy, ToolPolicy):
            return policy
        return cls(policy)

    def decide(self, exc: BaseException) -> Decision:
        """The decision for ``exc``."""
        if isinstance(exc, ToolError):
            return "feed_back"
        rules = self.rules
        if rules is None:
            return self.default
        if isinstance(rules, Mapping):
            for klass in type(exc).__mro__:
                if klass in rules:
                    return _checked(rules[klass])
            return self.default
        return _checked(rules(exc))

    def __repr__(self) -> str:
        return f"ToolPolicy({self.rules!r}, default={self.default!r})"


def _checked(decision: str) -> Decision:
    if decision == "feed_back":
        return "feed_back"
    if decision == "abort":
        return "abort"
    raise ValueError(f"a tool policy must answer 'feed_back' or 'abort', not {decision!r}")
