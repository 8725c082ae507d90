#!/bin/sh
# Add (or with --remove, take away) Kling Desktop in your application menu, for this user only.
# Run it from the unpacked kling-desktop-<version>-linux-x86_64 folder; nothing needs root.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
data=${XDG_DATA_HOME:-$HOME/.local/share}
apps="$data/applications"
icons="$data/icons/hicolor"
if [ "${1:-}" = "--remove" ]; then
    rm -f "$apps/kling-desktop.desktop"
    find "$icons" -name kling-desktop.png -path '*/apps/*' -delete 2>/dev/null || true
    echo "Removed Kling Desktop from the menu (the folder $here is left as is)."
    exit 0
fi
mkdir -p "$apps"
for dir in "$here"/icons/hicolor/*/; do
    size=$(basename "$dir")
    mkdir -p "$icons/$size/apps"
    cp "$dir/kling-desktop.png" "$icons/$size/apps/kling-desktop.png"
done
# The menu entry runs this folder's executable, quoted for the desktop-entry Exec rules.
sed -e "s|^Exec=.*|Exec=\"$here/kling-desktop\" %F|" -e "s|^TryExec=.*|TryExec=$here/kling-desktop|" \
    "$here/kling-desktop.desktop" > "$apps/kling-desktop.desktop"
command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database "$apps" || true
command -v gtk-update-icon-cache >/dev/null 2>&1 && gtk-update-icon-cache -q -t "$icons" || true
echo "Kling Desktop is now in your application menu and offered in \"Open with\" for MP4/MOV."
