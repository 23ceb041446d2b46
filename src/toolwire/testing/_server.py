"""The fake API on a real socket: uvicorn on 127.0.0.1, in a thread or in the foreground.

uvicorn is the optional ``testing`` extra and is imported only here, only when a server is
started. The server runs h11 with keep-alive on, no access log, and does not touch the
logging configuration of the process. Its HTTP protocol adds the ``CLOSE_CONNECTION``
extension the app uses to drop connections.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import TYPE_CHECKING, Any

from ._app import CLOSE_CONNECTION, ASGIMessage, MessagesApp, Receive, Send

if TYPE_CHECKING:
    import asyncio

    import uvicorn

__all__ = ["run_forever", "serve_in_thread"]

_KEEP_ALIVE_SECONDS = 30
_START_TIMEOUT = 10.0


def _uvicorn() -> Any:
    try:
        import uvicorn
    except ImportError:
        raise RuntimeError(
            "serving the fake Messages API over HTTP needs uvicorn: pip install 'toolwire[testing]'"
        ) from None
    return uvicorn


@cache
def _protocol_class() -> type[asyncio.Protocol]:
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class Protocol(H11Protocol):
        """uvicorn's h11 protocol, giving the app a way to close the connection."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            inner = self.app

            async def app(scope: ASGIMessage, receive: Receive, send: Send) -> None:
                scope["extensions"] = {
                    **(scope.get("extensions") or {}),
                    CLOSE_CONNECTION: self._toolwire_close,
                }
                await inner(scope, receive, send)

            self.app = app

        def _toolwire_close(self) -> None:
            # close() flushes what was written before closing, like a server that dies
            # after sending part of a response.
            self.transport.close()

    return Protocol


def _config(app: MessagesApp, host: str, port: int) -> uvicorn.Config:
    config: uvicorn.Config = _uvicorn().Config(
        app,
        host=host,
        port=port,
        http=_protocol_class(),
        loop="asyncio",
        ws="none",
        lifespan="off",
        log_config=None,
        access_log=False,
        timeout_keep_alive=_KEEP_ALIVE_SECONDS,
        timeout_graceful_shutdown=1,
    )
    return config


@contextmanager
def serve_in_thread(app: MessagesApp, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Serve ``app`` from a background thread with its own event loop; yields the base URL.

    ``port=0`` picks a free port. Leaving the block stops the server and joins the thread.
    """
    uvicorn = _uvicorn()
    # proto=IPPROTO_TCP matters: asyncio turns Nagle off (TCP_NODELAY) only on sockets whose
    # proto says TCP, and with Nagle on every keep-alive response waits for a delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    bound_port = sock.getsockname()[1]
    server = uvicorn.Server(_config(app, host, bound_port))
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="toolwire-fake-api", daemon=True
    )
    thread.start()
    try:
        deadline = time.monotonic() + _START_TIMEOUT
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the fake Messages API server did not start")
            time.sleep(0.005)
        yield f"http://{host}:{bound_port}"
    finally:
        server.should_exit = True
        thread.join(timeout=_START_TIMEOUT)
        if thread.is_alive():
            server.force_exit = True
            thread.join()
        sock.close()


def run_forever(app: MessagesApp, host: str, port: int) -> None:
    """Serve ``app`` in this thread until interrupted (Ctrl-C)."""
    server = _uvicorn().Server(_config(app, host, port))
    server.run()
