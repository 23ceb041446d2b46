"""``toolwire run`` and ``toolwire tools`` driven in-process through ``main([...])``.

Every run talks to the fake Messages API served on 127.0.0.1, reached through the same
``ANTHROPIC_BASE_URL`` / ``ANTHROPIC_API_KEY`` variables a user would set.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import socket
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from io import StringIO
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from toolwire import Agent, MessageRequest
from toolwire.cli import main
from toolwire.cli._commands import _view_for
from toolwire.cli._parser import build_parser
from toolwire.cli._plain import PlainView, QuietView
from toolwire.cli._view import LiveView
from toolwire.testing import (
    FakeMessagesAPI,
    Fault,
    RecordedRequest,
    Reply,
    check_request,
    load_script,
    reply,
    tool_call,
)

AGENTS = Path(__file__).parent / "cli_agents"
PARALLEL = str(AGENTS / "parallel_agent.py")
KEY = "sk-cli-test-key-0123456789"

DEAD_URL = "http://127.0.0.1:9"  # the discard port: nothing answers there


class Script:
    """The replies of the module's fake API for one test, handed out one per request."""

    def __init__(self) -> None:
        self.entries: deque[Reply] = deque()
        self._lock = threading.Lock()  # the server answers from its own thread

    def __call__(self, request: MessageRequest) -> Reply:
        with self._lock:
            if self.entries:
                return self.entries.popleft()
        return Fault.status(400, message="the test's script has no reply left")


class Fake:
    """The module's fake API as one test sees it: the requests since the test began."""

    def __init__(self, api: FakeMessagesAPI, script: Script) -> None:
        self.api = api
        self.script = script
        self.first = len(api.requests)
        self.first_violation = len(api.violations)

    @property
    def requests(self) -> list[RecordedRequest]:
        return self.api.requests[self.first :]

    @property
    def last_request(self) -> RecordedRequest:
        assert self.requests, "no request reached the fake API"
        return self.requests[-1]

    @property
    def remaining(self) -> int:
        return len(self.script.entries)

    def assert_valid(self) -> None:
        assert self.api.violations[self.first_violation :] == []


Start = Callable[..., Fake]


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[FakeMessagesAPI, Script, str]]:
    """One fake Messages API on loopback for the module (a server is not free to start)."""
    script = Script()
    api = FakeMessagesAPI([script], cycle=True)
    with api.serve() as base_url:
        yield api, script, base_url


@pytest.fixture
def fake(
    served: tuple[FakeMessagesAPI, Script, str], monkeypatch: pytest.MonkeyPatch
) -> Iterator[Start]:
    """Give the fake API a script for this test; point the environment at it."""
    api, script, base_url = served
    monkeypatch.setenv("ANTHROPIC_BASE_URL", base_url)
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    monkeypatch.delenv("ANTHROPIC_AUTH_TOKEN", raising=False)

    def start(*entries: Reply) -> Fake:
        script.entries = deque(entries)
        return Fake(api, script)

    yield start
    script.entries.clear()


@pytest.fixture
def dead_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    """An environment whose endpoint answers nothing: a run that got that far would fail 1."""
    monkeypatch.setenv("ANTHROPIC_BASE_URL", DEAD_URL)
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    monkeypatch.delenv("ANTHROPIC_AUTH_TOKEN", raising=False)


@pytest.fixture
def guarded(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], FakeMessagesAPI]]:
    """A fake API of the test's own that wants the key ``key``; the environment sends ``KEY``."""
    with ExitStack() as stack:

        def start(key: str) -> FakeMessagesAPI:
            api = FakeMessagesAPI([reply("unreachable")], api_key=key)
            monkeypatch.setenv("ANTHROPIC_BASE_URL", stack.enter_context(api.serve()))
            monkeypatch.delenv("ANTHROPIC_AUTH_TOKEN", raising=False)
            return api

        yield start


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def load(path: Path) -> ModuleType:
    """A fresh copy of a test agent module, loaded the way the command line loads it."""
    spec = importlib.util.spec_from_file_location(f"expected_{path.stem}", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def valid(messages: list[dict[str, Any]]) -> bool:
    return check_request({"model": "m", "max_tokens": 1, "messages": messages}) == []


WEATHER_TURN = reply(
    "Checking both.",
    tool_call("get_weather", {"city": "Paris"}, id="toolu_paris"),
    tool_call("get_weather", {"city": "Tokyo"}, id="toolu_tokyo"),
)
ANSWER = reply("Paris 21°C, Tokyo 18°C.")


# -- run: what it shows ----------------------------------------------------------------------


def test_run_prints_text_tool_lines_and_summary(
    fake: Start, capsys: pytest.CaptureFixture[str]
) -> None:
    api = fake(WEATHER_TURN, ANSWER)
    code, out, err = run_cli(capsys, "run", PARALLEL, "Weather in Paris and Tokyo?")

    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == "Checking both."
    # Each call waits for the other to start: both start lines come before either result.
    assert lines[1:3] == [
        '[tool] get_weather(city="Paris") started',
        '[tool] get_weather(city="Tokyo") started',
    ]
    finished = sorted(re.sub(r" in \S+$", "", line) for line in lines[3:5])
    assert finished == [
        '[tool] get_weather(city="Paris") ok',
        '[tool] get_weather(city="Tokyo") ok',
    ]
    assert lines[5] == "Paris 21°C, Tokyo 18°C."
    assert re.fullmatch(
        r"\[done\] end_turn, 2 turns, 2 tool calls, [\d,]+ input / [\d,]+ output tokens, \S+",
        lines[6],
    )
    assert len(lines) == 7
    api.assert_valid()
    results = api.last_request.body["messages"][2]["content"]
    assert [r["tool_use_id"] for r in results] == ["toolu_paris", "toolu_tokyo"]


def test_the_weather_demo_runs_its_script(
    fake: Start, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WEATHER_DELAY", "0")
    api = fake(*load_script(AGENTS / "weather_script.json"))
    code, out, err = run_cli(capsys, "run", str(AGENTS / "weather.py"), "Paris and Tokyo?")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == "I'll check the weather and the local time in both cities."
    assert lines[1:4] == [
        '[tool] get_weather(city="Paris") started',
        '[tool] get_weather(city="Tokyo") started',
        '[tool] local_time(city="Tokyo") started',
    ]
    assert sorted(line.split(" ok in ")[0] for line in lines[4:7]) == [
        '[tool] get_weather(city="Paris")',
        '[tool] get_weather(city="Tokyo")',
        '[tool] local_time(city="Tokyo")',
    ]
    assert lines[7:9] == [
        "Paris: 21°C, sunny enough for a walk.",
        "Tokyo: 18°C, and it is 21:05 there, so evening already.",
    ]
    assert lines[9].startswith("[done] end_turn, 2 turns, 3 tool calls, ")
    assert len(lines) == 10
    api.assert_valid()
    assert api.remaining == 0


def test_summary_counts_the_tokens_of_every_request(
    fake: Start, capsys: pytest.CaptureFixture[str]
) -> None:
    usage = {"input_tokens": 1200, "output_tokens": 30}
    fake(
        reply(tool_call("fail", {"reason": "a"}), usage=usage),
        reply(tool_call("fail", {"reason": "b"}), usage=usage),
        reply("done", usage={"input_tokens": 1500, "output_tokens": 5}),
    )
    code, out, _ = run_cli(capsys, "run", PARALLEL, "go")
    assert code == 0
    assert out.splitlines()[-1].startswith(
        "[done] end_turn, 3 turns, 2 tool calls, 3,900 input / 65 output tokens, "
    )


def test_a_failing_tool_shows_error_and_its_reason(
    fake: Start, capsys: pytest.CaptureFixture[str]
) -> None:
    fake(reply(tool_call("fail", {"reason": "disk full"})), reply("Sorry, no luck."))
    code, out, _ = run_cli(capsys, "run", PARALLEL, "try it")
    assert code == 0
    (line,) = [x for x in out.splitlines() if " error in " in x]
    assert re.fullmatch(
        r'\[tool\] fail\(reason="disk full"\) error in \S+: tool_error: could not do it: disk full',
        line,
    )
    assert "Sorry, no luck." in out


def test_json_prints_the_run_result(fake: Start, capsys: pytest.CaptureFixture[str]) -> None:
    fake(WEATHER_TURN, ANSWER)
    code, out, err = run_cli(capsys, "run", PARALLEL, "Weather?", "--json")
    assert (code, err) == (0, "")
    data = json.loads(out)  # nothing but the JSON on stdout
    assert data["text"] == "Paris 21°C, Tokyo 18°C."
    assert data["stop_reason"] == "end_turn"
    assert (data["turns"], data["tool_calls"]) == (2, 2)
    assert data["usage"]["input_tokens"] > 0
    assert data["usage"]["output_tokens"] > 0
    messages = data["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "user", "assistant"]
    assert messages[0]["content"] == "Weather?"
    assert [b["tool_use_id"] for b in messages[2]["content"]] == ["toolu_paris", "toolu_tokyo"]
    assert valid(messages)


def test_model_and_max_tokens_overrides_reach_the_request(
    fake: Start, capsys: pytest.CaptureFixture[str]
) -> None:
    api = fake(reply("ok"))
    code, _, _ = run_cli(
        capsys, "run", PARALLEL, "hi", "--model", "claude-other", "--max-tokens", "77"
    )
    assert code == 0
    body = api.last_request.body
    assert (body["model"], body["max_tokens"]) == ("claude-other", 77)


def test_prompt_from_stdin(
    fake: Start, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    api = fake(reply("ok"))
    monkeypatch.setattr(sys, "stdin", StringIO("a prompt\nover two lines\n"))
    code, _, _ = run_cli(capsys, "run", PARALLEL, "-")
    assert code == 0
    assert api.last_request.body["messages"][0]["content"] == "a prompt\nover two lines\n"


# -- run: save and resume --------------------------------------------------------------------


def test_save_then_resume_continues_the_same_transcript(
    fake: Start, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    saved = tmp_path / "chat.json"
    fake(WEATHER_TURN, ANSWER)
    code, _, _ = run_cli(capsys, "run", PARALLEL, "Weather?", "--save", str(saved))
    assert code == 0
    first = json.loads(saved.read_text(encoding="utf-8"))
    assert [m["role"] for m in first] == ["user", "assistant", "user", "assistant"]
    assert first[3]["content"] == [{"type": "text", "text": "Paris 21°C, Tokyo 18°C."}]
    assert valid(first)

    api = fake(reply("Rome is 25°C."))
    code, out, _ = run_cli(
        capsys, "run", PARALLEL, "And Rome?", "--resume", str(saved), "--save", str(saved)
    )
    assert code == 0
    assert "Rome is 25°C." in out
    sent = api.last_request.body["messages"]
    assert sent[:4] == first
    assert sent[4] == {"role": "user", "content": "And Rome?"}
    second = json.loads(saved.read_text(encoding="utf-8"))
    assert second[:5] == sent
    assert len(second) == 6
    assert valid(second)


def test_resume_reads_the_json_output_too(
    fake: Start, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    fake(reply("first"))
    code, out, _ = run_cli(capsys, "run", PARALLEL, "one", "--json")
    assert code == 0
    result = tmp_path / "result.json"
    result.write_text(out, encoding="utf-8")
    api = fake(reply("second"))
    code, _, _ = run_cli(capsys, "run", PARALLEL, "two", "--resume", str(result))
    assert code == 0
    assert [m["content"] for m in api.last_request.body["messages"]] == [
        "one",
        [{"type": "text", "text": "first"}],
        "two",
    ]


def test_resume_without_a_prompt_continues_an_unanswered_transcript(
    fake: Start, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    unanswered = [{"role": "user", "content": "Still there?"}]
    saved = tmp_path / "t.json"
    saved.write_text(json.dumps(unanswered), encoding="utf-8")
    api = fake(reply("Yes."))
    code, out, _ = run_cli(capsys, "run", PARALLEL, "--resume", str(saved))
    assert code == 0
    assert out.startswith("Yes.\n")
    assert api.last_request.body["messages"] == unanswered


def test_a_failed_run_prints_one_line_and_leaks_no_key(
    guarded: Callable[[str], FakeMessagesAPI],
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    secret = "sk-ant-wrong-key-must-never-be-printed"
    api = guarded("sk-the-right-key-0000000000")
    monkeypatch.setenv("ANTHROPIC_API_KEY", secret)
    saved = tmp_path / "failed.json"
    code, out, err = run_cli(capsys, "run", PARALLEL, "hello", "--save", str(saved))

    assert code == 1
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith("toolwire: error: AuthenticationError: 401 authentication_error: ")
    assert err.endswith(f"; transcript saved to {saved}\n")
    assert secret not in out + err
    assert json.loads(saved.read_text(encoding="utf-8")) == [{"role": "user", "content": "hello"}]
    assert api.remaining == 1


def test_debug_shows_the_traceback_without_the_key(
    guarded: Callable[[str], FakeMessagesAPI],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    secret = "sk-ant-another-wrong-key-never-shown"
    guarded("sk-the-right-key-0000000000")
    monkeypatch.setenv("ANTHROPIC_API_KEY", secret)
    code, _, err = run_cli(capsys, "run", PARALLEL, "hello", "--debug")
    assert code == 1
    assert "Traceback (most recent call last)" in err
    assert err.splitlines()[-1].startswith("toolwire: error: AuthenticationError: ")
    assert secret not in err


def test_a_run_error_ends_with_exit_1_and_a_resumable_transcript(
    fake: Start, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # The endpoint fails mid-run, after a turn of tools: what was done is kept.
    fake(WEATHER_TURN, Fault.status(400, message="bad thing"))
    saved = tmp_path / "partial.json"
    code, out, err = run_cli(capsys, "run", PARALLEL, "Weather?", "--save", str(saved))
    assert code == 1
    assert "Checking both." in out
    assert err.startswith("toolwire: error: InvalidRequestError: 400 ")
    assert err.count("\n") == 1
    messages = json.loads(saved.read_text(encoding="utf-8"))
    assert [m["role"] for m in messages] == ["user", "assistant", "user"]
    assert valid(messages)


# -- usage errors --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["run", "no/such/agent.py:agent", "hi"], "no such file: no/such/agent.py"),
        (["run", f"{PARALLEL}:nope", "hi"], "has no attribute 'nope'; it has: agent"),
        (["run", f"{PARALLEL}:get_weather", "hi"], "get_weather is a FunctionTool, not an Agent"),
        (["run", str(AGENTS / "tools_only.py"), "hi"], "defines no Agent at top level"),
        (["run", str(AGENTS / "two_agents.py"), "hi"], "several agents (plain, searching)"),
        (
            ["run", str(AGENTS / "broken_agent.py"), "hi"],
            "cannot load {agents}/broken_agent.py: RuntimeError: the database is not configured",
        ),
        (["run", "no_such_module_anywhere:agent", "hi"], "no module named 'no_such_module_anyw"),
        (["run", str(AGENTS), "hi"], "is a directory"),
        (["run", PARALLEL], "give a prompt, or --resume FILE"),
        (["run", PARALLEL, "   "], "the prompt is empty"),
        (["run", PARALLEL, "hi", "--save", "no/such/dir/t.json"], "directory no/such/dir does"),
        (["run", PARALLEL, "--resume", "missing.json"], "--resume missing.json: no such file"),
        (
            ["tools", f"{AGENTS}/tools_only.py:NOT_A_TOOL"],
            "NOT_A_TOOL is an int, not an Agent, a Tool or",
        ),
        (["fake-api", "--script", "missing.json"], "--script missing.json: no such file"),
    ],
)
@pytest.mark.usefixtures("dead_endpoint")
def test_usage_errors_exit_2_naming_the_cause(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code, out, err = run_cli(capsys, *argv)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith(f"toolwire {argv[0]}: error: ")
    assert message.format(agents=AGENTS) in err


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not JSON"),
        ("[]", "expected a non-empty JSON list of messages"),
        ('[{"role": "robot", "content": "x"}]', "message 0 is not a message at role"),
        (
            '[{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]',
            "the transcript ends with the model's answer; give a prompt to continue it",
        ),
    ],
)
@pytest.mark.usefixtures("dead_endpoint")
def test_a_bad_resume_file_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "t.json"
    path.write_text(content, encoding="utf-8")
    code, _, err = run_cli(capsys, "run", PARALLEL, "--resume", str(path))
    assert code == 2
    assert message in err


@pytest.mark.parametrize(
    "argv",
    [[], ["run"], ["frobnicate"], ["run", PARALLEL, "hi", "--max-tokens", "0"], ["--nope"]],
)
def test_bad_arguments_exit_2(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    code, out, err = run_cli(capsys, *argv)
    assert code == 2
    assert out == ""
    assert "usage: toolwire" in err


def test_help_and_version_exit_0(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "--help")
    assert code == 0
    assert "fake-api" in out
    assert "Exit codes" in out
    code, out, _ = run_cli(capsys, "--version")
    assert code == 0
    assert out.startswith("toolwire ")


def test_fake_api_on_a_taken_port_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, out, err = run_cli(capsys, "fake-api", "--port", str(port))
    assert code == 1
    assert out == ""
    assert err == f"toolwire: error: port {port} on 127.0.0.1 is in use; try --port N\n"


# -- tools ---------------------------------------------------------------------------------


def test_tools_prints_the_definitions_a_request_carries(
    fake: Start, capsys: pytest.CaptureFixture[str]
) -> None:
    api = fake(reply("hello"))
    code, out, err = run_cli(capsys, "tools", PARALLEL)
    assert (code, err) == (0, "")
    listed = json.loads(out)
    expected = load(AGENTS / "parallel_agent.py").agent
    assert listed == [d.to_wire() for d in expected.toolset.definitions()]
    assert [t["name"] for t in listed] == ["get_weather", "fail"]

    assert run_cli(capsys, "run", PARALLEL, "hi")[0] == 0
    assert api.last_request.body["tools"] == listed


def test_tools_of_an_agent_include_its_server_tools(
    fake: Start, capsys: pytest.CaptureFixture[str]
) -> None:
    target = f"{AGENTS}/two_agents.py:searching"
    api = fake(reply("found it"))
    code, out, _ = run_cli(capsys, "tools", target)
    assert code == 0
    listed = json.loads(out)
    assert [t["name"] for t in listed] == ["lookup", "web_search"]
    assert listed[1] == {"type": "web_search_20250305", "name": "web_search", "max_uses": 2}

    assert run_cli(capsys, "run", target, "look it up")[0] == 0
    assert api.last_request.body["tools"] == listed


@pytest.mark.usefixtures("dead_endpoint")
def test_tools_of_a_module_without_agent_lists_every_tool(
    capsys: pytest.CaptureFixture[str],
) -> None:
    module = load(AGENTS / "tools_only.py")
    code, out, _ = run_cli(capsys, "tools", str(AGENTS / "tools_only.py"))
    assert code == 0
    assert json.loads(out) == [
        module.shout.definition().to_wire(),
        module.words.definition().to_wire(),
    ]
    code, out, _ = run_cli(capsys, "tools", f"{AGENTS}/tools_only.py:words")
    assert code == 0
    assert [t["name"] for t in json.loads(out)] == ["count_words"]


def test_tools_needs_no_credential_and_leaves_the_environment_alone(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.delenv("ANTHROPIC_AUTH_TOKEN", raising=False)
    code, out, _ = run_cli(capsys, "tools", f"{AGENTS}/two_agents.py:plain")
    assert code == 0
    assert [t["name"] for t in json.loads(out)] == ["lookup"]
    assert "ANTHROPIC_API_KEY" not in os.environ
    # run does send requests: there the missing credential is reported.
    code, _, err = run_cli(capsys, "run", f"{AGENTS}/two_agents.py:plain", "hi")
    assert code == 2
    assert "ConfigError: api_key: no credential" in err


def test_a_module_path_is_imported_from_the_current_directory(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(AGENTS)
    monkeypatch.syspath_prepend(str(AGENTS))
    monkeypatch.delitem(sys.modules, "tools_only", raising=False)
    try:
        code, out, _ = run_cli(capsys, "tools", "tools_only:shout")
    finally:
        sys.modules.pop("tools_only", None)
    assert code == 0
    assert [t["name"] for t in json.loads(out)] == ["shout"]


# -- choosing the view ---------------------------------------------------------------------


class _Terminal(StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("extra", "out", "view"),
    [
        ([], StringIO(), PlainView),
        ([], _Terminal(), LiveView),
        (["--plain"], _Terminal(), PlainView),
        (["--json"], _Terminal(), QuietView),
        (["--json"], StringIO(), QuietView),
    ],
)
def test_the_live_view_is_for_terminals_only(
    extra: list[str], out: StringIO, view: type[object]
) -> None:
    args = build_parser().parse_args(["run", PARALLEL, "hi", *extra])
    assert type(_view_for(args, out)) is view


def test_without_rich_a_terminal_gets_plain_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, "toolwire.cli._view")
    monkeypatch.setitem(sys.modules, "rich.live", None)  # import rich.live now fails
    args = build_parser().parse_args(["run", PARALLEL, "hi"])
    assert type(_view_for(args, _Terminal())) is PlainView


@pytest.mark.usefixtures("dead_endpoint")
def test_an_agent_loaded_twice_is_two_objects() -> None:
    # Each command loads the file afresh: a run never sees state left by an earlier one.
    from toolwire.cli._load import find_agent

    first, second = find_agent(PARALLEL), find_agent(PARALLEL)
    assert isinstance(first, Agent)
    assert isinstance(second, Agent)
    assert first is not second
