"""Fuzzing the streamed-response path: SSE bytes in, a ``Message`` or a typed error out.

Every case goes through the real path: an ``httpx2.Response`` whose body arrives in chunks,
``aiter_stream_events`` and ``MessageAccumulator``. Each read runs under ``anyio.fail_after``,
so a hang fails the test instead of holding it.

- Neutral mutations (chunks cut anywhere, CR/LF/CRLF mixes, pings, unknown events, comments,
  lines of unknown fields, ``id:``/``retry:`` lines, ``event:`` names that the data's ``type``
  overrides, data spread over several ``data:`` lines, a missing final blank line) must give
  exactly the message the clean stream describes.
- The same streams under a small per-event cap give that message or ``ResponseTooLargeError``.
- Truncation, random byte edits and corrupted event JSON give a message or a ``ToolwireError``,
  and a stream cut before its ``message_stop`` is complete is always an error.

Streams come from a generator that also builds the message they describe, and from the SSE
bodies in ``tests/data`` (recorded and hand-made), whose message is the one the clean body
gives.
"""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import anyio.lowlevel
import httpx2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from toolwire import APIResponseError, Message, ResponseTooLargeError, ToolwireError
from toolwire._sse import MessageAccumulator, accumulate_sse_text, aiter_stream_events

DATA = Path(__file__).parent / "data"
URL = "http://127.0.0.1/v1/messages"
READ_TIMEOUT = 5.0

# TOOLWIRE_FUZZ_EXAMPLES=2000 runs a longer search than the suite's quick one.
FUZZ = settings(
    max_examples=int(os.environ.get("TOOLWIRE_FUZZ_EXAMPLES", "25")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

Event = dict[str, Any]


# -- the path under test ---------------------------------------------------------------------------


class ChunkedBody(httpx2.AsyncByteStream):
    """A response body that arrives in the given chunks, with a checkpoint between them."""

    def __init__(self, chunks: Sequence[bytes]) -> None:
        self._chunks = list(chunks)

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self._chunks:
            await anyio.lowlevel.checkpoint()
            yield chunk


async def read(chunks: Sequence[bytes], *, max_event_bytes: int | None = None) -> Message:
    """The message a streamed body of ``chunks`` gives, as the client reads it."""
    response = httpx2.Response(
        200,
        headers={"content-type": "text/event-stream; charset=utf-8"},
        stream=ChunkedBody(chunks),
        request=httpx2.Request("POST", URL),
    )
    accumulator = MessageAccumulator()
    with anyio.fail_after(READ_TIMEOUT):
        async for event in aiter_stream_events(response, max_event_bytes=max_event_bytes):
            accumulator.feed(event)
    return accumulator.message()


async def outcome(
    chunks: Sequence[bytes], *, max_event_bytes: int | None = None
) -> Message | ToolwireError:
    """The message, or the typed error; any other exception (a timeout too) fails the test."""
    try:
        return await read(chunks, max_event_bytes=max_event_bytes)
    except ToolwireError as exc:
        return exc


# -- streams and the message they describe ---------------------------------------------------------


@dataclass
class Stream:
    """A stream as lines (``""`` is a blank line) and the wire form of its message.

    ``stop_line`` is the index of the last line of the ``message_stop`` event's data.
    """

    lines: list[str]
    expected: dict[str, Any]
    stop_line: int = -1
    events: list[Event] = field(default_factory=list)


# Text with what trips line splitters and decoders: CR, LF, NEL, the Unicode line and paragraph
# separators, NUL, a BOM, and characters of every UTF-8 length.
tricky = st.sampled_from(["\r", "\n", "\r\n", "\x85", "\u2028", "\u2029", "\x00", "\ufeff", "é"])
texts = st.lists(st.text(max_size=8) | tricky | st.just("😀"), max_size=4).map("".join)
ids = st.from_regex(r"[A-Za-z0-9]{4,12}", fullmatch=True)
tool_names = st.from_regex(r"[a-zA-Z_][a-zA-Z0-9_-]{0,20}", fullmatch=True)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63)
    | st.floats(allow_nan=False, allow_infinity=False)
    | texts,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=8,
)


@st.composite
def split(draw: st.DrawFn, whole: str) -> list[str]:
    """``whole`` in pieces (some may be empty) that join back to it."""
    cuts = sorted(draw(st.lists(st.integers(0, len(whole)), max_size=4)))
    bounds = [0, *cuts, len(whole)]
    return [whole[a:b] for a, b in itertools.pairwise(bounds)]


def delta(index: int, payload: Event) -> Event:
    return {"type": "content_block_delta", "index": index, "delta": payload}


@st.composite
def generated(draw: st.DrawFn) -> tuple[list[Event], dict[str, Any]]:
    """Valid events and the message they add up to, built side by side."""
    usage_in = draw(st.integers(0, 10**6))
    head: dict[str, Any] = {
        "id": "msg_" + draw(ids),
        "type": "message",
        "role": "assistant",
        "model": draw(st.sampled_from(["claude-haiku-4-5", "claude-sonnet-4-5", "local"])),
    }
    events: list[Event] = [
        {
            "type": "message_start",
            "message": {
                **head,
                "content": [],
                "stop_reason": None,
                "stop_sequence": None,
                "usage": {"input_tokens": usage_in, "output_tokens": 1},
            },
        }
    ]
    content: list[dict[str, Any]] = []
    kinds = draw(st.lists(st.sampled_from(["text", "tool_use", "thinking"]), max_size=3))
    for index, kind in enumerate(kinds):
        if kind == "text":
            parts = draw(st.lists(texts, max_size=4))
            events.append(
                {
                    "type": "content_block_start",
                    "index": index,
                    "content_block": {"type": "text", "text": ""},
                }
            )
            events += [delta(index, {"type": "text_delta", "text": p}) for p in parts]
            content.append({"type": "text", "text": "".join(parts)})
        elif kind == "tool_use":
            value = draw(st.dictionaries(texts, json_values, max_size=4))
            block = {"type": "tool_use", "id": "toolu_" + draw(ids), "name": draw(tool_names)}
            events.append(
                {
                    "type": "content_block_start",
                    "index": index,
                    "content_block": {**block, "input": {}},
                }
            )
            raw = json.dumps(value, ensure_ascii=draw(st.booleans()))
            for piece in draw(split(raw)):
                events.append(delta(index, {"type": "input_json_delta", "partial_json": piece}))
            content.append({**block, "input": value})
        else:
            parts = draw(st.lists(texts, max_size=3))
            signature = draw(ids)
            events.append(
                {
                    "type": "content_block_start",
                    "index": index,
                    "content_block": {"type": "thinking", "thinking": "", "signature": ""},
                }
            )
            events += [delta(index, {"type": "thinking_delta", "thinking": p}) for p in parts]
            events.append(delta(index, {"type": "signature_delta", "signature": signature}))
            content.append({"type": "thinking", "thinking": "".join(parts), "signature": signature})
        events.append({"type": "content_block_stop", "index": index})
    stop_reason = draw(st.sampled_from(["end_turn", "tool_use", "max_tokens", "pause_turn"]))
    usage_out = draw(st.integers(0, 10**5))
    events.append(
        {
            "type": "message_delta",
            "delta": {"stop_reason": stop_reason, "stop_sequence": None},
            "usage": {"output_tokens": usage_out},
        }
    )
    events.append({"type": "message_stop"})
    expected = {
        **head,
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": {"input_tokens": usage_in, "output_tokens": usage_out},
    }
    return events, expected


def event_lines(event: Event, *, ascii_only: bool = True, indent: int | None = None) -> list[str]:
    """One event's lines: its name, then its data (over several lines when indented)."""
    data = json.dumps(event, ensure_ascii=ascii_only, indent=indent)
    # Indented JSON breaks lines only between tokens, so its lines are ``data:`` continuations
    # that join back (with LF) into the same JSON.
    name = event.get("type")
    return [f"event: {name}", *(f"data: {line}" for line in data.split("\n"))]


def to_stream(events: list[Event], expected: dict[str, Any]) -> Stream:
    lines: list[str] = []
    stop_line = -1
    for event in events:
        lines += event_lines(event)
        if event["type"] == "message_stop":
            stop_line = len(lines) - 1
        lines.append("")
    return Stream(lines, expected, stop_line, events)


def fixture_streams() -> list[Stream]:
    """The SSE bodies of ``tests/data``, as lines, with the message each clean body gives."""
    bodies = [p.read_text(encoding="utf-8") for p in sorted((DATA / "sse").glob("*.txt"))]
    for path in sorted((DATA / "recorded").glob("*.json")):
        for exchange in json.loads(path.read_text(encoding="utf-8")):
            body = exchange["response"]["body"]
            if isinstance(body, str) and exchange["response"]["status_code"] == 200:
                bodies.append(body)
    found = []
    for body in bodies:
        lines = body.replace("\r\n", "\n").split("\n")
        while lines and lines[-1] == "":
            lines.pop()
        lines.append("")
        stop = max(i for i, line in enumerate(lines) if '"message_stop"' in line)
        found.append(Stream(lines, accumulate_sse_text(body).to_wire(), stop))
    return found


FIXTURES = fixture_streams()

streams = st.one_of(
    st.builds(lambda pair: to_stream(*pair), generated()),
    st.sampled_from(FIXTURES),
)


# -- neutral mutations -----------------------------------------------------------------------------

_SPECIAL_FIELDS = {"data", "event", "id", "retry"}
field_names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_.-]{0,8}", fullmatch=True).filter(
    lambda n: n not in _SPECIAL_FIELDS
)
line_text = st.text(
    st.characters(blacklist_categories=["Cs"], blacklist_characters="\r\n"), max_size=20
)
vendor_events = st.from_regex(r"vendor_[a-z_]{1,10}", fullmatch=True)


@st.composite
def line_insert(draw: st.DrawFn) -> list[str]:
    """A line that changes nothing wherever it goes, even inside an event."""
    kind = draw(st.sampled_from(["comment", "field", "bare", "id", "retry"]))
    if kind == "comment":
        return [":" + draw(line_text)]
    if kind == "field":
        return [f"{draw(field_names)}:{draw(line_text)}"]
    if kind == "bare":
        # A line without a colon is a field name with an empty value: unknown, so ignored.
        return [draw(field_names)]
    if kind == "id":
        return [f"id: {draw(line_text.filter(lambda t: chr(0) not in t))}"]
    return [f"retry: {draw(st.integers(0, 10**6))}"]


@st.composite
def event_insert(draw: st.DrawFn) -> list[str]:
    """Lines that change nothing between two events: a ping, an unknown event, blank lines."""
    kind = draw(st.sampled_from(["ping", "unknown", "blank", "lines"]))
    if kind == "blank":
        return [""]
    if kind == "lines":
        # An "event" of only comments, unknown fields, ids and retries: nothing to deliver.
        found = draw(st.lists(line_insert(), min_size=1, max_size=3))
        return [*(line for group in found for line in group), ""]
    if kind == "ping":
        return [*event_lines({"type": "ping"}), ""]
    name = draw(vendor_events)
    extra = draw(st.dictionaries(st.sampled_from(["a", "b", "index"]), json_values, max_size=2))
    unknown: Event = {**extra, "type": name}
    lines = event_lines(unknown, ascii_only=draw(st.booleans()))
    if draw(st.booleans()):
        # Without a type in its data, the event's name names it.
        lines = [f"event: {name}", f"data: {json.dumps(extra)}"]
    return [*lines, ""]


@dataclass
class Case:
    """Mutated bytes in chunks, the message they must give, and where ``message_stop`` ends."""

    chunks: list[bytes]
    expected: dict[str, Any]
    stop_end: int

    @property
    def body(self) -> bytes:
        return b"".join(self.chunks)

    def __repr__(self) -> str:
        sizes = [len(c) for c in self.chunks]
        return f"Case(body={self.body!r}, chunk_sizes={sizes}, stop_end={self.stop_end})"


def reshape(draw: st.DrawFn, stream: Stream) -> tuple[list[str], int]:
    """Rewrite events' lines in ways that keep their meaning; returns lines and the stop line."""
    lines = list(stream.lines)
    stop_line = stream.stop_line
    reserialise = draw(st.booleans())
    if stream.events and reserialise:
        # Re-serialise some events: data over several lines, raw non-ASCII, no event name,
        # or an event name that the data's type overrides.
        lines = []
        for event in stream.events:
            ascii_only = draw(st.booleans())
            indent = draw(st.sampled_from([None, None, 0, 1]))
            own = event_lines(event, ascii_only=ascii_only, indent=indent)
            naming = draw(st.sampled_from(["keep", "drop", "other"]))
            if naming == "drop":
                own = own[1:]
            elif naming == "other":
                own[0] = f"event: {draw(vendor_events)}"
            lines += own
            if event["type"] == "message_stop":
                stop_line = len(lines) - 1
            lines.append("")
    return lines, stop_line


@st.composite
def neutral_cases(draw: st.DrawFn) -> Case:
    stream = draw(streams)
    lines, stop_line = reshape(draw, stream)
    for _ in range(draw(st.integers(0, 6))):
        if draw(st.booleans()):
            at = draw(st.integers(0, len(lines)))
            added = draw(line_insert())
        else:
            # Only where an event has ended (or before the first): a blank line inside an
            # event would end it early.
            at = draw(st.sampled_from([0, *(i + 1 for i, line in enumerate(lines) if not line)]))
            added = draw(event_insert())
        lines[at:at] = added
        if at <= stop_line:
            stop_line += len(added)
    # The blank line ending the last event may be missing: the event is still delivered.
    if draw(st.booleans()) and lines and lines[-1] == "":
        lines.pop()
    body, stop_end = encode(draw, lines, stop_line)
    return Case(draw(chunked(body)), stream.expected, stop_end)


def encode(draw: st.DrawFn, lines: list[str], stop_line: int) -> tuple[bytes, int]:
    """The lines as UTF-8 with mixed endings; the offset where ``stop_line``'s text ends."""
    out = bytearray()
    stop_end = -1
    previous = ""
    for number, line in enumerate(lines):
        out += line.encode("utf-8")
        if number == stop_line:
            stop_end = len(out)
        choices = ["\n", "\r\n", "\r"]
        if previous == "\r" and line == "":
            # CR then LF reads as one CRLF: the blank line would vanish.
            choices = ["\r\n", "\r"]
        ending = draw(st.sampled_from(choices))
        out += ending.encode()
        previous = ending
    return bytes(out), stop_end


@st.composite
def chunked(draw: st.DrawFn, body: bytes) -> list[bytes]:
    """``body`` cut anywhere (inside UTF-8 sequences and CRLF pairs too), empty chunks included."""
    if draw(st.booleans()):
        cuts = sorted(draw(st.lists(st.integers(0, len(body)), max_size=12)))
    else:
        size = draw(st.sampled_from([1, 2, 3, 5, 16, 64, 500]))
        cuts = list(range(size, len(body), size))
    bounds = [0, *cuts, len(body)]
    return [body[a:b] for a, b in itertools.pairwise(bounds)]


# -- the properties --------------------------------------------------------------------------------


def test_fixture_streams_are_read() -> None:
    assert len(FIXTURES) >= 10
    for stream in FIXTURES:
        assert stream.expected["type"] == "message"


@pytest.mark.anyio
async def test_a_generated_stream_gives_the_message_it_describes() -> None:
    events: list[Event] = [
        {
            "type": "message_start",
            "message": {
                "id": "msg_x",
                "type": "message",
                "role": "assistant",
                "model": "m",
                "content": [],
                "stop_reason": None,
                "stop_sequence": None,
                "usage": {"input_tokens": 3, "output_tokens": 1},
            },
        },
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        delta(0, {"type": "text_delta", "text": "a\u2028b\r"}),
        {"type": "content_block_stop", "index": 0},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn", "stop_sequence": None},
            "usage": {"output_tokens": 2},
        },
        {"type": "message_stop"},
    ]
    stream = to_stream(events, {})
    body = "\n".join(stream.lines).encode()
    message = await read([body])
    assert message.to_wire()["content"] == [{"type": "text", "text": "a\u2028b\r"}]
    assert message.usage.output_tokens == 2


@pytest.mark.anyio
@FUZZ
@given(case=neutral_cases())
async def test_neutral_mutations_give_the_same_message(case: Case) -> None:
    result = await outcome(case.chunks)
    assert isinstance(result, Message), f"{type(result).__name__}: {result}"
    assert result.to_wire() == case.expected


@pytest.mark.anyio
@FUZZ
@given(case=neutral_cases(), cap=st.integers(16, 600))
async def test_a_small_event_cap_gives_the_message_or_response_too_large(
    case: Case, cap: int
) -> None:
    result = await outcome(case.chunks, max_event_bytes=cap)
    if isinstance(result, Message):
        assert result.to_wire() == case.expected
    else:
        assert isinstance(result, ResponseTooLargeError), f"{type(result).__name__}: {result}"


@st.composite
def truncated_cases(draw: st.DrawFn) -> tuple[Case, int, list[bytes]]:
    """A neutral case, where its body is cut, and the cut body in chunks."""
    case = draw(neutral_cases())
    body = case.body
    cut = draw(st.integers(0, len(body)))
    return case, cut, draw(chunked(body[:cut]))


@pytest.mark.anyio
@FUZZ
@given(truncated=truncated_cases())
async def test_truncation_gives_the_message_or_a_typed_error(
    truncated: tuple[Case, int, list[bytes]],
) -> None:
    case, cut, chunks = truncated
    result = await outcome(chunks)
    if isinstance(result, Message):
        assert cut >= case.stop_end, "a stream cut before message_stop was complete gave a message"
        assert result.to_wire() == case.expected


byte_edits = st.lists(
    st.tuples(
        st.sampled_from(["insert", "replace", "delete"]),
        st.floats(0, 1, exclude_max=True),
        st.binary(min_size=1, max_size=6)
        | st.sampled_from([b"\r", b"\n", b"\r\n", b"\n\n", b"data: ", b"event: error\n", b"\xff"]),
    ),
    min_size=1,
    max_size=4,
)


@st.composite
def edited_bodies(draw: st.DrawFn) -> list[bytes]:
    """A neutral case's body with a few bytes inserted, replaced or deleted, in chunks."""
    body = bytearray(draw(neutral_cases()).body)
    for kind, where, blob in draw(byte_edits):
        at = int(where * (len(body) + 1))
        if kind == "insert":
            body[at:at] = blob
        elif kind == "replace":
            body[at : at + len(blob)] = blob
        else:
            del body[at : at + len(blob)]
    return draw(chunked(bytes(body)))


@pytest.mark.anyio
@FUZZ
@given(chunks=edited_bodies())
async def test_random_byte_edits_give_a_message_or_a_typed_error(chunks: list[bytes]) -> None:
    result = await outcome(chunks)
    assert isinstance(result, Message | ToolwireError)


@st.composite
def corrupted_events(draw: st.DrawFn) -> list[Event]:
    """A valid stream with one or two events changed: a field replaced or removed, an event
    repeated, dropped or moved."""
    events, _ = draw(generated())
    events = [json.loads(json.dumps(e)) for e in events]
    for _ in range(draw(st.integers(1, 2))):
        at = draw(st.integers(0, len(events) - 1))
        kind = draw(st.sampled_from(["set", "remove", "repeat", "drop", "move", "nested"]))
        target = events[at]
        if kind == "set":
            target[draw(st.sampled_from([*target, "index", "type", "delta"]))] = draw(json_values)
        elif kind == "remove" and target:
            del target[draw(st.sampled_from(sorted(target)))]
        elif kind == "repeat":
            events.insert(at, json.loads(json.dumps(target)))
        elif kind == "drop" and len(events) > 1:
            del events[at]
        elif kind == "move":
            events.insert(draw(st.integers(0, len(events) - 1)), events.pop(at))
        else:
            inner = next((v for v in target.values() if isinstance(v, dict)), None)
            if inner:
                inner[draw(st.sampled_from(sorted(inner)))] = draw(json_values)
    return events


@pytest.mark.anyio
@FUZZ
@given(events=corrupted_events())
async def test_corrupted_events_give_a_message_or_a_typed_error(events: list[Event]) -> None:
    body = "".join("\n".join([*event_lines(e), "", ""]) for e in events).encode()
    result = await outcome([body])
    assert isinstance(result, Message | ToolwireError)
    if isinstance(result, Message):
        # A message that came out must be a valid one: it serialises and parses back the same.
        again = Message.model_validate_json(json.dumps(result.to_wire()))
        assert again.to_wire() == result.to_wire()


# -- what fuzzing found, kept as plain tests -------------------------------------------------------


def _stream_body(*events: Event) -> bytes:
    return "".join("\n".join([*event_lines(e), "", ""]) for e in events).encode()


_HEAD: Event = {
    "type": "message_start",
    "message": {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "m",
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": 1, "output_tokens": 1},
    },
}
_TAIL: list[Event] = [
    {"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 2}},
    {"type": "message_stop"},
]
_TOOL_START: Event = {
    "type": "content_block_start",
    "index": 0,
    "content_block": {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {}},
}


@pytest.mark.anyio
@pytest.mark.parametrize(
    "field", ["partial_json", "incomplete", "to_wire", "__dict__", "_partial_json"]
)
async def test_an_unknown_delta_cannot_reach_a_blocks_attributes(field: str) -> None:
    # Once an AttributeError (a property without a setter) or a block whose methods were
    # replaced: the delta's fields are data, kept as extra fields of the block.
    body = _stream_body(
        _HEAD,
        _TOOL_START,
        delta(0, {"type": "vendor_delta", field: "x"}),
        {"type": "content_block_stop", "index": 0},
        *_TAIL,
    )
    message = await read([body])
    block = message.tool_uses[0]
    assert block.incomplete is False
    assert block.partial_json is None
    assert block.to_wire() == {
        "type": "tool_use",
        "id": "toolu_1",
        "name": "f",
        "input": {},
        field: "x",
    }


@pytest.mark.anyio
async def test_an_unknown_delta_cannot_give_a_declared_field_another_type() -> None:
    body = _stream_body(
        _HEAD,
        _TOOL_START,
        delta(0, {"type": "vendor_delta", "input": "not an object"}),
        {"type": "content_block_stop", "index": 0},
        *_TAIL,
    )
    with pytest.raises(APIResponseError, match="unknown kind gave input an invalid value"):
        await read([body])


@pytest.mark.anyio
@pytest.mark.parametrize("kind", [[], {}, 3, None])
async def test_a_type_that_is_not_a_string_is_a_typed_error(kind: Any) -> None:
    # Once a TypeError: an unhashable type was looked up in the set of known kinds.
    bad_event = _stream_body(_HEAD, {"type": kind, "index": 0})
    bad_block = _stream_body(
        _HEAD, {"type": "content_block_start", "index": 0, "content_block": {"type": kind}}
    )
    bad_delta = _stream_body(_HEAD, _TOOL_START, delta(0, {"type": kind}))
    for body in (bad_event, bad_block, bad_delta):
        result = await outcome([body])
        assert isinstance(result, ToolwireError), result
    with pytest.raises(ValidationError):
        Message.model_validate(
            {**_HEAD["message"], "content": [{"type": kind}], "stop_reason": "end_turn"}
        )
