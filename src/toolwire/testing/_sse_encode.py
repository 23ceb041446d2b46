"""A finished message as the events of a streamed response, the way the real API sends them.

Each block opens with ``content_block_start`` carrying the block with its streamed fields
emptied, then deltas, then ``content_block_stop``: text arrives as a few ``text_delta``
pieces, tool input as several ``input_json_delta`` fragments (the first one empty, as the
real API sends it), thinking as ``thinking_delta`` pieces and one ``signature_delta``,
citations as ``citations_delta``. Blocks with nothing to stream (``redacted_thinking``, server
tool results, unknown types) are sent whole in ``content_block_start``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

__all__ = ["encode_event", "message_events", "split"]

_PIECES = 3


def split(text: str, pieces: int = _PIECES) -> list[str]:
    """``text`` cut into at most ``pieces`` non-empty consecutive parts (none for ``""``)."""
    if not text:
        return []
    size = -(-len(text) // pieces)
    return [text[i : i + size] for i in range(0, len(text), size)]


def _block_events(index: int, block: Mapping[str, Any]) -> list[dict[str, Any]]:
    kind = block.get("type")
    start = dict(block)
    deltas: list[dict[str, Any]] = []
    if kind == "text" and isinstance(block.get("text"), str):
        start["text"] = ""
        citations = block.get("citations")
        if isinstance(citations, list):
            start["citations"] = []
            deltas += [{"type": "citations_delta", "citation": c} for c in citations]
        deltas += [{"type": "text_delta", "text": part} for part in split(block["text"])]
    elif kind in ("tool_use", "server_tool_use") and isinstance(block.get("input"), Mapping):
        start["input"] = {}
        encoded = json.dumps(block["input"], ensure_ascii=False, separators=(",", ":"))
        deltas += [
            {"type": "input_json_delta", "partial_json": part} for part in ["", *split(encoded)]
        ]
    elif kind == "thinking" and isinstance(block.get("thinking"), str):
        start["thinking"] = ""
        start["signature"] = ""
        deltas += [
            {"type": "thinking_delta", "thinking": part} for part in split(block["thinking"])
        ]
        if block.get("signature"):
            deltas.append({"type": "signature_delta", "signature": block["signature"]})
    events: list[dict[str, Any]] = [
        {"type": "content_block_start", "index": index, "content_block": start}
    ]
    events += [{"type": "content_block_delta", "index": index, "delta": d} for d in deltas]
    events.append({"type": "content_block_stop", "index": index})
    return events


def message_events(message: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The events that stream ``message`` (a response as its JSON dict), ``message_stop`` last.

    ``message_start`` carries the message with empty content, no stop reason and the input
    usage; a ``ping`` follows the first block's start; ``message_delta`` carries the stop
    reason, stop sequence and the final usage.
    """
    usage = dict(message.get("usage") or {})
    start_usage = dict(usage)
    start_usage["output_tokens"] = min(1, int(usage.get("output_tokens") or 0))
    head = dict(message)
    head.update(content=[], stop_reason=None, stop_sequence=None, usage=start_usage)
    events: list[dict[str, Any]] = [{"type": "message_start", "message": head}]
    ping = {"type": "ping"}
    for index, block in enumerate(message.get("content") or []):
        events += _block_events(index, block)
        if index == 0:
            events.insert(2, ping)
    if len(events) == 1:
        events.append(ping)
    events.append(
        {
            "type": "message_delta",
            "delta": {
                "stop_reason": message.get("stop_reason"),
                "stop_sequence": message.get("stop_sequence"),
            },
            "usage": usage,
        }
    )
    events.append({"type": "message_stop"})
    return events


def encode_event(event: Mapping[str, Any]) -> bytes:
    """One event on the wire: its ``event:`` name, its JSON ``data:``, and a blank line."""
    data = json.dumps(event, ensure_ascii=False, separators=(",", ":"))
    return f"event: {event.get('type', 'message')}\ndata: {data}\n\n".encode()
