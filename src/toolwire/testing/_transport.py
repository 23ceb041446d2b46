"""The fake API in-process: an httpx2 transport that streams what the ASGI app sends.

httpx2's own ``ASGITransport`` runs the app to the end and hands over the whole body at once;
a test could never see an event arrive before the stream ends, and a dropped connection could
not look like one. This transport steps the app's coroutine by hand, in the caller's own task:

- whenever the app awaits something real (a sleep, an event), the await is passed through to
  the event loop unchanged, so the app runs as if awaited directly, under asyncio or trio;
- whenever the app sends an ASGI message, stepping stops and the message goes to the client.

Reading the body steps the app one message at a time, so each chunk reaches the client the
moment the app sends it, and the app never runs ahead of the reader: a socket with no buffer.
Closing a response early closes the app's coroutine; no task exists, so none is left behind.
Read timeouts (``timeout.read`` of the request) bound each step and raise
``httpx2.ReadTimeout``. A connection the app closes raises ``httpx2.RemoteProtocolError``
with the message httpx2 gives for a real socket: before the response, "Server disconnected
without sending a response."; mid-body, "peer closed connection without sending complete
message body".
"""

from __future__ import annotations

import types
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Generator
from typing import Any

import anyio
import httpx2

from ._app import CLOSE_CONNECTION, ASGIMessage, Receive, Send

__all__ = ["InProcessTransport"]

ASGIApp = Callable[[ASGIMessage, Receive, Send], Awaitable[None]]


class _Handoff:
    """What the app's ``send`` yields up the coroutine chain to stop the stepping."""

    __slots__ = ("message",)

    def __init__(self, message: ASGIMessage) -> None:
        self.message = message


@types.coroutine
def _hand_off(message: ASGIMessage) -> Generator[Any, Any, None]:
    yield _Handoff(message)


class _AppRun:
    """One call of the app, stepped from the outside."""

    def __init__(self, app: ASGIApp, scope: ASGIMessage, body: bytes) -> None:
        self._body: bytes | None = body
        self.disconnected = False
        self.done = False
        scope["extensions"] = {CLOSE_CONNECTION: self._close_connection}
        self._coro: Coroutine[Any, Any, None] = _as_coroutine(app(scope, self._receive, self._send))

    def _close_connection(self) -> None:
        self.disconnected = True

    async def _receive(self) -> ASGIMessage:
        if self._body is not None:
            body, self._body = self._body, None
            return {"type": "http.request", "body": body, "more_body": False}
        if not self.disconnected:
            # The client is still connected and has nothing more to send.
            await anyio.sleep_forever()
        return {"type": "http.disconnect"}

    async def _send(self, message: ASGIMessage) -> None:
        if not self.disconnected:
            await _hand_off(message)

    @types.coroutine
    def step(self) -> Generator[Any, Any, ASGIMessage | None]:
        """Run the app until it sends a message (returned) or returns (``None``)."""
        if self.done:
            return None
        value: Any = None
        error: BaseException | None = None
        while True:
            try:
                yielded = self._coro.send(value) if error is None else self._coro.throw(error)
            except StopIteration:
                self.done = True
                return None
            except BaseException:
                self.done = True
                raise
            finally:
                error = None
            if isinstance(yielded, _Handoff):
                return yielded.message
            try:
                value = yield yielded
            except BaseException as exc:  # cancellation and the like belong to the app's await
                value, error = None, exc

    def close(self) -> None:
        """Stop the app where it is (its ``finally`` blocks run)."""
        if not self.done:
            self.done = True
            self._coro.close()


def _as_coroutine(awaitable: Awaitable[None]) -> Coroutine[Any, Any, None]:
    if isinstance(awaitable, Coroutine):
        return awaitable

    async def wrap() -> None:
        await awaitable

    return wrap()


async def _step(run: _AppRun, timeout: float | None, request: httpx2.Request) -> ASGIMessage | None:
    if timeout is None:
        return await run.step()
    with anyio.move_on_after(timeout):
        return await run.step()
    run.close()
    raise httpx2.ReadTimeout("timed out waiting for the server", request=request)


class _Body(httpx2.AsyncByteStream):
    def __init__(
        self,
        run: _AppRun,
        timeout: float | None,
        request: httpx2.Request,
        expected: int | None,
    ) -> None:
        self._run = run
        self._timeout = timeout
        self._request = request
        self._expected = expected
        self._received = 0

    def _cut_short(self) -> str:
        how = (
            "incomplete chunked read"
            if self._expected is None
            else f"received {self._received} bytes, expected {self._expected}"
        )
        return f"peer closed connection without sending complete message body ({how})"

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            while True:
                message = await _step(self._run, self._timeout, self._request)
                if message is None or self._run.disconnected:
                    raise httpx2.RemoteProtocolError(self._cut_short(), request=self._request)
                if message["type"] != "http.response.body":
                    raise RuntimeError(f"ASGI app sent {message['type']!r} inside a response body")
                data = message.get("body", b"")
                if data:
                    self._received += len(data)
                    yield data
                if not message.get("more_body", False):
                    break
            if await _step(self._run, self._timeout, self._request) is not None:
                raise RuntimeError("ASGI app sent a message after its response was complete")
        finally:
            self._run.close()

    async def aclose(self) -> None:
        self._run.close()


class InProcessTransport(httpx2.AsyncBaseTransport):
    """Serves an ASGI app to an ``httpx2.AsyncClient`` without sockets, streaming as it goes."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        """Run the app for ``request`` until it starts its response, and stream the rest."""
        body = await request.aread()
        url = request.url
        scope: ASGIMessage = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": request.method,
            "scheme": url.scheme,
            "path": url.path,
            "raw_path": url.raw_path.split(b"?")[0],
            "query_string": url.query,
            "root_path": "",
            "headers": [(k.lower(), v) for k, v in request.headers.raw],
            "client": ("127.0.0.1", 0),
            "server": (url.host, url.port or (443 if url.scheme == "https" else 80)),
        }
        timeouts = request.extensions.get("timeout") or {}
        read_timeout = timeouts.get("read")
        run = _AppRun(self.app, scope, body)
        try:
            message = await _step(run, read_timeout, request)
            if message is None or run.disconnected:
                raise httpx2.RemoteProtocolError(
                    "Server disconnected without sending a response.", request=request
                )
            if message["type"] != "http.response.start":
                raise RuntimeError(f"ASGI app sent {message['type']!r} before http.response.start")
        except BaseException:
            run.close()
            raise
        headers = list(message.get("headers", []))
        lengths = [int(v) for k, v in headers if k.lower() == b"content-length"]
        return httpx2.Response(
            message["status"],
            headers=headers,
            stream=_Body(run, read_timeout, request, lengths[0] if lengths else None),
            extensions={"http_version": b"HTTP/1.1"},
        )
