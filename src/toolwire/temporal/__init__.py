"""Durable agent runs on Temporal (``pip install 'toolwire[temporal]'``).

The loop runs in a workflow; each model request and each tool call is an activity, so a run
survives its worker and the server restarting, and any live worker carries it on.

```python
from temporalio.client import Client
from toolwire.temporal import ToolwireClient, ToolwireWorker

# on each worker: the agents it serves, by name
client = await Client.connect("localhost:7233")
worker = ToolwireWorker(client, task_queue="agents", agents={"weather": agent})
await worker.run()

# anywhere: submit runs by agent name
runs = ToolwireClient(client, task_queue="agents")
result = await runs.run("weather", "Weather in Paris?", run_id="order-1234")
result.text, result.messages, result.usage     # as Agent.run gives them
```

What is durable: the transcript, the usage and the counters are the workflow's state; every
response and every tool result is recorded once it is complete, and never asked for again.
What is at-least-once: a tool call whose worker died, or that timed out, runs again; its
``Context.idempotency_key`` (``"{run_id}:{tool_use_id}"``) is the same every time, for tools
with side effects to deduplicate. Limits and payload sizes: see ``TemporalOptions`` and
``PayloadTooLarge``; the whole story is in ``docs/scale-out.md``.
"""

from ._activities import AgentActivities, DepsResolver, EventSink
from ._client import RunHandle, ToolwireClient
from ._data import RunInput, RunOutput, RunState
from ._errors import PayloadTooLarge
from ._failures import error_from_failure
from ._options import DEFAULT_MAX_PAYLOAD_BYTES, TemporalOptions
from ._spec import AgentSpec, ToolSpec
from ._worker import PASSTHROUGH_MODULES, ToolwireWorker, sandbox_runner
from ._workflow import AgentWorkflow

__all__ = [
    "DEFAULT_MAX_PAYLOAD_BYTES",
    "PASSTHROUGH_MODULES",
    "AgentActivities",
    "AgentSpec",
    "AgentWorkflow",
    "DepsResolver",
    "EventSink",
    "PayloadTooLarge",
    "RunHandle",
    "RunInput",
    "RunOutput",
    "RunState",
    "TemporalOptions",
    "ToolSpec",
    "ToolwireClient",
    "ToolwireWorker",
    "error_from_failure",
    "sandbox_runner",
]
