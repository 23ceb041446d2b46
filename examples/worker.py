"""Agents in a backend worker: a job queue, a saved transcript per turn, resuming after a crash.

    python examples/worker.py

A support desk's jobs (one ticket each) wait in a SQLite table. A worker process runs a pool
of consumers, two jobs at a time (an anyio task group). Each job is one agent run whose
``checkpoint=`` hook saves the transcript to the job's row after every turn.

The demo kills the first worker with SIGKILL in the middle of its jobs, then starts a second
one. The second worker finds the unfinished jobs and resumes each from its saved
transcript: the tool calls whose results were saved are not run again. Every tool
execution is recorded in the database, and the end of the demo counts them.

Offline, the scripted model holds its answers at the moment of the crash, so the kill lands
while every running job waits for the model, never in the middle of a tool. Against a real
endpoint the kill comes right after the first saved turn; a call that was running at that
instant has no saved result and runs again, and the count says so.

``python examples/worker.py work DB`` runs one worker on the queue in DB until it is empty.
"""

from __future__ import annotations

import json
import math
import os
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
from _offline import MODEL, scripted_model

from toolwire import (
    Agent,
    Context,
    MessageParam,
    MessageRequest,
    ToolError,
    ToolUseBlock,
    ToolwireError,
    tool,
)
from toolwire.testing import Fault, Reply, reply, tool_call

CONCURRENCY = 2

TICKETS = [
    "Ticket from ana@example.com: order 1042 arrived broken. Please refund it.",
    "Ticket from li@example.com: I was charged twice for order 1077.",
    "Ticket from sam@example.com: please send order 1090 to 5 Rue Lepic, Paris.",
]

# -- the job queue and the transcripts, in SQLite ---------------------------------------------

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY,
    ticket TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'queued',   -- queued, running, done, failed
    transcript TEXT,                          -- JSON, saved after every turn
    answer TEXT
);
CREATE TABLE IF NOT EXISTS tool_runs (
    id INTEGER PRIMARY KEY,
    job_id INTEGER NOT NULL,
    tool_use_id TEXT NOT NULL,
    tool TEXT NOT NULL,
    worker_pid INTEGER NOT NULL
);
"""


@dataclass
class Job:
    """One claimed job: its ticket, and the transcript saved so far (if any)."""

    id: int
    ticket: str
    transcript: list[MessageParam] | None


class Store:
    """The worker's database. Each write is its own transaction, committed before it returns.

    SQLite on a local disk answers in well under a millisecond, so the calls are made from
    the event loop directly; a database across a network would get an async driver.
    """

    def __init__(self, path: Path) -> None:
        self.db = sqlite3.connect(path, timeout=10, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.executescript(SCHEMA)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def close(self) -> None:
        self.db.close()

    def enqueue(self, tickets: list[str]) -> None:
        with self.transaction() as db:
            db.executemany("INSERT INTO jobs (ticket) VALUES (?)", [(t,) for t in tickets])

    def requeue_unfinished(self) -> list[int]:
        """Jobs a dead worker left running go back to the queue, their transcripts kept.

        One worker process owns the queue here; with several, a lease column (worker id and
        expiry) would say which running jobs are really abandoned.
        """
        with self.transaction() as db:
            ids = [r[0] for r in db.execute("SELECT id FROM jobs WHERE status = 'running'")]
            db.execute("UPDATE jobs SET status = 'queued' WHERE status = 'running'")
        return ids

    def claim(self) -> Job | None:
        with self.transaction() as db:
            row = db.execute(
                "SELECT id, ticket, transcript FROM jobs WHERE status = 'queued' ORDER BY id"
            ).fetchone()
            if row is None:
                return None
            db.execute("UPDATE jobs SET status = 'running' WHERE id = ?", (row[0],))
        saved = [MessageParam.model_validate(m) for m in json.loads(row[2])] if row[2] else None
        return Job(row[0], row[1], saved)

    def save(self, job_id: int, transcript: list[MessageParam]) -> None:
        wire = json.dumps([m.to_wire() for m in transcript])
        with self.transaction() as db:
            db.execute("UPDATE jobs SET transcript = ? WHERE id = ?", (wire, job_id))

    def finish(self, job_id: int, status: str, answer: str) -> None:
        with self.transaction() as db:
            db.execute(
                "UPDATE jobs SET status = ?, answer = ? WHERE id = ?", (status, answer, job_id)
            )

    def record_tool_run(self, job_id: int, ctx: Context[Any]) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT INTO tool_runs (job_id, tool_use_id, tool, worker_pid) VALUES (?, ?, ?, ?)",
                (job_id, ctx.tool_use_id, ctx.tool_name, os.getpid()),
            )


# -- the agent and its tools ------------------------------------------------------------------


@dataclass
class Deps:
    """What the tools of one job get from the worker."""

    store: Store
    job_id: int


ORDERS = {
    1042: {"customer": "ana@example.com", "total_eur": 89.0, "status": "delivered"},
    1077: {"customer": "li@example.com", "total_eur": 59.9, "status": "delivered"},
    1090: {"customer": "sam@example.com", "total_eur": 240.0, "status": "packing"},
}
REFUNDS: dict[str, float] = {}  # the payment provider's side, keyed by idempotency key


@tool
async def lookup_customer(ctx: Context[Deps], email: str) -> dict[str, Any]:
    """Find a customer by e-mail address.

    Args:
        email: The customer's e-mail address.
    """
    ctx.deps.store.record_tool_run(ctx.deps.job_id, ctx)
    await anyio.sleep(0.05)
    orders = [n for n, order in ORDERS.items() if order["customer"] == email]
    if not orders:
        raise ToolError(f"No customer with e-mail {email}.")
    return {"email": email, "orders": orders, "since": 2021}


@tool
async def get_order(ctx: Context[Deps], order_id: int) -> dict[str, Any]:
    """An order's customer, total and status.

    Args:
        order_id: The order number.
    """
    ctx.deps.store.record_tool_run(ctx.deps.job_id, ctx)
    await anyio.sleep(0.05)
    if order_id not in ORDERS:
        raise ToolError(f"No order {order_id}.")
    return {"order_id": order_id, **ORDERS[order_id]}


@tool(sequential=True)
async def issue_refund(ctx: Context[Deps], order_id: int, amount_eur: float) -> str:
    """Refund an amount of an order to the customer's card.

    Args:
        order_id: The order number.
        amount_eur: The amount to refund, in euros.
    """
    ctx.deps.store.record_tool_run(ctx.deps.job_id, ctx)
    # The payment provider deduplicates on this key: the same call is never paid twice.
    REFUNDS.setdefault(ctx.idempotency_key, amount_eur)
    await anyio.sleep(0.05)
    return f"Refunded {amount_eur:.2f} EUR on order {order_id}."


@tool(sequential=True)
async def update_address(ctx: Context[Deps], order_id: int, address: str) -> str:
    """Change the delivery address of an order that has not shipped.

    Args:
        order_id: The order number.
        address: The new delivery address.
    """
    ctx.deps.store.record_tool_run(ctx.deps.job_id, ctx)
    await anyio.sleep(0.05)
    return f"Order {order_id} will be delivered to {address}."


def support_agent() -> Agent[Deps]:
    """The agent every job runs. Built in the worker, from the ANTHROPIC_* environment."""
    return Agent[Deps](
        MODEL,
        tools=[lookup_customer, get_order, issue_refund, update_address],
        system=(
            "You resolve support tickets. Check the customer and the order before acting, "
            "then act, then answer with one sentence for the customer."
        ),
        max_tokens=1024,
    )


# -- the worker process -----------------------------------------------------------------------


def say(text: str) -> None:
    print(f"  [worker {os.getpid()}] {text}", flush=True)


async def run_job(agent: Agent[Deps], store: Store, job: Job) -> None:
    def checkpoint(transcript: list[MessageParam]) -> None:
        store.save(job.id, transcript)
        turns = sum(1 for m in transcript if m.role == "assistant")
        say(f"job {job.id}: turn {turns} saved")

    if job.transcript is None:
        say(f"job {job.id}: started")
        prompt: str | None = job.ticket
    else:
        done = sum(isinstance(b, ToolUseBlock) for m in job.transcript for b in m.blocks())
        say(f"job {job.id}: resumed from its saved transcript ({done} tool calls already done)")
        prompt = None  # carry on exactly where the transcript stops
    try:
        result = await agent.run(
            prompt,
            history=job.transcript,
            deps=Deps(store, job.id),
            checkpoint=checkpoint,
            run_id=f"job-{job.id}",  # the same on every attempt: stable idempotency keys
        )
    except ToolwireError as exc:
        # The transcript so far comes with the error: keep it, for a person or a retry.
        if exc.transcript is not None:
            store.save(job.id, exc.transcript)
        store.finish(job.id, "failed", str(exc))
        say(f"job {job.id}: failed: {exc}")
        return
    # The checkpoint has saved the final transcript already.
    store.finish(job.id, "done", result.text)
    say(f"job {job.id}: done")


async def consume(agent: Agent[Deps], store: Store) -> None:
    while (job := store.claim()) is not None:
        await run_job(agent, store, job)


async def work(path: Path) -> None:
    """Run jobs from the queue, ``CONCURRENCY`` at a time, until it is empty."""
    with closing(Store(path)) as store:
        resumed = store.requeue_unfinished()
        say("started" + (f"; unfinished jobs back in the queue: {resumed}" if resumed else ""))
        async with support_agent() as agent, anyio.create_task_group() as pool:
            for _ in range(CONCURRENCY):
                pool.start_soon(consume, agent, store)
    say("queue empty")


# -- the demo: a worker killed mid-job, and a second one that finishes ------------------------


def start_worker(path: Path) -> subprocess.Popen[bytes]:
    # The child inherits ANTHROPIC_*: the real endpoint, or the scripted model's.
    return subprocess.Popen([sys.executable, __file__, "work", str(path)])


def query(path: Path, sql: str) -> list[Any]:
    with closing(sqlite3.connect(path, timeout=10)) as db:
        return db.execute(sql).fetchall()


def running_jobs(path: Path) -> set[int]:
    return {r[0] for r in query(path, "SELECT id FROM jobs WHERE status = 'running'")}


def saved_jobs(path: Path) -> set[int]:
    return {r[0] for r in query(path, "SELECT id FROM jobs WHERE transcript IS NOT NULL")}


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up waiting for {what}")
        time.sleep(0.01)


def report(path: Path) -> None:
    jobs = query(path, "SELECT id, status, answer, transcript FROM jobs ORDER BY id")
    runs = query(path, "SELECT job_id, tool_use_id, tool, worker_pid FROM tool_runs")
    print()
    calls: set[tuple[int, str]] = set()
    for job_id, status, answer, transcript in jobs:
        print(f"job {job_id} {status}: {answer}")
        for message in json.loads(transcript or "[]"):
            for block in MessageParam.model_validate(message).blocks():
                if isinstance(block, ToolUseBlock):
                    calls.add((job_id, block.id))
    executions: dict[tuple[int, str], list[int]] = {}
    for job_id, tool_use_id, _, pid in runs:
        executions.setdefault((job_id, tool_use_id), []).append(pid)
    twice = sorted(key for key, pids in executions.items() if len(pids) > 1)
    lost = sorted(set(executions) - calls)  # ran, but its result never reached a transcript
    workers = len({pid for _, _, _, pid in runs})
    print(
        f"\ntool calls in the transcripts: {len(calls)}; tool executions: {len(runs)}, "
        f"by {workers} workers"
    )
    print(f"tool calls run twice: {len(twice)}; runs lost in the crash: {len(lost)}")


def demo() -> None:
    control = HoldAtCrash(crash_job=2)
    with (
        tempfile.TemporaryDirectory() as tmp,
        scripted_model([control], cycle=True) as fake,
    ):
        path = Path(tmp) / "jobs.db"
        with closing(Store(path)) as store:
            store.enqueue(TICKETS)
        print(f"{len(TICKETS)} jobs queued; {CONCURRENCY} run at a time per worker")

        first = start_worker(path)
        if fake is not None:
            # Every running job waits for the model, and job 2 has a saved turn: crash now.
            wait_for(
                lambda: control.crash_job in control.held and running_jobs(path) <= control.held,
                "the crash point",
            )
        else:
            wait_for(lambda: bool(saved_jobs(path)), "a saved turn", timeout=300)
        first.kill()
        first.wait()
        unfinished = sorted(running_jobs(path))
        print(f"worker {first.pid} killed with SIGKILL; unfinished jobs: {unfinished}")
        control.release()

        second = start_worker(path)
        if second.wait(timeout=300) != 0:
            raise SystemExit(f"the second worker failed with exit code {second.returncode}")
        report(path)


class HoldAtCrash:
    """The offline model: plays each ticket's script, and holds every answer from the crash on.

    The crash comes when job ``crash_job`` asks for its second turn: from then on no request
    is answered until ``release()``, so the worker is killed while its jobs wait for the model.
    """

    def __init__(self, crash_job: int) -> None:
        self.crash_job = crash_job
        self._lock = threading.Lock()
        self._held: set[int] = set()
        self._holding = False
        self._crashed = False

    @property
    def held(self) -> set[int]:
        with self._lock:
            return set(self._held)

    def release(self) -> None:
        with self._lock:
            self._holding = False
            self._held.clear()

    def __call__(self, request: MessageRequest) -> Reply:
        first = request.messages[0].blocks()[0]
        job = next(n for n, ticket in enumerate(TICKETS, 1) if ticket == getattr(first, "text", ""))
        turn = sum(1 for m in request.messages if m.role == "assistant")
        with self._lock:
            if job == self.crash_job and turn == 1 and not self._crashed:
                self._crashed = self._holding = True
            if self._holding:
                self._held.add(job)
                return Fault.delay(math.inf)  # answered never: the client goes away first
        return SCRIPTS[job][turn]


def ids(job: int, turn: int, n: int) -> str:
    return f"toolu_job{job}_turn{turn}_{n}"


SCRIPTS: dict[int, list[Reply]] = {
    1: [
        reply(
            tool_call("lookup_customer", {"email": "ana@example.com"}, id=ids(1, 0, 1)),
            tool_call("get_order", {"order_id": 1042}, id=ids(1, 0, 2)),
        ),
        reply(tool_call("issue_refund", {"order_id": 1042, "amount_eur": 89.0}, id=ids(1, 1, 1))),
        reply("We have refunded the 89.00 EUR of order 1042 to your card."),
    ],
    2: [
        reply(
            tool_call("lookup_customer", {"email": "li@example.com"}, id=ids(2, 0, 1)),
            tool_call("get_order", {"order_id": 1077}, id=ids(2, 0, 2)),
        ),
        reply(tool_call("issue_refund", {"order_id": 1077, "amount_eur": 59.9}, id=ids(2, 1, 1))),
        reply("We have refunded the duplicate charge of 59.90 EUR for order 1077."),
    ],
    3: [
        reply(tool_call("get_order", {"order_id": 1090}, id=ids(3, 0, 1))),
        reply(
            tool_call(
                "update_address",
                {"order_id": 1090, "address": "5 Rue Lepic, Paris"},
                id=ids(3, 1, 1),
            )
        ),
        reply("Order 1090 has not shipped yet and will go to 5 Rue Lepic, Paris."),
    ],
}

if __name__ == "__main__":
    if sys.argv[1:2] == ["work"]:
        anyio.run(work, Path(sys.argv[2]))
    else:
        demo()
