#!/usr/bin/env bash
# A bounded fuzz run of the manifest parser: `crates/kube-ipvs-proxier/fuzz/run.sh
# [SECONDS]` (default 60) from anywhere. Needs the nightly toolchain and
# cargo-fuzz (`cargo install cargo-fuzz`). Starts from the committed
# corpus (crates/kube-ipvs-proxier/fuzz/corpus/parse_manifests) and the example
# manifests; new inputs go to a temporary corpus, so the committed one
# stays small. Exits non-zero on a crash (the input is kept in
# crates/kube-ipvs-proxier/fuzz/artifacts/).
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_MAX=${1:-60}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cp fuzz/corpus/parse_manifests/* "$WORK"/
cargo +nightly fuzz run parse_manifests "$WORK" \
    -- -max_total_time="$SECONDS_MAX" -max_len=65536 -timeout=10 -rss_limit_mb=2048
