#!/usr/bin/env bash
# Install what Kling Desktop needs on Debian/Ubuntu and make a virtual environment in .venv.
# Safe to run again: it only adds what is missing.  Usage: scripts/setup.sh [--dev]
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  # QtMultimedia (playback) needs libpulse0; the rest are Qt's usual runtime libraries.
  libpulse0 libegl1 libgl1 libfontconfig1 fonts-dejavu-core libdbus-1-3
  libxkbcommon0 libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1
  libxcb-shape0 libxcb-randr0 libxcb-render-util0 libxcb-image0 libxcb-xinerama0
)
DEV_PACKAGES=(
  # Tests and packaging: a virtual screen, a real Secret Service, desktop-file checks.
  xvfb xauth dbus-daemon gnome-keyring desktop-file-utils imagemagick curl dpkg-dev gcc libc6-dev
)

dev=0
[ "${1:-}" = "--dev" ] && dev=1

wanted=("${APT_PACKAGES[@]}")
[ "$dev" = 1 ] && wanted+=("${DEV_PACKAGES[@]}")
missing=()
for pkg in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if command -v apt-get >/dev/null; then
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    echo "Installing system packages: ${missing[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "Not a Debian-like system: make sure Qt's runtime libraries are installed." >&2
  fi
fi

# PySide6 6.12 on Python 3.11 crashes (a refcount leak on every signal emit); 3.12+ is immune,
# and pyproject.toml pins 6.11.x on 3.11. Prefer 3.12/3.13, else 3.11. Only needed to create .venv.
usable() {  # a Python >= 3.11 that can make a venv (Debian's lacks ensurepip without python3-venv)
  command -v "$1" >/dev/null && "$1" -c 'import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 11))' 2>/dev/null
}
find_python() {
  local candidate
  # pyenv keeps extra versions off PATH unless selected: look in its folder too.
  for candidate in python3.12 python3.13 \
      "$HOME"/.pyenv/versions/3.12*/bin/python3 "$HOME"/.pyenv/versions/3.13*/bin/python3 \
      python3.11 "$HOME"/.pyenv/versions/3.11*/bin/python3 python3; do
    if usable "$candidate"; then echo "$candidate"; return 0; fi
  done
  return 1
}

if [ ! -x .venv/bin/python ]; then
  PYTHON="${PYTHON:-$(find_python || true)}"
  if [ -z "$PYTHON" ] && command -v apt-get >/dev/null && command -v python3 >/dev/null \
      && python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    # A fresh Debian/Ubuntu has python3 but not its venv module.
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    echo "Installing system package: python3-venv"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends python3-venv >/dev/null
    PYTHON="$(find_python || true)"
  fi
  [ -n "$PYTHON" ] || { echo "Python 3.11 or newer (with its venv module) is needed." >&2; exit 2; }
  echo "Creating .venv with $("$PYTHON" --version)"
  "$PYTHON" -m venv .venv
fi
extras=""
[ "$dev" = 1 ] && extras="[test,build]"
# The dev install includes the plain one: either stamp, newer than pyproject.toml, will do.
stamps=(".venv/.installed[test,build]")
[ "$dev" = 1 ] || stamps+=(".venv/.installed")
for stamp in "${stamps[@]}"; do
  if [ -f "$stamp" ] && ! [ pyproject.toml -nt "$stamp" ]; then exit 0; fi
done
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".$extras"
touch ".venv/.installed$extras"
