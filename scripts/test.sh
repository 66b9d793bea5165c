#!/usr/bin/env bash
# One command from a fresh clone: set up and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# Debian packages for the real-server tests and the UI screenshot (needs root; without them those
# tests skip locally, and fail in CI, where CI=true).
scripts/setup-system.sh || echo "test: test system packages missing: the real-server and screenshot tests will skip (fail when CI=true)"
.venv/bin/ruff check --quiet pipelines warehouse tests benchmarks scripts
exec .venv/bin/python -m pytest -n 2 --dist loadfile "$@"
