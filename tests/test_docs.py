"""Every ```python block of ``docs/*.md`` and ``README.md`` runs, so the documentation cannot rot.

How a page is run
-----------------
- Each page is one test (named by its path), run on asyncio and on trio. New pages under
  ``docs/`` are picked up without touching this file.
- Blocks fenced ```python (or ```py) run in page order, in one namespace: a name defined in
  one block is there for the next. Any other fence (```text, ```bash, ```console, ```json,
  ...) is shown, never run.
- Top-level ``await``, ``async for`` and ``async with`` work, as in an async REPL.
- A page runs in a fresh temporary directory, so blocks may write files.
- A failing block fails the page with ``docs/page.md, block at line N: <error>``; the
  traceback points at the page's own lines.

Comments that steer the runner (HTML comments: invisible on the rendered page)
---------------------------------------------------------------------------------
``<!-- no-run -->`` right before a block: the block is shown but not run.

``<!-- fake-api: [...] -->``: the replies of the model for the blocks that follow. Every page
talks to a fake Messages API (``toolwire.testing``) served on 127.0.0.1, with
``ANTHROPIC_BASE_URL`` pointing at it and ``ANTHROPIC_API_KEY`` set to a dummy key, so
``Agent("claude-sonnet-4-5", ...)`` in a block reaches it unchanged. The comment holds a JSON
list of script entries in the format of ``FakeMessagesAPI.from_file``: a string is a text
reply, an object is a response message (``{"content": [...], "stop_reason": "tool_use"}``,
missing fields filled in), an object with ``"fault"`` is a fault. It may span several lines
and replaces the script from that point of the page on. Each request the page's blocks send
takes the next entry.

The page fails when a request finds no entry left (the request gets a 400 naming the page),
when a script still has unused entries as the next ``fake-api`` comment or the end of the
page comes, or when any request broke a rule of the protocol. A page with no ``fake-api``
comment has an empty script: a request it sends to the endpoint the environment names fails
at once, rather than reaching a real API.
"""

from __future__ import annotations

import ast
import inspect
import json
import re
import sys
import textwrap
import threading
import types
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from toolwire import Agent, MessageRequest
from toolwire.testing import FakeMessagesAPI, Fault, Reply, load_script

ROOT = Path(__file__).resolve().parent.parent
PAGES = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "docs").glob("*.md"))
if (ROOT / "README.md").exists():
    PAGES.append("README.md")

RUNNABLE = frozenset({"python", "py"})
DUMMY_API_KEY = "sk-docs-dummy-key"

_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^`]*)$")
_FAKE_API = re.compile(r"^fake-api:(?P<json>.*)$", re.DOTALL)


@dataclass(frozen=True)
class Block:
    """A fenced code block of a page; ``line`` is the line of its first code line (from 1)."""

    line: int
    code: str


@dataclass(frozen=True)
class Script:
    """A ``fake-api`` comment: the replies for the blocks after it."""

    line: int
    entries: list[Any]


@dataclass
class Page:
    """What the runner does with a page: its blocks and scripts, in page order."""

    path: str
    steps: list[Block | Script] = field(default_factory=list)


class PageError(Exception):
    """A page could not be run: a block failed, or its script and its requests disagree."""


def parse_page(path: str, text: str) -> Page:
    """The runnable blocks and the ``fake-api`` scripts of a markdown page, in order."""
    page = Page(path)
    lines = text.splitlines()
    skip_next = False
    i = 0
    while i < len(lines):
        line = lines[i]
        opening = _FENCE.match(line)
        if opening:
            i = _read_block(page, lines, i, opening, run=not skip_next)
            skip_next = False
            continue
        stripped = line.strip()
        if stripped.startswith("<!--"):
            start = i
            body = [stripped.removeprefix("<!--")]
            while "-->" not in body[-1] and i + 1 < len(lines):
                i += 1
                body.append(lines[i])
            if "-->" not in body[-1]:
                raise PageError(f"{path}, line {start + 1}: an HTML comment is never closed")
            comment = "\n".join(body).split("-->", 1)[0].strip()
            if comment == "no-run":
                skip_next = True
            elif match := _FAKE_API.match(comment):
                page.steps.append(Script(start + 1, _script_json(path, start + 1, match["json"])))
        i += 1
    return page


def _read_block(page: Page, lines: list[str], i: int, opening: re.Match[str], *, run: bool) -> int:
    """Read the block opened at ``lines[i]``; return the index of the line after it."""
    fence = opening["fence"]
    closing = re.compile(rf"^[ \t]*{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$")
    language = opening["info"].split()[0].lower() if opening["info"].split() else ""
    body: list[str] = []
    j = i + 1
    while j < len(lines) and not closing.match(lines[j]):
        body.append(lines[j])
        j += 1
    if j == len(lines):
        raise PageError(f"{page.path}, line {i + 1}: a code block is never closed")
    if run and language in RUNNABLE:
        page.steps.append(Block(i + 2, textwrap.dedent("\n".join(body))))
    return j + 1


def _script_json(path: str, line: int, raw: str) -> list[Any]:
    try:
        entries = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise PageError(f"{path}, line {line}: the fake-api comment is not JSON ({exc})") from None
    if not isinstance(entries, list):
        raise PageError(f"{path}, line {line}: the fake-api comment must hold a JSON list")
    return entries


class ScriptedReplies:
    """The replies of a page's fake API, replaced as the page's ``fake-api`` comments come."""

    def __init__(self) -> None:
        self.path = ""
        self.source_line = 0
        self._queue: deque[Reply] = deque()
        self._lock = threading.Lock()  # the server answers from its own thread

    def begin(self, path: str) -> None:
        """Start the page ``path`` with an empty script."""
        with self._lock:
            self.path = path
            self.source_line = 0
            self._queue.clear()

    def replace(self, line: int, entries: list[Reply]) -> None:
        """Use ``entries`` from here on; unused entries of the previous script fail the page."""
        self.check_used_up(f"the fake-api comment at line {line}")
        with self._lock:
            self._queue = deque(entries)
            self.source_line = line

    def check_used_up(self, where: str) -> None:
        """Fail when the current script has entries no request took."""
        with self._lock:
            left = len(self._queue)
        if left:
            raise PageError(
                f"{self.path}: {left} scripted repl{'y' if left == 1 else 'ies'} of the fake-api "
                f"comment at line {self.source_line} never used before {where}"
            )

    def __call__(self, request: MessageRequest) -> Reply:
        """The fake API's only script entry: hands out the page's replies one by one."""
        with self._lock:
            if self._queue:
                return self._queue.popleft()
        where = f"line {self.source_line}" if self.source_line else "nowhere on the page"
        return Fault.status(
            400,
            "invalid_request_error",
            f"docs runner: no scripted reply left for this request in {self.path} "
            f"(the last fake-api comment is at {where})",
        )


def _entries(path: str, tmp_path: Path, script: Script) -> list[Reply]:
    """Script entries from their JSON form, checked now, through the fake's own file loader."""
    file = tmp_path / f"fake-api-line-{script.line}.json"
    file.write_text(json.dumps(script.entries), encoding="utf-8")
    try:
        return load_script(file)
    except ValueError as exc:
        problem = str(exc).removeprefix(f"{file}: ")
        raise PageError(f"{path}, line {script.line}: the fake-api comment: {problem}") from None


def _module(path: str) -> types.ModuleType:
    """A real module to run the page in: dataclasses, pickle and pydantic look modules up."""
    name = "docs_" + re.sub(r"\W", "_", path.removesuffix(".md"))
    module = types.ModuleType(name)
    module.__file__ = str(ROOT / path)
    return module


async def run_block(block: Block, path: str, namespace: dict[str, Any]) -> None:
    """Run one block in ``namespace``, top-level ``await`` allowed; errors name the block."""
    try:
        code = compile(
            block.code,
            str(ROOT / path),
            "exec",
            flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT,
            dont_inherit=True,  # this file's __future__ imports are not the page's
        )
    except SyntaxError as exc:
        line = block.line + (exc.lineno or 1) - 1
        raise PageError(f"{path}, block at line {block.line}: line {line}: {exc.msg}") from None
    try:
        outcome = eval(_shifted(code, block.line - 1), namespace)
        if inspect.iscoroutine(outcome):
            await outcome
    except Exception as exc:
        raise PageError(f"{path}, block at line {block.line}: {type(exc).__name__}: {exc}") from exc


def _shifted(code: types.CodeType, lines: int) -> types.CodeType:
    """``code`` moved down by ``lines``, so tracebacks show the page's own line numbers.

    Moving the first line of each code object (rather than padding the source with blank
    lines) keeps a traceback's listing to the block itself.
    """
    consts = tuple(
        _shifted(c, lines) if isinstance(c, types.CodeType) else c for c in code.co_consts
    )
    return code.replace(co_firstlineno=code.co_firstlineno + lines, co_consts=consts)


async def _close_agents(namespace: dict[str, Any]) -> None:
    """Close the connection pools of the page's agents, so the server can stop at once."""
    for value in list(namespace.values()):
        if isinstance(value, Agent):
            await value.aclose()


async def run_page(
    path: str, text: str, api: FakeMessagesAPI, replies: ScriptedReplies, tmp_path: Path
) -> None:
    """Run the page ``path``, whose markdown is ``text``, against ``api`` and its ``replies``.

    The caller points the environment at ``api`` and runs this in a scratch directory.
    """
    parsed = parse_page(path, text)
    module = _module(path)
    sys.modules[module.__name__] = module
    replies.begin(path)
    violations_before = len(api.violations)
    try:
        for step in parsed.steps:
            if isinstance(step, Script):
                replies.replace(step.line, _entries(path, tmp_path, step))
            else:
                await run_block(step, path, module.__dict__)
    finally:
        await _close_agents(module.__dict__)
        del sys.modules[module.__name__]
    replies.check_used_up("the end of the page")
    broken = api.violations[violations_before:]
    if broken:
        raise PageError(f"{path}: requests broke rules of the protocol: " + "; ".join(broken))


@pytest.fixture(scope="module")
def served_api() -> Iterator[tuple[FakeMessagesAPI, ScriptedReplies]]:
    """One fake Messages API on loopback for every page (starting a server is not free)."""
    replies = ScriptedReplies()
    api = FakeMessagesAPI([replies], api_key=DUMMY_API_KEY, cycle=True)
    with api.serve() as base_url, pytest.MonkeyPatch.context() as env:
        env.setenv("ANTHROPIC_BASE_URL", base_url)
        env.setenv("ANTHROPIC_API_KEY", DUMMY_API_KEY)
        env.delenv("ANTHROPIC_AUTH_TOKEN", raising=False)
        yield api, replies


@pytest.fixture
def page_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A scratch directory the page runs in; script files go next to it."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return tmp_path


@pytest.mark.anyio
@pytest.mark.parametrize("page", PAGES)
async def test_page(
    page: str, served_api: tuple[FakeMessagesAPI, ScriptedReplies], page_dir: Path
) -> None:
    api, replies = served_api
    await run_page(page, (ROOT / page).read_text(encoding="utf-8"), api, replies, page_dir)


# -- the runner's own behaviour ------------------------------------------------------------

SAMPLE = """\
# A page

<!-- fake-api: ["first"] -->

```python
x = 1
```

Shown, not run:

```bash
exit 1
```

<!-- no-run -->
```python
raise SystemExit
```

<!--
fake-api: [
  {"content": [{"type": "text", "text": "second"}]}
]
-->

- In a list:

  ~~~py
  y = x + 1
  ~~~
"""


def test_parse_page_finds_blocks_scripts_and_lines() -> None:
    page = parse_page("sample.md", SAMPLE)
    assert page.steps == [
        Script(3, ["first"]),
        Block(6, "x = 1"),
        Script(20, [{"content": [{"type": "text", "text": "second"}]}]),
        Block(29, "y = x + 1"),
    ]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("```python\nx = 1\n", "line 1: a code block is never closed"),
        ("<!-- fake-api: [\n", "line 1: an HTML comment is never closed"),
        ('text\n<!-- fake-api: {"a": 1} -->\n', "line 2: the fake-api comment must hold"),
        ("<!-- fake-api: [oops] -->\n", "line 1: the fake-api comment is not JSON"),
    ],
)
def test_parse_page_names_the_line_of_a_broken_page(text: str, problem: str) -> None:
    with pytest.raises(PageError, match=re.escape(f"bad.md, {problem}")):
        parse_page("bad.md", text)


@pytest.mark.anyio
async def test_blocks_share_a_namespace_and_await_at_top_level() -> None:
    page = parse_page(
        "p.md",
        "```python\nimport anyio\n```\n\n```python\nawait anyio.sleep(0)\nz = 2\n```\n",
    )
    namespace: dict[str, Any] = {"__name__": "docs_p"}
    for step in page.steps:
        assert isinstance(step, Block)
        await run_block(step, "p.md", namespace)
    assert namespace["z"] == 2


@pytest.mark.anyio
async def test_a_failing_block_names_the_page_and_its_line() -> None:
    page = parse_page("p.md", "Intro\n\n```python\nok = 1\nassert ok == 2, 'wrong'\n```\n")
    (step,) = page.steps
    assert isinstance(step, Block)
    with pytest.raises(PageError, match=r"^p\.md, block at line 4: AssertionError: wrong$") as info:
        await run_block(step, "p.md", {})
    traceback = info.value.__cause__.__traceback__ if info.value.__cause__ else None
    lines = [lineno for _, lineno in _frames(traceback)]
    assert lines[-1] == 5  # the failing line of the page itself


def _frames(tb: types.TracebackType | None) -> Iterator[tuple[types.FrameType, int]]:
    while tb is not None:
        yield tb.tb_frame, tb.tb_lineno
        tb = tb.tb_next


def test_a_script_left_unused_fails_the_page() -> None:
    replies = ScriptedReplies()
    replies.begin("p.md")
    replies.replace(3, ["unused"])
    with pytest.raises(PageError, match="1 scripted reply of the fake-api comment at line 3"):
        replies.check_used_up("the end of the page")


AGENT_PAGE = """\
<!-- fake-api: [
  {"content": [{"type": "tool_use", "id": "toolu_01", "name": "add", "input": {"a": 2, "b": 3}}]},
  "5"
] -->

```python
from toolwire import Agent, tool

@tool
def add(a: int, b: int) -> int:
    \"\"\"Add two integers.\"\"\"
    return a + b

agent = Agent("claude-sonnet-4-5", tools=[add])
result = await agent.run("2+3?")
assert result.text == "5"
assert result.messages[2].content[0].content == "5"
```
"""


@pytest.mark.anyio
async def test_an_agent_on_a_page_gets_the_scripted_replies(
    served_api: tuple[FakeMessagesAPI, ScriptedReplies], page_dir: Path
) -> None:
    api, replies = served_api
    before = len(api.requests)
    await run_page("agent.md", AGENT_PAGE, api, replies, page_dir)
    requests = api.requests[before:]
    assert len(requests) == 2
    assert requests[0].headers["x-api-key"] == DUMMY_API_KEY
    (answer,) = requests[1].body["messages"][-1]["content"]
    assert answer == {"type": "tool_result", "tool_use_id": "toolu_01", "content": "5"}


@pytest.mark.anyio
async def test_a_request_with_no_reply_left_fails_naming_the_page(
    served_api: tuple[FakeMessagesAPI, ScriptedReplies], page_dir: Path
) -> None:
    api, replies = served_api
    short = AGENT_PAGE.replace(',\n  "5"\n', "\n")
    with pytest.raises(
        PageError, match=r"^short\.md, block at line 6: InvalidRequestError"
    ) as info:
        await run_page("short.md", short, api, replies, page_dir)
    assert "no scripted reply left for this request in short.md" in str(info.value)


@pytest.mark.anyio
async def test_replies_left_unused_fail_the_page(
    served_api: tuple[FakeMessagesAPI, ScriptedReplies], page_dir: Path
) -> None:
    api, replies = served_api
    long = AGENT_PAGE.replace('"5"\n', '"5", "never asked for"\n')
    with pytest.raises(
        PageError,
        match=r"^long\.md: 1 scripted reply of the fake-api comment at line 1 never used "
        r"before the end of the page$",
    ):
        await run_page("long.md", long, api, replies, page_dir)


@pytest.mark.anyio
async def test_a_malformed_script_entry_names_its_line(
    served_api: tuple[FakeMessagesAPI, ScriptedReplies], page_dir: Path
) -> None:
    api, replies = served_api
    page = '<!-- fake-api: [{"fault": "nonsense"}] -->\n'
    with pytest.raises(PageError, match=r"^bad\.md, line 1: the fake-api comment: entry 0: "):
        await run_page("bad.md", page, api, replies, page_dir)
