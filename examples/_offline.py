"""The examples' offline switch: a scripted model on 127.0.0.1 when no endpoint is configured.

Every example builds its agents exactly as it would against a real provider, from the
``ANTHROPIC_*`` environment variables. When neither ``ANTHROPIC_API_KEY`` nor
``ANTHROPIC_AUTH_TOKEN`` is set, ``scripted_model(script)`` serves toolwire's fake Messages API
on loopback, points those variables at it for the duration of the block (child processes
inherit them), and says so in one line. With a credential set it does nothing, and the
example talks to the real endpoint unchanged.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from toolwire.testing import FakeMessagesAPI, ScriptEntry

__all__ = ["MODEL", "NOTICE", "endpoint_configured", "scripted_model"]

NOTICE = "offline scripted model; set ANTHROPIC_API_KEY and ANTHROPIC_BASE_URL to use a real one"

MODEL = os.environ.get("ANTHROPIC_MODEL") or "claude-sonnet-4-5"
"""The model the examples ask for; ``ANTHROPIC_MODEL`` picks another."""

_VARIABLES = ("ANTHROPIC_BASE_URL", "ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN")
_OFFLINE_KEY = "sk-offline-example"


def endpoint_configured() -> bool:
    """Whether the environment names a credential, and so a real endpoint to talk to."""
    return bool(os.environ.get("ANTHROPIC_API_KEY") or os.environ.get("ANTHROPIC_AUTH_TOKEN"))


@contextmanager
def scripted_model(
    script: Iterable[ScriptEntry], **options: Any
) -> Iterator[FakeMessagesAPI | None]:
    """Serve ``script`` as the model when no endpoint is configured; yields the fake, or ``None``.

    ``options`` go to ``FakeMessagesAPI`` (``models=``, say). On a normal exit the fake must have
    seen only valid requests and used its whole script, so an example that drifts from its
    script fails loudly instead of printing something plausible.
    """
    if endpoint_configured():
        yield None
        return
    api = FakeMessagesAPI(script, api_key=_OFFLINE_KEY, **options)
    saved = {name: os.environ.get(name) for name in _VARIABLES}
    with api.serve() as base_url:
        print(NOTICE, flush=True)
        os.environ["ANTHROPIC_BASE_URL"] = base_url
        os.environ["ANTHROPIC_API_KEY"] = _OFFLINE_KEY
        os.environ.pop("ANTHROPIC_AUTH_TOKEN", None)
        try:
            yield api
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
        api.assert_valid()
        if api.remaining:
            raise AssertionError(f"the scripted model has {api.remaining} unused replies")
