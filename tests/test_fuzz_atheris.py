"""The coverage-guided fuzz targets in ``fuzz/``: their seeds pass, and a short run finds nothing.

The seeds (the real bodies of tests/data) go through each target's check in this process,
atheris or not. When atheris is installed (Linux x86-64 wheels), each target also runs as
libFuzzer does in CI: a subprocess, 2000 inputs, a fixed seed, exit status 0.
"""

from __future__ import annotations

import importlib.util
import platform
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

FUZZ = Path(__file__).resolve().parent.parent / "fuzz"
TARGETS = ["response", "sse"]


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"toolwire_fuzz_{name}", FUZZ / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(FUZZ))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(FUZZ))
    return module


@pytest.mark.parametrize("target", TARGETS)
def test_the_seeds_pass_the_target_check(target: str) -> None:
    checks = load("checks")
    seeds = checks.seeds(target)
    assert len(seeds) >= 10
    for seed in seeds:
        checks.TARGETS[target](seed)


def test_the_response_check_catches_a_leaked_key(monkeypatch: pytest.MonkeyPatch) -> None:
    checks = load("checks")

    class ForgetfulEndpoint:
        """An endpoint that names no secret, so nothing is redacted."""

        url = checks._CLIENT.endpoint.url

        def secrets(self) -> tuple[str, ...]:
            return ()

    monkeypatch.setattr(checks._CLIENT, "endpoint", ForgetfulEndpoint())
    with pytest.raises(AssertionError, match="leaked"):
        checks.check_response(f"echo {checks.SECRET}".encode())


@pytest.mark.skipif(
    not (sys.platform == "linux" and platform.machine() == "x86_64"),
    reason="atheris publishes wheels for Linux x86-64 only; the dev environment installs it there",
)
def test_a_short_fuzz_run_of_each_target_finds_nothing(tmp_path: Path) -> None:
    import atheris  # noqa: F401 - installed by the dev environment on this platform

    # Both targets at once: most of each run is the instrumented import of the library.
    runs = {
        target: subprocess.Popen(
            [
                sys.executable,
                str(FUZZ / "run.py"),
                target,
                "--artifacts",
                str(tmp_path / target),
                "--",
                "-runs=2000",
                "-seed=1",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for target in TARGETS
    }
    for target, process in runs.items():
        _, stderr = process.communicate(timeout=300)
        assert process.returncode == 0, f"{target}: {stderr[-3000:]}"
        assert "Done 2000 runs" in stderr
        assert not any((tmp_path / target).iterdir())
