#!/usr/bin/env bash
# macOS: dist/Ledgerboard.app (made by `python packaging/build.py --no-deb`) into a .dmg.
# Signing and notarising need the publisher's Apple Developer identity:
#   codesign --deep --options runtime --sign "Developer ID Application: …" dist/Ledgerboard.app
#   xcrun notarytool submit dist/Ledgerboard-VERSION.dmg --keychain-profile … --wait
set -euo pipefail
cd "$(dirname "$0")/../.."
version=$(python3 -c 'import re;print(re.search(r"__version__ = \"([^\"]+)\"", open("desktop/__init__.py").read())[1])')
app="dist/Ledgerboard.app"
[ -d "$app" ] || { echo "build the app first: python packaging/build.py --no-deb" >&2; exit 1; }
stage=$(mktemp -d)
cp -R "$app" "$stage/"
ln -s /Applications "$stage/Applications"
hdiutil create -volname "Ledgerboard $version" -srcfolder "$stage" -ov -format UDZO \
  "dist/Ledgerboard-$version.dmg"
rm -rf "$stage"
echo "dmg: dist/Ledgerboard-$version.dmg"
