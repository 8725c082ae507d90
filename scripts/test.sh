#!/usr/bin/env bash
# Install everything and run the whole test suite: unit, GUI (offscreen), integration against
# the local simulator, and one test against a real Secret Service keyring.
# Usage: scripts/test.sh [pytest args...]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --dev

# Keep Qt/Mesa caches and every XDG folder away from the real profile.
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
export XDG_CACHE_HOME="$scratch/cache" XDG_CONFIG_HOME="$scratch/config" XDG_DATA_HOME="$scratch/data"
export QT_QPA_PLATFORM=offscreen

status=0
# --capture=sys (in pyproject) keeps a fatal Qt abort visible in the log.
.venv/bin/python -m pytest "$@" || status=$?
if [ "$status" -eq 5 ]; then
  echo "No test ran: that is a failure." >&2
  exit 1
fi
[ "$status" -eq 0 ] || exit "$status"

if [ "$#" -eq 0 ]; then
  echo "--- real Secret Service keyring test"
  PYTHON="$PWD/.venv/bin/python" bash tests/integration/run_real_keyring.sh
fi
