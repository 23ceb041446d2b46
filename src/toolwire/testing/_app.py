"""The fake Messages API as one ASGI application, served in-process and by uvicorn alike.

Routes: ``POST …/messages`` (any path ending in ``/messages``, so base URLs with a prefix
work) and ``GET …/models``; anything else is a 404 in the API's error format.

Each ``/messages`` request is recorded, checked against the protocol's rules, and answered
with the next script entry. Checking happens before the script is touched: a request that
breaks a rule is answered ``400 invalid_request_error`` naming the rule (as the real API
would) and consumes no entry. Besides the rules of ``check_request``, the app checks that the
body is a JSON object (rule ``body``), that it parses as a ``MessageRequest`` (rule
``unparseable``), that the ``anthropic-version`` header is present (rule
``anthropic-version``), and that a request whose messages hold tool_use or tool_result
blocks defines tools (rule ``tools-needed``, which the real API enforces; it lives here so
that ``check_request`` can judge a transcript on its own). A script that runs out answers
``500 api_error`` and records a ``script-exhausted`` violation; a callable entry that raises,
or returns something that is not an answer, records ``script-error`` and answers
``500 api_error``.

The state (script position, records, violations, the messages sent) is guarded by a lock:
a server thread and the test's own event loop may use one app at the same time.

Connection faults need the server's help: the app calls the callable stored under
``CLOSE_CONNECTION`` in ``scope["extensions"]`` to close the connection, flushing what was
sent. Both of toolwire's servers provide it; under any other server the app raises instead,
which servers turn into a 500 or a cut connection.
"""

from __future__ import annotations

import inspect
import json
import threading
from collections.abc import Awaitable, Callable, Iterable, MutableMapping, Sequence
from http import HTTPStatus
from typing import Any

import anyio
from pydantic import ValidationError

from toolwire._wire.messages import Message
from toolwire._wire.request import MessageRequest

from ._faults import Fault
from ._load import entry_from_json
from ._records import RecordedRequest
from ._rules import check_request
from ._script import new_id, reply
from ._sse_encode import encode_event, message_events
from ._types import Reply, ScriptEntry

__all__ = ["CLOSE_CONNECTION", "DEFAULT_MODELS", "MessagesApp"]

CLOSE_CONNECTION = "toolwire.close_connection"
"""The ``scope["extensions"]`` key of the server's "close this connection now" callable."""

DEFAULT_MODELS: tuple[str, ...] = ("claude-sonnet-4-5", "claude-haiku-4-5", "claude-opus-4-1")
"""The models ``GET /v1/models`` lists unless told otherwise."""

ASGIMessage = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[ASGIMessage]]
Send = Callable[[ASGIMessage], Awaitable[None]]

_JSON = ("content-type", "application/json")
_SSE = ("content-type", "text/event-stream; charset=utf-8")
_HTML_PAGE = (
    "<html>\r\n<head><title>{status}</title></head>\r\n<body>\r\n"
    "<center><h1>{status}</h1></center>\r\n<hr><center>proxy</center>\r\n"
    "</body>\r\n</html>\r\n"
)
_CYCLE_DEFAULT = "Hello from the fake Messages API."
_THINKING_TYPES = ("thinking", "redacted_thinking")


def _dumps(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


class _Exchange:
    """One request/response on one connection: the ASGI callables and a few ways to answer."""

    def __init__(self, scope: ASGIMessage, receive: Receive, send: Send, request_id: str) -> None:
        self.scope = scope
        self.receive = receive
        self._send = send
        self.request_id = request_id
        self.record: RecordedRequest | None = None

    async def start(self, status: int, headers: Sequence[tuple[str, str]]) -> None:
        pairs = [("request-id", self.request_id), *headers]
        await self._send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in pairs],
            }
        )

    async def body(self, data: bytes, *, more: bool) -> None:
        await self._send({"type": "http.response.body", "body": data, "more_body": more})

    async def respond(self, status: int, headers: Sequence[tuple[str, str]], data: bytes) -> None:
        await self.start(status, [*headers, ("content-length", str(len(data)))])
        await self.body(data, more=False)

    async def json(self, status: int, data: Any, headers: Sequence[tuple[str, str]] = ()) -> None:
        await self.respond(status, [_JSON, *headers], _dumps(data))

    async def error(
        self,
        status: int,
        error_type: str,
        message: str,
        headers: Sequence[tuple[str, str]] = (),
    ) -> None:
        body = {
            "type": "error",
            "error": {"type": error_type, "message": message},
            "request_id": self.request_id,
        }
        await self.json(status, body, headers)

    async def event(self, event: dict[str, Any]) -> None:
        if self.record is not None:
            self.record.events_sent.append(str(event.get("type")))
        await self.body(encode_event(event), more=True)

    async def wait(self, seconds: float) -> bool:
        """Wait ``seconds``; ``False`` as soon as the client has gone away."""
        with anyio.move_on_after(seconds):
            while True:
                message = await self.receive()
                if message["type"] == "http.disconnect":
                    return False
        return True

    async def close_connection(self) -> None:
        close = (self.scope.get("extensions") or {}).get(CLOSE_CONNECTION)
        if close is None:
            raise ConnectionAbortedError("fake Messages API: fault closes the connection")
        close()
        # Returning only once the server has seen the connection go keeps it from answering
        # the request itself (with a 500) in the meantime.
        await self.wait(5.0)


class MessagesApp:
    """The ASGI application behind ``FakeMessagesAPI``; see the module docstring."""

    def __init__(
        self,
        script: Iterable[ScriptEntry] = (),
        *,
        models: Sequence[str] = DEFAULT_MODELS,
        api_key: str | None = None,
        strict: bool = True,
        cycle: bool = False,
    ) -> None:
        self._lock = threading.Lock()
        self._script: list[ScriptEntry] = list(script)
        self._position = 0
        self._requests: list[RecordedRequest] = []
        self._violations: list[str] = []
        self._sent: list[dict[str, Any]] = []
        # Only responses with thinking blocks matter to the thinking rules; checking against
        # those alone keeps each check from growing with every response ever sent.
        self._sent_thinking: list[dict[str, Any]] = []
        self._models_requests = 0
        self.models = tuple(models)
        self.api_key = api_key
        self.strict = strict
        self.cycle = cycle

    # -- state, safe to read from any thread ------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every ``/messages`` request received so far, in order (a snapshot)."""
        with self._lock:
            return list(self._requests)

    @property
    def violations(self) -> list[str]:
        """Every protocol violation found so far, ``"request #N: rule: detail"`` (a snapshot)."""
        with self._lock:
            return list(self._violations)

    @property
    def sent(self) -> list[dict[str, Any]]:
        """Every message the server answered with, as JSON dicts (a snapshot)."""
        with self._lock:
            return list(self._sent)

    @property
    def remaining(self) -> int:
        """How many script entries no request has consumed yet."""
        with self._lock:
            return max(0, len(self._script) - self._position)

    @property
    def models_requests(self) -> int:
        """How many ``GET /models`` requests were served."""
        with self._lock:
            return self._models_requests

    def add(self, *entries: ScriptEntry) -> None:
        """Append entries to the script."""
        with self._lock:
            self._script.extend(entries)

    # -- ASGI ---------------------------------------------------------------------------------

    async def __call__(self, scope: ASGIMessage, receive: Receive, send: Send) -> None:
        """Serve one ASGI connection scope (``http`` or ``lifespan``)."""
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        exchange = _Exchange(scope, receive, send, new_id("req_011"))
        path = str(scope.get("path", "")).rstrip("/")
        method = scope.get("method", "GET")
        if path.endswith("/messages"):
            if method == "POST":
                await self._messages(exchange)
            else:
                await exchange.error(405, "invalid_request_error", f"{method} is not allowed here")
        elif path.endswith("/models") and method == "GET":
            await self._list_models(exchange)
        else:
            await exchange.error(
                404,
                "not_found_error",
                f"no route for {method} {scope.get('path')}; this server has POST …/v1/messages "
                "and GET …/v1/models",
            )

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _list_models(self, exchange: _Exchange) -> None:
        with self._lock:
            self._models_requests += 1
        data = [
            {
                "type": "model",
                "id": name,
                "display_name": name.replace("-", " ").title(),
                "created_at": "2025-01-01T00:00:00Z",
            }
            for name in self.models
        ]
        await exchange.json(
            200,
            {
                "data": data,
                "has_more": False,
                "first_id": data[0]["id"] if data else None,
                "last_id": data[-1]["id"] if data else None,
            },
        )

    # -- /messages ----------------------------------------------------------------------------

    async def _messages(self, exchange: _Exchange) -> None:
        chunks: list[bytes] = []
        while True:
            message = await exchange.receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        raw = b"".join(chunks)
        headers = {
            k.decode("latin-1").lower(): v.decode("latin-1") for k, v in exchange.scope["headers"]
        }
        record, outcome, entry = self._admit(exchange, raw, headers)
        exchange.record = record
        if outcome == "unauthorized":
            await exchange.error(401, "authentication_error", "invalid x-api-key")
        elif outcome == "rejected":
            await exchange.error(400, "invalid_request_error", "; ".join(record.violations))
        elif outcome == "exhausted":
            await exchange.error(
                500,
                "api_error",
                f"fake Messages API: script has only {len(self._script)} replies; "
                f"request #{record.number} has none",
            )
        else:
            await self._answer(entry, exchange, record)

    def _admit(
        self, exchange: _Exchange, raw: bytes, headers: dict[str, str]
    ) -> tuple[RecordedRequest, str, ScriptEntry | None]:
        """Record the request, check it, and take its script entry, all under the lock.

        Doing it in one step keeps requests and script entries in the same order when
        requests arrive concurrently.
        """
        try:
            decoded = json.loads(raw)
        except ValueError:
            decoded = None
        body: dict[str, Any] = decoded if isinstance(decoded, dict) else {}
        with self._lock:
            number = len(self._requests) + 1
            authorized = self.api_key is None or self.api_key in (
                headers.get("x-api-key"),
                headers.get("authorization", "").removeprefix("Bearer "),
            )
            problems: list[str] = []
            parsed: MessageRequest | None = None
            parse_error: str | None = None
            if authorized:
                if not isinstance(decoded, dict):
                    problems.append("body: the request body must be a JSON object")
                else:
                    problems += check_request(body, self._sent_thinking)
                    problems += _tools_needed(body)
                if "anthropic-version" not in headers:
                    problems.append("anthropic-version: the anthropic-version header is required")
            if not isinstance(decoded, dict):
                parse_error = "the body is not a JSON object"
            else:
                try:
                    parsed = MessageRequest.model_validate(body)
                except ValidationError as exc:
                    parse_error = str(exc)
                    if authorized and not problems:
                        problems.append(f"unparseable: the body is not a Messages request ({exc})")
            record = RecordedRequest(
                number=number,
                method=str(exchange.scope.get("method", "POST")),
                path=str(exchange.scope.get("path", "")),
                headers=headers,
                body=body,
                raw=raw,
                request_id=exchange.request_id,
                violations=tuple(problems),
                client=_client(exchange.scope),
                parsed=parsed,
                parse_error=parse_error,
            )
            self._requests.append(record)
            self._violations += [f"request #{number}: {p}" for p in problems]
            if not authorized:
                return record, "unauthorized", None
            if problems and self.strict:
                return record, "rejected", None
            entry = self._take()
            if entry is None:
                self._violations.append(
                    f"request #{number}: script-exhausted: script has only "
                    f"{len(self._script)} replies"
                )
                return record, "exhausted", None
            return record, "answer", entry

    def _take(self) -> ScriptEntry | None:
        if self._position < len(self._script):
            entry = self._script[self._position]
            self._position += 1
            return entry
        if not self.cycle:
            return None
        if not self._script:
            return reply(_CYCLE_DEFAULT)
        self._position = 1
        return self._script[0]

    def _script_error(self, record: RecordedRequest, problem: str) -> None:
        with self._lock:
            self._violations.append(f"request #{record.number}: script-error: {problem}")

    async def _resolve(
        self, entry: ScriptEntry | None, exchange: _Exchange, record: RecordedRequest
    ) -> Message | Fault | None:
        """The answer an entry stands for, calling it if it is callable; ``None`` if it failed."""
        try:
            while callable(entry):
                result = entry(record.request)
                entry = await result if inspect.isawaitable(result) else result
            if isinstance(entry, Message | Fault):
                return entry
            if isinstance(entry, str | dict):
                return entry_from_json(entry)
            raise TypeError(f"a script entry gave {type(entry).__name__}, not a message or Fault")
        except Exception as exc:
            problem = f"{type(exc).__name__}: {exc}"
            self._script_error(record, problem)
            await exchange.error(
                500, "api_error", f"fake Messages API: script entry failed: {problem}"
            )
            return None

    async def _answer(
        self, entry: ScriptEntry | Reply | None, exchange: _Exchange, record: RecordedRequest
    ) -> None:
        answer = await self._resolve(entry, exchange, record)
        if isinstance(answer, Fault):
            await self._fault(answer, exchange, record)
        elif answer is not None:
            await self._message(answer, exchange, record)

    def _finish(self, message: Message, record: RecordedRequest) -> dict[str, Any]:
        """The message as sent: id, model, stop reason and usage filled in, and remembered."""
        given = message.to_wire()
        content = given.pop("content", [])
        stop_reason = given.pop("stop_reason", None)
        if "stop_reason" not in message.model_fields_set:
            uses_tool = any(b.get("type") == "tool_use" for b in content)
            stop_reason = "tool_use" if uses_tool else "end_turn"
        usage = given.pop("usage", None) or {
            "input_tokens": max(1, len(record.raw) // 4),
            "output_tokens": max(1, len(_dumps(content)) // 4),
        }
        # The real API's field order, then whatever else the message carries.
        data: dict[str, Any] = {
            "id": given.pop("id", None) or new_id("msg_01"),
            "type": given.pop("type", "message"),
            "role": given.pop("role", "assistant"),
            "model": given.pop("model", None) or record.body.get("model") or "fake-model",
            "content": content,
            "stop_reason": stop_reason,
            "stop_sequence": given.pop("stop_sequence", None),
            "usage": usage,
            **given,
        }
        with self._lock:
            self._sent.append(data)
            if any(b.get("type") in _THINKING_TYPES for b in content if isinstance(b, dict)):
                self._sent_thinking.append(data)
        return data

    async def _message(
        self,
        message: Message,
        exchange: _Exchange,
        record: RecordedRequest,
        *,
        cut: Fault | None = None,
        pause: Fault | None = None,
    ) -> None:
        data = self._finish(message, record)
        if not record.streamed:
            await exchange.json(200, data)
            return
        await exchange.start(200, [_SSE, ("cache-control", "no-cache")])
        for n, event in enumerate(message_events(data)):
            if cut is not None and n == cut.after_events:
                break
            if (
                pause is not None
                and n == pause.after_events
                and not await exchange.wait(pause.seconds)
            ):
                return
            await exchange.event(event)
        if cut is None or cut.kind == "truncate":
            await exchange.body(b"", more=False)
        elif cut.kind == "drop_mid_stream":
            await exchange.close_connection()
        else:
            await exchange.event(cut.error_body())
            await exchange.body(b"", more=False)

    async def _fault(self, fault: Fault, exchange: _Exchange, record: RecordedRequest) -> None:
        kind = fault.kind
        if kind == "status":
            error = fault.error_body()["error"]
            await exchange.error(fault.code, error["type"], error["message"], fault.headers)
        elif kind == "html":
            try:
                phrase = HTTPStatus(fault.code).phrase
            except ValueError:
                phrase = "Error"
            page = _HTML_PAGE.format(status=f"{fault.code} {phrase}").encode()
            await exchange.respond(fault.code, [("content-type", "text/html; charset=utf-8")], page)
        elif kind == "malformed_json":
            if record.streamed:
                await exchange.start(200, [_SSE])
                await exchange.body(
                    b'event: message_start\ndata: {"type":"message_start",\n\n', more=False
                )
            else:
                await exchange.respond(200, [_JSON], b'{"id":"msg_01","type":"message","content":[')
        elif kind == "error_body_200":
            await exchange.json(200, {**fault.error_body(), "request_id": exchange.request_id})
        elif kind == "delay":
            await self._delay(fault, exchange, record)
        elif kind == "drop":
            await exchange.close_connection()
        elif kind == "raw":
            await exchange.respond(fault.code, fault.headers, fault.body)
        elif record.streamed:
            await self._message(fault.streamed_message(), exchange, record, cut=fault)
        elif kind == "stream_error":
            error = fault.error_body()["error"]
            await exchange.error(fault.code, error["type"], error["message"])
        else:
            data = _dumps(self._finish(fault.streamed_message(), record))
            half = data[: len(data) // 2]
            if kind == "truncate":
                await exchange.respond(200, [_JSON], half)
            else:
                await exchange.start(200, [_JSON, ("content-length", str(len(data)))])
                await exchange.body(half, more=True)
                await exchange.close_connection()

    async def _delay(self, fault: Fault, exchange: _Exchange, record: RecordedRequest) -> None:
        then: ScriptEntry = (
            fault.then if fault.then is not None else reply("This answer was delayed.")
        )
        if fault.after_events and record.streamed:
            answer = await self._resolve(then, exchange, record)
            if isinstance(answer, Message):
                await self._message(answer, exchange, record, pause=fault)
                return
            if answer is None:
                return
            then = answer
        if await exchange.wait(fault.seconds):
            await self._answer(then, exchange, record)


def _client(scope: ASGIMessage) -> tuple[str, int] | None:
    client = scope.get("client")
    if isinstance(client, list | tuple) and len(client) == 2:
        return str(client[0]), int(client[1])
    return None


def _tools_needed(body: dict[str, Any]) -> list[str]:
    """The real API rejects tool blocks in the messages of a request that defines no tools."""
    if body.get("tools"):
        return []
    for message in body.get("messages") or []:
        content = message.get("content") if isinstance(message, dict) else None
        for block in content if isinstance(content, list) else []:
            kind = block.get("type") if isinstance(block, dict) else None
            if kind in ("tool_use", "tool_result"):
                return [f"tools-needed: the messages hold a {kind} block but no tools are defined"]
    return []
