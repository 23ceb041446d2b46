"""How the fake server turns a finished message into stream events."""

from __future__ import annotations

import json
from typing import Any

import pytest

from toolwire.testing._sse_encode import encode_event, message_events, split


def message(*content: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {
        "id": "msg_01",
        "type": "message",
        "role": "assistant",
        "model": "claude-test-1",
        "content": list(content),
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": 12, "output_tokens": 34},
        **fields,
    }


def deltas(events: list[dict[str, Any]], index: int) -> list[dict[str, Any]]:
    return [
        e["delta"] for e in events if e["type"] == "content_block_delta" and e["index"] == index
    ]


@pytest.mark.parametrize("text", ["", "a", "ab", "abc", "abcdefghij", "héllo wörld ☀"])
def test_split_keeps_every_character_in_at_most_three_pieces(text: str) -> None:
    pieces = split(text)
    assert "".join(pieces) == text
    assert len(pieces) <= 3
    assert all(pieces)


def test_text_is_sent_in_pieces_after_an_empty_start() -> None:
    events = message_events(message({"type": "text", "text": "The weather is fine."}))
    assert events[1] == {
        "type": "content_block_start",
        "index": 0,
        "content_block": {"type": "text", "text": ""},
    }
    pieces = deltas(events, 0)
    assert len(pieces) == 3
    assert {d["type"] for d in pieces} == {"text_delta"}
    assert "".join(d["text"] for d in pieces) == "The weather is fine."


def test_tool_input_is_sent_as_json_fragments_starting_with_an_empty_one() -> None:
    events = message_events(
        message(
            {"type": "tool_use", "id": "toolu_01", "name": "add", "input": {"a": 2, "b": [3, "ü"]}}
        )
    )
    assert events[1]["content_block"] == {
        "type": "tool_use",
        "id": "toolu_01",
        "name": "add",
        "input": {},
    }
    fragments = [d["partial_json"] for d in deltas(events, 0)]
    assert fragments[0] == ""
    assert len(fragments) >= 3
    assert json.loads("".join(fragments)) == {"a": 2, "b": [3, "ü"]}


def test_server_tool_use_streams_its_input_like_a_tool_use() -> None:
    block = {
        "type": "server_tool_use",
        "id": "srvtoolu_01",
        "name": "web_search",
        "input": {"q": "x"},
    }
    events = message_events(message(block))
    assert events[1]["content_block"]["input"] == {}
    assert json.loads("".join(d["partial_json"] for d in deltas(events, 0))) == {"q": "x"}


def test_thinking_is_sent_as_thinking_deltas_then_its_signature() -> None:
    events = message_events(
        message({"type": "thinking", "thinking": "Let me think it over.", "signature": "sig_9"})
    )
    assert events[1]["content_block"] == {"type": "thinking", "thinking": "", "signature": ""}
    sent = deltas(events, 0)
    assert [d["type"] for d in sent] == ["thinking_delta"] * 3 + ["signature_delta"]
    assert "".join(d["thinking"] for d in sent[:-1]) == "Let me think it over."
    assert sent[-1] == {"type": "signature_delta", "signature": "sig_9"}


def test_citations_arrive_as_citation_deltas() -> None:
    citation = {"type": "char_location", "cited_text": "x", "document_index": 0}
    events = message_events(message({"type": "text", "text": "Cited.", "citations": [citation]}))
    assert events[1]["content_block"] == {"type": "text", "text": "", "citations": []}
    sent = deltas(events, 0)
    assert sent[0] == {"type": "citations_delta", "citation": citation}
    assert "".join(d["text"] for d in sent[1:]) == "Cited."


@pytest.mark.parametrize(
    "block",
    [
        {"type": "redacted_thinking", "data": "opaque"},
        {
            "type": "web_search_tool_result",
            "tool_use_id": "srvtoolu_01",
            "content": [{"type": "x"}],
        },
        {"type": "compaction", "content": "summary", "extra": {"kept": True}},
    ],
)
def test_blocks_with_nothing_to_stream_are_sent_whole_at_start(block: dict[str, Any]) -> None:
    events = message_events(message(block))
    assert events[1] == {"type": "content_block_start", "index": 0, "content_block": block}
    assert deltas(events, 0) == []
    assert events[3] == {"type": "content_block_stop", "index": 0}


def test_message_start_and_delta_carry_the_envelope_and_usage() -> None:
    full = message(
        {"type": "text", "text": "Hi"},
        {"type": "text", "text": "there"},
        stop_reason="stop_sequence",
        stop_sequence="END",
        container={"id": "c1"},
    )
    events = message_events(full)
    start = events[0]["message"]
    assert start["content"] == []
    assert (start["stop_reason"], start["stop_sequence"]) == (None, None)
    assert start["usage"] == {"input_tokens": 12, "output_tokens": 1}
    assert (start["id"], start["model"], start["container"]) == (
        "msg_01",
        "claude-test-1",
        {"id": "c1"},
    )
    assert [e["type"] for e in events[1:3]] == ["content_block_start", "ping"]
    assert [e["index"] for e in events if e["type"] == "content_block_start"] == [0, 1]
    assert events[-2] == {
        "type": "message_delta",
        "delta": {"stop_reason": "stop_sequence", "stop_sequence": "END"},
        "usage": {"input_tokens": 12, "output_tokens": 34},
    }
    assert events[-1] == {"type": "message_stop"}


def test_a_message_without_content_still_pings_and_stops() -> None:
    events = message_events(message())
    assert [e["type"] for e in events] == ["message_start", "ping", "message_delta", "message_stop"]


def test_encode_event_writes_the_name_and_one_data_line() -> None:
    encoded = encode_event(
        {"type": "content_block_delta", "delta": {"type": "text_delta", "text": "é\n"}}
    )
    assert encoded.endswith(b"\n\n")
    name, data, *rest = encoded.decode().split("\n")
    assert name == "event: content_block_delta"
    assert json.loads(data.removeprefix("data: ")) == {
        "type": "content_block_delta",
        "delta": {"type": "text_delta", "text": "é\n"},
    }
    assert "é" in data
    assert rest == ["", ""]
