"""Building the final ``Message`` of a streamed response from its events.

``MessageAccumulator`` is fed the typed events one at a time and, after ``message_stop``, gives
the ``Message`` a non-streamed request would have returned. It runs once per event of every
streamed turn, so each event costs a few attribute look-ups and a list append: text, thinking
and tool-input fragments are joined once, when their block stops, and tool input JSON is parsed
exactly once.

How each delta lands on its block:

- ``text_delta``, ``thinking_delta``: appended to the block's ``text`` / ``thinking``.
- ``input_json_delta``: appended to the block's input JSON text, parsed into ``input`` at
  ``content_block_stop`` (an empty text keeps the ``input`` the block started with).
- ``signature_delta``: sets the block's ``signature``.
- ``citations_delta``: appended to the block's ``citations`` list.
- any other delta: each of its fields except ``type`` is applied to the block: a string is
  appended to the block's field of that name (a field that is absent or not a string counts as
  empty), any other value replaces it. So a ``compaction_delta`` fills a ``compaction``
  block's ``content`` and ``encrypted_content`` as the non-streamed response would. The deltas
  themselves are kept, as received, in ``MessageAccumulator.unknown_deltas``.

When the stop reason is one that can cut a block short (``CUT_STOP_REASONS``: ``max_tokens``
and the like), a tool_use whose input JSON does not parse, or that never got its
``content_block_stop``, is marked ``incomplete`` (``ToolUseBlock.incomplete``, with the JSON
text received in ``partial_json``) and keeps the ``input`` it started with; with any other stop
reason, input JSON that does not parse is a ``ToolInputJSONError``. Either way the decision
waits for ``message_stop``, since ``content_block_stop`` may come before or after the stop
reason.

Blocks of a type this library does not model (``UnknownBlock``) accept every delta kind by the
same rules; a known delta aimed at a known block of another kind (``text_delta`` on a
``tool_use``) is an ``APIResponseError``.
"""

from __future__ import annotations

import json
from typing import Any, NoReturn

from pydantic import ValidationError

from toolwire._errors import (
    APIResponseError,
    StreamIncompleteError,
    ToolInputJSONError,
    status_error,
)
from toolwire._wire.blocks import (
    ContentBlock,
    ServerToolResultBlock,
    ServerToolUseBlock,
    TextBlock,
    ThinkingBlock,
    ToolUseBlock,
    UnknownBlock,
)
from toolwire._wire.messages import Message
from toolwire._wire.stream_events import (
    CitationsDeltaPayload,
    ContentBlockDeltaEvent,
    ContentBlockStartEvent,
    ContentBlockStopEvent,
    ErrorEvent,
    InputJSONDeltaPayload,
    MessageDeltaEvent,
    MessageStartEvent,
    MessageStopEvent,
    SignatureDeltaPayload,
    StreamEvent,
    TextDeltaPayload,
    ThinkingDeltaPayload,
    UnknownDelta,
)

__all__ = ["CUT_STOP_REASONS", "MessageAccumulator"]

CUT_STOP_REASONS: frozenset[str] = frozenset(
    {"max_tokens", "model_context_window_exceeded", "refusal"}
)
"""Stop reasons that can end a response in the middle of a block, tool input JSON included.

A tool_use whose JSON such a stop cut off is marked ``incomplete`` instead of failing the stream
(a streaming refusal can interrupt output just as ``max_tokens`` does).
"""

_GENERIC_BLOCKS = (UnknownBlock, ServerToolResultBlock)
_TOOL_INPUT_BLOCKS = (ToolUseBlock, ServerToolUseBlock, *_GENERIC_BLOCKS)
_TEXT_BLOCKS = (TextBlock, *_GENERIC_BLOCKS)
_THINKING_BLOCKS = (ThinkingBlock, *_GENERIC_BLOCKS)


class _BlockState:
    """One content block of the stream and what its deltas have brought so far."""

    __slots__ = ("block", "citations", "closed", "json_error", "json_parts", "json_text", "strings")

    def __init__(self, block: ContentBlock, *, closed: bool = False) -> None:
        self.block = block
        self.closed = closed
        self.strings: dict[str, list[str]] = {}
        self.json_parts: list[str] | None = None
        self.json_text = ""
        self.json_error: str | None = None
        self.citations: list[Any] | None = None

    def grow(self, field: str, fragment: str) -> None:
        """Append ``fragment`` to the string field ``field``."""
        parts = self.strings.get(field)
        if parts is None:
            current = _get(self.block, field)
            parts = self.strings[field] = [current] if isinstance(current, str) and current else []
        parts.append(fragment)

    def close(self) -> None:
        """Write the gathered fragments onto the block; parse its input JSON (once)."""
        block = self.block
        for field, parts in self.strings.items():
            _put(block, field, "".join(parts))
        self.strings = {}
        if self.citations is not None:
            _put(block, "citations", self.citations)
        if self.json_parts is not None:
            self.json_text = "".join(self.json_parts)
            self.json_parts = None
            if self.json_text.strip():
                try:
                    value = json.loads(self.json_text)
                except ValueError as exc:
                    self.json_error = str(exc)
                else:
                    if isinstance(value, dict):
                        _put(block, "input", value)
                    else:
                        self.json_error = f"a JSON object was expected, got {type(value).__name__}"
        self.closed = True


def _put(block: ContentBlock, field: str, value: Any) -> None:
    """Set ``field``: a declared field is validated, any other name is stored as an extra.

    Deltas of unknown kinds name the field, so the server chooses it: it never goes through
    ``setattr``, where a name like ``partial_json`` or ``to_wire`` would reach a property or a
    method of the class, and a declared field cannot take a value of another type.
    """
    if field in type(block).model_fields:
        type(block).__pydantic_validator__.validate_assignment(block, field, value)
        return
    extra = block.__pydantic_extra__
    assert extra is not None  # every wire model keeps unknown fields
    extra[field] = value
    block.__pydantic_fields_set__.add(field)


def _get(block: ContentBlock, field: str) -> Any:
    """The value ``_put`` would replace: a declared field, or an extra of that name."""
    if field in type(block).model_fields:
        return getattr(block, field)
    return (block.__pydantic_extra__ or {}).get(field)


def _describe(block: ContentBlock) -> str:
    name = getattr(block, "name", None)
    ident = getattr(block, "id", None)
    if name is None and ident is None:
        return block.type
    return f"{block.type} {name!r} (id {ident!r})"


class MessageAccumulator:
    """Builds the final ``Message`` of a streamed response from its events, fed one by one.

    ``feed()`` raises the typed error of a mid-stream ``error`` event (the same class an HTTP
    error of that type raises), and ``APIResponseError`` for a stream that breaks the protocol.
    ``message()`` gives the result once ``message_stop`` has arrived.

    Compatible servers differ; what is tolerated: a repeated ``message_start`` (it only fills in
    what the first left out), ``ping``/unknown events and empty ``content_block_stop`` or
    ``message_delta`` events before ``message_start``, an empty ``partial_json``, omitted
    optional fields, blocks never closed before ``message_stop``, and events after it.
    """

    __slots__ = ("_failure", "_head", "_message", "_states", "request_id", "unknown_deltas")

    def __init__(self, *, request_id: str | None = None) -> None:
        self.request_id = request_id
        """Attached to every error raised, so a failure can be traced at the endpoint."""
        self.unknown_deltas: list[tuple[int, UnknownDelta]] = []
        """Every delta of a kind this library does not model, with its block index, as received."""
        self._head: dict[str, Any] | None = None
        self._states: dict[int, _BlockState] = {}
        self._message: Message | None = None
        self._failure: Exception | None = None

    @property
    def started(self) -> bool:
        """Whether ``message_start`` has arrived."""
        return self._head is not None

    @property
    def done(self) -> bool:
        """Whether ``message_stop`` has arrived and the message is complete."""
        return self._message is not None

    def block(self, index: int) -> ContentBlock | None:
        """The block at stream ``index`` (as started, until it stops), or ``None`` if none has."""
        state = self._states.get(index)
        return None if state is None else state.block

    def feed(self, event: StreamEvent) -> None:
        """Take the stream's next event."""
        if self._failure is not None:
            raise self._failure
        if isinstance(event, ErrorEvent):
            self._error(event)
        if self._message is not None:
            return  # the message is complete; late pings or repeats change nothing
        try:
            if isinstance(event, ContentBlockDeltaEvent):
                self._delta(event)
            elif isinstance(event, ContentBlockStartEvent):
                self._block_start(event)
            elif isinstance(event, ContentBlockStopEvent):
                self._block_stop(event)
            elif isinstance(event, MessageStartEvent):
                self._message_start(event)
            elif isinstance(event, MessageDeltaEvent):
                self._message_delta(event)
            elif isinstance(event, MessageStopEvent):
                self._message_stop()
            # ping and unknown events carry nothing for the message
        except ValidationError as exc:
            # A delta of an unknown kind gave a block's field a value of the wrong type.
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"])
            self._fail(
                f"a delta of an unknown kind gave {where or 'a field'} an invalid value "
                f"(found at {event.type}): {first['msg']}"
            )

    def message(self) -> Message:
        """The complete message; ``StreamIncompleteError`` if ``message_stop`` has not arrived."""
        if self._failure is not None:
            raise self._failure
        if self._message is None:
            raise StreamIncompleteError(
                f"the stream ended before message_stop: {self._progress()}",
                request_id=self.request_id,
            )
        return self._message

    # -- events -----------------------------------------------------------------------------

    def _message_start(self, event: MessageStartEvent) -> None:
        data = event.message.to_wire()
        data.pop("content", None)
        if self._head is None:
            self._head = data
            # A server may send blocks whole in message_start; they take the first indexes.
            for index, block in enumerate(event.message.content):
                self._states[index] = _BlockState(block.model_copy(), closed=True)
            return
        head = self._head
        for key, value in data.items():
            if key == "usage" and isinstance(value, dict):
                usage = head.setdefault("usage", {})
                for name, count in value.items():
                    if usage.get(name) is None:
                        usage[name] = count
            elif head.get(key) in (None, ""):
                head[key] = value

    def _block_start(self, event: ContentBlockStartEvent) -> None:
        self._require_start(event.type)
        if event.index in self._states:
            self._fail(f"content_block_start for block {event.index}, which had already started")
        # A copy: the caller may keep the event, and its block must not change under it.
        self._states[event.index] = _BlockState(event.content_block.model_copy())

    def _delta(self, event: ContentBlockDeltaEvent) -> None:
        state = self._states.get(event.index)
        if state is None or state.closed:
            self._require_start(event.type)
            where = "which has not started" if state is None else "after its content_block_stop"
            self._fail(f"content_block_delta for block {event.index}, {where}")
        delta = event.delta
        block = state.block
        if isinstance(delta, TextDeltaPayload):
            self._check(block, _TEXT_BLOCKS, event)
            state.grow("text", delta.text)
        elif isinstance(delta, InputJSONDeltaPayload):
            self._check(block, _TOOL_INPUT_BLOCKS, event)
            if state.json_parts is None:
                state.json_parts = []
            state.json_parts.append(delta.partial_json)
        elif isinstance(delta, ThinkingDeltaPayload):
            self._check(block, _THINKING_BLOCKS, event)
            state.grow("thinking", delta.thinking)
        elif isinstance(delta, SignatureDeltaPayload):
            self._check(block, _THINKING_BLOCKS, event)
            _put(block, "signature", delta.signature)
        elif isinstance(delta, CitationsDeltaPayload):
            self._check(block, _TEXT_BLOCKS, event)
            if state.citations is None:
                state.citations = list(getattr(block, "citations", None) or ())
            state.citations.append(delta.citation)
        else:
            self.unknown_deltas.append((event.index, delta))
            for field, value in delta.to_wire().items():
                if field == "type":
                    continue
                if isinstance(value, str):
                    state.grow(field, value)
                else:
                    state.strings.pop(field, None)
                    _put(block, field, value)

    def _block_stop(self, event: ContentBlockStopEvent) -> None:
        state = self._states.get(event.index)
        if self._head is None:
            return  # carries nothing; some servers send stray ones before message_start
        if state is None:
            self._fail(f"content_block_stop for block {event.index}, which has not started")
        if not state.closed:
            state.close()

    def _message_delta(self, event: MessageDeltaEvent) -> None:
        changes = event.delta.to_wire()
        if self._head is None:
            if not changes and not event.usage:
                return
            self._require_start(event.type)
        head = self._head
        assert head is not None
        head.update(changes)
        if event.usage:
            # Counts on message_delta are totals so far: each one present replaces the earlier
            # value, and a count it omits (or sends as null) keeps the message_start value.
            usage = head.setdefault("usage", {})
            for name, count in event.usage.items():
                if count is not None or name not in usage:
                    usage[name] = count

    def _message_stop(self) -> None:
        head = self._require_start("message_stop")
        stop_reason = head.get("stop_reason")
        cut = stop_reason in CUT_STOP_REASONS
        for index, state in self._states.items():
            block = state.block
            cut_here = False
            if not state.closed:
                # A block still open when a cutting stop arrives was cut: its JSON is not parsed.
                if cut and state.json_parts is not None:
                    state.json_text = "".join(state.json_parts)
                    state.json_parts = None
                cut_here = cut and isinstance(block, ToolUseBlock)
                state.close()
            if state.json_error is None and not cut_here:
                continue
            if cut:
                # The loop must never run a call whose input was cut; its input stays as started.
                if isinstance(block, ToolUseBlock):
                    block.mark_incomplete(state.json_text)
                continue
            self._fail(
                f"the streamed input of block {index}, {_describe(block)}, is not valid JSON: "
                f"{state.json_error}",
                error=ToolInputJSONError,
            )
        try:
            message = Message.model_validate(head)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"])
            self._fail(f"the streamed message is not a valid Message: {where}: {first['msg']}")
        message.content = [state.block for state in self._states.values()]
        self._message = message

    def _error(self, event: ErrorEvent) -> None:
        error = event.error
        kind = error.get("type")
        text = error.get("message")
        failure = status_error(
            status_code=None,
            error_type=kind if isinstance(kind, str) else None,
            message=text if isinstance(text, str) and text else "the stream reported an error",
            request_id=self.request_id,
            body=event.to_wire(),
        )
        self._failure = failure
        raise failure

    # -- helpers ----------------------------------------------------------------------------

    def _require_start(self, what: str) -> dict[str, Any]:
        if self._head is None:
            self._fail(f"{what} arrived before message_start")
        return self._head

    def _check(
        self, block: ContentBlock, accepted: tuple[type, ...], event: ContentBlockDeltaEvent
    ) -> None:
        if not isinstance(block, accepted):
            self._fail(
                f"a {event.delta.type} cannot apply to block {event.index}, "
                f"which is {_describe(block)}"
            )

    def _fail(self, text: str, *, error: type[APIResponseError] = APIResponseError) -> NoReturn:
        failure = error(text, request_id=self.request_id)
        self._failure = failure
        raise failure

    def _progress(self) -> str:
        if self._head is None:
            return "no message_start arrived"
        parts = [f"{len(self._states)} content block(s) received"]
        still_open = [str(i) for i, s in self._states.items() if not s.closed]
        if still_open:
            parts.append(f"block(s) {', '.join(still_open)} never stopped")
        reason = self._head.get("stop_reason")
        parts.append(f"stop_reason {reason!r}" if reason else "no stop_reason (no message_delta)")
        return "; ".join(parts)
