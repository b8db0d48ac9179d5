#!/usr/bin/env bash
# One command on a fresh machine: install what is missing, then run everything on embedded defaults.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh run
exec .venv/bin/heartbeat-monitor --demo "$@"
