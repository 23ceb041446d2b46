"""Security: secrets stay secret, a server cannot make the client do too much, tools stay fenced.

- Secrets: runs that succeed and runs that fail (a server echoing the key in an error message,
  an HTML page, a non-JSON body, a request-id header, a stream event, a stop reason) are run
  with structlog configured and, separately, with the standard library logging everything at
  DEBUG; everything they produce (log lines, reprs, exception messages and tracebacks, the
  transcript attached to errors, ``RunResult`` JSON, events, the command line's output and
  saved transcript) is searched for the API key and the bearer token, and for any 12-character
  piece of them.
- Limits: a 50 MB body (declared or not), a 50 MB error page, a 50 MB stream event: each is a
  typed error after reading about as much as the cap allows, with bounded memory. Tool results
  are capped. Redirects are refused, to the same host or another, and the other host never
  sees a request, even with an ``httpx2`` client that follows redirects.
- Tools: input is validated before any tool code runs, and a tool that was not given to the
  run is never called, whatever the model asks.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import textwrap
import traceback
import tracemalloc
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx2
import pytest
import structlog

from toolwire import (
    Agent,
    APIConnectionError,
    APIResponseError,
    APIStatusError,
    AuthenticationError,
    Context,
    Endpoint,
    InternalServerError,
    MessageRequest,
    MessagesClient,
    ResponseTooLargeError,
    RunResult,
    StreamIncompleteError,
    ToolwireError,
    UnexpectedStopReason,
    tool,
)
from toolwire.testing import FAKE_BASE_URL, FakeMessagesAPI, Fault, ScriptEntry, reply, tool_call

ROOT = Path(__file__).resolve().parent.parent
KEY = "sk-ant-api03-Zq8Vw3Lk9Pd2Rx7Tn4Hb6Jc1Mf5Gy0Ns8Ue3Oa7Ki2Xl"
TOKEN = "tok-Wm4Qe8Ry2Uz6Io0Pa3Sd7Fg1Hj5Kl9Zx2Cv6Bn0Mq4"
SECRETS = (KEY, TOKEN)
# The key's first 13 characters are the public "sk-ant-api03-" every key starts with.
PUBLIC_PREFIX = {KEY: 13, TOKEN: 4}
SSE = {"content-type": "text/event-stream; charset=utf-8"}
JSON = {"content-type": "application/json"}
MB = 1024 * 1024


def leaks(text: str) -> list[str]:
    """Every secret of which ``text`` holds any 12-character piece (past its public prefix)."""
    found = []
    for secret in SECRETS:
        start = PUBLIC_PREFIX[secret]
        pieces = (secret[i : i + 12] for i in range(start, len(secret) - 11))
        if any(piece in text for piece in pieces):
            found.append(secret)
    return found


def error_texts(exc: BaseException) -> list[str]:
    """Everything an exception shows: message, repr, traceback, text attributes, transcript."""
    texts = [str(exc), repr(exc), "".join(traceback.format_exception(exc)), repr(exc.args)]
    texts += [value for value in vars(exc).values() if isinstance(value, str)]
    transcript = getattr(exc, "transcript", None)
    if transcript:
        texts.append(json.dumps([m.to_wire() for m in transcript]))
    return texts


class Captured:
    """Everything a scenario produced that a person or a log pipeline could see."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    def add(self, *texts: str) -> None:
        self.texts.extend(texts)

    def assert_clean(self) -> None:
        joined = "\n".join(self.texts)
        assert joined, "nothing was captured"
        assert leaks(joined) == [], "a secret leaked"


# -- where log lines go ----------------------------------------------------------------------------


@contextmanager
def structlog_capture(captured: Captured) -> Iterator[None]:
    """structlog configured by the application, every line (and traceback) captured."""

    def collect(logger: Any, method: str, event_dict: Any) -> Any:
        captured.add(repr(event_dict))
        error = event_dict.get("exc_info")
        if isinstance(error, BaseException):
            captured.add("".join(traceback.format_exception(error)))
        raise structlog.DropEvent

    structlog.configure(processors=[collect])
    try:
        yield
    finally:
        structlog.reset_defaults()


class _Collect(logging.Handler):
    def __init__(self, captured: Captured) -> None:
        super().__init__(logging.DEBUG)
        self.captured = captured
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.captured.add(self.format(record))


@contextmanager
def stdlib_capture(captured: Captured) -> Iterator[None]:
    """The standard library logging every logger at DEBUG (httpx2's and its pool's too)."""
    root = logging.getLogger()
    handler = _Collect(captured)
    levels = {name: logging.getLogger(name).level for name in ("", "toolwire")}
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    logging.getLogger("toolwire").setLevel(logging.DEBUG)
    try:
        yield
    finally:
        root.removeHandler(handler)
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


LOGGING: dict[str, Callable[[Captured], Any]] = {
    "structlog": structlog_capture,
    "stdlib": stdlib_capture,
}

# -- a run that succeeds, with a tool that fails ---------------------------------------------------


@tool
def lookup(city: str, ctx: Context) -> str:
    """Look up a city; fails for Atlantis.

    Args:
        city: City name.
    """
    if city == "Atlantis":
        raise ValueError(f"no such city: {city}")
    return f"{city}: sunny, context {ctx!r}"


def client_for(api: FakeMessagesAPI, auth: str, **options: Any) -> MessagesClient:
    if auth == "x-api-key":
        endpoint = Endpoint(FAKE_BASE_URL, api_key=KEY)
    else:
        endpoint = Endpoint(FAKE_BASE_URL, auth_token=TOKEN)
    return MessagesClient(endpoint, transport=api.transport(), max_retries=0, **options)


@pytest.mark.anyio
@pytest.mark.parametrize("logs", sorted(LOGGING))
@pytest.mark.parametrize("auth", ["x-api-key", "bearer"])
@pytest.mark.parametrize("streamed", [False, True], ids=["json", "stream"])
async def test_a_successful_run_shows_no_secret(logs: str, auth: str, streamed: bool) -> None:
    api = FakeMessagesAPI(
        [
            reply("Checking.", tool_call("lookup", {"city": "Paris"})),
            reply(tool_call("lookup", {"city": "Atlantis"})),
            reply("Paris is sunny."),
        ],
        api_key=KEY if auth == "x-api-key" else TOKEN,
    )
    captured = Captured()
    client = client_for(api, auth)
    agent = Agent("claude-sonnet-4-5", tools=[lookup], client=client, stream=streamed)
    with LOGGING[logs](captured):
        events = []
        async with agent.stream("Weather in Paris?") as run:
            async for event in run:
                events.append(event)
        result = run.result
    assert result.text == "Paris is sunny."
    assert len(api.requests) == 3
    sent = api.requests[1].headers
    secret = KEY if auth == "x-api-key" else TOKEN
    assert secret in (sent.get("x-api-key"), sent.get("authorization", "").removeprefix("Bearer "))
    assert "ValueError: no such city: Atlantis" in json.dumps(result.transcript_json())
    captured.add(*map(repr, events), result.to_json(), result.model_dump_json())
    captured.add(json.dumps(result.transcript_json()), repr(result))
    captured.add(repr(agent), repr(client), repr(client.endpoint), repr(api))
    if logs == "stdlib":
        # The run logged its requests and the failed tool's traceback, and httpx2 its requests.
        assert any("toolwire.tool_call" in t for t in captured.texts)
        assert any("no such city" in t for t in captured.texts)
    else:
        assert any("toolwire.response" in t for t in captured.texts)
    captured.assert_clean()
    await client.aclose()


# -- runs that fail, the server echoing the secret back --------------------------------------------


def _error(kind: str, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": kind, "message": message}}


def _stream(*events: dict[str, Any]) -> str:
    return "".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n" for e in events)


_START = {
    "type": "message_start",
    "message": {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "m",
        "content": [],
        "usage": {"input_tokens": 1, "output_tokens": 1},
    },
}


def echo_faults(secret: str) -> dict[str, tuple[Fault, bool, type[ToolwireError]]]:
    """Responses that carry ``secret`` back, whether the request is streamed, the error due."""
    # The secret at many offsets: wherever an excerpt of the body is cut, it cuts through one.
    spread = " ".join("x" * offset + secret for offset in (0, 23, 41, 67, 89, 113, 137, 151))
    return {
        "401-message": (
            Fault.raw(401, JSON, _error("authentication_error", f"invalid x-api-key: {secret}")),
            False,
            AuthenticationError,
        ),
        "html-page": (
            Fault.raw(503, {"content-type": "text/html"}, f"<p>{spread}</p>"),
            False,
            InternalServerError,
        ),
        "non-json-200": (
            Fault.raw(200, {"content-type": "text/plain"}, f"echo: {spread}"),
            False,
            APIResponseError,
        ),
        "request-id": (
            Fault.raw(400, {**JSON, "request-id": secret}, _error("invalid_request_error", "no")),
            False,
            APIStatusError,
        ),
        "stop-reason": (
            Fault.raw(
                200,
                JSON,
                {
                    "id": "msg_1",
                    "type": "message",
                    "role": "assistant",
                    "model": "m",
                    "content": [{"type": "text", "text": "hi"}],
                    "stop_reason": secret,
                    "usage": {"input_tokens": 1, "output_tokens": 1},
                },
            ),
            False,
            UnexpectedStopReason,
        ),
        "stream-error-event": (
            Fault.raw(200, SSE, _stream(_START, _error("authentication_error", secret))),
            True,
            AuthenticationError,
        ),
        "stream-bad-data": (
            Fault.raw(200, SSE, f"event: message_start\ndata: {spread}\n\n"),
            True,
            APIResponseError,
        ),
        "stream-cut-data": (
            Fault.raw(200, SSE, f'event: message_start\ndata: {{"a": "{spread}'),
            True,
            StreamIncompleteError,
        ),
        "stream-stop-reason": (
            Fault.raw(
                200,
                SSE,
                _stream(
                    _START,
                    {"type": "message_delta", "delta": {"stop_reason": secret}, "usage": {}},
                ),
            ),
            True,
            StreamIncompleteError,
        ),
    }


@pytest.mark.anyio
@pytest.mark.parametrize("logs", sorted(LOGGING))
@pytest.mark.parametrize("auth", ["x-api-key", "bearer"])
@pytest.mark.parametrize("case", sorted(echo_faults("")))
async def test_a_server_echoing_the_secret_cannot_make_it_show(
    case: str, auth: str, logs: str
) -> None:
    secret = KEY if auth == "x-api-key" else TOKEN
    fault, streamed, expected = echo_faults(secret)[case]
    api = FakeMessagesAPI([reply(tool_call("lookup", {"city": "Paris"})), fault], api_key=secret)
    captured = Captured()
    client = client_for(api, auth)
    agent = Agent("claude-sonnet-4-5", tools=[lookup], client=client, stream=streamed)
    with LOGGING[logs](captured), pytest.raises(ToolwireError) as caught:
        await agent.run("Weather in Paris?")
    error = caught.value
    assert isinstance(error, expected), repr(error)
    assert len(api.requests) == 2
    assert error.transcript is not None
    assert len(error.transcript) >= 3
    captured.add(*error_texts(error), repr(agent), repr(client))
    captured.assert_clean()
    await client.aclose()


@pytest.mark.anyio
async def test_the_echoed_secret_is_replaced_where_it_was() -> None:
    fault, _, _ = echo_faults(KEY)["401-message"]
    api = FakeMessagesAPI([fault])
    client = client_for(api, "x-api-key")
    with pytest.raises(AuthenticationError) as caught:
        await client.create(request())
    assert "invalid x-api-key: [redacted]" in str(caught.value)
    assert caught.value.message == "invalid x-api-key: [redacted]"


@pytest.mark.anyio
async def test_a_refused_connection_shows_no_secret(free_port: int) -> None:
    endpoint = Endpoint(f"http://127.0.0.1:{free_port}", auth_token=TOKEN)
    captured = Captured()
    async with MessagesClient(endpoint, max_retries=0) as client:
        agent = Agent("claude-sonnet-4-5", client=client)
        with stdlib_capture(captured), pytest.raises(APIConnectionError) as caught:
            await agent.run("hi")
    captured.add(*error_texts(caught.value))
    captured.assert_clean()


@pytest.fixture
def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def request(**fields: Any) -> MessageRequest:
    return MessageRequest(
        model="claude-sonnet-4-5",
        max_tokens=64,
        messages=[{"role": "user", "content": "hi"}],
        **fields,
    )


# -- the command line ------------------------------------------------------------------------------

_AGENT_FILE = '''
from toolwire import Agent, tool


@tool
def lookup(city: str) -> str:
    """Look up a city."""
    return f"{city}: sunny"


agent = Agent("claude-sonnet-4-5", tools=[lookup], max_tokens=256)
'''


def run_cli(base_url: str, tmp_path: Path, *argv: str) -> tuple[int, str, str]:
    (tmp_path / "agent.py").write_text(textwrap.dedent(_AGENT_FILE), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANTHROPIC_")}
    env.update(ANTHROPIC_BASE_URL=base_url, ANTHROPIC_API_KEY=KEY)
    done = subprocess.run(
        [sys.executable, "-m", "toolwire.cli", "run", str(tmp_path / "agent.py"), *argv],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
        check=False,
    )
    return done.returncode, done.stdout, done.stderr


@pytest.mark.parametrize("outcome", ["success", "echoed-401"])
def test_the_command_line_shows_no_secret(outcome: str, tmp_path: Path) -> None:
    script: list[ScriptEntry]
    if outcome == "success":
        script = [reply(tool_call("lookup", {"city": "Paris"})), reply("Sunny in Paris.")]
    else:
        script = [
            reply(tool_call("lookup", {"city": "Paris"})),
            Fault.status(401, message=f"invalid x-api-key {KEY}"),
        ]
    api = FakeMessagesAPI(script, api_key=KEY)
    saved = tmp_path / "transcript.json"
    captured = Captured()
    # A success prints the result as JSON (the transcript in it); a failure the error with its
    # traceback (--debug). Both save the transcript.
    flags = ["--json"] if outcome == "success" else ["--plain", "--debug"]
    with api.serve() as base_url:
        code, out, err = run_cli(
            base_url, tmp_path, "Weather in Paris?", "--save", str(saved), *flags
        )
    captured.add(out, err, saved.read_text(encoding="utf-8"))
    assert code == (0 if outcome == "success" else 1), out + err
    assert api.requests[0].headers["x-api-key"] == KEY
    if outcome == "echoed-401":
        assert "AuthenticationError" in err
        assert "Traceback" in err
    else:
        assert json.loads(out)["text"] == "Sunny in Paris."
    captured.assert_clean()


# -- limits: what a server can make the client read ------------------------------------------------


class LazyBody(httpx2.AsyncByteStream):
    """``total`` bytes made on demand in 64 KiB pieces, counting how many were taken."""

    def __init__(self, total: int, head: bytes = b"", filler: bytes = b"x") -> None:
        self.total = total
        self.head = head
        self.filler = filler
        self.taken = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        piece = (self.filler * (65536 // len(self.filler) + 1))[:65536]
        if self.head:
            self.taken += len(self.head)
            yield self.head
        while self.taken < self.total:
            self.taken += len(piece)
            yield piece


def lazy_client(
    status: int, headers: dict[str, str], body: LazyBody, **options: Any
) -> MessagesClient:
    def answer(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(status, headers=headers, stream=body)

    endpoint = Endpoint(FAKE_BASE_URL, api_key=KEY)
    return MessagesClient(
        endpoint, transport=httpx2.MockTransport(answer), max_retries=0, **options
    )


@contextmanager
def peak_memory() -> Iterator[list[int]]:
    """Yields a list that receives the peak traced allocation of the block, in bytes."""
    peak: list[int] = []
    tracemalloc.start()
    try:
        yield peak
    finally:
        peak.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()


@pytest.mark.anyio
@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
async def test_a_50_mb_body_is_refused_after_at_most_the_cap(declared: bool) -> None:
    body = LazyBody(50 * MB, head=b'{"id": "msg_1", "type": "message", "content": [{"text": "')
    headers = {**JSON, **({"content-length": str(50 * MB)} if declared else {})}
    async with lazy_client(200, headers, body, max_response_bytes=MB) as client:
        with peak_memory() as peak, pytest.raises(ResponseTooLargeError) as caught:
            await client.create(request())
    assert "1048576-byte limit" in str(caught.value)
    # Declared: refused before reading the body. Chunked: stopped at the first piece past the cap.
    assert body.taken <= (0 if declared else MB + 65536 + len(body.head))
    assert peak[0] < 8 * MB


@pytest.mark.anyio
async def test_a_50_mb_error_page_is_read_only_in_part() -> None:
    body = LazyBody(50 * MB, head=b"<html><body>", filler=b"<p>proxy error</p>")
    async with lazy_client(502, {"content-type": "text/html"}, body) as client:
        with peak_memory() as peak, pytest.raises(InternalServerError) as caught:
            await client.create(request())
    assert caught.value.status_code == 502
    assert body.taken <= MB + 65536 + len(body.head)
    assert peak[0] < 8 * MB


@pytest.mark.anyio
async def test_a_50_mb_stream_event_is_refused_after_at_most_the_event_cap() -> None:
    head = (
        b"event: message_start\n"
        + f"data: {json.dumps(_START)}\n\n".encode()
        + b'event: content_block_delta\ndata: {"type": "content_block_delta", "text": "'
    )
    body = LazyBody(50 * MB, head=head)
    async with lazy_client(200, SSE, body, max_event_bytes=MB) as client:
        with peak_memory() as peak, pytest.raises(ResponseTooLargeError) as caught:
            async with client.stream(request()) as stream:
                await stream.final_message()
    assert "1048576-byte limit for one event" in str(caught.value)
    assert body.taken <= MB + 2 * 65536 + len(head)
    assert peak[0] < 12 * MB


@pytest.mark.anyio
async def test_the_size_caps_are_configurable_and_default_to_bounds() -> None:
    client = MessagesClient(Endpoint(FAKE_BASE_URL, api_key=KEY))
    assert 0 < client.max_response_bytes <= 64 * MB
    assert 0 < client.max_event_bytes <= client.max_response_bytes
    await client.aclose()
    small = FakeMessagesAPI([reply("x" * 5000)])
    async with small.client(max_response_bytes=2000) as capped:
        with pytest.raises(ResponseTooLargeError):
            await capped.create(request())


@pytest.mark.anyio
@pytest.mark.parametrize("streamed", [False, True], ids=["json", "stream"])
async def test_tool_results_are_capped(streamed: bool) -> None:
    @tool
    def dump() -> str:
        """Return a lot of text."""
        return "A" * 2_000_000

    @tool(max_result_chars=300)
    def small_dump() -> str:
        """Return a lot of text, under a tool's own cap."""
        return "B" * 50_000

    api = FakeMessagesAPI(
        [reply(tool_call("dump", {}), tool_call("small_dump", {})), reply("Done.")]
    )
    agent = Agent(
        "claude-sonnet-4-5",
        tools=[dump, small_dump],
        client=api.client(),
        stream=streamed,
        max_result_chars=5000,
    )
    await agent.run("Dump.")
    results = api.requests[1].body["messages"][-1]["content"]
    big, small = (r["content"] for r in results)
    assert len(big) <= 5000
    assert "characters dropped" in big
    assert big.startswith("AAAA")
    assert big.endswith("AAAA")
    assert len(small) <= 300
    assert "characters dropped" in small
    api.assert_valid()


# -- redirects -------------------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("status", [302, 307])
@pytest.mark.parametrize("follows", [False, True], ids=["own-client", "following-http-client"])
async def test_a_redirect_to_another_host_is_refused_and_the_other_host_sees_nothing(
    status: int, follows: bool
) -> None:
    other = FakeMessagesAPI([reply("never asked")])
    with other.serve() as other_url:
        first = FakeMessagesAPI(
            [Fault.raw(status, {"location": f"{other_url}/v1/messages"})], api_key=KEY
        )
        with first.serve() as url:
            http = httpx2.AsyncClient(follow_redirects=True) if follows else None
            client = MessagesClient(Endpoint(url, api_key=KEY), http_client=http)
            agent = Agent("claude-sonnet-4-5", client=client)
            with pytest.raises(APIResponseError) as caught:
                await agent.run("hi")
            await client.aclose()
            if http is not None:
                await http.aclose()
    assert "redirect" in str(caught.value)
    assert "127.0.0.1" in str(caught.value)
    assert len(first.requests) == 1
    assert other.requests == []


@pytest.mark.anyio
async def test_a_redirect_to_the_same_host_is_refused_too() -> None:
    api = FakeMessagesAPI([Fault.raw(307, {"location": f"{FAKE_BASE_URL}/v2/messages"})])
    async with api.client() as client:
        with pytest.raises(APIResponseError, match="redirects are not followed"):
            await client.create(request())
    assert len(api.requests) == 1


# -- tools: validated before they run, and only the run's own --------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("streamed", [False, True], ids=["json", "stream"])
async def test_invalid_input_never_reaches_a_tool_with_side_effects(streamed: bool) -> None:
    transfers: list[tuple[str, int]] = []

    @tool
    def transfer(account: str, amount: int) -> str:
        """Move money.

        Args:
            account: The account to pay.
            amount: Whole euros, more than zero.
        """
        transfers.append((account, amount))
        return "done"

    bad_inputs: list[dict[str, Any]] = [
        {"account": "A1", "amount": "lots"},
        {"account": "A1"},
        {"account": "A1", "amount": 5, "admin": True},
        {"account": ["A1"], "amount": 5},
        {"account": "A1", "amount": 2.5},
    ]
    api = FakeMessagesAPI(
        [
            reply(*(tool_call("transfer", data) for data in bad_inputs)),
            reply(tool_call("transfer", {"account": "A1", "amount": 5})),
            reply("Paid."),
        ]
    )
    agent = Agent("claude-sonnet-4-5", tools=[transfer], client=api.client(), stream=streamed)
    transfer.max_retries = len(bad_inputs)
    result = await agent.run("Pay A1 five euros.")
    assert result.text == "Paid."
    assert transfers == [("A1", 5)]
    feedback = api.requests[1].body["messages"][-1]["content"]
    assert [r.get("is_error") for r in feedback] == [True] * len(bad_inputs)
    texts = [r["content"] for r in feedback]
    assert all(t.startswith("Invalid input for transfer: ") for t in texts)
    assert "amount: expected an integer, got 'lots'" in texts[0]
    assert "amount: missing required field" in texts[1]
    assert "admin: unexpected field" in texts[2]
    assert "account: expected a string" in texts[3]
    assert "amount" in texts[4]
    api.assert_valid()


@pytest.mark.anyio
async def test_a_tool_input_that_is_not_an_object_never_reaches_a_tool() -> None:
    calls: list[Any] = []

    @tool
    def record(value: int) -> str:
        """Record a value."""
        calls.append(value)
        return "ok"

    message = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "m",
        "content": [{"type": "tool_use", "id": "toolu_1", "name": "record", "input": [1, 2]}],
        "stop_reason": "tool_use",
        "usage": {"input_tokens": 1, "output_tokens": 1},
    }
    api = FakeMessagesAPI([Fault.raw(200, JSON, message)])
    agent = Agent("claude-sonnet-4-5", tools=[record], client=api.client())
    with pytest.raises(APIResponseError, match="input"):
        await agent.run("Record.")
    assert calls == []


@tool
def delete_everything() -> str:
    """A dangerous tool that exists in the process but is given to no agent."""
    raise AssertionError("delete_everything was called")


@pytest.mark.anyio
@pytest.mark.parametrize("name", ["delete_everything", "lookup_", "LOOKUP", "final_answer"])
async def test_a_model_cannot_call_a_tool_that_was_not_given_to_the_run(name: str) -> None:
    api = FakeMessagesAPI(
        [
            reply(tool_call(name, {}), tool_call("lookup", {"city": "Oslo"})),
            reply("I only have lookup."),
        ]
    )
    agent = Agent("claude-sonnet-4-5", tools=[lookup], client=api.client())
    result = await agent.run("Clean up.")
    assert result.text == "I only have lookup."
    unknown, known = api.requests[1].body["messages"][-1]["content"]
    assert unknown["is_error"] is True
    assert name in unknown["content"]
    assert "lookup" in unknown["content"]  # the model is told what it can call
    assert known.get("is_error") is None
    assert known["content"].startswith("Oslo: sunny")
    assert [t["name"] for t in api.requests[0].body["tools"]] == ["lookup"]
    api.assert_valid()


def test_captured_text_is_searched_for_pieces_of_secrets() -> None:
    assert leaks(f"key={KEY}") == [KEY]
    assert leaks(f"...{KEY[20:40]}...") == [KEY]
    assert leaks(f"Bearer {TOKEN[:20]}") == [TOKEN]
    assert leaks("sk-ant-api03-") == []
    assert leaks("[redacted]") == []
    result: RunResult[Any] = RunResult(run_id="r", text="t", messages=[])
    assert leaks(result.to_json()) == []
