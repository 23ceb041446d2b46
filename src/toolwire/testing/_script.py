"""Helpers that build a script's replies from a few words."""

from __future__ import annotations

import secrets
import string
from collections.abc import Mapping
from typing import Any

from toolwire._wire.blocks import ContentBlock, TextBlock, ThinkingBlock, ToolUseBlock, parse_block
from toolwire._wire.messages import Message, Usage

__all__ = ["new_id", "reply", "thinking", "tool_call"]

_ALPHABET = string.ascii_letters + string.digits


def new_id(prefix: str) -> str:
    """A fresh id shaped like the real API's (``msg_01…``, ``toolu_01…``, ``req_011…``)."""
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(22))


def tool_call(
    name: str, input: Mapping[str, Any] | None = None, id: str | None = None
) -> ToolUseBlock:
    """A ``tool_use`` block asking for ``name`` with ``input``; the id is generated unless given."""
    return ToolUseBlock(id=id or new_id("toolu_01"), name=name, input=dict(input or {}))


def thinking(text: str, signature: str | None = None) -> ThinkingBlock:
    """A ``thinking`` block with a generated signature unless one is given."""
    return ThinkingBlock(thinking=text, signature=signature or new_id("sig_"))


def reply(
    *content: str | ContentBlock | Mapping[str, Any],
    stop_reason: str | None = None,
    stop_sequence: str | None = None,
    usage: Usage | Mapping[str, Any] | None = None,
    model: str | None = None,
    id: str | None = None,
) -> Message:
    """An assistant message: strings become text blocks; blocks (or their dicts) are kept as given.

    ``stop_reason`` defaults to ``"tool_use"`` when the content has a ``tool_use`` block,
    ``"stop_sequence"`` when ``stop_sequence`` is given, else ``"end_turn"``. When ``usage``,
    ``model`` or ``id`` are left out the server fills them in as it answers: usage is counted
    from the sizes of the request and the reply, the model echoes the request's, the id is new.
    """
    blocks: list[ContentBlock] = []
    for item in content:
        if isinstance(item, str):
            blocks.append(TextBlock(text=item))
        elif isinstance(item, Mapping):
            blocks.append(parse_block(dict(item)))
        else:
            blocks.append(item)
    if stop_reason is None:
        if any(isinstance(b, ToolUseBlock) for b in blocks):
            stop_reason = "tool_use"
        elif stop_sequence is not None:
            stop_reason = "stop_sequence"
        else:
            stop_reason = "end_turn"
    fields: dict[str, Any] = {
        "content": blocks,
        "stop_reason": stop_reason,
        "stop_sequence": stop_sequence,
    }
    if usage is not None:
        fields["usage"] = usage if isinstance(usage, Usage) else Usage.model_validate(dict(usage))
    if model is not None:
        fields["model"] = model
    if id is not None:
        fields["id"] = id
    return Message(**fields)
