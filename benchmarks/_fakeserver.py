"""Starting the harness's fake Messages API in a child process, for the in-process benchmarks."""

from __future__ import annotations

import contextlib
import json
import os
import resource
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
HARNESS = HERE / "harness"
DRIVERS = HARNESS / "drivers"


def use_harness_drivers() -> None:
    """Make the harness's ``_common`` and this folder's driver importable."""
    for folder in (DRIVERS, HERE):
        if str(folder) not in sys.path:
            sys.path.insert(0, str(folder))


def split_cpus() -> tuple[set[int], set[int]]:
    """CPUs for (the measured client, the fake server): apart when there are two or more."""
    available = sorted(os.sched_getaffinity(0))
    if len(available) < 2:
        return set(available), set(available)
    return {available[0]}, {available[1]}


def free_port() -> int:
    """A loopback port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def stats(url: str) -> dict[str, Any]:
    """The fake server's counters (requests and violations per scenario)."""
    with urllib.request.urlopen(f"{url}/stats", timeout=5) as response:
        data: dict[str, Any] = json.load(response)
        return data


@contextlib.contextmanager
def fakeserver(
    port: int | None = None, *, cpus: Sequence[int] = (), nofile: int | None = None
) -> Iterator[str]:
    """Run ``harness/fakeserver.py`` on loopback while the block runs; yields its root URL.

    ``cpus`` pins the server to those CPUs (as the harness does, so that its work does not
    land in the client's measurements); ``nofile`` raises the child's open-file limit, for
    benchmarks that hold thousands of connections.
    """
    port = port or free_port()
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, str(HARNESS / "fakeserver.py"), "--port", str(port)]

    def prepare_child() -> None:
        if cpus:
            os.sched_setaffinity(0, set(cpus))
        if nofile is not None:
            resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))

    proc = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, preexec_fn=prepare_child
    )
    try:
        for _ in range(100):
            if proc.poll() is not None:
                err = proc.stderr.read().decode() if proc.stderr else ""
                raise RuntimeError(f"fakeserver exited with {proc.returncode}: {err}")
            try:
                stats(url)
                break
            except OSError:
                time.sleep(0.05)
        else:
            raise RuntimeError("fakeserver did not start within 5 s")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
