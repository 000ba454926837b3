#!/usr/bin/env bash
# Regenerates reports/screenshot.png, the README's picture of the HTML report:
# runs the README's first example and photographs its index.html in headless
# Chromium (Debian's `chromium`, as .ci/run installs). The window is sized so
# the PNG stays under 300 KB.
set -euo pipefail
cd "$(dirname "$0")/.."
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
cargo run --release --quiet -- run scenarios/examples/bookinfo-mesh --out "$out/report" --quiet
chromium --headless --no-sandbox --disable-gpu --no-first-run --hide-scrollbars \
  --user-data-dir="$out/profile" --window-size=1200,1300 \
  --screenshot="$PWD/reports/screenshot.png" "file://$out/report/index.html" 2>/dev/null
ls -l reports/screenshot.png
