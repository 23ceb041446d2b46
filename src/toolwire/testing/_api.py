"""``FakeMessagesAPI``: a script, the app that serves it, and the ways to reach that app."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import httpx2

from toolwire._client import MessagesClient
from toolwire._endpoint import Endpoint

from ._app import DEFAULT_MODELS, MessagesApp
from ._load import load_script
from ._records import RecordedRequest
from ._server import run_forever, serve_in_thread
from ._transport import InProcessTransport
from ._types import ScriptEntry

__all__ = ["FAKE_API_KEY", "FAKE_BASE_URL", "FakeMessagesAPI", "serve_forever"]

FAKE_BASE_URL = "http://fake-messages.test"
"""The base URL ``endpoint()`` uses for the in-process transport (never resolved)."""

FAKE_API_KEY = "sk-fake-messages-api-key"
"""The key ``endpoint()`` sends when the fake was not given one of its own."""


class FakeMessagesAPI:
    """A scripted Messages API that records and checks every request it gets.

    Each request to ``/messages`` takes the next entry of ``script``: a ``Message`` (from
    ``reply(...)``, answered as JSON or streamed as SSE, whichever the request asked for), a
    ``Fault``, plain text, or a callable that gets the parsed ``MessageRequest`` and returns
    (or awaits) one of those. Every request is checked against the protocol's rules; a broken
    rule is recorded in ``violations`` and answered with a 400, like the real API would
    (``strict=False`` records it and answers from the script anyway). Thinking blocks in a
    request must be ones this fake sent, unchanged. Tests end with ``assert_valid()``.

    ``api_key``: when given, requests without it get a 401. ``cycle``: start the script over
    when it runs out (an empty script then answers every request with a short text) instead
    of answering a 500 and recording a violation. ``models``: what ``GET /v1/models`` lists.
    """

    def __init__(
        self,
        script: Iterable[ScriptEntry] = (),
        *,
        models: Sequence[str] = DEFAULT_MODELS,
        api_key: str | None = None,
        strict: bool = True,
        cycle: bool = False,
    ) -> None:
        self.app = MessagesApp(script, models=models, api_key=api_key, strict=strict, cycle=cycle)
        self.api_key = api_key

    @classmethod
    def from_file(cls, path: str | os.PathLike[str], **options: Any) -> FakeMessagesAPI:
        """A fake whose script is a JSON file (``toolwire.testing`` describes the format)."""
        return cls(load_script(path), **options)

    def add(self, *entries: ScriptEntry) -> None:
        """Append entries to the script."""
        self.app.add(*entries)

    def transport(self) -> httpx2.AsyncBaseTransport:
        """An httpx2 transport serving the app in-process: no sockets, streamed bodies."""
        return InProcessTransport(self.app)

    def endpoint(self, base_url: str = FAKE_BASE_URL, **options: Any) -> Endpoint:
        """An ``Endpoint`` for this fake: its key, and ``base_url`` (a ``serve()`` URL, say)."""
        return Endpoint(base_url, api_key=self.api_key or FAKE_API_KEY, **options)

    def client(self, **options: Any) -> MessagesClient:
        """A ``MessagesClient`` wired to this fake in-process: ``Agent(..., client=api.client())``.

        ``options`` go to ``MessagesClient`` (``max_retries``, ``read_timeout``, ...).
        """
        return MessagesClient(self.endpoint(), transport=self.transport(), **options)

    @contextmanager
    def serve(self, *, port: int = 0) -> Iterator[str]:
        """Serve over HTTP on 127.0.0.1 from a background thread; yields the base URL.

        ``port=0`` picks a free port. Keep-alive is on. Works from sync code and from asyncio
        or trio tests alike; leaving the block stops the server and joins its thread. Needs
        uvicorn (``pip install 'toolwire[testing]'``).
        """
        with serve_in_thread(self.app, port=port) as base_url:
            yield base_url

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every ``/messages`` request received, in order."""
        return self.app.requests

    @property
    def last_request(self) -> RecordedRequest:
        """The latest request; ``AssertionError`` if there was none."""
        requests = self.app.requests
        if not requests:
            raise AssertionError("the fake Messages API has received no request")
        return requests[-1]

    @property
    def violations(self) -> list[str]:
        """Every protocol violation found, each naming its request number and rule."""
        return self.app.violations

    @property
    def remaining(self) -> int:
        """How many script entries are still waiting for a request."""
        return self.app.remaining

    @property
    def models_requests(self) -> int:
        """How many times ``GET /v1/models`` was called."""
        return self.app.models_requests

    def assert_valid(self) -> None:
        """Raise ``AssertionError`` listing every violation, if there was any."""
        violations = self.app.violations
        if violations:
            listing = "\n".join(f"  - {v}" for v in violations)
            raise AssertionError(
                f"the fake Messages API saw {len(violations)} protocol violation(s):\n{listing}"
            )

    def __repr__(self) -> str:
        return (
            f"FakeMessagesAPI(requests={len(self.app.requests)}, remaining={self.app.remaining}, "
            f"violations={len(self.app.violations)})"
        )


def serve_forever(
    port: int,
    script_path: str | os.PathLike[str] | None = None,
    *,
    host: str = "127.0.0.1",
) -> None:
    """Serve a fake Messages API on ``host:port`` until interrupted (``toolwire fake-api``).

    The script (a JSON file, see ``toolwire.testing``) repeats from its start when it runs
    out; without one, every request gets a short text reply. Requests are still checked:
    one that breaks a rule gets a 400 naming it.
    """
    script = load_script(script_path) if script_path is not None else []
    run_forever(MessagesApp(script, cycle=True), host, port)
