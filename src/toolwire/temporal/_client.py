"""``ToolwireClient``: submit durable runs and get their results as a local run gives them."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from temporalio.client import Client, WorkflowFailureError, WorkflowHandle

from .._agent.result import RunResult
from .._errors import ConfigError
from .._wire.blocks import ContentBlock
from .._wire.messages import MessageParam
from ._data import RunInput, RunOutput
from ._failures import error_from_failure
from ._options import TemporalOptions
from ._spec import AgentSpec
from ._workflow import AgentWorkflow

__all__ = ["RunHandle", "ToolwireClient"]

RunHandle = WorkflowHandle[AgentWorkflow, RunOutput]
"""The handle of a submitted run (a Temporal workflow handle)."""


class ToolwireClient:
    """Submits agent runs to the workers of ``task_queue`` through a Temporal ``client``.

    ``run()`` waits for the result; ``start()`` returns a handle at once and ``result()``
    waits on it, from this process or any other. A run that fails raises the same toolwire
    error a local run would (``LimitExceeded``, ``ToolAborted``, ``InvalidRequestError``...),
    with its ``transcript`` and ``usage``. ``options`` are the default ``TemporalOptions``.
    """

    def __init__(
        self, client: Client, *, task_queue: str, options: TemporalOptions | None = None
    ) -> None:
        self.client = client
        self.task_queue = task_queue
        self.options = options if options is not None else TemporalOptions()

    async def start(
        self,
        agent: str,
        prompt: str | Sequence[ContentBlock] | None = None,
        *,
        history: Sequence[MessageParam | Mapping[str, Any]] | None = None,
        deps: Any = None,
        run_id: str | None = None,
        spec: AgentSpec | None = None,
        options: TemporalOptions | None = None,
        **start_options: Any,
    ) -> RunHandle:
        """Submit a run of the agent registered on the workers as ``agent``.

        ``run_id`` is the workflow id (a new one when ``None``), and the first half of every
        tool call's ``Context.idempotency_key``; submitting again with the id of a run still
        going fails, so a retried submission cannot start the run twice. ``deps`` must be
        data the converter can encode (or a reference the workers resolve). ``spec``
        replaces the registered agent's configuration for this run. Other keyword arguments
        go to ``Client.start_workflow`` (``execution_timeout``, ``id_reuse_policy``, ...).
        """
        if not agent:
            raise ConfigError("agent", "must name an agent registered on the workers")
        workflow_id = run_id if run_id is not None else f"toolwire-run-{uuid.uuid4().hex}"
        content: str | list[dict[str, Any]] | None = (
            prompt
            if prompt is None or isinstance(prompt, str)
            else [block.to_wire() for block in prompt]
        )
        # Checked here, where a mistake can still be reported to the caller.
        messages = (
            None
            if history is None
            else [
                (
                    m if isinstance(m, MessageParam) else MessageParam.model_validate(dict(m))
                ).to_wire()
                for m in history
            ]
        )
        run_input = RunInput(
            agent=agent,
            prompt=content,
            history=messages,
            deps=deps,
            run_id=workflow_id,
            spec=spec,
            options=options if options is not None else self.options,
        )
        return await self.client.start_workflow(
            AgentWorkflow.run,
            run_input,
            id=workflow_id,
            task_queue=self.task_queue,
            **start_options,
        )

    async def result(self, handle: RunHandle) -> RunResult[Any]:
        """Wait for a submitted run; its ``RunResult``, or the toolwire error that ended it."""
        try:
            output = await handle.result()
        except WorkflowFailureError as failure:
            error = error_from_failure(failure)
            if error is None:
                raise
            raise error from failure
        return output.result()

    def handle(self, run_id: str) -> RunHandle:
        """The handle of the run ``run_id``, submitted earlier from anywhere."""
        return self.client.get_workflow_handle_for(AgentWorkflow.run, run_id)

    async def run(
        self,
        agent: str,
        prompt: str | Sequence[ContentBlock] | None = None,
        *,
        history: Sequence[MessageParam | Mapping[str, Any]] | None = None,
        deps: Any = None,
        run_id: str | None = None,
        spec: AgentSpec | None = None,
        options: TemporalOptions | None = None,
        **start_options: Any,
    ) -> RunResult[Any]:
        """Submit a run and wait for it: ``start()`` then ``result()``."""
        handle = await self.start(
            agent,
            prompt,
            history=history,
            deps=deps,
            run_id=run_id,
            spec=spec,
            options=options,
            **start_options,
        )
        return await self.result(handle)
