#!/usr/bin/env bash
# Installs playwright-core (the browser driver; it drives Debian's
# /usr/bin/chromium and downloads no browser of its own) into
# tests/interop/node_modules from the committed package-lock.json.
# Idempotent: skips `npm ci` when node_modules matches the lock file.
set -euo pipefail
die() { echo "install-interop-node: $*" >&2; exit 1; }
cd "$(dirname "$0")/../tests/interop"

command -v npm >/dev/null || die "npm not found (Node.js 18+ is needed)"
installed_matches_lock() {
    node -e '
        const lock = require("./package-lock.json").packages["node_modules/playwright-core"].version;
        const have = require("./node_modules/playwright-core/package.json").version;
        process.exit(lock === have ? 0 : 1);' 2>/dev/null
}
if installed_matches_lock; then
    exit 0
fi
PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error \
    || die "npm ci failed"
node -e "require('playwright-core')" || die "playwright-core does not load after npm ci"
