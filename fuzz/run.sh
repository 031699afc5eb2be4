#!/usr/bin/env bash
# Runs every fuzz target for SECONDS seconds each (default 30), one after
# the other, on stable Rust: cargo-fuzz passes nightly-only `-Z` flags
# (sanitizer, coverage instrumentation), which RUSTC_BOOTSTRAP=1 lets the
# stable compiler accept. See fuzz/README.md.
#
#   fuzz/run.sh [SECONDS]            all targets
#   TARGETS="pair_ops inflate" fuzz/run.sh 600
#   SANITIZER=none fuzz/run.sh 30    without AddressSanitizer (faster)
#
# New inputs go to fuzz/corpus-run/<target>/ (not committed); the committed
# seeds in fuzz/corpus/<target>/ are read, never written. A crash leaves its
# input in fuzz/artifacts/<target>/ and makes this script exit non-zero.
set -euo pipefail

SECONDS_PER_TARGET="${1:-30}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ALL_TARGETS="frame_header server_stream client_stream handshake_request pair_ops inflate"
TARGETS="${TARGETS:-$ALL_TARGETS}"
SANITIZER="${SANITIZER:-address}"

die() { echo "fuzz/run.sh: $*" >&2; exit 1; }

[[ "$SECONDS_PER_TARGET" =~ ^[0-9]+$ ]] || die "SECONDS must be a whole number, got '$SECONDS_PER_TARGET'"
command -v cargo >/dev/null || die "cargo not found"

# Idempotent: install cargo-fuzz only if it is missing.
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz/run.sh: installing cargo-fuzz" >&2
    cargo install cargo-fuzz --locked || die "could not install cargo-fuzz (needs crates.io)"
fi

cd "$HERE"
export RUSTC_BOOTSTRAP=1
# -O: optimised; -a: keep debug assertions and overflow checks on.
cargo fuzz build -O -a --sanitizer "$SANITIZER" || die "building the fuzz targets failed"

mkdir -p logs
failed=()
for target in $TARGETS; do
    [[ -d "corpus/$target" ]] || die "unknown target '$target' (no fuzz/corpus/$target)"
    mkdir -p "corpus-run/$target"
    echo "== $target: ${SECONDS_PER_TARGET}s"
    if cargo fuzz run -O -a --sanitizer "$SANITIZER" "$target" "corpus-run/$target" "corpus/$target" -- \
        -max_total_time="$SECONDS_PER_TARGET" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 >"logs/$target.log" 2>&1; then
        grep -E "^#[0-9]+.*(DONE|cov:)" "logs/$target.log" | tail -1
        grep -E "stat::number_of_executed_units|stat::peak_rss_mb" "logs/$target.log" || true
    else
        echo "!! $target FAILED: see fuzz/logs/$target.log and fuzz/artifacts/$target/" >&2
        tail -40 "logs/$target.log" >&2
        failed+=("$target")
    fi
done

if ((${#failed[@]})); then
    die "crashes in: ${failed[*]}"
fi
echo "fuzz/run.sh: all targets ran ${SECONDS_PER_TARGET}s without a crash"
