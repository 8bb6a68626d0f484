#!/usr/bin/env bash
# Drives the admin console in headless Chromium (Debian's package, through Playwright) against
# the debug `switchboard serve`: the fixture in tests/browser starts serve on a temp data dir and a
# loopback receiver itself. Screenshots land in target/console-screenshots/.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${CARGO_TARGET_DIR:-target}
[ -x "$target/debug/switchboard" ] || cargo build --locked -p switchboard-cli
exec python3 -m pytest -q tests/browser "$@"
