"""A scripted multi-step task: one conversation, several prompts, the same tools and history.

    python examples/conversation.py

Preparing a release in three steps: list what was merged, group it, write the changelog.
Each ``send()`` is a run that continues the conversation's history, so later steps can
refer to earlier answers. The history is plain JSON: it is saved to a file and a new
conversation picks it up for a fourth step, as a later process would.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import anyio
from _offline import MODEL, scripted_model

from toolwire import Agent, Context, tool
from toolwire.testing import reply, tool_call

MERGED = [
    {"number": 412, "title": "Retry uploads on 503", "labels": ["fix"], "lines": 38},
    {"number": 415, "title": "Dark mode for the dashboard", "labels": ["feature"], "lines": 910},
    {"number": 418, "title": "Fix CSV export of empty reports", "labels": ["fix"], "lines": 12},
    {"number": 421, "title": "Export reports as PDF", "labels": ["feature"], "lines": 455},
]


@tool
def list_merged(since_tag: str) -> list[dict[str, Any]]:
    """Pull requests merged since a release tag.

    Args:
        since_tag: A release tag, e.g. "v1.2.0".
    """
    return MERGED


@tool
def write_file(ctx: Context[Path], path: str, text: str) -> str:
    """Write a text file in the release workspace.

    Args:
        path: File name, relative to the workspace.
        text: The whole content of the file.
    """
    # The workspace comes from the conversation's deps; the model never sees it.
    target = ctx.deps / Path(path).name
    target.write_text(text, encoding="utf-8")
    return f"wrote {len(text)} characters to {target.name}"


STEPS = [
    "Step 1: list the pull requests merged since v1.2.0.",
    "Step 2: group them into features and fixes.",
    "Step 3: write the release notes for v1.3.0 to CHANGELOG.md.",
]


async def main(workdir: Path) -> None:
    agent = Agent[Path](MODEL, tools=[list_merged, write_file], system="You are a release manager.")
    async with agent:
        conversation = agent.conversation(deps=workdir)
        for step in STEPS:
            result = await conversation.send(step)
            print(f"> {step}\n{result.text}")
            print(f"  [{len(conversation.messages)} messages in the history]\n")
        print(f"CHANGELOG.md:\n{(workdir / 'CHANGELOG.md').read_text(encoding='utf-8')}")

        # The history is JSON: save it, and carry on later from the file.
        saved = workdir / "conversation.json"
        saved.write_text(json.dumps([m.to_wire() for m in conversation.messages]))
        later = agent.conversation(history=json.loads(saved.read_text()), deps=workdir)
        question = "Step 4: which of those pull requests was the largest?"
        result = await later.send(question)
        print(f"> {question}\n{result.text}")
        usage = conversation.usage + later.usage
        print(f"\n[4 steps, {usage.input_tokens} input + {usage.output_tokens} output tokens]")


CHANGELOG = """\
# v1.3.0

## Features
- Dark mode for the dashboard (#415)
- Export reports as PDF (#421)

## Fixes
- Retry uploads on 503 (#412)
- Fix CSV export of empty reports (#418)
"""

SCRIPT = [
    reply(tool_call("list_merged", {"since_tag": "v1.2.0"})),
    reply("Four pull requests were merged since v1.2.0: #412, #415, #418 and #421."),
    reply(
        "Features: #415 (dark mode for the dashboard) and #421 (PDF export of reports).\n"
        "Fixes: #412 (retry uploads on 503) and #418 (CSV export of empty reports)."
    ),
    reply(tool_call("write_file", {"path": "CHANGELOG.md", "text": CHANGELOG})),
    reply("The release notes for v1.3.0 are in CHANGELOG.md."),
    reply("#415, dark mode for the dashboard, with 910 changed lines."),
]

if __name__ == "__main__":
    with scripted_model(SCRIPT), tempfile.TemporaryDirectory() as workspace:
        anyio.run(main, Path(workspace))
