"""``TemporalOptions``: how a durable run schedules its steps, retries them and bounds its data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from temporalio.common import RetryPolicy

from .._errors import ConfigError

__all__ = ["DEFAULT_MAX_PAYLOAD_BYTES", "TemporalOptions"]

DEFAULT_MAX_PAYLOAD_BYTES = 2_000_000
"""The default cap on one step's encoded data: under Temporal's 2 MiB payload limit
(2,097,152 bytes), with room for the envelope around it."""


@dataclass(frozen=True)
class TemporalOptions:
    """How the steps of a durable run are scheduled. Times are in seconds.

    Each model request is one activity attempt of at most ``request_timeout`` seconds, tried
    up to ``request_attempts`` times; each tool call is one of at most ``tool_timeout`` seconds
    (or the tool's own timeout plus a grace period, if longer), tried up to ``tool_attempts``
    times. Retries wait ``retry_initial_interval`` seconds, then ``retry_backoff`` times longer
    each time, up to ``retry_max_interval``; a ``retry-after`` from the endpoint wins.

    ``heartbeat_timeout``: a running step reports to the server every third of it, so a worker
    that dies is noticed within that time and its step handed to another worker (``None``: a
    dead worker's step waits out its whole timeout). ``continue_as_new_after``: after this many
    model requests the workflow continues as new, carrying the transcript, so that no history
    grows without bound. ``max_payload_bytes``: the cap on one step's encoded data (``None``
    turns the checks off, for a cluster configured with another limit or a compressing codec).
    """

    request_timeout: float = 600.0
    request_attempts: int = 10
    tool_timeout: float = 600.0
    tool_attempts: int = 5
    heartbeat_timeout: float | None = 30.0
    retry_initial_interval: float = 1.0
    retry_backoff: float = 2.0
    retry_max_interval: float = 60.0
    continue_as_new_after: int = 50
    max_payload_bytes: int | None = DEFAULT_MAX_PAYLOAD_BYTES

    def __post_init__(self) -> None:
        for name in (
            "request_timeout",
            "tool_timeout",
            "retry_initial_interval",
            "retry_max_interval",
        ):
            if not getattr(self, name) > 0:
                raise ConfigError(f"TemporalOptions.{name}", "must be a positive number of seconds")
        if self.heartbeat_timeout is not None and not self.heartbeat_timeout > 0:
            raise ConfigError("TemporalOptions.heartbeat_timeout", "must be positive or None")
        for name in ("request_attempts", "tool_attempts", "continue_as_new_after"):
            if getattr(self, name) < 1:
                raise ConfigError(f"TemporalOptions.{name}", "must be at least 1")
        if self.retry_backoff < 1:
            raise ConfigError("TemporalOptions.retry_backoff", "must be at least 1")
        if self.max_payload_bytes is not None and self.max_payload_bytes < 1:
            raise ConfigError("TemporalOptions.max_payload_bytes", "must be positive or None")

    def retry_policy(self, attempts: int) -> RetryPolicy:
        """The engine's retry policy for a step tried at most ``attempts`` times."""
        return RetryPolicy(
            initial_interval=timedelta(seconds=self.retry_initial_interval),
            backoff_coefficient=self.retry_backoff,
            maximum_interval=timedelta(seconds=self.retry_max_interval),
            maximum_attempts=attempts,
        )

    def heartbeat(self) -> timedelta | None:
        """The heartbeat timeout of every step, as the engine takes it."""
        if self.heartbeat_timeout is None:
            return None
        return timedelta(seconds=self.heartbeat_timeout)

    def tool_deadline(self, tool_timeout: float | None) -> timedelta:
        """How long one attempt at a tool call may take: the tool's own limit, with grace."""
        seconds = self.tool_timeout
        if tool_timeout is not None:
            # The tool stops itself at its timeout; the attempt outlives it a little, so the
            # tool's "timed out" result is what the model sees rather than a lost attempt.
            seconds = max(seconds, tool_timeout + 30.0)
        return timedelta(seconds=seconds)
