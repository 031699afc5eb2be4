#!/usr/bin/env bash
# Creates tests/interop/.venv with a pinned Python `websockets` (the interop
# client). Idempotent: does nothing when the pinned version is already there.
set -euo pipefail
die() { echo "install-interop-python: $*" >&2; exit 1; }
cd "$(dirname "$0")/../tests/interop"

WEBSOCKETS_VERSION=17.4
venv=.venv
py="$venv/bin/python"

if [ -x "$py" ] && "$py" -c "import websockets, sys; sys.exit(websockets.__version__ != '$WEBSOCKETS_VERSION')" 2>/dev/null; then
    exit 0
fi
command -v python3 >/dev/null || die "python3 not found"
if [ ! -x "$py" ]; then
    python3 -m venv "$venv" || die "python3 -m venv failed (Debian: apt-get install python3-venv)"
fi
"$py" -m pip install --quiet --disable-pip-version-check "websockets==$WEBSOCKETS_VERSION" \
    || die "pip install websockets==$WEBSOCKETS_VERSION failed"
"$py" -c "import websockets" || die "websockets does not import after install"
