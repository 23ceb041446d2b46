"""Candidate optimisations, applied to the installed library in-process to measure them.

Each patch replaces one private piece of toolwire with a cheaper version that keeps its
behaviour on the bench's workload; ``profile_turn.py --ab --patch NAME`` measures the CPU per
run with it. They exist to rank changes before making them in the library, are written against
its current internals, and break (loudly, with an AttributeError) when those change.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio
import httpx2
import structlog

PATCHES: dict[str, Callable[[], None]] = {}


def patch(fn: Callable[[], None]) -> Callable[[], None]:
    PATCHES[fn.__name__] = fn
    return fn


@patch
def limiter() -> None:
    """No CapacityLimiter round when a turn has fewer calls than the run's limit.

    The limiter is per run, so such a turn can never wait on it; ``async with limiter`` still
    costs a scheduling round (anyio's acquire always yields once).
    """
    from toolwire._agent import steps

    original = getattr(steps, "dispatch")  # noqa: B009 - a private name, patched below

    async def dispatch(uses: Any, toolset: Any, **kw: Any) -> Any:
        lim = kw.get("limiter")
        if lim is not None and len(uses) <= lim.total_tokens and lim.borrowed_tokens == 0:
            kw["limiter"] = None
        return await original(uses, toolset, **kw)

    setattr(steps, "dispatch", dispatch)  # noqa: B010


@patch
def url() -> None:
    """A prebuilt ``httpx2.URL`` for the endpoint, instead of parsing the URL string per request."""
    from toolwire import _client
    from toolwire._errors import APITimeoutError

    async def _send(self: Any, content: bytes, *, stream: bool) -> httpx2.Response:
        target = self.__dict__.get("_url_obj")
        if target is None:
            target = self.__dict__["_url_obj"] = httpx2.URL(self.endpoint.url)
        req = self._http.build_request("POST", target, content=content, headers=self._headers)
        try:
            response: httpx2.Response = await self._http.send(req, stream=stream)
            return response
        except httpx2.TimeoutException as exc:
            raise APITimeoutError(f"request timed out ({type(exc).__name__})") from None
        except httpx2.TransportError as exc:
            raise self._connection_error(exc) from None

    _client.MessagesClient._send = _send  # type: ignore[method-assign]


@patch
def logger() -> None:
    """Decide whether a run logs before building its structlog logger."""
    from toolwire._agent import loop

    original = getattr(loop, "EventLogger")  # noqa: B009
    stdlib = logging.getLogger("toolwire")

    class Off:
        enabled = False

    def factory(*args: Any, **kw: Any) -> Any:
        if not structlog.is_configured() and not stdlib.isEnabledFor(logging.INFO):
            return Off()
        return original(*args, **kw)

    setattr(loop, "EventLogger", factory)  # noqa: B010


@patch
def parse() -> None:
    """Validate a response straight from its JSON bytes (pydantic-core's parser)."""
    from toolwire import _client
    from toolwire._wire.messages import Message

    original = _client.MessagesClient._parse_message

    def _parse_message(self: Any, raw: bytes, response: httpx2.Response) -> Any:
        try:
            message = Message.model_validate_json(raw)
        except ValueError:
            return original(self, raw, response)  # errors, error bodies: the usual path
        message._request_id = _client._request_id(response)
        return message

    _client.MessagesClient._parse_message = _parse_message  # type: ignore[method-assign]


@patch
def body() -> None:
    """Serialise the request to JSON bytes in one pydantic-core pass, without a dict."""
    from toolwire import _client
    from toolwire._errors import RequestParameterError

    def _body(self: Any, request: Any, *, stream: bool) -> bytes:
        problems = request.problems()
        if problems:
            raise RequestParameterError(problems)
        out: bytes = request.__pydantic_serializer__.to_json(
            request, exclude_unset=True, by_alias=True, exclude={"stream"}
        )
        return out[:-1] + b',"stream":true}' if stream else out

    _client.MessagesClient._body = _body  # type: ignore[method-assign]


@patch
def drain() -> None:
    """``Agent.stream`` consumers take every buffered event before waiting for the next."""
    from toolwire._agent import stream

    async def _events(self: Any) -> AsyncIterator[Any]:
        receive = self._receive
        async with receive:
            while True:
                try:
                    event = receive.receive_nowait()
                except anyio.WouldBlock:
                    try:
                        event = await receive.receive()
                    except anyio.EndOfStream:
                        break
                except anyio.EndOfStream:
                    break
                yield event
        if self._error is not None:
            raise self._error

    stream.RunStream._events = _events  # type: ignore[method-assign]


def apply(names: list[str]) -> list[str]:
    """Apply the named patches (``all`` for every one); returns the names applied."""
    chosen = list(PATCHES) if "all" in names else names
    for name in chosen:
        PATCHES[name]()
    return chosen
