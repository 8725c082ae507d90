#!/usr/bin/env bash
# Run Kling Desktop's benchmarks (issues 7 and 14): prints the table and writes
# benchmark-results.json at the repository root. Not part of the test suite or CI. See the
# README's Performance section and docs/performance.md.
#
#     scripts/benchmark.sh [--only 1,2,...] [--repeat N] [--window SECONDS] [--quick]
#
#  1 cold start            2 clip check           3 upload               4 polling 200 jobs
#  5 GUI gaps in a drop    6 memory               7 frozen bundle        8 preparing a clip
#  9 finishing (sound)    10 Kling's finish → result playing            11 polling prototype
#
# Installs what it needs first: the app and its dev extras (scripts/setup.sh --dev, into .venv,
# unless a virtual environment is already active), plus ffmpeg (ffprobe and ffmpeg are the
# baselines of 2, 8 and 9; without them those halves are skipped with a note), curl (a
# baseline) and Xvfb (the xcb start-up figure) from apt. Takes 12-15 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
{ command -v ffprobe && command -v ffmpeg; } >/dev/null || missing+=(ffmpeg)
command -v curl >/dev/null || missing+=(curl)
command -v Xvfb >/dev/null || missing+=(xvfb)
if [ "${#missing[@]}" -gt 0 ]; then
  if command -v apt-get >/dev/null; then
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    echo "Installing for the benchmarks: ${missing[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "Not a Debian-like system: install ${missing[*]} yourself (those figures are skipped)." >&2
  fi
fi

if [ -n "${VIRTUAL_ENV:-}" ] && [ -x "$VIRTUAL_ENV/bin/python" ]; then
  PY="$VIRTUAL_ENV/bin/python"
  echo "Using the active virtual environment $VIRTUAL_ENV"
else
  scripts/setup.sh --dev
  PY=.venv/bin/python
fi

# Keep Qt/Mesa caches and every XDG folder away from the real profile (each benchmark also
# gives the app its own KLING_DESKTOP_HOME).
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
export XDG_CACHE_HOME="$scratch/cache" XDG_CONFIG_HOME="$scratch/config" XDG_DATA_HOME="$scratch/data"
export QT_QPA_PLATFORM=offscreen

exec "$PY" -m tests.benchmarks.run "$@"
