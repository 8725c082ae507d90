#!/bin/sh
# Run the Vault test against a real Secret Service: a private D-Bus session bus and an unlocked
# gnome-keyring in a throw-away HOME (never the user's own keychain). Exits non-zero when the
# test fails, errors, or was skipped / not run at all.
set -eu

here=$(cd "$(dirname "$0")/../.." && pwd)
# The project's own .venv (scripts/setup.sh --dev), unless PYTHON names another interpreter.
python=${PYTHON:-$here/.venv/bin/python}
if ! [ -x "$python" ] && ! command -v "$python" >/dev/null 2>&1; then
    echo "run_real_keyring: no Python at $python: run scripts/setup.sh --dev first" >&2
    exit 2
fi
for tool in dbus-run-session gnome-keyring-daemon; do
    command -v "$tool" >/dev/null 2>&1 || { echo "run_real_keyring: $tool is not installed" >&2; exit 2; }
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/kling-real-keyring.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
mkdir -p "$tmp/home" "$tmp/run"
chmod 700 "$tmp" "$tmp/home" "$tmp/run"
report="$tmp/junit.xml"

unset PYTHON_KEYRING_BACKEND DBUS_SESSION_BUS_ADDRESS
export HOME="$tmp/home" XDG_RUNTIME_DIR="$tmp/run" KLING_TEST_REAL_KEYRING=1
export XDG_DATA_HOME="$tmp/home/.local/share" XDG_CONFIG_HOME="$tmp/home/.config"
cd "$here"

status=0
dbus-run-session -- sh -c '
    echo -n pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null || exit 3
    exec "$0" -m pytest -q -p no:cacheprovider -m keyring_real --junitxml="$1" \
        tests/integration/test_keyring_real.py
' "$python" "$report" || status=$?

if [ "$status" -ne 0 ]; then
    echo "run_real_keyring: FAILED (exit $status)" >&2
    exit "$status"
fi
# pytest exits 0 when everything was skipped: insist that the test really ran and passed.
"$python" - "$report" <<'PY'
import sys
import xml.etree.ElementTree as ET

root = ET.parse(sys.argv[1]).getroot()
suite = root if root.tag == "testsuite" else root.find("testsuite")
tests = int(suite.get("tests", 0))
bad = sum(int(suite.get(k, 0)) for k in ("failures", "errors", "skipped"))
if tests == 0 or bad:
    print(f"run_real_keyring: NOT RUN (tests={tests}, failed/errors/skipped={bad})", file=sys.stderr)
    sys.exit(1)
print(f"run_real_keyring: OK ({tests} passed against a real Secret Service)")
PY
