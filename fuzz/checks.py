"""What the fuzz targets do with one input; importable without atheris.

Each ``check_*`` takes the fuzzer's bytes and returns normally when the library behaved: it gave
a result or raised one of the errors it documents for bad input. Anything else propagates and
is a finding. ``seeds()`` lists the seed inputs taken from ``tests/data``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx2
from pydantic import ValidationError

from toolwire import Endpoint, Message, MessagesClient, ToolwireError
from toolwire._sse import MessageAccumulator, iter_stream_events

__all__ = ["SECRET", "TARGETS", "check_response", "check_sse", "seeds"]

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
SECRET = "sk-fuzz-0123456789abcdefghijklmnopqrstuvwxyz"
"""The client's key: a body that echoes it must not get it into an error message."""

_URL = "http://127.0.0.1/v1/messages"
_CLIENT = MessagesClient(Endpoint("http://127.0.0.1", api_key=SECRET))
_ERROR_STATUSES = (400, 401, 403, 404, 413, 429, 500, 502, 503, 504, 529)


class _Chunks(httpx2.SyncByteStream):
    def __init__(self, data: bytes, size: int) -> None:
        self._data = data
        self._size = size

    def __iter__(self) -> Iterator[bytes]:
        for start in range(0, len(self._data), self._size):
            yield self._data[start : start + self._size]


def _round_trips(message: Message) -> None:
    """A message that came out serialises, and parses back to the same wire form."""
    wire = message.to_wire()
    again = Message.model_validate_json(json.dumps(wire))
    assert again.to_wire() == wire, "a parsed message does not survive a round trip"


def _no_secret(error: ToolwireError) -> None:
    if SECRET in str(error):
        raise AssertionError("the key leaked into an error message")


def check_sse(data: bytes) -> None:
    """The bytes as a streamed response body: a ``Message`` or a ``ToolwireError``.

    The body arrives in chunks of a size that varies with the input, and every other input
    runs under a small per-event cap, so framing across chunk edges and the cap are both
    exercised. The synchronous reader shares all of its parsing with the asynchronous one.
    """
    size = 1 + len(data) * 7 % 97
    response = httpx2.Response(
        200,
        headers={"content-type": "text/event-stream; charset=utf-8"},
        stream=_Chunks(data, size),
        request=httpx2.Request("POST", _URL),
    )
    cap = 512 if len(data) % 2 else None
    accumulator = MessageAccumulator()
    try:
        for event in iter_stream_events(response, max_event_bytes=cap):
            accumulator.feed(event)
        message = accumulator.message()
    except ToolwireError:
        return
    _round_trips(message)


def check_response(data: bytes) -> None:
    """The bytes as a response body, three ways.

    - ``Message.model_validate_json``: a message, or pydantic's ``ValidationError``.
    - the client's parsing of a 200 body: a message, or a ``ToolwireError``.
    - the client's parsing of an error body (status chosen by the input): always an
      ``APIStatusError`` subclass, whose message never holds the client's key.
    """
    try:
        parsed = Message.model_validate_json(data)
    except ValidationError:
        pass
    else:
        _round_trips(parsed)

    ok = httpx2.Response(200, headers={"content-type": "application/json"}, content=data)
    try:
        message = _CLIENT._parse_message(data, ok)
    except ToolwireError as exc:
        _no_secret(exc)
    else:
        _round_trips(message)

    status = _ERROR_STATUSES[data[0] % len(_ERROR_STATUSES)] if data else 500
    failed = httpx2.Response(status, headers={"content-type": "application/json"}, content=data)
    try:
        _CLIENT._raise_error_body(data, failed)
    except ToolwireError as exc:
        _no_secret(exc)
    else:  # pragma: no cover - the function always raises
        raise AssertionError("an error body did not raise")


TARGETS = {"sse": check_sse, "response": check_response}
"""Each target's name and its check."""


def seeds(target: str) -> list[bytes]:
    """Seed inputs for ``target``: the real bodies and fixtures of ``tests/data``."""
    found: list[bytes] = []
    if target == "sse":
        found += [p.read_bytes() for p in sorted((DATA / "sse").glob("*.txt"))]
    for path in sorted((DATA / "recorded").glob("*.json")):
        for exchange in json.loads(path.read_text(encoding="utf-8")):
            body = exchange["response"]["body"]
            if target == "sse" and isinstance(body, str):
                found.append(body.encode())
            elif target == "response" and not isinstance(body, str):
                found.append(json.dumps(body).encode())
    if target == "response":
        found.append(f'{{"type":"error","error":{{"type":"x","message":"{SECRET}"}}}}'.encode())
    return found
