"""One ``httpx2.AsyncClient`` speaking ``/v1/messages``: create, stream, list models, retry."""

from __future__ import annotations

import json
import ssl
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from types import TracebackType
from typing import Any, NoReturn, TypeVar

import httpx2
from anyio import sleep
from pydantic import BaseModel, ConfigDict, ValidationError

from . import __about__
from ._endpoint import Endpoint
from ._errors import (
    APIConnectionError,
    APIError,
    APIResponseError,
    APIStatusError,
    APITimeoutError,
    RequestParameterError,
    ResponseTooLargeError,
    ToolwireError,
    status_error,
)
from ._logging import emit
from ._retry import RetryPolicy, parse_retry_after
from ._sse import MessageAccumulator, aiter_stream_events
from ._wire.messages import Message
from ._wire.request import MessageRequest
from ._wire.stream_events import StreamEvent

__all__ = ["MessageStream", "MessagesClient", "ModelInfo"]

T = TypeVar("T")


_ssl_context: ssl.SSLContext | None = None


def _shared_ssl_context() -> ssl.SSLContext:
    """One verifying TLS context for every client: building one costs ~100 ms of CPU."""
    global _ssl_context
    if _ssl_context is None:
        _ssl_context = httpx2.create_ssl_context()
    return _ssl_context


def _log_retry(**fields: Any) -> None:
    emit("toolwire.retry", "debug", **fields)


DEFAULT_MAX_RESPONSE_BYTES = 32 * 1024 * 1024
DEFAULT_MAX_EVENT_BYTES = 8 * 1024 * 1024


class ModelInfo(BaseModel):
    """One entry of ``GET /v1/models``; providers that omit fields are tolerated."""

    model_config = ConfigDict(extra="allow")

    id: str
    type: str | None = None
    display_name: str | None = None
    created_at: str | None = None


def _redact(text: str, secrets: tuple[str, ...]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "[redacted]")
    return text


def _request_id(response: httpx2.Response) -> str | None:
    return response.headers.get("request-id") or response.headers.get("x-request-id")


class MessagesClient:
    """A client for one endpoint. Cheap to share: one connection pool serves every run.

    Use it as an async context manager, or call ``aclose()``. ``transport`` plugs in another
    transport (``toolwire.testing.FakeMessagesAPI.transport()`` in tests); ``http_client`` uses
    a client you manage yourself (it is then not closed by ``aclose``).
    """

    def __init__(
        self,
        endpoint: Endpoint | None = None,
        *,
        max_retries: int = 2,
        retry: RetryPolicy | None = None,
        read_timeout: float = 600.0,
        connect_timeout: float = 5.0,
        max_connections: int | None = 1000,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES,
        transport: httpx2.AsyncBaseTransport | None = None,
        http_client: httpx2.AsyncClient | None = None,
    ) -> None:
        self.endpoint = endpoint if endpoint is not None else Endpoint()
        self.retry = retry if retry is not None else RetryPolicy(max_retries=max_retries)
        self.max_response_bytes = max_response_bytes
        self._url = httpx2.URL(self.endpoint.url)  # parsed once, not on every request
        self.max_event_bytes = max_event_bytes
        self._headers = {
            **self.endpoint.headers(),
            "content-type": "application/json",
            "user-agent": f"toolwire/{__about__.__version__}",
        }
        self._owns_http = http_client is None
        self._http = http_client or httpx2.AsyncClient(
            transport=transport,
            verify=_shared_ssl_context(),
            timeout=httpx2.Timeout(read_timeout, connect=connect_timeout),
            limits=httpx2.Limits(
                max_connections=max_connections,
                max_keepalive_connections=max_connections,
                keepalive_expiry=30.0,
            ),
            follow_redirects=False,
        )

    def __repr__(self) -> str:
        return f"MessagesClient({self.endpoint!r})"

    async def __aenter__(self) -> MessagesClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool (unless the ``http_client`` was given by the caller)."""
        if self._owns_http:
            await self._http.aclose()

    # -- requests ------------------------------------------------------------------------

    def _body(self, request: MessageRequest, *, stream: bool) -> bytes:
        problems = request.problems()
        if problems:
            raise RequestParameterError(problems)
        if stream:
            request = request.model_copy(update={"stream": True})
        elif request.stream is not None:
            request = request.model_copy()
            request.__pydantic_fields_set__.discard("stream")
        # pydantic-core writes the JSON itself: no intermediate dicts, no json.dumps.
        return request.__pydantic_serializer__.to_json(request, exclude_unset=True, by_alias=True)

    async def create(self, request: MessageRequest) -> Message:
        """Send one request and return the whole response ``Message``, retrying per the policy."""
        content = self._body(request, stream=False)

        async def attempt() -> Message:
            response = await self._send(content, stream=True)
            try:
                await self._raise_for_status(response)
                raw = await self._read_capped(response)
            finally:
                await response.aclose()
            return self._parse_message(raw, response)

        return await self._with_retries(attempt)

    @asynccontextmanager
    async def stream(self, request: MessageRequest) -> AsyncIterator[MessageStream]:
        """Send one streamed request; yields a ``MessageStream`` of typed events.

        Retries happen only before the first event reaches the caller: the first event is read
        inside the retry loop, so a request whose events were already delivered is never re-sent.
        """
        content = self._body(request, stream=True)

        async def attempt() -> MessageStream:
            response = await self._send(content, stream=True)
            try:
                await self._raise_for_status(response)
                ctype = response.headers.get("content-type", "")
                if "text/event-stream" not in ctype:
                    # Some servers ignore stream=true and answer with JSON: accept it whole.
                    raw = await self._read_capped(response)
                    await response.aclose()
                    return MessageStream.from_message(self._parse_message(raw, response))
                opened = MessageStream(response, self.max_event_bytes, self.endpoint.secrets())
                try:
                    await opened.prime()
                except BaseException:
                    await opened.aclose()
                    raise
                return opened
            except BaseException:
                await response.aclose()
                raise

        opened = await self._with_retries(attempt)
        try:
            yield opened
        finally:
            await opened.aclose()

    async def models(self) -> list[ModelInfo]:
        """The endpoint's models (``GET /v1/models``), following pagination."""
        found: list[ModelInfo] = []
        after: str | None = None
        for _ in range(100):  # a bound on pages, against a server that never stops paging
            params = {"limit": "1000", **({"after_id": after} if after else {})}

            async def attempt(params: dict[str, str] = params) -> dict[str, Any]:
                try:
                    response = await self._http.get(
                        self.endpoint.models_url, headers=self._headers, params=params
                    )
                except httpx2.TimeoutException as exc:
                    raise APITimeoutError(f"GET models timed out: {type(exc).__name__}") from None
                except httpx2.TransportError as exc:
                    raise self._connection_error(exc) from None
                await self._raise_for_status(response)
                try:
                    data = response.json()
                except ValueError:
                    raise APIResponseError(
                        "models listing is not JSON", request_id=_request_id(response)
                    ) from None
                if not isinstance(data, dict):
                    raise APIResponseError("models listing is not a JSON object")
                return data

            page = await self._with_retries(attempt)
            entries = page.get("data") or []
            try:
                found.extend(ModelInfo.model_validate(e) for e in entries)
            except ValidationError as exc:
                raise APIResponseError(
                    f"models listing entry without an id: {exc.errors()[0]}"
                ) from None
            if not page.get("has_more") or not entries:
                break
            after = page.get("last_id") or found[-1].id
        return found

    # -- plumbing ------------------------------------------------------------------------

    async def _send(self, content: bytes, *, stream: bool) -> httpx2.Response:
        req = self._http.build_request("POST", self._url, content=content, headers=self._headers)
        try:
            # Never follow a redirect, even with a caller's client that does: the credential
            # headers would go along to wherever the Location points.
            return await self._http.send(req, stream=stream, follow_redirects=False)
        except httpx2.TimeoutException as exc:
            raise APITimeoutError(f"request timed out ({type(exc).__name__})") from None
        except httpx2.TransportError as exc:
            raise self._connection_error(exc) from None

    def _connection_error(self, exc: Exception) -> APIConnectionError:
        detail = _redact(str(exc) or type(exc).__name__, self.endpoint.secrets())
        return APIConnectionError(f"connection to {self.endpoint.url} failed: {detail}")

    async def _with_retries(self, attempt: Callable[[], Awaitable[T]]) -> T:
        tries = 0
        while True:
            try:
                return await attempt()
            except APIError as exc:
                tries += 1
                wait = self._retry_wait(exc, tries)
                if wait is None:
                    exc.redact(self.endpoint.secrets())
                    raise
                _log_retry(
                    attempt=tries,
                    wait_s=round(wait, 3),
                    error=type(exc).__name__,
                    status=getattr(exc, "status_code", None),
                )
                await sleep(wait)

    def _retry_wait(self, exc: APIError, tries: int) -> float | None:
        if isinstance(exc, APIStatusError):
            if not exc.retryable:
                return None
            return self.retry.delay(tries, exc.retry_after)
        if isinstance(exc, APIConnectionError):
            return self.retry.delay(tries, None)
        return None

    async def _raise_for_status(self, response: httpx2.Response) -> None:
        status = response.status_code
        if status < 300:
            return
        if status < 400:
            location = response.headers.get("location", "")
            host = httpx2.URL(location).host if location else ""
            raise APIResponseError(
                f"the endpoint answered {status} redirecting to {host or 'an unnamed place'}; "
                "redirects are not followed (credentials would go along); "
                "use the final URL as base_url",
                request_id=_request_id(response),
            )
        try:
            raw = await self._read_capped(response, limit=1024 * 1024)
        except (APIConnectionError, ResponseTooLargeError):
            raw = b""
        self._raise_error_body(raw, response)

    def _raise_error_body(self, raw: bytes, response: httpx2.Response) -> NoReturn:
        status = response.status_code
        secrets = self.endpoint.secrets()
        error_type: str | None = None
        message: str
        body: Any = raw.decode("utf-8", "replace")
        try:
            data = json.loads(raw)
        except ValueError:
            data = None
        if isinstance(data, dict) and isinstance(data.get("error"), dict):
            body = data
            error_type = data["error"].get("type")
            message = str(data["error"].get("message") or error_type or "no message")
        elif isinstance(data, dict) and isinstance(data.get("error"), str):
            body = data
            message = data["error"]
        else:
            ctype = response.headers.get("content-type", "unknown").split(";")[0]
            # Redacted before it is cut: a cut could keep part of a secret that replace() misses.
            snippet = " ".join(_redact(str(body), secrets).split())[:160]
            message = f"non-JSON {ctype} error body (a proxy or gateway?): {snippet!r}"
        request_id = _request_id(response)
        if (
            request_id is None
            and isinstance(data, dict)
            and isinstance(data.get("request_id"), str)
        ):
            # The API's error bodies carry the id too; proxies may strip the header.
            request_id = data["request_id"]
        err = status_error(
            status_code=status if status >= 400 else None,
            error_type=error_type,
            message=_redact(message, secrets),
            request_id=request_id,
            body=body,
            retry_after=parse_retry_after(response.headers),
        )
        override = response.headers.get("x-should-retry")
        if override in ("true", "false"):
            err.retryable = override == "true"
        raise err

    async def _read_capped(self, response: httpx2.Response, limit: int | None = None) -> bytes:
        cap = self.max_response_bytes if limit is None else limit
        declared = response.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > cap:
            raise ResponseTooLargeError(
                f"response body of {declared} bytes is over the {cap}-byte limit",
                request_id=_request_id(response),
            )
        parts: list[bytes] = []
        size = 0
        try:
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > cap:
                    raise ResponseTooLargeError(
                        f"response body is over the {cap}-byte limit",
                        request_id=_request_id(response),
                    )
                parts.append(chunk)
        except httpx2.TimeoutException as exc:
            raise APITimeoutError(
                f"reading the response timed out ({type(exc).__name__})"
            ) from None
        except httpx2.TransportError as exc:
            raise self._connection_error(exc) from None
        return b"".join(parts)

    def _parse_message(self, raw: bytes, response: httpx2.Response) -> Message:
        rid = _request_id(response)
        try:
            # The common case in one pydantic-core pass; anything else takes the path below,
            # which tells error bodies from broken ones.
            fast: Message | None = Message.model_validate_json(raw)
        except ValidationError:
            fast = None
        if fast is not None and "error" not in (fast.model_extra or {}):
            fast._request_id = rid
            return fast
        try:
            data = json.loads(raw)
        except ValueError:
            snippet = _redact(raw[:4096].decode("utf-8", "replace"), self.endpoint.secrets())[:120]
            raise APIResponseError(
                f"response body is not valid JSON: {snippet!r}", request_id=rid
            ) from None
        if isinstance(data, dict) and (
            data.get("type") == "error" or ("error" in data and "content" not in data)
        ):
            # Some gateways answer 200 with an error object, with or without the type.
            self._raise_error_body(raw, response)
        if not isinstance(data, dict):
            raise APIResponseError(
                f"response body is {type(data).__name__}, not an object", request_id=rid
            )
        try:
            message = Message.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise APIResponseError(
                f"response is not a Messages response: {where}: {first['msg']}", request_id=rid
            ) from None
        message._request_id = rid
        return message


class MessageStream:
    """The events of one streamed response, and at the end the accumulated ``Message``.

    ``async for event in stream`` yields every typed event; ``await stream.final_message()``
    drains what is left and returns the message (the same ``Message`` that ``create()`` gives).
    """

    def __init__(
        self,
        response: httpx2.Response | None,
        max_event_bytes: int | None,
        secrets: tuple[str, ...] = (),
    ) -> None:
        self._response = response
        self._secrets = secrets
        self._events: AsyncIterator[StreamEvent] | None = (
            aiter_stream_events(response, max_event_bytes=max_event_bytes, secrets=secrets)
            if response
            else None
        )
        self._buffered: list[StreamEvent] = []
        self.request_id = _request_id(response) if response is not None else None
        self._acc = MessageAccumulator(request_id=self.request_id)
        self._message: Message | None = None

    @classmethod
    def from_message(cls, message: Message) -> MessageStream:
        """A stream that has already ended with ``message`` (the server answered with JSON)."""
        stream = cls(None, None)
        stream._message = message
        stream.request_id = message.request_id
        return stream

    async def _next_raw(self) -> StreamEvent | None:
        assert self._events is not None
        try:
            return await self._events.__anext__()
        except StopAsyncIteration:
            return None
        except httpx2.TimeoutException as exc:
            raise APITimeoutError(f"stream read timed out ({type(exc).__name__})") from None
        except httpx2.TransportError as exc:
            detail = _redact(str(exc) or type(exc).__name__, self._secrets)
            raise APIConnectionError(f"stream interrupted: {detail}") from None

    async def prime(self) -> None:
        """Read the first event, so that a failure before any content can still be retried."""
        event = await self._next_raw()
        if event is not None:
            self._acc.feed(event)
            self._buffered.append(event)

    def __aiter__(self) -> AsyncIterator[StreamEvent]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[StreamEvent]:
        while self._buffered:
            yield self._buffered.pop(0)
        if self._events is None:
            return
        while True:
            try:
                event = await self._next_raw()
                if event is None:
                    break
                self._acc.feed(event)
            except ToolwireError as exc:
                exc.redact(self._secrets)
                raise
            yield event
        self._finish()

    def _finish(self) -> None:
        if self._message is None:
            try:
                message = self._acc.message()
            except ToolwireError as exc:
                exc.redact(self._secrets)
                raise
            message._request_id = self.request_id
            self._message = message

    async def final_message(self) -> Message:
        """Read the rest of the stream and return the accumulated message."""
        if self._message is None:
            async for _ in self:
                pass
            self._finish()
        assert self._message is not None
        return self._message

    async def aclose(self) -> None:
        """Close the connection (a stream left unfinished releases its connection)."""
        if isinstance(self._events, AsyncGenerator):
            # Closed here, outermost first: left to the garbage collector, the generators of
            # one chain can be finalized concurrently, and one then closes another mid-run.
            await self._events.aclose()
        if self._response is not None:
            await self._response.aclose()
