#!/usr/bin/env bash
# Installs Debian's Chromium (/usr/bin/chromium) for the browser interop test.
# Idempotent: does nothing when chromium is already installed.
set -euo pipefail
die() { echo "install-chromium: $*" >&2; exit 1; }

if [ -x /usr/bin/chromium ] && /usr/bin/chromium --version >/dev/null 2>&1; then
    exit 0
fi
command -v apt-get >/dev/null || die "apt-get not found: install Debian's 'chromium' package by hand"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq || die "apt-get update failed"
$SUDO apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null \
    || die "apt-get install chromium failed"
/usr/bin/chromium --version >/dev/null 2>&1 || die "/usr/bin/chromium does not run after install"
