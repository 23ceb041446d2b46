#!/usr/bin/env python3
"""Micro-benchmarks of the pieces of one agent turn, each beside a cheaper way to do the same.

Every row is microseconds per call (best of several repeats of a timed loop), on the payloads
of the bench's ``per-turn`` config (one ``work`` tool, one tool_use, a two-turn run). The
"alternative" rows are what the hot path could do instead; they are written here, not in the
library, to estimate what a change would save before making it. Per run, multiply by the
calls per run the profile shows (``benchmarks/profile_turn.py``): 2 requests, 2 responses,
1 tool call and 16 stream events in a streamed run.

    uv run python benchmarks/micro_turn.py [--only REGEX]
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import httpx2
import structlog
from pydantic import BaseModel

from toolwire import Agent, Endpoint, MessagesClient, tool
from toolwire._agent.loop import Run
from toolwire._dispatch import dispatch
from toolwire._logging import EventLogger
from toolwire._sse import aiter_stream_events
from toolwire._tools import Context
from toolwire._wire.blocks import TextBlock, ToolResultBlock
from toolwire._wire.messages import Message, MessageParam
from toolwire._wire.request import MessageRequest
from toolwire._wire.stream_events import stream_event_adapter

ROWS: list[tuple[str, float, str]] = []

TOOL_USE_RESPONSE = {
    "id": "msg_00000000000000000001",
    "type": "message",
    "role": "assistant",
    "model": "claude-sonnet-4-5",
    "content": [
        {"type": "tool_use", "id": "toolu_00000000000000000001", "name": "work", "input": {"i": 0}}
    ],
    "stop_reason": "tool_use",
    "stop_sequence": None,
    "usage": {
        "input_tokens": 80,
        "output_tokens": 10,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
    },
}
TEXT_RESPONSE = {
    **TOOL_USE_RESPONSE,
    "content": [{"type": "text", "text": "done: 1 tool results"}],
    "stop_reason": "end_turn",
}


def _sse(msg: dict[str, Any]) -> bytes:
    """The fake server's event stream for ``msg`` (same events, same splitting)."""

    def ev(name: str, data: dict[str, Any]) -> str:
        return f"event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"

    head = {**msg, "content": [], "stop_reason": None, "usage": {**msg["usage"]}}
    out = [
        ev("message_start", {"type": "message_start", "message": head}),
        ev("ping", {"type": "ping"}),
    ]
    for i, b in enumerate(msg["content"]):
        if b["type"] == "text":
            start: dict[str, Any] = {"type": "text", "text": ""}
            first, rest = b["text"].split(" ", 1)
            deltas = [
                {"type": "text_delta", "text": first},
                {"type": "text_delta", "text": " " + rest},
            ]
        else:
            start = {**b, "input": {}}
            js = json.dumps(b["input"])
            half = len(js) // 2
            deltas = [
                {"type": "input_json_delta", "partial_json": js[:half]},
                {"type": "input_json_delta", "partial_json": js[half:]},
            ]
        out.append(
            ev(
                "content_block_start",
                {"type": "content_block_start", "index": i, "content_block": start},
            )
        )
        out += [
            ev("content_block_delta", {"type": "content_block_delta", "index": i, "delta": d})
            for d in deltas
        ]
        out.append(ev("content_block_stop", {"type": "content_block_stop", "index": i}))
    out.append(
        ev(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": msg["stop_reason"], "stop_sequence": None},
                "usage": {"output_tokens": 10},
            },
        )
    )
    out.append(ev("message_stop", {"type": "message_stop"}))
    return "".join(out).encode()


def bench(name: str, fn: Callable[[], object], *, note: str = "", number: int = 2000) -> float:
    """Best-of-5 microseconds per call of ``fn``."""
    fn()
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter_ns()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter_ns() - start) / number / 1000)
    ROWS.append((name, best, note))
    return best


def abench(
    name: str, fn: Callable[[], Awaitable[object]], *, note: str = "", number: int = 1000
) -> float:
    """``bench`` for a coroutine function, awaited in a running asyncio loop."""

    async def main() -> float:
        await fn()
        best = float("inf")
        for _ in range(5):
            start = time.perf_counter_ns()
            for _ in range(number):
                await fn()
            best = min(best, (time.perf_counter_ns() - start) / number / 1000)
        return best

    best = asyncio.run(main())
    ROWS.append((name, best, note))
    return best


# -- fixtures: the objects of turn 2 of a per-turn run ----------------------------------------


@tool(name="work")
async def work(i: int) -> str:
    """Do one unit of work.

    Args:
        i: index of the unit.
    """
    return f"result {i}"


AGENT: Agent[Any] = Agent(
    "claude-sonnet-4-5",
    tools=[work],
    endpoint=Endpoint(base_url="http://127.0.0.1:9/k=1", api_key="x"),
    max_tokens=1024,
)
TOOL_USE_MESSAGE = Message.model_validate(TOOL_USE_RESPONSE)
USE = TOOL_USE_MESSAGE.tool_uses[0]
TRANSCRIPT = [
    MessageParam(role="user", content="Call the work tool as instructed."),
    MessageParam(role="assistant", content=list(TOOL_USE_MESSAGE.content)),
    MessageParam(role="user", content=[ToolResultBlock(tool_use_id=USE.id, content="result 0")]),
]


def new_run() -> Run:
    return AGENT._start("Call the work tool as instructed.", None, None, None, False, None, None)


def request_benches() -> None:
    run = new_run()
    run.transcript = list(TRANSCRIPT)
    client = MessagesClient(Endpoint(base_url="http://127.0.0.1:9", api_key="x"))
    request = run._request(first=False)
    tools = list(AGENT._tool_definitions)

    bench(
        "request: Run._request (MessageRequest(...))",
        lambda: run._request(first=False),
        note="2/run",
    )
    bench(
        "  alt: MessageRequest.model_construct(...)",
        lambda: MessageRequest.model_construct(
            model=AGENT.model, max_tokens=AGENT.max_tokens, messages=run.transcript, tools=tools
        ),
        note="fields are already validated objects",
    )
    bench(
        "body: MessagesClient._body (problems+to_wire+json.dumps)",
        lambda: client._body(request, stream=False),
        note="2/run",
    )
    bench("  part: request.problems()", request.problems)
    bench("  part: request.to_wire() (model_dump mode=json)", request.to_wire)
    wire = request.to_wire()
    bench(
        "  part: json.dumps(wire).encode()",
        lambda: json.dumps(wire, ensure_ascii=False, separators=(",", ":")).encode(),
    )
    bench(
        "  alt: request.model_dump_json(exclude_unset, by_alias)",
        lambda: request.__pydantic_serializer__.to_json(request, exclude_unset=True, by_alias=True),
        note="one pass in Rust, no dict",
    )
    prefix = json.dumps(
        {
            "model": AGENT.model,
            "max_tokens": AGENT.max_tokens,
            "tools": [t.to_wire() for t in tools],
        },
        separators=(",", ":"),
    ).encode()[:-1]
    # At turn 2 the prompt was serialised at turn 1; the assistant turn and the results are new.
    cache: dict[int, bytes] = {
        id(m): m.__pydantic_serializer__.to_json(m, exclude_unset=True, by_alias=True)
        for m in TRANSCRIPT[:1]
    }

    def cached_body() -> bytes:
        # Agent-constant prefix serialised once; each message serialised once, when it is new.
        parts = [
            cache.get(id(m))
            or m.__pydantic_serializer__.to_json(m, exclude_unset=True, by_alias=True)
            for m in TRANSCRIPT
        ]
        return prefix + b',"messages":[' + b",".join(parts) + b"]}"

    bench(
        "  alt: cached prefix + per-message JSON (2 new messages)", cached_body, note="turn 2 cost"
    )
    raw_body = {
        "model": AGENT.model,
        "max_tokens": 1024,
        "tools": [t.to_wire() for t in tools],
        "messages": [m.to_wire() for m in TRANSCRIPT],
    }
    bench("  ref: raw loop json.dumps(dict body)", lambda: json.dumps(raw_body).encode())


def _validate_loaded(raw: bytes) -> Message:
    return Message.model_validate(json.loads(raw))


def response_benches() -> None:
    for label, data in (("tool_use", TOOL_USE_RESPONSE), ("text", TEXT_RESPONSE)):
        raw = json.dumps(data, separators=(",", ":")).encode()
        bench(
            f"parse {label}: json.loads + Message.model_validate",
            functools.partial(_validate_loaded, raw),
            note="1/run each",
        )
        bench(
            "  alt: Message.model_validate_json(raw)",
            functools.partial(Message.model_validate_json, raw),
        )
        bench("  ref: json.loads(raw) only (raw loop)", functools.partial(json.loads, raw))

    class PlainText(BaseModel):
        type: str = "text"
        text: str

    bench(
        "model: TextBlock(text=...) (WireModel: model_post_init hook)",
        lambda: TextBlock(text="x"),
        note="every block, event, message",
    )
    bench("  ref: same fields, no model_post_init", lambda: PlainText(text="x"))
    data = dict(TEXT_RESPONSE)
    bench(
        "model: Message.model_validate (has _request_id PrivateAttr)",
        lambda: Message.model_validate(data),
    )


def per_run_benches() -> None:
    logging.getLogger("toolwire").setLevel(logging.WARNING)
    bench(
        "run: EventLogger(...) while logging is off",
        lambda: EventLogger("run_x", "m", ("x",)),
        note="1/run",
    )
    logger = logging.getLogger("toolwire")
    bench(
        "  alt: check first (is_configured / isEnabledFor)",
        lambda: structlog.is_configured() or logger.isEnabledFor(logging.INFO),
    )
    bench(
        "run: uuid.uuid4().hex[:24] (run_id)", lambda: f"run_{uuid.uuid4().hex[:24]}", note="1/run"
    )
    bench("run: Agent._start(prompt) (transcript + Run)", new_run, note="1/run")
    usage = TOOL_USE_MESSAGE.usage
    bench("turn: Usage + Usage", lambda: usage + usage, note="2/run")
    run = new_run()
    run.transcript = list(TRANSCRIPT)

    def append_and_drop() -> None:
        run._append_assistant(TOOL_USE_MESSAGE, merge=False)
        run.transcript.pop()

    bench(
        "turn: Run._append_assistant",
        append_and_drop,
        note="2/run",
    )
    bench(
        "tool: Context(...) (copies the transcript)",
        lambda: Context(
            deps=None,
            run_id="r",
            tool_use_id=USE.id,
            tool_name="work",
            usage=usage,
            transcript=TRANSCRIPT,
        ),
        note="1/tool call",
    )
    text_msg = Message.model_validate(TEXT_RESPONSE)
    bench("run: Run._result (RunResult)", lambda: run._result(text_msg), note="1/run")


def tool_benches() -> None:
    toolset = AGENT.toolset
    ctx = Context(deps=None, tool_use_id=USE.id, tool_name="work")
    limiter = anyio.CapacityLimiter(16)

    async def direct() -> object:
        return await work.run(USE.input, ctx)

    async def dispatched() -> object:
        return await dispatch([USE], toolset, limiter=limiter, results=[])

    abench("tool: dispatch([use]) one call", dispatched, note="1/tool turn")
    abench("  ref: tool.run(input, ctx) alone", direct, note="validate+call+result block")

    async def bare() -> object:
        return await work.fn(i=0)

    abench("  ref: the function alone", bare)


def stream_benches() -> None:
    body = _sse(TOOL_USE_RESPONSE)
    events = [
        json.loads(line[5:]) for line in body.decode().splitlines() if line.startswith("data:")
    ]
    for data in events:
        kind = data["type"]
        if kind in ("content_block_delta", "message_start"):
            bench(
                f"event: stream_event_adapter.validate_python({kind})",
                functools.partial(stream_event_adapter.validate_python, data),
                note="16 events/run",
            )

    headers = {"content-type": "text/event-stream", "request-id": "req_1"}

    async def toolwire_framing() -> object:
        response = httpx2.Response(
            200,
            headers=headers,
            content=body,
            request=httpx2.Request("POST", "http://x/v1/messages"),
        )
        return [e async for e in aiter_stream_events(response, max_event_bytes=None)]

    async def raw_framing() -> object:
        response = httpx2.Response(
            200,
            headers=headers,
            content=body,
            request=httpx2.Request("POST", "http://x/v1/messages"),
        )
        out = []
        async for line in response.aiter_lines():
            if line.startswith("data:"):
                out.append(json.loads(line[5:]))
        return out

    async def eventsource_only() -> object:
        response = httpx2.Response(
            200,
            headers=headers,
            content=body,
            request=httpx2.Request("POST", "http://x/v1/messages"),
        )
        return [json.loads(e.data) async for e in httpx2.EventSource(response)]

    abench("sse: aiter_stream_events, one response (8 events)", toolwire_framing, note="2/run")
    abench("  part: httpx2.EventSource + json.loads", eventsource_only)
    abench("  ref: raw loop aiter_lines + json.loads", raw_framing)


def runstream_benches() -> None:
    n_events = 28  # run events of a streamed per-turn run: deltas, tool calls, requests

    async def memory_stream(drain: bool) -> None:
        send, receive = anyio.create_memory_object_stream[int](float("inf"))

        async def produce() -> None:
            with send:
                for i in range(n_events):
                    send.send_nowait(i)
                    if i % 7 == 6:
                        await anyio.lowlevel.checkpoint()  # events come in bursts, per response

        async with anyio.create_task_group() as tg:
            tg.start_soon(produce)
            async with receive:
                if not drain:
                    async for _ in receive:
                        pass
                    return
                while True:
                    try:
                        receive.receive_nowait()
                        continue
                    except anyio.WouldBlock:
                        pass
                    except anyio.EndOfStream:
                        return
                    try:
                        await receive.receive()
                    except anyio.EndOfStream:
                        return

    abench(
        "stream: Agent.stream relay, 28 events (task + memory stream)",
        lambda: memory_stream(False),
        note="1/streamed run",
    )
    abench("  alt: same, consumer drains receive_nowait() first", lambda: memory_stream(True))


def http_benches() -> None:
    endpoint = Endpoint(base_url="http://127.0.0.1:9/k=1", api_key="x")
    mc = MessagesClient(endpoint)
    http = mc._http
    content = b"{}" * 300
    url_obj = httpx2.URL(endpoint.url)
    bench(
        "http: build_request(str URL, per-request headers) as _send does",
        lambda: http.build_request("POST", endpoint.url, content=content, headers=mc._headers),
        note="2/run",
    )
    bench(
        "  alt: same with a prebuilt httpx2.URL",
        lambda: http.build_request("POST", url_obj, content=content, headers=mc._headers),
    )
    based = httpx2.AsyncClient(base_url="http://127.0.0.1:9/k=1", headers=mc._headers)
    bench(
        "  ref: raw loop: relative URL, headers on the client",
        lambda: based.build_request("POST", "/v1/messages", content=content),
    )

    payload = json.dumps(TOOL_USE_RESPONSE).encode()

    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, content=payload, headers={"content-type": "application/json"})

    async def streamed_read() -> object:
        response = await client.send(
            client.build_request("POST", "http://x/v1/messages", content=content), stream=True
        )
        try:
            return await mc._read_capped(response)
        finally:
            await response.aclose()

    async def plain_read() -> object:
        response = await client.send(
            client.build_request("POST", "http://x/v1/messages", content=content)
        )
        return response.content

    client = httpx2.AsyncClient(transport=httpx2.MockTransport(handler))
    abench(
        "http: send(stream=True) + _read_capped + aclose (create)",
        streamed_read,
        note="2/run, mock transport",
    )
    abench("  ref: send() reading the body (raw loop)", plain_read)


GROUPS = {
    "request": request_benches,
    "response": response_benches,
    "run": per_run_benches,
    "tool": tool_benches,
    "stream": stream_benches,
    "runstream": runstream_benches,
    "http": http_benches,
}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--only", default="", help="regex on group names: " + ", ".join(GROUPS))
    args = p.parse_args()
    for name, group in GROUPS.items():
        if re.search(args.only, name):
            group()
    width = max(len(r[0]) for r in ROWS)
    print(f"{'case':<{width}}  {'us/call':>8}  note")
    for name, us, note in ROWS:
        print(f"{name:<{width}}  {us:8.2f}  {note}")


if __name__ == "__main__":
    main()
