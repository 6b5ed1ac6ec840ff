#!/bin/sh
# Builds the benchmark in release mode and runs it in a fresh network
# namespace (needs root and the ipset binary). Medians of 3 runs.
set -eu
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}"
cargo build --release -p ipset-netlink --example ipset-bench
exec unshare -n "$CARGO_TARGET_DIR/release/examples/ipset-bench"
