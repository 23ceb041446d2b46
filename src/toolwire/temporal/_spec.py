"""An agent's configuration as data: everything the loop needs, nothing that runs.

A workflow cannot hold functions or clients, and must decide the same way on every replay.
``AgentSpec`` is what it holds instead: the model, the request fields, each tool's definition
and scheduling flags, the limits. The tools themselves stay on the workers, found by name.
Protocol JSON is kept as text, so that key order (a tool's parameters, as the model reads
them) survives the engine's converter, which sorts the keys of the objects it encodes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal, cast

from pydantic import TypeAdapter

from .._agent.agent import Agent
from .._agent.limits import Limits
from .._endpoint import Endpoint
from .._tools import DEFAULT_MAX_RETRIES, Tool
from .._wire.base import WireModel
from .._wire.request import ToolChoice, ToolDefinition

__all__ = ["AgentSpec", "ToolSpec"]

_choice_adapter: TypeAdapter[ToolChoice] = TypeAdapter(ToolChoice)


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _jsonable(value: Any) -> Any:
    """Request field values as the wire carries them (blocks dumped as they are sent)."""
    if isinstance(value, WireModel):
        return value.to_wire()
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


@dataclass(frozen=True)
class ToolSpec:
    """One tool as a run sees it: its definition (JSON text, exactly as requests carry it),
    whether it runs alone (``sequential``), how many invalid inputs it forgives
    (``max_retries``) and its timeout in seconds, if any."""

    definition: str
    sequential: bool = False
    max_retries: int = DEFAULT_MAX_RETRIES
    timeout: float | None = None


class _DeclaredTool(Tool[Any]):
    """A tool known by its definition only: inside a workflow it is scheduled, never run."""

    def __init__(self, spec: ToolSpec) -> None:
        definition = ToolDefinition.model_validate_json(spec.definition)
        super().__init__(
            name=definition.name,
            description=definition.description,
            input_schema=definition.input_schema,
            fn=_runs_on_a_worker,
            validator=_runs_on_a_worker,
            sequential=spec.sequential,
            max_retries=spec.max_retries,
            timeout=spec.timeout,
        )
        self._definition = definition

    def definition(self) -> ToolDefinition:
        """The definition exactly as the agent on the worker gives it."""
        return self._definition


def _runs_on_a_worker(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("a declared tool runs in an activity on a worker, not in the workflow")


@dataclass(frozen=True)
class AgentSpec:
    """An agent's configuration as data, for a durable run to carry and replay.

    Make one with ``AgentSpec.of(agent)`` and change it with ``dataclasses.replace`` (say, other
    ``limits`` or ``model`` for one run). JSON fields are text: ``request_fields`` holds
    ``system``, ``temperature``, ``thinking``, ``metadata``, extra body fields and the like, as
    the request carries them; ``tool_choice`` and each of ``server_tools`` likewise.
    """

    model: str
    max_tokens: int
    tools: list[ToolSpec] = field(default_factory=list)
    server_tools: list[str] = field(default_factory=list)
    request_fields: str = "{}"
    tool_choice: str | None = None
    tool_choice_once: bool = True
    limits: Limits = field(default_factory=Limits)
    on_max_tokens: str = "raise"
    stream: bool = False

    @classmethod
    def of(cls, agent: Agent[Any]) -> AgentSpec:
        """The configuration of ``agent``; its tools are described, not carried."""
        tools = [
            ToolSpec(
                definition=_json(t.definition().to_wire()),
                sequential=t.sequential,
                max_retries=t.max_retries,
                timeout=t.timeout if t.timeout is not None else agent.tool_timeout,
            )
            for t in agent.toolset
        ]
        fields = {k: _jsonable(v) for k, v in agent._request_fields.items()}
        return cls(
            model=agent.model,
            max_tokens=agent.max_tokens,
            tools=tools,
            server_tools=[_json(s.to_wire()) for s in agent.server_tools],
            request_fields=_json(fields),
            tool_choice=None if agent.tool_choice is None else _json(agent.tool_choice.to_wire()),
            tool_choice_once=agent.tool_choice_once,
            limits=agent.limits,
            on_max_tokens=agent.on_max_tokens,
            stream=agent.stream_default,
        )

    def build(self) -> Agent[Any]:
        """The agent the workflow's loop runs with: same requests, declared tools, no client.

        Its ``limits.timeout`` is cleared: the workflow keeps that deadline itself, on a
        durable timer that survives restarts and carries over ``continue-as-new``.
        """
        choice = (
            None if self.tool_choice is None else _choice_adapter.validate_json(self.tool_choice)
        )
        return Agent(
            self.model,
            tools=[_DeclaredTool(t) for t in self.tools],
            server_tools=[json.loads(s) for s in self.server_tools],
            max_tokens=self.max_tokens,
            # Never used: requests leave through activities. Given so that nothing is read
            # from the environment inside the workflow.
            endpoint=Endpoint("http://toolwire-workflow.invalid", auth="none", env={}),
            tool_choice=choice,
            tool_choice_once=self.tool_choice_once,
            extra_body=json.loads(self.request_fields),
            stream=self.stream,
            limits=replace(self.limits, timeout=None),
            on_max_tokens=cast(Literal["raise", "return"], self.on_max_tokens),
        )
