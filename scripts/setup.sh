#!/usr/bin/env bash
# Set up everything the hub needs on a fresh Debian/Ubuntu machine: the locked Python
# environment in .venv (uv, the machine's Python 3.11).  Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

export UV_PYTHON_DOWNLOADS=never
if ! command -v uv >/dev/null 2>&1; then
    python3 -m pip install --quiet --disable-pip-version-check "uv>=0.5"
fi
PYTHON=${IOM_PYTHON:-$(command -v python3.11 || command -v python3)}
uv sync --frozen --python "$PYTHON" --quiet
echo "setup: .venv ready ($(.venv/bin/python --version))"
