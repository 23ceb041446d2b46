"""When to retry a failed request, and how long to wait first."""

from __future__ import annotations

import email.utils
import random
import time
from dataclasses import dataclass

import httpx2

__all__ = ["RetryPolicy"]


def parse_retry_after(headers: httpx2.Headers, now: float | None = None) -> float | None:
    """Seconds the server asks to wait: ``retry-after-ms``, else ``retry-after`` (secs or date)."""
    raw_ms = headers.get("retry-after-ms")
    if raw_ms is not None:
        try:
            ms = float(raw_ms)
        except ValueError:
            ms = -1.0
        if ms >= 0:
            return ms / 1000.0
    raw = headers.get("retry-after")
    if raw is None:
        return None
    try:
        seconds = float(raw)
    except ValueError:
        parsed = email.utils.parsedate_tz(raw)
        if parsed is None:
            return None
        seconds = email.utils.mktime_tz(parsed) - (time.time() if now is None else now)
    if seconds != seconds:  # NaN
        return None
    return max(float(seconds), 0.0)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff with jitter; a server's ``retry-after`` wins when it is reasonable.

    ``max_retries`` counts retries after the first attempt. A ``retry-after`` longer than
    ``max_retry_after`` is not waited for: the error is raised at once (a spend cap, say), with the
    wait on the exception's ``retry_after``.
    """

    max_retries: int = 2
    initial_delay: float = 0.5
    max_delay: float = 8.0
    max_retry_after: float = 60.0
    jitter: float = 0.25

    def __post_init__(self) -> None:
        if self.max_retries < 0:
            raise ValueError(f"max_retries must be 0 or more, got {self.max_retries}")

    def delay(self, attempt: int, retry_after: float | None) -> float | None:
        """Seconds to wait before retry number ``attempt`` (from 1), or ``None`` to give up now."""
        if attempt > self.max_retries:
            return None
        if retry_after is not None:
            return retry_after if retry_after <= self.max_retry_after else None
        base: float = min(self.initial_delay * 2.0 ** (attempt - 1), self.max_delay)
        return base * (1.0 - self.jitter * random.random())
