#!/usr/bin/env bash
# Make a compressed, drag-to-install disk image from an .app:
#
#     packaging/macos/make_dmg.sh "path/Kling Desktop.app" dist/kling-desktop-<version>-macos-<arch>.dmg
#
# The image holds the app and an alias of /Applications to drop it on. Uses hdiutil only.
set -euo pipefail
[ $# -eq 2 ] || { sed -n '2,5p' "$0" >&2; exit 2; }
APP=$1
DMG=$2
[ -d "$APP" ] || { echo "make_dmg.sh: $APP not found" >&2; exit 2; }
command -v hdiutil >/dev/null || { echo "make_dmg.sh: hdiutil is macOS only" >&2; exit 2; }

stage=$(mktemp -d "${TMPDIR:-/tmp}/kling-dmg.XXXXXX")
trap 'rm -rf "$stage"' EXIT
ditto "$APP" "$stage/$(basename "$APP")"
ln -s /Applications "$stage/Applications"
mkdir -p "$(dirname "$DMG")"
rm -f "$DMG"
echo "==> $(basename "$DMG")"
hdiutil create -volname "Kling Desktop" -srcfolder "$stage" -fs HFS+ -format UDZO \
    -imagekey zlib-level=9 -ov "$DMG" >/dev/null
hdiutil verify "$DMG" >/dev/null
echo "    $(( $(stat -f %z "$DMG") / 1048576 )) MiB"
