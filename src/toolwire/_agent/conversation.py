"""Conversations: several prompts, one history, the same tools."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Generic

from .._tools import DepsT
from .._wire.blocks import ContentBlock
from .._wire.messages import MessageParam, Usage
from .result import RunResult

if TYPE_CHECKING:
    from .agent import Agent

__all__ = ["Conversation"]


class Conversation(Generic[DepsT]):
    """A scripted multi-step task: each ``send()`` is a run that continues the same history.

    A failed step leaves the history as the failed run left it (valid and resumable), so the
    next ``send()`` carries on from there.
    """

    def __init__(
        self,
        agent: Agent[DepsT],
        *,
        history: Sequence[MessageParam | Mapping[str, Any]] | None = None,
        deps: DepsT | None = None,
    ) -> None:
        self.agent = agent
        self.deps = deps
        self.messages: list[MessageParam] = [
            m if isinstance(m, MessageParam) else MessageParam.model_validate(dict(m))
            for m in (history or ())
        ]
        self.usage = Usage()
        self.results: list[RunResult[Any]] = []

    async def send(
        self,
        prompt: str | Sequence[ContentBlock],
        *,
        output_type: type[Any] | None = None,
        stream: bool | None = None,
    ) -> RunResult[Any]:
        """Run one step with ``prompt`` after everything said so far."""
        try:
            result = await self.agent.run(
                prompt,
                history=self.messages,
                deps=self.deps,
                output_type=output_type,
                stream=stream,
            )
        except BaseException as exc:
            transcript = getattr(exc, "transcript", None)
            if transcript is not None:
                self.messages = list(transcript)
            usage = getattr(exc, "usage", None)
            if isinstance(usage, Usage):
                self.usage = self.usage + usage
            raise
        self.messages = list(result.messages)
        self.usage = self.usage + result.usage
        self.results.append(result)
        return result

    @property
    def text(self) -> str:
        """The last step's answer."""
        return self.results[-1].text if self.results else ""
