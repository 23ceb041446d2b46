"""The protocol's rules for a ``POST /v1/messages`` body, as one pure function.

``check_request(body)`` returns one ``"rule: detail"`` string per problem, ``[]`` for a valid
request. ``RULES`` names every rule and says what it holds. The rules are those the real API
enforces (it answers ``400 invalid_request_error``), with two notes on how it reads a transcript:

- Consecutive messages of the same role are merged into one turn before anything else is
  checked, so roles need not alternate; the tool_use/tool_result rules apply to merged turns
  (the real API's errors count content blocks of merged turns the same way).
- The last message may be an assistant one: that is prefill, and how a ``pause_turn``
  continues. Its content must then not end in whitespace, and a ``tool_use`` in it is
  unanswered.

Tool names follow the API reference's limit, ``^[a-zA-Z0-9_-]{1,128}$`` (the tool-use guide
quotes 64 characters; the API accepts 128).

Thinking blocks can only be checked against what the server sent: pass ``sent`` (the
responses served so far, as JSON dicts) and every ``thinking``/``redacted_thinking`` block
in the request must be one of those, unchanged, and the assistant turn whose tool calls the
request answers must keep the thinking blocks that came with them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeGuard

from toolwire._wire.request import TOOL_NAME_PATTERN

__all__ = ["RULES", "check_request"]

RULES: dict[str, str] = {
    "model": "model is a non-empty string",
    "max-tokens": "max_tokens is an integer of at least 1",
    "temperature": "temperature is a number from 0 to 1",
    "top-p": "top_p is a number from 0 to 1",
    "top-k": "top_k is an integer of at least 0",
    "stop-sequences": "stop_sequences is a list of non-empty strings",
    "stream": "stream is a boolean",
    "system": "system is a string or a list of text blocks",
    "messages": "messages is a non-empty list of {role, content} objects",
    "role": "every role is 'user' or 'assistant'",
    "first-role": "the first message is a user message",
    "content": "content is a string or a list of blocks with a type; only a final assistant "
    "message may be empty",
    "text-empty": "text blocks hold non-whitespace text",
    "prefill-whitespace": "a final assistant message does not end with whitespace",
    "block-role": "tool_use and thinking blocks only in assistant turns, tool_result only in "
    "user turns",
    "tool-use": "a tool_use block has an id of [a-zA-Z0-9_-], a name and an input object",
    "tool-use-duplicate": "tool_use ids are unique in the request",
    "tool-result": "a tool_result block names its tool_use_id",
    "tool-result-missing": "every tool_use is answered by a tool_result in the very next turn",
    "tool-result-duplicate": "a tool_use is answered by exactly one tool_result",
    "tool-result-first": "tool_result blocks come before any other content of their turn",
    "tool-result-unexpected": "a tool_result answers a tool_use of the previous assistant turn",
    "tools": "tools is a list of tool definitions",
    "tool-name": "a custom tool's name matches ^[a-zA-Z0-9_-]{1,128}$",
    "tool-name-duplicate": "tool names are unique",
    "input-schema": "a custom tool's input_schema is a JSON Schema object with type 'object'",
    "tool-choice": "tool_choice is auto, any, tool (naming one of the tools) or none; any and "
    "tool need tools",
    "thinking-config": "thinking is disabled, adaptive, or enabled with budget_tokens >= 1024",
    "thinking-tool-choice": "thinking cannot be combined with a tool_choice that forces a tool",
    "thinking-modified": "thinking and redacted_thinking blocks come back exactly as sent",
    "thinking-dropped": "the turn whose tool calls are answered keeps its thinking blocks",
}
"""Every rule ``check_request`` applies: its name, and what it holds."""

_TOOL_USE_ID = re.compile(r"^[a-zA-Z0-9_-]+$")
_FORCED_CHOICES = ("any", "tool")


@dataclass
class _Turn:
    role: str
    # (message index, block index, block) for every block of the merged messages.
    blocks: list[tuple[int, int, Any]] = field(default_factory=list)


@dataclass
class _Sent:
    thinking: dict[str, dict[str, Any]] = field(default_factory=dict)
    redacted: dict[str, dict[str, Any]] = field(default_factory=dict)
    thinking_of_call: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


def _plain(block: Mapping[str, Any]) -> dict[str, Any]:
    """A block without its null fields: serialisers differ on whether they write them."""
    return {k: v for k, v in block.items() if v is not None}


def _index_sent(sent: Iterable[Mapping[str, Any]]) -> _Sent:
    found = _Sent()
    for message in sent:
        blocks = [b for b in message.get("content") or [] if isinstance(b, Mapping)]
        thoughts = [_plain(b) for b in blocks if b.get("type") in ("thinking", "redacted_thinking")]
        for block in blocks:
            if block.get("type") == "thinking" and isinstance(block.get("signature"), str):
                found.thinking[block["signature"]] = _plain(block)
            elif block.get("type") == "redacted_thinking" and isinstance(block.get("data"), str):
                found.redacted[block["data"]] = _plain(block)
            elif block.get("type") == "tool_use" and thoughts and isinstance(block.get("id"), str):
                found.thinking_of_call[block["id"]] = thoughts
    return found


def _is_text_block(block: object) -> bool:
    return (
        isinstance(block, Mapping)
        and block.get("type") == "text"
        and isinstance(block.get("text"), str)
    )


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> TypeGuard[float]:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


class _Checker:
    def __init__(self, body: Mapping[str, Any], sent: Iterable[Mapping[str, Any]] | None) -> None:
        self.body = body
        self.sent = None if sent is None else _index_sent(sent)
        self.problems: list[str] = []

    def bad(self, rule: str, detail: str) -> None:
        self.problems.append(f"{rule}: {detail}")

    def run(self) -> list[str]:
        self.parameters()
        tool_names = self.tools()
        self.tool_choice(tool_names)
        self.thinking_config()
        turns = self.messages()
        if turns is not None:
            self.tool_pairing(turns)
            if self.sent is not None:
                self.thinking_kept(turns, self.sent)
        return self.problems

    # -- top-level parameters -------------------------------------------------------------

    def parameters(self) -> None:
        body = self.body
        model = body.get("model")
        if not isinstance(model, str) or not model.strip():
            self.bad("model", f"model must be a non-empty string, got {model!r}")
        max_tokens = body.get("max_tokens")
        if not _is_int(max_tokens) or max_tokens < 1:
            self.bad("max-tokens", f"max_tokens must be an integer >= 1, got {max_tokens!r}")
        for name, rule in (("temperature", "temperature"), ("top_p", "top-p")):
            value = body.get(name)
            if value is not None and (not _is_number(value) or not 0 <= value <= 1):
                self.bad(rule, f"{name} must be a number from 0 to 1, got {value!r}")
        top_k = body.get("top_k")
        if top_k is not None and (not _is_int(top_k) or top_k < 0):
            self.bad("top-k", f"top_k must be an integer >= 0, got {top_k!r}")
        stops = body.get("stop_sequences")
        if stops is not None and (
            not isinstance(stops, list) or not all(isinstance(s, str) and s for s in stops)
        ):
            self.bad(
                "stop-sequences",
                f"stop_sequences must be a list of non-empty strings, got {stops!r}",
            )
        stream = body.get("stream")
        if stream is not None and not isinstance(stream, bool):
            self.bad("stream", f"stream must be true or false, got {stream!r}")
        system = body.get("system")
        if (
            system is not None
            and not isinstance(system, str)
            and not (isinstance(system, list) and all(_is_text_block(b) for b in system))
        ):
            self.bad("system", "system must be a string or a list of text blocks")

    # -- tools ----------------------------------------------------------------------------

    def tools(self) -> list[str]:
        tools = self.body.get("tools")
        if tools is None:
            return []
        if not isinstance(tools, list):
            self.bad("tools", f"tools must be a list, got {type(tools).__name__}")
            return []
        names: list[str] = []
        for i, tool in enumerate(tools):
            if not isinstance(tool, Mapping):
                self.bad("tools", f"tools[{i}] must be an object")
                continue
            name = tool.get("name")
            custom = "input_schema" in tool or tool.get("type") in (None, "custom")
            if custom:
                if not isinstance(name, str) or not TOOL_NAME_PATTERN.match(name):
                    self.bad(
                        "tool-name",
                        f"tools[{i}].name {name!r} must match {TOOL_NAME_PATTERN.pattern}",
                    )
                schema = tool.get("input_schema")
                if not isinstance(schema, Mapping) or schema.get("type") != "object":
                    self.bad(
                        "input-schema",
                        f"tools[{i}].input_schema must be a JSON Schema object with type 'object'",
                    )
                if tool.get("description") is not None and not isinstance(tool["description"], str):
                    self.bad("tools", f"tools[{i}].description must be a string")
            elif not isinstance(tool.get("type"), str) or not isinstance(name, str) or not name:
                self.bad("tools", f"tools[{i}] (a server tool) needs a type and a name")
            if isinstance(name, str):
                if name in names:
                    self.bad(
                        "tool-name-duplicate", f"tools[{i}].name {name!r} is used by another tool"
                    )
                names.append(name)
        return names

    def tool_choice(self, names: list[str]) -> None:
        choice = self.body.get("tool_choice")
        if choice is None:
            return
        kind = choice.get("type") if isinstance(choice, Mapping) else None
        if kind not in ("auto", "any", "tool", "none"):
            self.bad(
                "tool-choice", f"tool_choice.type must be auto, any, tool or none, got {kind!r}"
            )
            return
        assert isinstance(choice, Mapping)
        if kind in _FORCED_CHOICES and not names:
            self.bad("tool-choice", f"tool_choice {kind!r} needs tools, and the request has none")
        if kind == "tool" and choice.get("name") not in names:
            self.bad(
                "tool-choice", f"tool_choice.name {choice.get('name')!r} is not one of the tools"
            )
        flag = choice.get("disable_parallel_tool_use")
        if flag is not None and not isinstance(flag, bool):
            self.bad("tool-choice", "tool_choice.disable_parallel_tool_use must be true or false")

    def thinking_config(self) -> None:
        config = self.body.get("thinking")
        if config is None:
            return
        kind = config.get("type") if isinstance(config, Mapping) else None
        if kind not in ("enabled", "disabled", "adaptive"):
            self.bad(
                "thinking-config",
                f"thinking.type must be enabled, disabled or adaptive, got {kind!r}",
            )
            return
        assert isinstance(config, Mapping)
        budget = config.get("budget_tokens")
        if kind == "enabled" and (not _is_int(budget) or budget < 1024):
            self.bad(
                "thinking-config",
                f"thinking.budget_tokens must be an integer >= 1024, got {budget!r}",
            )
        choice = self.body.get("tool_choice")
        if (
            kind != "disabled"
            and isinstance(choice, Mapping)
            and choice.get("type") in _FORCED_CHOICES
        ):
            self.bad(
                "thinking-tool-choice",
                f"thinking cannot be used with tool_choice {choice.get('type')!r}",
            )

    # -- messages -------------------------------------------------------------------------

    def messages(self) -> list[_Turn] | None:
        messages = self.body.get("messages")
        if not isinstance(messages, list) or not messages:
            self.bad("messages", "messages must be a non-empty list")
            return None
        turns: list[_Turn] = []
        last = len(messages) - 1
        for i, message in enumerate(messages):
            if not isinstance(message, Mapping):
                self.bad("messages", f"messages[{i}] must be an object with role and content")
                return None
            role = message.get("role")
            if role not in ("user", "assistant"):
                self.bad("role", f"messages[{i}].role must be 'user' or 'assistant', got {role!r}")
                return None
            if i == 0 and role != "user":
                self.bad("first-role", "the first message must use the 'user' role")
            blocks = self.content(i, message.get("content"), role, final=i == last)
            if blocks is None:
                return None
            if not turns or turns[-1].role != role:
                turns.append(_Turn(role))
            turns[-1].blocks += [(i, j, b) for j, b in enumerate(blocks)]
        return turns

    def content(self, i: int, content: object, role: str, *, final: bool) -> list[Any] | None:
        where = f"messages[{i}]"
        if isinstance(content, str):
            blocks: list[Any] = [{"type": "text", "text": content}]
        elif isinstance(content, list):
            blocks = list(content)
        else:
            self.bad("content", f"{where}.content must be a string or a list of blocks")
            return None
        empty = not blocks or (isinstance(content, str) and not content)
        if empty:
            if not (final and role == "assistant"):
                self.bad(
                    "content", f"{where} has empty content; only a final assistant message may"
                )
            return []
        for j, block in enumerate(blocks):
            if not isinstance(block, Mapping) or not isinstance(block.get("type"), str):
                self.bad("content", f"{where}.content[{j}] must be an object with a string type")
                return None
            self.block(f"{where}.content[{j}]", block, role)
        if final and role == "assistant":
            tail = blocks[-1]
            text = tail.get("text")
            if tail.get("type") == "text" and isinstance(text, str) and text != text.rstrip():
                self.bad(
                    "prefill-whitespace",
                    "final assistant content cannot end with trailing whitespace",
                )
        return blocks

    def block(self, where: str, block: Mapping[str, Any], role: str) -> None:
        kind = block["type"]
        if kind == "text":
            text = block.get("text")
            if not isinstance(text, str) or not text.strip():
                self.bad(
                    "text-empty", f"{where}: text content blocks must contain non-whitespace text"
                )
        elif kind == "tool_use":
            if role != "assistant":
                self.bad("block-role", f"{where}: tool_use blocks belong in assistant messages")
            ident = block.get("id")
            if (
                not isinstance(ident, str)
                or not _TOOL_USE_ID.match(ident)
                or not isinstance(block.get("name"), str)
                or not isinstance(block.get("input"), Mapping)
            ):
                self.bad(
                    "tool-use",
                    f"{where}: tool_use needs an id of [a-zA-Z0-9_-], a name and an input object",
                )
        elif kind == "tool_result":
            if role != "user":
                self.bad("block-role", f"{where}: tool_result blocks belong in user messages")
            if not isinstance(block.get("tool_use_id"), str):
                self.bad("tool-result", f"{where}: tool_result needs a tool_use_id")
        elif kind in ("thinking", "redacted_thinking") and role != "assistant":
            self.bad("block-role", f"{where}: {kind} blocks belong in assistant messages")

    # -- tool_use / tool_result pairing ---------------------------------------------------

    def tool_pairing(self, turns: list[_Turn]) -> None:
        seen: set[str] = set()
        for turn in turns:
            for i, j, block in turn.blocks:
                if block.get("type") == "tool_use" and isinstance(block.get("id"), str):
                    if block["id"] in seen:
                        self.bad(
                            "tool-use-duplicate",
                            f"messages[{i}].content[{j}]: tool_use id {block['id']} is used twice",
                        )
                    seen.add(block["id"])
        for k, turn in enumerate(turns):
            if turn.role == "assistant":
                self.answered(turn, turns[k + 1] if k + 1 < len(turns) else None)
            else:
                previous = turns[k - 1] if k > 0 else None
                asked = set(_tool_use_ids(previous)) if previous is not None else set()
                for i, j, block in turn.blocks:
                    if block.get("type") != "tool_result":
                        continue
                    ref = block.get("tool_use_id")
                    if isinstance(ref, str) and ref not in asked:
                        self.bad(
                            "tool-result-unexpected",
                            f"messages[{i}].content[{j}]: tool_result for {ref}, which no tool_use "
                            "of the previous assistant turn has",
                        )

    def answered(self, turn: _Turn, reply: _Turn | None) -> None:
        ids = _tool_use_ids(turn)
        if not ids:
            return
        where = f"messages[{turn.blocks[0][0]}]"
        if reply is None:
            self.bad(
                "tool-result-missing",
                f"tool_use {', '.join(ids)} in {where} has no tool_result: the request ends there",
            )
            return
        counts: dict[str, int] = {}
        other_seen = False
        for i, j, block in reply.blocks:
            if block.get("type") == "tool_result":
                ref = block.get("tool_use_id")
                if isinstance(ref, str):
                    counts[ref] = counts.get(ref, 0) + 1
                if other_seen:
                    self.bad(
                        "tool-result-first",
                        f"messages[{i}].content[{j}]: tool_result after other content; tool_result "
                        "blocks must come first",
                    )
            else:
                other_seen = True
        missing = [t for t in ids if t not in counts]
        if missing:
            self.bad(
                "tool-result-missing",
                f"tool_use {', '.join(missing)} in {where} has no tool_result in the next turn",
            )
        for ref in ids:
            if counts.get(ref, 0) > 1:
                self.bad("tool-result-duplicate", f"tool_use {ref} is answered {counts[ref]} times")

    # -- thinking blocks against what the server sent -------------------------------------

    def thinking_kept(self, turns: list[_Turn], sent: _Sent) -> None:
        for turn in turns:
            if turn.role != "assistant":
                continue
            for i, j, block in turn.blocks:
                kind = block.get("type")
                if kind == "thinking":
                    original = sent.thinking.get(block.get("signature"))
                elif kind == "redacted_thinking":
                    original = sent.redacted.get(block.get("data"))
                else:
                    continue
                if original is None:
                    self.bad(
                        "thinking-modified",
                        f"messages[{i}].content[{j}]: this {kind} block is not one the server sent "
                        "(its signature or data was changed)",
                    )
                elif _plain(block) != original:
                    self.bad(
                        "thinking-modified",
                        f"messages[{i}].content[{j}]: this {kind} block was changed after the "
                        "server sent it",
                    )
        # The real API needs the thinking of the turn whose tool calls are being answered.
        if len(turns) < 2 or turns[-1].role != "user" or turns[-2].role != "assistant":
            return
        current = turns[-2]
        kept = {_thinking_key(b) for _, _, b in current.blocks}
        for ref in _tool_use_ids(current):
            for original in sent.thinking_of_call.get(ref, []):
                if _thinking_key(original) not in kept:
                    self.bad(
                        "thinking-dropped",
                        f"messages[{current.blocks[0][0]}] answers tool_use {ref} but lost the "
                        f"{original.get('type')} block sent with it",
                    )
                    return


def _thinking_key(block: Mapping[str, Any]) -> tuple[Any, Any]:
    """What identifies a thinking block: its signature, or a redacted block's data."""
    kind = block.get("type")
    return kind, block.get("signature") if kind == "thinking" else block.get("data")


def _tool_use_ids(turn: _Turn) -> list[str]:
    return [
        b["id"]
        for _, _, b in turn.blocks
        if b.get("type") == "tool_use" and isinstance(b.get("id"), str)
    ]


def check_request(
    body: Mapping[str, Any], sent: Iterable[Mapping[str, Any]] | None = None
) -> list[str]:
    """Every rule of the protocol that ``body`` breaks, as ``"rule: detail"`` strings.

    ``sent`` is what the server answered before (response messages as JSON dicts); when it
    is given, thinking blocks are checked against it too. ``RULES`` lists every rule.
    """
    return _Checker(body, sent).run()
