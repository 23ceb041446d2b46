"""The command line as a separate process: ``python -m toolwire.cli``, signals included."""

from __future__ import annotations

import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO

import httpx2
import pytest

from toolwire.testing import FakeMessagesAPI, check_request, reply, tool_call

ROOT = Path(__file__).resolve().parent.parent
AGENTS = Path(__file__).parent / "cli_agents"
KEY = "sk-cli-subprocess-key-0123456789"
WAIT = 30  # seconds: only ever reached when something hangs

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")


def environment(base_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANTHROPIC_")}
    env.update(ANTHROPIC_BASE_URL=base_url, ANTHROPIC_API_KEY=KEY, **extra)
    return env


def toolwire(*argv: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "toolwire.cli", *argv],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
    )


class Lines:
    """The lines a process writes, read from a thread so a test can wait for one."""

    def __init__(self, stream: IO[str]) -> None:
        self.seen: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def wait_for(self, predicate: str) -> None:
        """Read lines until one contains ``predicate``."""
        while not any(predicate in line for line in self.seen):
            line = self._queue.get(timeout=WAIT)
            if line is None:
                raise AssertionError(f"output ended without {predicate!r}: {self.seen}")
            self.seen.append(line)

    def rest(self) -> list[str]:
        """Every line, once the process has closed its end."""
        while (line := self._queue.get(timeout=WAIT)) is not None:
            self.seen.append(line)
        return self.seen


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_ctrl_c_cancels_the_run_and_saves_a_valid_transcript(tmp_path: Path) -> None:
    api = FakeMessagesAPI(
        [
            reply(
                "Working on it.",
                tool_call("wait_forever", id="toolu_async"),
                tool_call("block", {"seconds": 120}, id="toolu_thread"),
            )
        ]
    )
    saved = tmp_path / "interrupted.json"
    with api.serve() as base_url:
        process = toolwire(
            "run", "tests/cli_agents/blocking_agent.py", "go", "--save", str(saved),
            env=environment(base_url),
        )  # fmt: skip
        assert process.stdout is not None
        assert process.stderr is not None
        lines = Lines(process.stdout)
        lines.wait_for("[tool] wait_forever() started")
        lines.wait_for("[tool] block(seconds=120) started")
        process.send_signal(signal.SIGINT)
        # The sync tool still sleeps in its thread: the process must not wait for it.
        code = process.wait(timeout=WAIT)
        err = process.stderr.read()

    assert code == 130
    assert err == f"toolwire: interrupted, the run was cancelled; transcript saved to {saved}\n"
    shown = lines.rest()
    assert "[tool] wait_forever() cancelled" in shown
    assert "[tool] block(seconds=120) cancelled" in shown

    messages = json.loads(saved.read_text(encoding="utf-8"))
    assert check_request({"model": "m", "max_tokens": 1, "messages": messages}) == []
    assert [m["role"] for m in messages] == ["user", "assistant", "user"]
    answers = messages[2]["content"]
    assert [a["tool_use_id"] for a in answers] == ["toolu_async", "toolu_thread"]
    assert all(a["is_error"] and "cancelled" in a["content"] for a in answers)


def test_fake_api_serves_a_script_until_ctrl_c(tmp_path: Path) -> None:
    script = tmp_path / "script.json"
    script.write_text(json.dumps(["Hello from the script."]), encoding="utf-8")
    port = free_port()
    process = toolwire(
        "fake-api", "--port", str(port), "--script", str(script), env=environment("unused")
    )
    assert process.stdout is not None
    assert process.stderr is not None
    lines = Lines(process.stdout)
    lines.wait_for("Ctrl-C stops it.")
    base_url = f"http://127.0.0.1:{port}"
    assert lines.seen[0] == (
        f"Fake Messages API on {base_url} (script {script}: 1 entry, repeated when used up)"
    )
    assert f"  export ANTHROPIC_BASE_URL={base_url}" in lines.seen

    body = {"model": "m", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}
    headers = {"x-api-key": "any", "anthropic-version": "2023-06-01"}
    for _ in range(2):  # the script repeats
        answer = httpx2.post(f"{base_url}/v1/messages", json=body, headers=headers, timeout=WAIT)
        assert answer.status_code == 200
        assert answer.json()["content"] == [{"type": "text", "text": "Hello from the script."}]

    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=WAIT) == 0
    assert lines.rest()[-1] == "Stopped."
    assert "Traceback" not in process.stderr.read()
