#!/usr/bin/env bash
# Manifests source benchmark: `manifests::load` and `plan --manifests` of
# this tree against a base revision, side by side on the same files; then
# what the daemon holds (this tree only).
#
# Usage: bench/manifests.sh [BASE_REV]   (default e18a9d9: the code before
#        the manifests source was reworked, see BENCHMARKS.md)
#   KPVS_BENCH_SIZES (default "10000 50000"): N Services x 10 endpoints
#   KPVS_BENCH_RUNS (default 3): runs of each, alternating; the median is shown
#
# Builds (release) crates/proxier/examples/manifests-bench.rs and the
# binary here and in a temporary copy of BASE_REV (git archive) (the example is
# copied there: it uses only `manifests::load`), generates the manifests with
# bench/proxier-gen.py, and prints one line per measure: seconds, and the
# peak resident set (Maximum resident set size, MiB) of the process. Then,
# here only:
#   poll      crates/proxier/examples/manifests-poll.rs: a
#             ManifestsSource poll after slice-0.yaml (one EndpointSlice)
#             was rewritten (in-process time);
#   manifests crates/proxier/examples/state-bench.rs manifests: the
#             daemon's state (source + store + incremental planner) after its
#             first poll and after one file changed: seconds of the whole run,
#             peak MiB;
#   api       state-bench api N: the same state fed N Services and N
#             EndpointSlices as JSON watch events (converted on arrival).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
BASE=${1:-e18a9d9}
SIZES=${KPVS_BENCH_SIZES:-10000 50000}
RUNS=${KPVS_BENCH_RUNS:-3}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

mkdir "$WORK/base"
git archive "$BASE" | tar -x -C "$WORK/base"
# The proxier crate's folder and package were renamed since some revisions.
crate=crates/proxier
[ -d "$WORK/base/$crate" ] || crate=crates/proxier
package=$(awk -F'"' '/^name = / {print $2; exit}' "$WORK/base/$crate/Cargo.toml")
sed "s/kube_ipvs_proxier/${package//-/_}/" crates/proxier/examples/manifests-bench.rs \
    >"$WORK/base/$crate/examples/manifests-bench.rs"
# One target directory for both trees: the dependencies build once.
for tree in base new; do
    src=$ROOT pkg=kube-ipvs-proxier extra=(--example manifests-poll --example state-bench)
    [ "$tree" = base ] && src=$WORK/base pkg=$package extra=()
    (cd "$src" && CARGO_TARGET_DIR="$ROOT/target" cargo build --release -q \
        -p "$pkg" --example manifests-bench --bin kube-ipvs-proxier "${extra[@]}")
    mkdir -p "$WORK/bin-$tree"
    cp target/release/examples/manifests-bench target/release/kube-ipvs-proxier "$WORK/bin-$tree/"
done
cp target/release/examples/manifests-poll target/release/examples/state-bench "$WORK/bin-new/"

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
hwm_of() { awk '/Maximum resident/ {printf "%.0f\n", $6 / 1024}'; }
# Runs a command RUNS times (with the base alternately if given) and prints
# the median seconds and peak MiB of each tree.
measure() {
    local n=$1 what=$2
    for _ in $(seq "$RUNS"); do
        for tree in "${trees[@]}"; do
            local cmd
            case $what in
            load) cmd=("$WORK/bin-$tree/manifests-bench" "$WORK/m$n") ;;
            plan) cmd=("$WORK/bin-$tree/kube-ipvs-proxier" plan --manifests "$WORK/m$n"
                --node-ip 192.168.100.1) ;;
            manifests) cmd=("$WORK/bin-$tree/state-bench" manifests "$WORK/m$n") ;;
            api) cmd=("$WORK/bin-$tree/state-bench" api "$n") ;;
            esac
            local start end
            start=$(date +%s.%N)
            /usr/bin/time -v "${cmd[@]}" >"$WORK/out" 2>"$WORK/time"
            end=$(date +%s.%N)
            echo "$end - $start" | bc >>"$WORK/$tree-$what-s"
            hwm_of <"$WORK/time" >>"$WORK/$tree-$what-m"
            # The stages of state-bench, as they happen.
            grep '^RESULT ' "$WORK/out" | grep -v '^RESULT load ' |
                sed "s/^RESULT /  $tree $what: /" || true
        done
    done
    for tree in "${trees[@]}"; do
        printf '%-6s %-9s %-5s %9.3f %9s\n' "$n" "$what" "$tree" \
            "$(median <"$WORK/$tree-$what-s")" "$(median <"$WORK/$tree-$what-m")"
    done
    rm -f "$WORK"/*-"$what"-[sm]
}

echo "machine: nproc $(nproc), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-6s %-9s %-5s %9s %9s\n' N what tree seconds MiB
for n in $SIZES; do
    python3 bench/proxier-gen.py manifests "$WORK/m$n" "$n" 10
    trees=(base new)
    measure "$n" load
    measure "$n" plan
    trees=(new)
    measure "$n" manifests
    measure "$n" api
    # A poll after slice-0.yaml (one EndpointSlice) was rewritten.
    for _ in $(seq "$RUNS"); do
        "$WORK/bin-new/manifests-poll" "$WORK/m$n" slice-0.yaml |
            awk '$2 == "changed" {print $3}'
    done >"$WORK/poll-s"
    printf '%-6s %-9s %-5s %9.3f %9s\n' "$n" poll new "$(median <"$WORK/poll-s")" -
    rm -rf "$WORK/m$n"
done
echo "load $(cut -d' ' -f1-3 /proc/loadavg)"
