"""Every script in ``examples/`` runs offline, as a user would run it, and says what it should.

Each example is run as a subprocess with every ``ANTHROPIC_*`` variable removed, so it takes
its offline path: the scripted model on 127.0.0.1. The examples start together (they spend
most of their time importing and waiting on sleeps), and each test reads one's output.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from toolwire.testing import FakeMessagesAPI, reply, tool_call

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
NAMES = sorted(p.name for p in EXAMPLES.glob("*.py") if not p.name.startswith("_"))
NOTICE = "offline scripted model; set ANTHROPIC_API_KEY and ANTHROPIC_BASE_URL to use a real one"
TIMEOUT = 90


@dataclass(frozen=True)
class Ran:
    """A finished example: its exit code and what it printed."""

    name: str
    returncode: int
    stdout: str
    stderr: str

    @property
    def lines(self) -> list[str]:
        """The lines of stdout."""
        return self.stdout.splitlines()

    def succeeded(self) -> Ran:
        """This run, after checking it exited cleanly (the failure shows what it printed)."""
        assert self.returncode == 0, (
            f"{self.name} exited with {self.returncode}\n--- stdout\n{self.stdout}\n"
            f"--- stderr\n{self.stderr}"
        )
        return self


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without any ANTHROPIC_* variable, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANTHROPIC_")}
    env.update(extra)
    return env


def start(name: str, env: dict[str, str], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(EXAMPLES / name)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=cwd,
        text=True,
        encoding="utf-8",
    )


def finish(name: str, process: subprocess.Popen[str]) -> Ran:
    try:
        stdout, stderr = process.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        stdout, stderr = process.communicate()
        stderr += f"\n[killed after {TIMEOUT} s]"
    return Ran(name, process.returncode, stdout, stderr)


@pytest.fixture(scope="module")
def offline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Ran]]:
    """Every example, run offline from a scratch directory, by file name."""
    cwd = tmp_path_factory.mktemp("examples")
    processes = {name: start(name, clean_env(), cwd) for name in NAMES}
    yield {name: finish(name, process) for name, process in processes.items()}
    # Nothing may be left behind in the directory it ran from.
    assert list(cwd.iterdir()) == []


def test_the_expected_examples_exist() -> None:
    assert NAMES == [
        "conversation.py",
        "parallel_tools.py",
        "providers.py",
        "quickstart.py",
        "streaming.py",
        "structured_output.py",
        "temporal_worker.py",
        "worker.py",
    ]


@pytest.mark.parametrize("name", NAMES)
def test_every_example_says_once_that_the_model_is_scripted(
    offline: dict[str, Ran], name: str
) -> None:
    ran = offline[name].succeeded()
    assert ran.lines[0] == NOTICE
    assert ran.stdout.count(NOTICE) == 1
    assert "Traceback" not in ran.stderr


def test_quickstart_runs_parallel_tools_and_streams_the_answer(offline: dict[str, Ran]) -> None:
    lines = offline["quickstart.py"].succeeded().lines
    calls = [n for n, line in enumerate(lines) if line.startswith("  -> ")]
    results = [n for n, line in enumerate(lines) if line.startswith("  <- ")]
    assert [lines[n] for n in calls] == [
        "  -> get_forecast(city='Lyon', day='saturday')",
        "  -> get_forecast(city='London', day='saturday')",
        "  -> find_trains(origin='Paris', destination='Lyon')",
        "  -> find_trains(origin='Paris', destination='London')",
        "  -> convert_currency(amount=38, from_currency='EUR', to_currency='GBP')",
    ]
    # The first four calls all started before any of them finished: they ran in parallel.
    assert max(calls[:4]) < min(results)
    assert len(results) == 5
    assert all(" ok in " in lines[n] for n in results)
    assert any(line.startswith("  [4 calls ran in parallel:") for line in lines)
    answer = next(line for line in lines if line.startswith("Go to Lyon."))
    # The scripted answer is computed from the tools' real results.
    assert "the return fare is 64 EUR, which leaves you 86 EUR" in answer
    assert answer.endswith("leave only 32.30 GBP to spend.")
    assert re.fullmatch(
        r"\[3 requests, 5 tool calls, \d+ input \+ \d+ output tokens, stop_reason end_turn\]",
        lines[-1],
    )


def test_quickstart_talks_to_a_configured_endpoint_unchanged(tmp_path: Path) -> None:
    key = "sk-configured-endpoint-key"
    api = FakeMessagesAPI(
        [
            reply("Checking.", tool_call("get_forecast", {"city": "Paris"})),
            reply("Stay in Paris: it will be cloudy but dry enough."),
        ],
        api_key=key,
    )
    with api.serve() as base_url:
        env = clean_env(
            ANTHROPIC_BASE_URL=base_url, ANTHROPIC_API_KEY=key, ANTHROPIC_MODEL="claude-test-9"
        )
        ran = finish("quickstart.py", start("quickstart.py", env, tmp_path)).succeeded()
    api.assert_valid()
    assert NOTICE not in ran.stdout
    assert "  -> get_forecast(city='Paris')" in ran.lines
    assert "Stay in Paris: it will be cloudy but dry enough." in ran.stdout
    first, second = api.requests
    assert first.headers["x-api-key"] == key
    assert first.body["model"] == "claude-test-9"
    assert first.streamed
    assert [t["name"] for t in first.body["tools"]] == [
        "get_forecast",
        "find_trains",
        "convert_currency",
    ]
    (result,) = second.body["messages"][-1]["content"]
    assert '"sky":"cloudy"' in result["content"]


def test_parallel_tools(offline: dict[str, Ran]) -> None:
    ran = offline["parallel_tools.py"].succeeded()
    assert (
        "check_health failed on its own: ConnectionError: billing-health.internal: "
        "connection refused" in ran.lines
    )
    assert "check_health calls running at once: 5" in ran.lines
    assert "restart_service ran alone: True" in ran.lines
    bars = [line for line in ran.lines if re.match(r"  \w+\(\w+\) +\|", line)]
    assert len(bars) == 8
    assert sum(line.endswith("| error") for line in bars) == 1
    assert ran.lines[-1].startswith("The queue had a stuck worker")


def test_structured_output(offline: dict[str, Ran]) -> None:
    ran = offline["structured_output.py"].succeeded()
    (rejected,) = [line for line in ran.lines if line.startswith("rejected answer")]
    assert "issued: Input should be a valid date" in rejected
    assert "lines.1.quantity: Input should be greater than or equal to 1" in rejected
    assert "Invoice after 3 requests:" in ran.lines
    assert '  "issued": "2025-03-03",' in ran.lines
    assert ran.lines[-1] == "total: 7700.00 EUR"


def test_conversation(offline: dict[str, Ran]) -> None:
    ran = offline["conversation.py"].succeeded()
    histories = [line for line in ran.lines if line.startswith("  [")]
    assert histories == [
        "  [4 messages in the history]",
        "  [6 messages in the history]",
        "  [10 messages in the history]",
    ]
    assert "- Dark mode for the dashboard (#415)" in ran.lines
    assert "#415, dark mode for the dashboard, with 910 changed lines." in ran.lines
    assert ran.lines[-1].startswith("[4 steps, ")


def test_streaming_shows_every_kind_of_event(offline: dict[str, Ran]) -> None:
    ran = offline["streaming.py"].succeeded()
    kinds = [line.split()[0] for line in ran.lines[1:] if line and line[0].isupper()]
    assert kinds[0] == "RunStarted"
    assert kinds[-1] == "RunFinished"
    assert set(kinds) >= {
        "RequestSent",
        "ThinkingDelta",
        "TextDelta",
        "ToolInputDelta",
        "ResponseReceived",
        "ToolCallStarted",
        "ToolProgress",
        "ToolCallFinished",
    }
    # Text deltas come before the response that holds them; tool events after it.
    first_response = kinds.index("ResponseReceived")
    assert kinds.index("TextDelta") < first_response < kinds.index("ToolCallStarted")
    assert kinds.count("ToolProgress") == 3
    assert ran.lines[-1] == (
        "result.text: This year's three files hold 3675 rows: 1200 in January, 1150 in "
        "February and 1325 in March."
    )


def test_providers(offline: dict[str, Ran]) -> None:
    ran = offline["providers.py"].succeeded()
    for url in [
        "https://api.hacxgpt.com/anthropic/v1/messages",
        "https://api.relax.ai/v1/messages",
        "https://relay.example.com/v1/messages",
    ]:
        assert f"  POST {url}" in ran.lines
    assert (
        "  auth bearer: {'anthropic-version': '2023-06-01', 'authorization': 'Bearer <hidden>'}"
        in ran.lines
    )
    assert "sk-demo-not-a-real-key" not in ran.stdout + ran.stderr
    assert (
        "models the endpoint lists: sonnet, haiku, octen/claude-sonnet-4.5, "
        "octen/claude-haiku-4.5" in ran.lines
    )
    assert (
        "asked for 'sonnet'; responses: pause_turn (claude-sonnet-4-5-20250929), "
        "end_turn (claude-sonnet-4-5-20250929)" in ran.lines
    )
    # The paused turn and its continuation are one assistant message.
    assert ran.lines[-3:-1] == [
        "  user: ['text']",
        "  assistant: ['text', 'server_tool_use', 'octen_search_tool_result', 'text']",
    ]


def test_worker_resumes_a_killed_job_without_running_a_tool_twice(
    offline: dict[str, Ran],
) -> None:
    ran = offline["worker.py"].succeeded()
    out = ran.stdout
    killed = re.search(r"^worker (\d+) killed with SIGKILL; unfinished jobs: \[(.*)\]$", out, re.M)
    assert killed is not None
    unfinished = [int(n) for n in killed[2].split(", ")]
    assert 2 in unfinished
    first_pid = killed[1]
    second = re.findall(
        r"^  \[worker (\d+)\] started; unfinished jobs back in the queue", out, re.M
    )
    assert len(second) == 1
    assert second[0] != first_pid
    # Job 2 had saved its first turn (two tool calls) when the worker was killed.
    assert (
        f"  [worker {second[0]}] job 2: resumed from its saved transcript "
        "(2 tool calls already done)" in ran.lines
    )
    for job in (1, 2, 3):
        assert any(line.startswith(f"job {job} done: ") for line in ran.lines)
    totals = re.search(
        r"^tool calls in the transcripts: (\d+); tool executions: (\d+), by 2 workers$", out, re.M
    )
    assert totals is not None
    assert totals[1] == totals[2] == "8"
    assert ran.lines[-1] == "tool calls run twice: 0; runs lost in the crash: 0"
