#!/usr/bin/env bash
# Build Kling Desktop for macOS: the .app (PyInstaller BUNDLE), signed and notarized when Apple
# credentials are in the environment, and a .dmg. From the repository root:
#
#     packaging/macos/build.sh [--python PATH] [--clean]
#
# Produces dist/kling-desktop-<version>-macos-<arch>.dmg; the app stays in
# build/macos/bundle/Kling Desktop.app. Signing: see sign_and_notarize.sh (skipped, with a
# message, when APPLE_SIGNING_IDENTITY is unset). Test with:
#     "build/macos/bundle/Kling Desktop.app/Contents/MacOS/kling-desktop" --self-test
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PYTHON=""
CLEAN=()
while [ $# -gt 0 ]; do
    case "$1" in
        --python) PYTHON=$2; shift 2 ;;
        --clean) CLEAN=(--clean); shift ;;
        -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
        *) echo "build.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
if [ -z "$PYTHON" ]; then  # the active venv, else the project's .venv (scripts/setup.sh), else python3
    if [ -n "${VIRTUAL_ENV:-}" ]; then PYTHON=$VIRTUAL_ENV/bin/python
    elif [ -x "$ROOT/.venv/bin/python" ]; then PYTHON=$ROOT/.venv/bin/python
    else PYTHON=python3; fi
fi
cd "$ROOT"
VERSION=$(PYTHONPATH="$ROOT" "$PYTHON" -c 'import kling_desktop; print(kling_desktop.__version__)')
ARCH=$(uname -m)
BUILD=$ROOT/build/macos
APP="$BUILD/bundle/Kling Desktop.app"
DMG=$ROOT/dist/kling-desktop-$VERSION-macos-$ARCH.dmg
started=$(date +%s)

echo "==> PyInstaller app bundle of Kling Desktop $VERSION ($ARCH)"
rm -rf "$BUILD/bundle"
mkdir -p "$BUILD" "$ROOT/dist"
"$PYTHON" -m PyInstaller --noconfirm --log-level WARN ${CLEAN[@]+"${CLEAN[@]}"} \
    --distpath "$BUILD/bundle" --workpath "$BUILD/pyinstaller" packaging/kling_desktop.spec
[ -x "$APP/Contents/MacOS/kling-desktop" ] || { echo "build.sh: $APP was not built" >&2; exit 1; }
plutil -lint "$APP/Contents/Info.plist"
echo "==> app: $APP, $(du -sm "$APP" | cut -f1) MiB unpacked"

packaging/macos/sign_and_notarize.sh "$APP"
packaging/macos/make_dmg.sh "$APP" "$DMG"
packaging/macos/sign_and_notarize.sh "$DMG"

echo "==> done in $(( $(date +%s) - started ))s: $DMG ($(( $(stat -f %z "$DMG") / 1048576 )) MiB)"
