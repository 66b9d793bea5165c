#!/usr/bin/env bash
# One command from a fresh clone: set up and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
.venv/bin/ruff check --quiet pipelines warehouse tests
exec .venv/bin/python -m pytest -n 2 --dist loadfile "$@"
