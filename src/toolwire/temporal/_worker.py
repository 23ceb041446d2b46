"""``ToolwireWorker``: a Temporal worker that runs agent workflows and their activities."""

from __future__ import annotations

from collections.abc import Mapping
from types import TracebackType
from typing import Any

from temporalio.client import Client
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from .._agent.agent import Agent
from ._activities import AgentActivities, DepsResolver, EventSink
from ._workflow import AgentWorkflow

__all__ = ["PASSTHROUGH_MODULES", "ToolwireWorker", "sandbox_runner"]

PASSTHROUGH_MODULES: tuple[str, ...] = (
    "toolwire",
    "anyio",
    "sniffio",
    "pydantic",
    "pydantic_core",
    "httpx2",
    "structlog",
)
"""Modules the workflow sandbox takes from the worker as they are, instead of re-importing
them for every workflow: toolwire itself (its loop is deterministic) and what it imports."""


def sandbox_runner() -> SandboxedWorkflowRunner:
    """The workflow runner for ``AgentWorkflow``: the default sandbox, with toolwire and its
    dependencies passed through. Use it on a worker of your own that runs agent workflows."""
    restrictions = SandboxRestrictions.default.with_passthrough_modules(*PASSTHROUGH_MODULES)
    return SandboxedWorkflowRunner(restrictions=restrictions)


class ToolwireWorker:
    """A worker for durable agent runs on ``task_queue``: the workflow, and the activities of
    the ``agents`` it serves, by the names runs give (``RunInput.agent``).

    ``deps`` turns a run's deps data into its tools' ``Context.deps`` (say, a name into a
    connection pool); ``on_event`` receives ``(run_id, event)`` for the events of the steps
    this worker runs (see ``AgentActivities``). Other keyword arguments go to
    ``temporalio.worker.Worker`` (``max_concurrent_activities``, ``identity``, ...).

    Run it with ``await worker.run()`` until cancelled, or as ``async with worker:`` around
    code that submits runs; either way its HTTP clients are closed when it stops.
    """

    def __init__(
        self,
        client: Client,
        *,
        task_queue: str,
        agents: Mapping[str, Agent[Any]],
        deps: DepsResolver | None = None,
        on_event: EventSink | None = None,
        **worker_options: Any,
    ) -> None:
        self.activities = AgentActivities(agents, deps=deps, on_event=on_event)
        worker_options.setdefault("workflow_runner", sandbox_runner())
        self.worker = Worker(
            client,
            task_queue=task_queue,
            workflows=[AgentWorkflow],
            activities=self.activities.definitions(),
            **worker_options,
        )

    @property
    def task_queue(self) -> str:
        """The task queue this worker polls."""
        return self.worker.task_queue

    async def run(self) -> None:
        """Poll until cancelled or shut down."""
        try:
            await self.worker.run()
        finally:
            await self.activities.aclose()

    async def shutdown(self) -> None:
        """Stop polling, let running steps finish (see the Worker's graceful timeout)."""
        try:
            await self.worker.shutdown()
        finally:
            await self.activities.aclose()

    async def __aenter__(self) -> ToolwireWorker:
        await self.worker.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            await self.worker.__aexit__(exc_type, exc, tb)
        finally:
            await self.activities.aclose()
