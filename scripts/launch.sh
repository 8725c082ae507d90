#!/usr/bin/env bash
# Install Kling Desktop into .venv (first run only) and open it. With no API token set up yet,
# it opens on the built-in simulator (demo mode), so everything can be tried at once.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
if .venv/bin/python -c 'import sys; from kling_desktop.context import AppContext; sys.exit(0 if AppContext.load(log=False).token() else 1)' 2>/dev/null; then
  exec .venv/bin/kling-desktop "$@"
fi
echo "No API token set up yet: opening the demo (a simulated service; nothing is spent)."
exec .venv/bin/kling-desktop --demo "$@"
