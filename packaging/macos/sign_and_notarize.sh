#!/usr/bin/env bash
# Sign (hardened runtime) and notarize the app or the disk image, when credentials are present:
#
#     packaging/macos/sign_and_notarize.sh "build/macos/bundle/Kling Desktop.app"
#     packaging/macos/sign_and_notarize.sh dist/kling-desktop-<version>-macos-<arch>.dmg
#
# Environment:
#   APPLE_SIGNING_IDENTITY     "Developer ID Application: Name (TEAMID)" — without it: skipped, exit 0
#   APPLE_CERTIFICATE_P12_BASE64, APPLE_CERTIFICATE_PASSWORD
#                              optional: the Developer ID certificate, imported into a temporary
#                              keychain (CI); otherwise the identity must be in the login keychain
#   APPLE_ID, APPLE_TEAM_ID, APPLE_APP_PASSWORD (app-specific password)
#                              for notarytool — without them: signed but not notarized, exit 0
set -euo pipefail
[ $# -eq 1 ] || { sed -n '2,14p' "$0" >&2; exit 2; }
TARGET=$1
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ENTITLEMENTS=$HERE/entitlements.plist
[ -e "$TARGET" ] || { echo "sign_and_notarize.sh: $TARGET not found" >&2; exit 2; }

if [ -z "${APPLE_SIGNING_IDENTITY:-}" ]; then
    echo "sign_and_notarize.sh: skipped: no credentials (APPLE_SIGNING_IDENTITY is not set);" \
         "$(basename "$TARGET") stays ad-hoc signed and Gatekeeper will warn on first open."
    exit 0
fi

keychain=""
cleanup() { [ -n "$keychain" ] && security delete-keychain "$keychain" >/dev/null 2>&1 || true; }
trap cleanup EXIT
if [ -n "${APPLE_CERTIFICATE_P12_BASE64:-}" ]; then
    keychain=$(mktemp -d "${TMPDIR:-/tmp}/kling-sign.XXXXXX")/signing.keychain-db
    keychain_password=$(uuidgen)
    security create-keychain -p "$keychain_password" "$keychain"
    security set-keychain-settings -lut 3600 "$keychain"
    security unlock-keychain -p "$keychain_password" "$keychain"
    printf '%s' "$APPLE_CERTIFICATE_P12_BASE64" | base64 --decode > "${keychain%/*}/cert.p12"
    security import "${keychain%/*}/cert.p12" -k "$keychain" -P "${APPLE_CERTIFICATE_PASSWORD:-}" \
        -T /usr/bin/codesign >/dev/null
    rm -f "${keychain%/*}/cert.p12"
    security set-key-partition-list -S apple-tool:,apple: -s -k "$keychain_password" "$keychain" >/dev/null
    security list-keychains -d user -s "$keychain" $(security list-keychains -d user | tr -d '"')
fi

sign() {  # path [extra codesign args...]
    local path=$1; shift
    codesign --force --timestamp --options runtime --sign "$APPLE_SIGNING_IDENTITY" "$@" "$path"
}

case "$TARGET" in
    *.app)
        echo "==> signing $(basename "$TARGET") as $APPLE_SIGNING_IDENTITY"
        # Inside out: every Mach-O library first, then the frameworks, then the executables
        # with the entitlements, then the bundle itself.
        while IFS= read -r -d '' file; do
            if file -b "$file" | grep -q 'Mach-O'; then sign "$file"; fi
        done < <(find "$TARGET/Contents" -type f \( -name '*.dylib' -o -name '*.so' -o -perm -u+x \) \
                   ! -path '*/Contents/MacOS/*' -print0)
        while IFS= read -r -d '' framework; do sign "$framework"; done \
            < <(find "$TARGET/Contents" -type d -name '*.framework' -print0)
        for exe in "$TARGET"/Contents/MacOS/*; do sign "$exe" --entitlements "$ENTITLEMENTS"; done
        sign "$TARGET" --entitlements "$ENTITLEMENTS"
        codesign --verify --deep --strict --verbose=2 "$TARGET"
        submit=$(mktemp -d "${TMPDIR:-/tmp}/kling-notary.XXXXXX")/app.zip
        ditto -c -k --keepParent "$TARGET" "$submit"
        ;;
    *.dmg)
        echo "==> signing $(basename "$TARGET")"
        sign "$TARGET"
        submit=$TARGET
        ;;
    *) echo "sign_and_notarize.sh: expected an .app or a .dmg, got $TARGET" >&2; exit 2 ;;
esac

if [ -z "${APPLE_ID:-}" ] || [ -z "${APPLE_TEAM_ID:-}" ] || [ -z "${APPLE_APP_PASSWORD:-}" ]; then
    echo "sign_and_notarize.sh: notarization skipped: no credentials (APPLE_ID, APPLE_TEAM_ID," \
         "APPLE_APP_PASSWORD); $(basename "$TARGET") is signed but not notarized."
    exit 0
fi
echo "==> notarizing $(basename "$TARGET") (this waits for Apple)"
xcrun notarytool submit "$submit" --apple-id "$APPLE_ID" --team-id "$APPLE_TEAM_ID" \
    --password "$APPLE_APP_PASSWORD" --wait --timeout 30m
xcrun stapler staple "$TARGET"
xcrun stapler validate "$TARGET"
if [[ "$TARGET" == *.app ]]; then spctl --assess --type execute --verbose=2 "$TARGET"; fi
echo "sign_and_notarize.sh: $(basename "$TARGET") is signed, notarized and stapled."
