"""Streamed responses: framing (httpx2's ``EventSource``) and accumulation into a ``Message``."""

from toolwire._sse.accumulator import CUT_STOP_REASONS, MessageAccumulator
from toolwire._sse.framing import accumulate_sse_text, aiter_stream_events, iter_stream_events

__all__ = [
    "CUT_STOP_REASONS",
    "MessageAccumulator",
    "accumulate_sse_text",
    "aiter_stream_events",
    "iter_stream_events",
]
