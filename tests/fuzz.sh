#!/usr/bin/env bash
# Bounded fuzzing of the four fuzz targets, from their committed corpora
# (crates/*/fuzz/corpus/TARGET; tests/fuzz/seeds.py writes the netlink
# ones from the libraries' kernel captures):
#   ipvs-netlink parse_reply, ipset-netlink parse_reply,
#   kube-ipvs-proxier parse_manifests and parse_config.
#
#   tests/fuzz.sh [SECONDS]              the stable runner (default 60 s a
#       target): each crate's tests/fuzz.rs replays the corpus, then
#       random mutants (tests/fuzz/harness.rs); built as the workspace's
#       other tests, nothing to install. What tests/run calls.
#   tests/fuzz.sh --libfuzzer [SECONDS]  coverage-guided: cargo-fuzz with
#       the address sanitizer on the stable toolchain (RUSTC_BOOTSTRAP=1;
#       installs cargo-fuzz when missing). Builds each fuzz crate with
#       sanitizers from scratch: many minutes on a 2-core machine.
#
# Prints one line per target and "fuzz: N passed, N failed". A crash
# leaves its input in target/fuzz-artifacts/ (stable runner) or
# crates/*/fuzz/artifacts/ (libFuzzer).
set -uo pipefail
cd "$(dirname "$0")/.."
MODE=stable
if [ "${1:-}" = --libfuzzer ]; then MODE=libfuzzer; shift; fi
SECONDS_EACH=${1:-60}
TARGETS=(
    "ipvs-netlink crates/ipvs-netlink parse_reply"
    "ipset-netlink crates/ipset parse_reply"
    "kube-ipvs-proxier crates/proxier parse_manifests"
    "kube-ipvs-proxier crates/proxier parse_config"
)
passed=0
failed=0
outcome() { # outcome STATUS NAME DETAIL
    if [ "$1" -eq 0 ]; then
        passed=$((passed + 1)); echo "ok   - fuzz $2: $3"
    else
        failed=$((failed + 1)); echo "FAIL - fuzz $2: $3"
    fi
}

if [ "$MODE" = stable ]; then
    # One target at a time, so that each gets a core to itself.
    cargo test --locked --no-run --test fuzz -p ipvs-netlink -p ipset-netlink \
        -p kube-ipvs-proxier >/dev/null 2>&1 ||
        cargo test --locked --no-run --test fuzz -p ipvs-netlink -p ipset-netlink -p kube-ipvs-proxier
    for entry in "${TARGETS[@]}"; do
        read -r package dir target <<<"$entry"
        out=$(FUZZ_SECONDS=$SECONDS_EACH cargo test --locked -q -p "$package" --test fuzz \
            -- --exact "${target}_survives_the_corpus_and_its_mutants" --nocapture 2>&1)
        status=$?
        line=$(grep '^fuzz ' <<<"$out" | tail -n 1)
        [ "$status" -eq 0 ] || { echo "$out" | tail -n 20; line="failed (see above)"; }
        outcome "$status" "$package $target" "${line#fuzz *: }"
    done
else
    export RUSTC_BOOTSTRAP=1
    cargo fuzz --version >/dev/null 2>&1 || cargo install --locked cargo-fuzz
    for entry in "${TARGETS[@]}"; do
        read -r package dir target <<<"$entry"
        work=$(mktemp -d)
        cp "$dir/fuzz/corpus/$target"/* "$work"/
        out=$(cd "$dir" && cargo fuzz run "$target" "$work" -- \
            -max_total_time="$SECONDS_EACH" -max_len=65536 -timeout=10 -rss_limit_mb=2048 2>&1)
        status=$?
        rm -rf "$work"
        line=$(grep -E '^Done [0-9]+ runs in [0-9]+ second' <<<"$out" | tail -n 1)
        [ "$status" -eq 0 ] || { echo "$out" | tail -n 30; line="crashed (see above)"; }
        outcome "$status" "$package $target" "libFuzzer: ${line:-no summary}"
    done
fi
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
