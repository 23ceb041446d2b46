#!/usr/bin/env bash
# Runs toolwire and its peers through the agent-loop bench in benchmarks/harness and prints the table.
#
# A venv under /tmp (VENV, reused across runs) gets the pinned peers of harness/requirements.txt and
# this checkout installed in editable mode, so edits under src/ are measured without reinstalling.
# Env, passed through to harness/run.sh: REPEATS (default 3), CONFIGS_ONLY (regex on config name),
# PORT, OUT (results dir), PIN=0 (do not pin server and driver to separate CPUs).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
VENV=${VENV:-/tmp/toolwire-bench-venv}
REQS=$ROOT/benchmarks/harness/requirements.txt
PY=$VENV/bin/python

if [ ! -x "$PY" ]; then
  if command -v uv >/dev/null; then uv venv -q -p 3.11 "$VENV"; else python3 -m venv "$VENV"; fi
fi
# Reinstall only when the pins or the project's metadata changed.
stamp=$(cat "$REQS" "$ROOT/pyproject.toml" | sha256sum | cut -d' ' -f1)
if [ "$(cat "$VENV/.toolwire-bench-stamp" 2>/dev/null)" != "$stamp" ]; then
  if command -v uv >/dev/null; then
    VIRTUAL_ENV=$VENV uv pip install -q -r "$REQS" -e "$ROOT"
  else
    "$PY" -m pip install -q -r "$REQS" -e "$ROOT"
  fi
  echo "$stamp" >"$VENV/.toolwire-bench-stamp"
fi

export PY
export CONTENDERS_EXTRA="toolwire|$ROOT/benchmarks/toolwire_driver.py${CONTENDERS_EXTRA:+
$CONTENDERS_EXTRA}"
exec "$ROOT/benchmarks/harness/run.sh"
