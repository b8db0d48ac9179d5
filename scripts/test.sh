#!/usr/bin/env bash
# One command on a fresh machine: install what is missing, then lint, type-check and run every test.
# With arguments, they go to pytest alone (e.g. `bash scripts/test.sh tests/unit -k config`).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh test
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
.venv/bin/mypy --strict --python-version 3.11 dashboards  # grafana-foundation-sdk needs 3.11
.venv/bin/mypy --strict deploy/kubernetes/generate.py
if [ $# -gt 0 ]; then
  exec .venv/bin/pytest "$@"
fi
# the unit tier needs no server binary: it runs with nothing but the virtualenv on PATH
PATH="$PWD/.venv/bin" .venv/bin/pytest -q tests/unit
# the integration tier on three workers (each with its own servers on free ports; most tests wait
# on servers, not on the CPU), then the alert-quality runs on their own: their time is compressed
# twelve times, and a busy CPU would bend their figures. The services' suite and the jobs' suite
# run side by side, each on its own stack: both mostly wait on their fleets' clocks.
.venv/bin/pytest -n 3 tests/integration --deselect tests/integration/test_alert_quality.py
exec .venv/bin/pytest -n 2 tests/integration/test_alert_quality.py
