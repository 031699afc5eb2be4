#!/usr/bin/env bash
# Installs Debian's libnss3-tools (`certutil`), with which the TLS interop test
# puts its throwaway test CA into a private NSS database that headless
# Chromium trusts (HOME points at a temporary directory, so the user's own
# ~/.pki/nssdb is never touched). Idempotent.
set -euo pipefail
die() { echo "install-nss-tools: $*" >&2; exit 1; }

if command -v certutil >/dev/null 2>&1; then
    exit 0
fi
command -v apt-get >/dev/null || die "apt-get not found: install Debian's 'libnss3-tools' package by hand"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq || die "apt-get update failed"
$SUDO apt-get install -y -qq --no-install-recommends libnss3-tools >/dev/null \
    || die "apt-get install libnss3-tools failed"
command -v certutil >/dev/null || die "certutil not found after installing libnss3-tools"
