#!/usr/bin/env bash
# One command from a fresh clone: set up, make a realistic synthetic inbox, run the latest day.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/iom-hub demo "$@"
