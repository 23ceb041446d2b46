"""Limits on a run, checked before each request."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .._errors import ConfigError, LimitExceeded
from .._wire.messages import Usage

__all__ = ["Limits"]


@dataclass(frozen=True, slots=True)
class Limits:
    """Optional bounds on one run. ``None`` means unbounded.

    When one is reached the run raises ``LimitExceeded`` carrying the transcript, or, with
    ``on_limit="final_answer"``, makes one last request without tools asking the model to answer
    with what it has (that request is allowed past the limit).
    """

    max_turns: int | None = 50
    """Model requests per run (pause_turn continuations count)."""
    max_tool_calls: int | None = None
    """Tool calls per run; a turn whose calls would go past it runs none of them."""
    max_input_tokens: int | None = None
    """Input tokens summed over the run's requests (cache reads and writes included)."""
    max_output_tokens: int | None = None
    max_total_tokens: int | None = None
    timeout: float | None = None
    """Wall-clock seconds for the whole run; an in-flight request or tool is cancelled then."""
    max_pause_turns: int = 10
    """``pause_turn`` continuations in a row before the run gives up."""
    on_limit: Literal["raise", "final_answer"] = "raise"

    def __post_init__(self) -> None:
        for name in (
            "max_turns",
            "max_tool_calls",
            "max_input_tokens",
            "max_output_tokens",
            "max_total_tokens",
            "timeout",
        ):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ConfigError(f"Limits.{name}", f"must be positive or None, got {value}")
        if self.max_pause_turns < 0:
            raise ConfigError("Limits.max_pause_turns", "must be 0 or more")
        if self.on_limit not in ("raise", "final_answer"):
            raise ConfigError(
                "Limits.on_limit", f"must be 'raise' or 'final_answer', got {self.on_limit!r}"
            )

    def exceeded(self, turns: int, usage: Usage) -> LimitExceeded | None:
        """The first request limit the run has reached before its next request, if any.

        Tool calls are checked where they happen: a turn whose calls would pass ``max_tool_calls``
        runs none of them.
        """
        input_tokens = (
            usage.input_tokens
            + (usage.cache_creation_input_tokens or 0)
            + (usage.cache_read_input_tokens or 0)
        )
        checks: tuple[tuple[str, float, int | None], ...] = (
            ("max_turns", turns, self.max_turns),
            ("max_input_tokens", input_tokens, self.max_input_tokens),
            ("max_output_tokens", usage.output_tokens, self.max_output_tokens),
            ("max_total_tokens", input_tokens + usage.output_tokens, self.max_total_tokens),
        )
        for name, value, maximum in checks:
            if maximum is not None and value >= maximum:
                return LimitExceeded(name, value, maximum)
        return None
