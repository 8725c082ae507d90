#!/usr/bin/env bash
# Install Kling Desktop into .venv (first run only) and open it. With no API token set up yet
# (neither in the OS keyring nor in KLING_DESKTOP_TOKEN), it opens on the built-in simulator
# (demo mode), so everything can be tried at once.
# KLING_LAUNCH_DRY_RUN=1 prints the command instead of running it (tests/test_fresh_machine.py).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

open_app() {
  if [ -n "${KLING_LAUNCH_DRY_RUN:-}" ]; then
    echo "launch.sh would run: $*"
    exit 0
  fi
  exec "$@"
}

# The app's own answer, read as the window reads the token; a broken check must show, not
# quietly fall back to the demo. (No usable keyring simply means "demo".)
if ! mode="$(.venv/bin/kling-desktop --launch-mode)"; then
  echo "launch.sh: could not tell whether an API token is set up (see the error above)." >&2
  exit 1
fi
case "$mode" in
  real) open_app .venv/bin/kling-desktop "$@" ;;
  demo)
    echo "No API token set up yet: opening the demo (a simulated service; nothing is spent)."
    open_app .venv/bin/kling-desktop --demo "$@"
    ;;
  *)
    echo "launch.sh: unexpected answer from 'kling-desktop --launch-mode': $mode" >&2
    exit 1
    ;;
esac
