#!/usr/bin/env bash
# Installs Debian's Go toolchain and the two Go WebSocket libraries the Go
# interop peers are built with (tests/interop/go/): gorilla/websocket and
# golang.org/x/net/websocket. Debian puts their sources under
# /usr/share/gocode/src, so the peers build in GOPATH mode, offline.
# Idempotent: does nothing when all three packages are installed.
set -euo pipefail
die() { echo "install-interop-go: $*" >&2; exit 1; }

packages=(golang-go golang-github-gorilla-websocket-dev golang-golang-x-net-dev)
gocode=/usr/share/gocode/src
have() {
    command -v go >/dev/null 2>&1 \
        && [ -f "$gocode/github.com/gorilla/websocket/conn.go" ] \
        && [ -f "$gocode/golang.org/x/net/websocket/websocket.go" ]
}
have && exit 0

command -v apt-get >/dev/null \
    || die "apt-get not found: install Go and the Debian packages ${packages[*]} by hand"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq || die "apt-get update failed"
$SUDO apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null \
    || die "apt-get install ${packages[*]} failed"
have || die "after installing ${packages[*]}: 'go' or the sources under $gocode are missing"
go version >/dev/null || die "go does not run after install"
