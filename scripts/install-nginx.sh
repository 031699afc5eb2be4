#!/usr/bin/env bash
# Installs Debian's nginx for the reverse-proxy interop test. The test runs its
# own nginx on a free loopback port with a generated config; the packaged
# service is not used (and is not started here).
# Idempotent: does nothing when nginx is already installed.
set -euo pipefail
die() { echo "install-nginx: $*" >&2; exit 1; }

if command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ]; then
    exit 0
fi
command -v apt-get >/dev/null || die "apt-get not found: install Debian's 'nginx' package by hand"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
# policy-rc.d keeps the package from starting its own nginx on port 80.
if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod +x /usr/sbin/policy-rc.d
    trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
fi
$SUDO apt-get update -qq || die "apt-get update failed"
$SUDO apt-get install -y -qq --no-install-recommends nginx >/dev/null \
    || die "apt-get install nginx failed"
/usr/sbin/nginx -v 2>/dev/null || die "nginx does not run after install"
