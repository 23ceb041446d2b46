"""toolwire's stream accumulation against the official ``anthropic`` package's, as an oracle.

Hypothesis builds valid event sequences (text, tool_use and server_tool_use with their JSON split
anywhere, thinking with a signature, citations, pings, usage); toolwire reads them as an SSE body
and the official accumulator reads the same events; the two messages must be equal as JSON.

Deliberate differences, normalised before comparing:
- the official accumulator always sets ``stop_details`` (``null`` when the server sent none);
  toolwire keeps only what the server sent, like a non-streamed response.
- generated ``message_delta`` usage holds only the counts the official accumulator merges; the
  extra ones (``fallback_credit``, ...) that toolwire also keeps are tested elsewhere.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any, cast

import httpx2
import pytest
from anthropic.lib.streaming._messages import accumulate_event
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from toolwire._sse import accumulate_sse_text

DATA = Path(__file__).parent / "data"

Event = dict[str, Any]


def official(events: list[Event]) -> dict[str, Any]:
    """The message the official SDK's stream accumulator builds from ``events``."""
    snapshot: Any = None
    buffers: dict[int, bytes] = {}
    for event in events:
        snapshot = accumulate_event(
            event=cast(Any, event), current_snapshot=snapshot, json_bufs=buffers
        )
    result: dict[str, Any] = snapshot.to_dict()
    return result


def ours(body: str) -> dict[str, Any]:
    return accumulate_sse_text(body).to_wire()


def normalised(official_message: dict[str, Any], our_message: dict[str, Any]) -> dict[str, Any]:
    result = dict(official_message)
    if result.get("stop_details") is None and "stop_details" not in our_message:
        result.pop("stop_details", None)
    return result


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def sse_body(events: list[Event]) -> str:
    return "".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n" for e in events)


# -- generated streams ---------------------------------------------------------------------------

texts = st.text(max_size=40)
names = st.from_regex(r"[a-zA-Z_][a-zA-Z0-9_]{0,15}", fullmatch=True)
ids = st.from_regex(r"[A-Za-z0-9]{4,12}", fullmatch=True)
counts = st.integers(min_value=0, max_value=100_000)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53), max_value=2**53)
    | st.floats(allow_nan=False, allow_infinity=False, width=32)
    | texts,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(texts, children, max_size=3),
    max_leaves=8,
)
tool_inputs = st.dictionaries(texts, json_values, max_size=4)


@st.composite
def pieces(draw: st.DrawFn, whole: str, *, empty_first: bool = False) -> list[str]:
    """``whole`` cut at random places; joined back it is ``whole`` again."""
    cuts = sorted(draw(st.sets(st.integers(min_value=1, max_value=max(len(whole) - 1, 1)))))
    cuts = [c for c in cuts if c < len(whole)]
    bounds = [0, *cuts, len(whole)]
    parts = [whole[a:b] for a, b in itertools.pairwise(bounds)]
    if empty_first or not parts:
        parts.insert(0, "")
    return parts


citation_kinds = st.sampled_from(
    [
        {"type": "char_location", "cited_text": "c", "document_index": 0, "start_char_index": 0},
        {"type": "page_location", "cited_text": "p", "document_index": 1, "start_page_number": 2},
        {
            "type": "web_search_result_location",
            "cited_text": "w",
            "url": "https://example.org/",
            "title": "Example",
            "encrypted_index": "Eo8B",
        },
    ]
)


@st.composite
def text_block(draw: st.DrawFn, index: int) -> list[Event]:
    events: list[Event] = [
        {
            "type": "content_block_start",
            "index": index,
            "content_block": {"type": "text", "text": ""},
        }
    ]
    deltas: list[Event] = [
        {"type": "text_delta", "text": part} for part in draw(pieces(draw(texts)))
    ]
    for citation in draw(st.lists(citation_kinds, max_size=2)):
        at = draw(st.integers(min_value=0, max_value=len(deltas)))
        deltas.insert(at, {"type": "citations_delta", "citation": citation})
    events += [{"type": "content_block_delta", "index": index, "delta": d} for d in deltas]
    return events


@st.composite
def tool_block(draw: st.DrawFn, index: int) -> list[Event]:
    if draw(st.booleans()):
        kind, prefix, name = "tool_use", "toolu_", draw(names)
    else:
        kind, prefix = "server_tool_use", "srvtoolu_"
        name = draw(st.sampled_from(["web_search", "web_fetch", "code_execution"]))
    start = {"type": kind, "id": prefix + draw(ids), "name": name, "input": {}}
    text = json.dumps(draw(tool_inputs), ensure_ascii=draw(st.booleans()))
    parts = draw(pieces(text, empty_first=draw(st.booleans())))
    return [
        {"type": "content_block_start", "index": index, "content_block": start},
        *(
            {
                "type": "content_block_delta",
                "index": index,
                "delta": {"type": "input_json_delta", "partial_json": part},
            }
            for part in parts
        ),
    ]


@st.composite
def thinking_block(draw: st.DrawFn, index: int) -> list[Event]:
    start = {"type": "thinking", "thinking": "", "signature": ""}
    parts = draw(pieces(draw(texts)))
    return [
        {"type": "content_block_start", "index": index, "content_block": start},
        *(
            {
                "type": "content_block_delta",
                "index": index,
                "delta": {"type": "thinking_delta", "thinking": part},
            }
            for part in parts
        ),
        {
            "type": "content_block_delta",
            "index": index,
            "delta": {"type": "signature_delta", "signature": draw(ids)},
        },
    ]


def optional_counts(draw: st.DrawFn, names_: list[str]) -> dict[str, int]:
    return {name: draw(counts) for name in names_ if draw(st.booleans())}


@st.composite
def streams(draw: st.DrawFn) -> list[Event]:
    usage = {
        "input_tokens": draw(counts),
        "output_tokens": draw(st.integers(0, 5)),
        **optional_counts(draw, ["cache_creation_input_tokens", "cache_read_input_tokens"]),
    }
    message: Event = {
        "id": "msg_" + draw(ids),
        "type": "message",
        "role": "assistant",
        "model": draw(st.sampled_from(["claude-sonnet-4-5", "claude-haiku-4-5", "local-model"])),
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": usage,
    }
    events: list[Event] = [{"type": "message_start", "message": message}]
    kinds = draw(st.lists(st.sampled_from(["text", "tool", "thinking"]), max_size=4))
    builders = {"text": text_block, "tool": tool_block, "thinking": thinking_block}
    for index, kind in enumerate(kinds):
        events += draw(builders[kind](index))
        events.append({"type": "content_block_stop", "index": index})
    stop_reason = draw(
        st.sampled_from(["end_turn", "tool_use", "stop_sequence", "pause_turn", "max_tokens"])
    )
    final_usage: dict[str, Any] = {
        "output_tokens": draw(counts),
        **optional_counts(
            draw, ["input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens"]
        ),
    }
    if draw(st.booleans()):
        final_usage["server_tool_use"] = {"web_search_requests": draw(st.integers(0, 5))}
    events.append(
        {
            "type": "message_delta",
            "delta": {
                "stop_reason": stop_reason,
                "stop_sequence": "###" if stop_reason == "stop_sequence" else None,
            },
            "usage": final_usage,
        }
    )
    events.append({"type": "message_stop"})
    # keep-alive pings may come anywhere after the message has started
    for _ in range(draw(st.integers(0, 3))):
        events.insert(draw(st.integers(1, len(events))), {"type": "ping"})
    return events


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(streams())
def test_generated_streams_match_the_official_accumulator(events: list[Event]) -> None:
    mine = ours(sse_body(events))
    theirs = normalised(official(events), mine)
    assert canonical(mine) == canonical(theirs)


def test_the_comparison_sees_differences() -> None:
    events: list[Event] = [
        {
            "type": "message_start",
            "message": {
                "id": "msg_1",
                "type": "message",
                "role": "assistant",
                "model": "m",
                "content": [],
                "stop_reason": None,
                "stop_sequence": None,
                "usage": {"input_tokens": 3, "output_tokens": 0},
            },
        },
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "a"}},
        {"type": "content_block_stop", "index": 0},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn"},
            "usage": {"output_tokens": 1},
        },
        {"type": "message_stop"},
    ]
    theirs = official(events)
    assert theirs["content"] == [{"type": "text", "text": "a"}]
    mine = ours(sse_body(events))
    assert canonical(mine) == canonical(normalised(theirs, mine))
    events[2] = {**events[2], "delta": {"type": "text_delta", "text": "b"}}
    changed = ours(sse_body(events))
    assert canonical(changed) != canonical(normalised(theirs, changed))


# -- real streams ----------------------------------------------------------------------------------


def real_bodies() -> list[Any]:
    found = []
    for path in sorted((DATA / "recorded").glob("*.json")):
        for number, exchange in enumerate(json.loads(path.read_text())):
            if isinstance(exchange["response"]["body"], str):
                stem = path.name.rsplit("__", 1)[-1][:8]
                found.append(pytest.param(exchange["response"]["body"], id=f"{stem}-{number}"))
    # fixtures whose every part the official (non-beta) accumulator models
    for name in ("basic_response", "tool_use_response", "refusal_response"):
        found.append(pytest.param((DATA / "sse" / f"{name}.txt").read_text(), id=name))
    return found


def events_of(body: str) -> list[Event]:
    """The body's events, framed by httpx2 and decoded here, independently of toolwire."""
    response = httpx2.Response(
        200,
        headers={"content-type": "text/event-stream"},
        content=body.encode(),
        request=httpx2.Request("POST", "http://127.0.0.1/v1/messages"),
    )
    return [json.loads(sse.data) for sse in httpx2.EventSource(response) if sse.data]


@pytest.mark.parametrize("body", real_bodies())
def test_real_streams_match_the_official_accumulator(body: str) -> None:
    mine = ours(body)
    theirs = normalised(official(events_of(body)), mine)
    assert canonical(mine) == canonical(theirs)
