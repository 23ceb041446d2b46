"""What the fake server keeps of each ``/messages`` request it receives."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from toolwire._wire.request import MessageRequest

__all__ = ["RecordedRequest"]


@dataclass(frozen=True)
class RecordedRequest:
    """One request to ``/messages``, as received.

    ``number`` counts requests from 1 in arrival order; ``body`` is the JSON body (``{}`` when
    it was not a JSON object; ``raw`` keeps the bytes); ``headers`` has lower-cased names;
    ``request_id`` is the ``request-id`` the server answered with; ``violations`` are the
    protocol rules the request broke. ``events_sent`` grows while a streamed answer is being
    sent: the type of every event written so far.
    """

    number: int
    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    raw: bytes = field(repr=False)
    request_id: str
    violations: tuple[str, ...] = ()
    client: tuple[str, int] | None = None
    events_sent: list[str] = field(default_factory=list, compare=False)
    parsed: MessageRequest | None = field(default=None, repr=False, compare=False)
    parse_error: str | None = field(default=None, repr=False)

    @property
    def streamed(self) -> bool:
        """Whether the request asked for a streamed answer (``"stream": true``)."""
        return self.body.get("stream") is True

    @property
    def request(self) -> MessageRequest:
        """The body parsed as a ``MessageRequest``; ``AssertionError`` if it does not parse."""
        if self.parsed is None:
            raise AssertionError(
                f"request #{self.number} is not a valid MessageRequest: {self.parse_error}"
            )
        return self.parsed
