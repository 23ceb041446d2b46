"""What a script is made of: the types of its entries."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeAlias

from toolwire._wire.messages import Message
from toolwire._wire.request import MessageRequest

from ._faults import Fault

__all__ = ["Reply", "Responder", "ScriptEntry"]

Reply: TypeAlias = Message | Fault | Mapping[str, Any] | str
"""A fixed answer: a message (or its JSON dict, or plain text), or a ``Fault``."""

Responder: TypeAlias = Callable[[MessageRequest], Reply | Awaitable[Reply]]
"""A callable script entry: gets the parsed request, returns (or awaits) the answer."""

ScriptEntry: TypeAlias = Reply | Responder
"""One scripted answer, consumed by one request."""
