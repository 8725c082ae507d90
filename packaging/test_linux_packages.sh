#!/usr/bin/env bash
# Test the Linux packages that build_linux.sh left in dist/, the way a user gets them:
#
#     packaging/test_linux_packages.sh [DIST_DIR]
#
# * the .deb: control fields, file layout (/opt/kling-desktop, /usr/bin, desktop entry, icons,
#   metainfo), extracted with dpkg-deb -x into a temporary root;
# * the .tar.gz: extracted into a temporary folder;
# * desktop-file-validate on both desktop entries (appstreamcli on the metainfo when present);
# * every shared library in the bundle resolves (catches an over-eager spec exclusion);
# * `kling-desktop --self-test` from the extracted .deb offscreen and under Xvfb (xcb), and
#   from the tarball offscreen; with gnome-keyring installed, once more inside a D-Bus session
#   with an unlocked keyring to prove the frozen app finds the Secret Service backend.
#
# Needs: dpkg-deb, tar, python3, desktop-file-validate (desktop-file-utils), xvfb-run (xvfb,
# xauth), libpulse0 libxcb-icccm4 libxcb-keysyms1 (for Qt); optional: gnome-keyring,
# dbus-run-session (dbus-daemon), appstreamcli (appstream). Exits non-zero on any failure.
# Self-test reports are kept in build/linux/selftest-*.json.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DIST=${1:-$ROOT/dist}
REPORTS=$ROOT/build/linux
VERSION=$(sed -nE 's/^__version__ = "([^"]+)"/\1/p' "$ROOT/kling_desktop/__init__.py")
DEB_VERSION=$(printf '%s' "$VERSION" | sed -E 's/\.?(a|b|rc|dev)([0-9]*)/~\1\2/')
DEB=$DIST/kling-desktop_${DEB_VERSION}_amd64.deb
TAR=$DIST/kling-desktop-$VERSION-linux-x86_64.tar.gz
TIMEOUT=${KLING_SELFTEST_TIMEOUT:-120}

failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
pass() { echo "ok:   $*"; }
need() { command -v "$1" >/dev/null || { echo "test_linux_packages.sh: $1 is missing ($2)" >&2; exit 2; }; }
need dpkg-deb "apt-get install dpkg"
need python3 "apt-get install python3"
need desktop-file-validate "apt-get install desktop-file-utils"
need xvfb-run "apt-get install xvfb xauth"
for artifact in "$DEB" "$TAR"; do
    [ -f "$artifact" ] || { echo "test_linux_packages.sh: $artifact not found; run packaging/build_linux.sh" >&2; exit 2; }
done

TMP=$(mktemp -d "${TMPDIR:-/tmp}/kling-pkgtest.XXXXXX")
cleanup() { rm -rf "$TMP"; }
trap cleanup EXIT
mkdir -p "$REPORTS" "$TMP/home" "$TMP/run"
chmod 700 "$TMP/run"

# -- the .deb ---------------------------------------------------------------------------------
echo "== $(basename "$DEB")"
field() { dpkg-deb -f "$DEB" "$1"; }
[ "$(field Package)" = kling-desktop ] && pass "Package: kling-desktop" || fail "Package is $(field Package)"
[ "$(field Version)" = "$DEB_VERSION" ] && pass "Version: $DEB_VERSION" || fail "Version is $(field Version), expected $DEB_VERSION"
[ "$(field Architecture)" = amd64 ] && pass "Architecture: amd64" || fail "Architecture is $(field Architecture)"
for dep in libpulse0 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libegl1 libgl1 libfontconfig1 libxkbcommon-x11-0; do
    field Depends | grep -qw -- "$dep" || fail "Depends lacks $dep"
done
field Depends | grep -qE 'libc6 \(>= 2\.[0-9]+\)' || fail "Depends lacks the glibc the bundle needs"
pass "Depends: $(field Depends | tr -d '\n' | cut -c1-90)…"
if dpkg-deb -c "$DEB" | awk '{print $2}' | grep -qv '^root/root$'; then fail "files not owned by root"; else pass "all files root:root"; fi

DEBROOT=$TMP/debroot
dpkg-deb -x "$DEB" "$DEBROOT"
for path in opt/kling-desktop/kling-desktop usr/bin/kling-desktop; do
    [ -x "$DEBROOT/$path" ] && pass "/$path is executable" || fail "/$path missing or not executable"
done
grep -q '^exec /opt/kling-desktop/kling-desktop "\$@"' "$DEBROOT/usr/bin/kling-desktop" \
    && pass "/usr/bin/kling-desktop runs /opt/kling-desktop/kling-desktop" || fail "the /usr/bin launcher does not exec the bundle"
for size in 16 24 32 48 64 128 256 512; do
    [ -f "$DEBROOT/usr/share/icons/hicolor/${size}x${size}/apps/kling-desktop.png" ] || fail "icon ${size}x${size} missing"
done
[ -f "$DEBROOT/usr/share/icons/hicolor/scalable/apps/kling-desktop.svg" ] || fail "scalable icon missing"
pass "icons 16–512 px + scalable under /usr/share/icons/hicolor"
[ -f "$DEBROOT/usr/share/metainfo/io.github.kling_desktop.metainfo.xml" ] && pass "AppStream metainfo" || fail "metainfo missing"

# -- the .tar.gz ------------------------------------------------------------------------------
echo "== $(basename "$TAR")"
mkdir -p "$TMP/tar"
tar -C "$TMP/tar" -xzf "$TAR"
TARDIR=$TMP/tar/kling-desktop-$VERSION-linux-x86_64
for path in kling-desktop kling-desktop.desktop README.txt install-desktop-entry.sh icons/hicolor/256x256/kling-desktop.png; do
    [ -e "$TARDIR/$path" ] || fail "$path missing from the tarball"
done
pass "tarball layout (executable, desktop entry, icons, README, install-desktop-entry.sh)"
# The per-user menu install rewrites Exec to the unpacked folder and still validates.
if XDG_DATA_HOME=$TMP/xdg-data sh "$TARDIR/install-desktop-entry.sh" >/dev/null \
    && grep -q "^Exec=\"$TARDIR/kling-desktop\" %F" "$TMP/xdg-data/applications/kling-desktop.desktop" \
    && desktop-file-validate "$TMP/xdg-data/applications/kling-desktop.desktop"; then
    pass "install-desktop-entry.sh writes a valid per-user entry"
else
    fail "install-desktop-entry.sh"
fi

# -- desktop entry and metainfo ------------------------------------------------------------------
for desktop in "$DEBROOT/usr/share/applications/kling-desktop.desktop" "$TARDIR/kling-desktop.desktop"; do
    if desktop-file-validate "$desktop"; then pass "desktop-file-validate ${desktop#"$TMP"/}"; else fail "desktop-file-validate $desktop"; fi
    grep -q '^MimeType=video/mp4;video/quicktime;$' "$desktop" || fail "$desktop: MimeType"
    grep -q '^Exec=kling-desktop %F$' "$desktop" || fail "$desktop: Exec"
done
if command -v appstreamcli >/dev/null; then
    if appstreamcli validate --no-net "$DEBROOT/usr/share/metainfo/io.github.kling_desktop.metainfo.xml" >/dev/null; then
        pass "appstreamcli validate"
    else
        fail "appstreamcli validate"
    fi
fi

# -- every library resolves -----------------------------------------------------------------
BUNDLE=$DEBROOT/opt/kling-desktop
internal=$BUNDLE/_internal
missing=$(cd "$internal" && find . -type f \( -name '*.so' -o -name '*.so.*' \) -print0 \
    | LD_LIBRARY_PATH=$internal:$internal/PySide6/Qt/lib:$internal/av.libs:$internal/PySide6 \
      xargs -0 ldd 2>/dev/null | awk '/^\./ {file=$1} /not found/ {print file": "$1}' | sort -u || true)
if [ -n "$missing" ]; then fail "libraries that do not resolve:"; echo "$missing" >&2; else pass "every bundled library resolves"; fi

# -- the frozen self-test ---------------------------------------------------------------------
run_selftest() {  # name, platform, command...
    local name=$1 expect=$2; shift 2
    local report=$REPORTS/selftest-$name.json rc=0
    env -i PATH=/usr/bin:/bin HOME="$TMP/home" XDG_RUNTIME_DIR="$TMP/run" \
        XDG_CACHE_HOME="$TMP/cache" XDG_CONFIG_HOME="$TMP/config" XDG_DATA_HOME="$TMP/data" \
        LANG=C.UTF-8 QT_LOGGING_RULES="qt.multimedia.ffmpeg*=false" "$@" \
        --self-test --timeout "$TIMEOUT" --report "$report" >"$TMP/$name.out" 2>"$TMP/$name.err" || rc=$?
    if [ ! -s "$report" ]; then
        fail "self-test $name: no report (exit $rc)"; tail -20 "$TMP/$name.err" >&2; return
    fi
    if python3 - "$report" "$expect" "$rc" <<'PY'
import json, sys
report, expect, rc = json.load(open(sys.argv[1])), sys.argv[2], int(sys.argv[3])
steps = report["steps"]
summary = ", ".join(f"{k}={v['status']}" for k, v in steps.items())
plugin = steps.get("qt", {}).get("platform_plugin")
print(f"      frozen={report.get('frozen')} platform={plugin} keyring={steps.get('keyring', {}).get('name')!r}")
print(f"      {summary}")
problems = [f"{k}: {v.get('detail', v['status'])}" for k, v in steps.items() if v["status"] not in ("ok", "skipped")]
if not report.get("frozen"):
    problems.append("the report does not come from a frozen build")
if plugin != expect.split(":")[0]:
    problems.append(f"platform plugin {plugin!r}, expected {expect.split(':')[0]!r}")
if ":" in expect and expect.split(":")[1] not in json.dumps(steps.get("keyring", {})):
    problems.append(f"keyring backend is not {expect.split(':')[1]}")
if (rc == 0) != report["ok"]:
    problems.append(f"exit code {rc} disagrees with ok={report['ok']}")
for p in problems:
    print("      -", p)
sys.exit(1 if problems else 0)
PY
    then pass "self-test $name"; else fail "self-test $name (report: $report)"; fi
}

echo "== frozen self-test"
run_selftest deb-offscreen offscreen env QT_QPA_PLATFORM=offscreen "$BUNDLE/kling-desktop"
run_selftest deb-xvfb xcb xvfb-run -a -s "-screen 0 1280x800x24" env QT_QPA_PLATFORM=xcb "$BUNDLE/kling-desktop"
run_selftest tar-offscreen offscreen env QT_QPA_PLATFORM=offscreen "$TARDIR/kling-desktop"
if command -v gnome-keyring-daemon >/dev/null && command -v dbus-run-session >/dev/null; then
    cat > "$TMP/with-keyring.sh" <<'SH'
#!/bin/sh
# Inside dbus-run-session: unlock a throw-away login keyring, then run the given command.
printf pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1
exec "$@"
SH
    run_selftest deb-secret-service offscreen:SecretService dbus-run-session -- sh "$TMP/with-keyring.sh" \
        env QT_QPA_PLATFORM=offscreen "$BUNDLE/kling-desktop" --skip-job
else
    echo "skip: Secret Service self-test (install gnome-keyring to run it)"
fi

# The window itself: it must come up and stay up (a missing module or plugin kills it at once).
if [ -f "$ROOT/kling_desktop/gui/launch.py" ]; then
    rc=0
    env -i PATH=/usr/bin:/bin HOME="$TMP/home" XDG_RUNTIME_DIR="$TMP/run" XDG_CACHE_HOME="$TMP/cache" \
        XDG_CONFIG_HOME="$TMP/config" XDG_DATA_HOME="$TMP/data" KLING_DESKTOP_HOME="$TMP/gui-home" \
        LANG=C.UTF-8 PYTHON_KEYRING_BACKEND=keyring.backends.fail.Keyring \
        xvfb-run -a -s "-screen 0 1280x800x24" env QT_QPA_PLATFORM=xcb \
        timeout 8 "$BUNDLE/kling-desktop" >"$TMP/gui.out" 2>"$TMP/gui.err" || rc=$?
    if [ "$rc" -eq 124 ]; then
        pass "the window starts under Xvfb and stays up"
    else
        fail "the window exited with code $rc within 8 s"; tail -20 "$TMP/gui.err" >&2
    fi
else
    echo "skip: window start (kling_desktop/gui/launch.py is not built yet)"
fi

if [ "$failures" -gt 0 ]; then
    echo "test_linux_packages.sh: $failures check(s) failed" >&2
    exit 1
fi
echo "test_linux_packages.sh: all checks passed"
