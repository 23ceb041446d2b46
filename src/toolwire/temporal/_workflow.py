"""``AgentWorkflow``: one agent run as a Temporal workflow.

The workflow runs toolwire's own loop (``Run``) with ``TemporalSteps``: no I/O, no wall
clock (``workflow.time``), no randomness (the run id is the workflow id), no logging from
the loop (the activities log). Its state is the run's: transcript, usage, counters. It ends
with the run's result, or fails with an ``ApplicationError`` typed by the toolwire error
that ended the run, carrying that error's record, transcript and usage.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import replace
from datetime import timedelta
from typing import Any

from pydantic import ValidationError
from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

from .._agent.agent import Agent
from .._agent.loop import Run
from .._agent.result import RunResult
from .._errors import ConfigError, LimitExceeded, ToolwireError
from .._wire.blocks import ContentBlock, parse_block
from .._wire.messages import Usage, transcript_adapter
from ._activities import AgentActivities
from ._data import RunInput, RunOutput, RunState, encoded_size
from ._errors import PayloadTooLarge
from ._failures import RECORD, application_error, find_record, rebuild_error, transcript_json
from ._spec import AgentSpec
from ._steps import CarryOver, TemporalSteps

__all__ = ["AgentWorkflow"]

_DESCRIBE_TIMEOUT = timedelta(seconds=60)


@workflow.defn(name="toolwire.AgentRun")
class AgentWorkflow:
    """A durable agent run: ``RunInput`` in, ``RunOutput`` out (see ``toolwire.temporal``)."""

    @workflow.run
    async def run(self, input: RunInput) -> RunOutput:
        """Run the agent to its final answer, continuing as new when the history grows."""
        options = input.options
        steps = TemporalSteps(agent=input.agent, deps=input.deps, options=options)
        run: Run | None = None
        try:
            spec = input.spec if input.spec is not None else await self._describe(input)
            run = self._start(self._agent(spec), input, steps)
            state = input.state
            started_at = state.started_at if state is not None else workflow.time()
            try:
                result = await self._execute(run, spec.limits.timeout, started_at)
            except CarryOver:
                carried = replace(
                    input,
                    prompt=None,
                    history=None,
                    spec=spec,
                    state=RunState(
                        run_id=run.run_id,
                        transcript=transcript_json(run.transcript),
                        usage=run.usage.to_wire(),
                        # The request that was about to go is sent by the next run instead.
                        turns=run.turns - 1,
                        tool_calls=run.tool_calls,
                        container=run.container,
                        failures=dict(steps.failures),
                        started_at=started_at,
                        generation=1 if state is None else state.generation + 1,
                    ),
                )
                steps.check_size("the state carried to the next workflow run", carried)
                workflow.continue_as_new(carried)
            output = RunOutput.of(result)
            steps.check_size("the run's result", output)
            return output
        except ToolwireError as exc:
            raise self._failure(exc, run, options.max_payload_bytes) from None

    # -- steps of the run method -------------------------------------------------------------

    async def _describe(self, input: RunInput) -> AgentSpec:
        options = input.options
        try:
            return await workflow.execute_activity_method(
                AgentActivities.describe,
                input.agent,
                start_to_close_timeout=_DESCRIBE_TIMEOUT,
                retry_policy=options.retry_policy(options.request_attempts),
            )
        except ActivityError as exc:
            detail = find_record(exc)
            if detail is None:
                why = f"no worker could describe it: {exc.cause}"
                raise ConfigError("agent", f"{input.agent!r}: {why}") from None
            raise rebuild_error(detail[RECORD]) from None

    @staticmethod
    def _agent(spec: AgentSpec) -> Agent[Any]:
        try:
            return spec.build()
        except ToolwireError:
            raise
        except (ValidationError, ValueError) as exc:
            raise ConfigError("spec", f"is not a valid agent configuration: {exc}") from None

    @staticmethod
    def _start(agent: Agent[Any], input: RunInput, steps: TemporalSteps) -> Run:
        try:
            run = AgentWorkflow._new_run(agent, input, steps)
        except ValidationError as exc:
            # Bad input fails the run; any other exception here fails the workflow task, so
            # that a worker with fixed code can take the run on.
            raise ConfigError("prompt", f"or history is not valid: {exc}") from None
        run.steps = steps
        run.clock = workflow.time
        run.log = False
        return run

    @staticmethod
    def _new_run(agent: Agent[Any], input: RunInput, steps: TemporalSteps) -> Run:
        state = input.state
        if state is not None:
            history = transcript_adapter.validate_json(state.transcript)
            run = agent._start(None, history, input.deps, None, None, None, None, state.run_id)
            run.usage = Usage.model_validate(state.usage)
            run.turns = state.turns
            run.tool_calls = state.tool_calls
            run.container = state.container
            steps.restore(run, state.failures)
        else:
            prompt: str | list[ContentBlock] | None = (
                input.prompt
                if input.prompt is None or isinstance(input.prompt, str)
                else [parse_block(b) for b in input.prompt]
            )
            run_id = input.run_id or workflow.info().workflow_id
            run = agent._start(prompt, input.history, input.deps, None, None, None, None, run_id)
        return run

    @staticmethod
    async def _execute(run: Run, timeout: float | None, started_at: float) -> RunResult[Any]:
        """The run, within ``Limits.timeout`` counted from its start on a durable timer."""
        if timeout is None:
            return await run.execute()
        remaining = timeout - (workflow.time() - started_at)
        task: asyncio.Task[RunResult[Any]] | None = None
        if remaining > 0:
            task = asyncio.ensure_future(run.execute())
            try:
                done, _ = await workflow.wait([task], timeout=remaining)
            except asyncio.CancelledError:
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task
                raise
            if task in done:
                return task.result()
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                # A result that arrived with the deadline still counts.
                return await task
        error = LimitExceeded("timeout", timeout, timeout)
        error.attach(run.transcript, run.usage)
        raise error

    @staticmethod
    def _failure(exc: ToolwireError, run: Run | None, limit: int | None) -> ApplicationError:
        """The workflow's failure for ``exc``: with the transcript when it fits the cap."""
        transcript = exc.transcript
        if transcript is None and run is not None:
            transcript = run.transcript
        usage = exc.usage if exc.usage is not None else (run.usage if run is not None else None)
        text = None if transcript is None else transcript_json(transcript)
        error = application_error(exc, transcript=text, usage=usage)
        if text is not None and limit is not None:
            size = encoded_size(workflow.payload_converter(), *error.details)
            if size > limit:
                # What did not fit cannot leave: the error says so, and keeps the usage.
                error = application_error(exc, usage=usage)
        if isinstance(exc, PayloadTooLarge):
            workflow.logger.warning("toolwire: %s", exc)
        return error
