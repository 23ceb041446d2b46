"""From a ``text/event-stream`` response to typed stream events.

Framing (lines, ``data:`` continuation, comments, the three line endings, the per-event size
cap) is httpx2's ``EventSource``; this module only turns each framed event into a
``StreamEvent``. An event's kind is its data's ``type``, or, when the data has none, its
``event:`` name (providers differ in which they rely on).

One leniency on top of the SSE rules: an event the body ends in without its closing blank line
is still delivered (hand-written and proxied bodies often lack that line). If that last event's
data is not JSON, the stream was cut inside it: ``StreamIncompleteError``.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any, cast

import httpx2
from pydantic import ValidationError

from toolwire._errors import APIResponseError, ResponseTooLargeError, StreamIncompleteError
from toolwire._sse.accumulator import MessageAccumulator
from toolwire._wire.messages import Message
from toolwire._wire.stream_events import StreamEvent, stream_event_adapter

__all__ = ["accumulate_sse_text", "aiter_stream_events", "iter_stream_events"]

_EXCERPT = 80
_PLACEHOLDER_REQUEST_URL = "http://127.0.0.1/v1/messages"


class _Terminated:
    """What ``EventSource`` reads of a response: its text, then one more blank line.

    It stands in for the response (EventSource reads only ``request``, ``headers`` and the
    text), so the body is decoded once, by the response itself. ``ended`` notes when the
    body's own text ran out, before the added blank line.
    """

    def __init__(self, response: httpx2.Response) -> None:
        self._response = response
        self.ended = False
        try:
            self.request = response.request
        except RuntimeError:
            self.request = httpx2.Request("POST", _PLACEHOLDER_REQUEST_URL)
        self.headers = response.headers

    def iter_text(self) -> Iterator[str]:
        yield from self._response.iter_text()
        self.ended = True
        yield "\n\n"

    async def aiter_text(self) -> AsyncIterator[str]:
        async for chunk in self._response.aiter_text():
            yield chunk
        self.ended = True
        yield "\n\n"


def _terminated(response: httpx2.Response) -> tuple[httpx2.Response, _Terminated]:
    body = _Terminated(response)
    # EventSource is typed for a Response; it only uses what _Terminated provides.
    return cast(httpx2.Response, body), body


class _Decoder:
    """Turns framed events into ``StreamEvent`` objects, with errors that say which event failed."""

    def __init__(
        self, response: httpx2.Response, max_event_bytes: int | None, secrets: Sequence[str] = ()
    ) -> None:
        self.request_id = response.headers.get("request-id")
        self.max_event_bytes = max_event_bytes
        self.secrets = tuple(s for s in secrets if s)
        self.content_type = response.headers.get("content-type", "")
        self.count = 0

    def decode(self, sse: httpx2.ServerSentEvent, *, after_end: bool) -> StreamEvent | None:
        self.count += 1
        if not sse.data:
            return None
        try:
            # The fast path, parsed and validated in one pass by pydantic-core; anything it
            # rejects takes the slow path below, which also names what was wrong.
            return stream_event_adapter.validate_json(sse.data)
        except ValidationError:
            pass
        try:
            data: Any = json.loads(sse.data)
        except ValueError:
            if after_end:
                raise StreamIncompleteError(
                    f"the stream was cut inside event {self.count} ({sse.event!r}): "
                    f"{_excerpt(sse.data, self.secrets)}",
                    request_id=self.request_id,
                ) from None
            raise APIResponseError(
                f"stream event {self.count} ({sse.event!r}) does not hold JSON data: "
                f"{_excerpt(sse.data, self.secrets)}",
                request_id=self.request_id,
            ) from None
        if not isinstance(data, dict):
            raise APIResponseError(
                f"stream event {self.count} ({sse.event!r}) holds {type(data).__name__} data, "
                "not a JSON object",
                request_id=self.request_id,
            )
        if "type" not in data:
            data["type"] = sse.event
        try:
            return stream_event_adapter.validate_python(data)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or '(event)'}: {err['msg']}"
                for err in exc.errors()
            )
            raise APIResponseError(
                f"stream event {self.count} ({data['type']!r}) is malformed: {problems}",
                request_id=self.request_id,
            ) from None

    def framing_error(self, exc: httpx2.SSEError) -> APIResponseError:
        media_type = self.content_type.partition(";")[0].strip().lower()
        if media_type != "text/event-stream":
            return APIResponseError(
                f"expected a streamed response (content-type text/event-stream), "
                f"got content-type {self.content_type or '(none)'!r}",
                request_id=self.request_id,
            )
        return ResponseTooLargeError(
            f"stream event {self.count + 1} is larger than the {self.max_event_bytes}-byte limit "
            "for one event",
            request_id=self.request_id,
        )


def _excerpt(text: str, secrets: Sequence[str] = ()) -> str:
    # Secrets go before the cut: a cut could keep part of one, which replace() would miss.
    for secret in secrets:
        text = text.replace(secret, "[redacted]")
    return repr(text if len(text) <= _EXCERPT else text[:_EXCERPT] + "...")


async def aiter_stream_events(
    response: httpx2.Response, *, max_event_bytes: int | None, secrets: Sequence[str] = ()
) -> AsyncIterator[StreamEvent]:
    """The typed events of a streamed ``/v1/messages`` response, as they arrive.

    ``max_event_bytes`` caps one event (``None``: no cap); a larger one raises
    ``ResponseTooLargeError``. Data that is not a JSON object, or does not form a valid event,
    raises ``APIResponseError`` naming the event. ``error`` events are yielded, not raised:
    ``MessageAccumulator.feed`` raises them. ``secrets`` are kept out of the excerpts of bad
    data that errors quote.
    """
    framed, body = _terminated(response)
    decoder = _Decoder(response, max_event_bytes, secrets)
    try:
        async for sse in httpx2.EventSource(framed, max_event_size=max_event_bytes):
            event = decoder.decode(sse, after_end=body.ended)
            if event is not None:
                yield event
    except httpx2.SSEError as exc:
        raise decoder.framing_error(exc) from exc


def iter_stream_events(
    response: httpx2.Response, *, max_event_bytes: int | None, secrets: Sequence[str] = ()
) -> Iterator[StreamEvent]:
    """``aiter_stream_events`` for a response read synchronously (a body already in memory)."""
    framed, body = _terminated(response)
    decoder = _Decoder(response, max_event_bytes, secrets)
    try:
        for sse in httpx2.EventSource(framed, max_event_size=max_event_bytes):
            event = decoder.decode(sse, after_end=body.ended)
            if event is not None:
                yield event
    except httpx2.SSEError as exc:
        raise decoder.framing_error(exc) from exc


def accumulate_sse_text(body: str | bytes, *, max_event_bytes: int | None = None) -> Message:
    """The ``Message`` a whole streamed response body accumulates to.

    It takes the same path as a live stream: ``EventSource`` framing, event decoding and
    ``MessageAccumulator``, so it raises the same errors.
    """
    content = body.encode("utf-8") if isinstance(body, str) else body
    response = httpx2.Response(
        200,
        headers={"content-type": "text/event-stream; charset=utf-8"},
        content=content,
        request=httpx2.Request("POST", _PLACEHOLDER_REQUEST_URL),
    )
    accumulator = MessageAccumulator()
    for event in iter_stream_events(response, max_event_bytes=max_event_bytes):
        accumulator.feed(event)
    return accumulator.message()
