#!/usr/bin/env bash
# Manifests source benchmark: `manifests::load` and `plan --manifests` of
# this tree against a base revision, side by side on the same files.
#
# Usage: bench/manifests.sh [BASE_REV]   (default: the parent of the commit
#        that made the source incremental, see BENCHMARKS.md)
#   KPVS_BENCH_SIZES (default "10000 50000"): N Services x 10 endpoints
#   KPVS_BENCH_RUNS (default 3): runs of each, alternating; the median is shown
#
# Builds (release) crates/kube-ipvs-proxier/examples/manifests-bench.rs and the binary
# here and in a temporary copy of BASE_REV (git archive) (the example is copied
# there: it uses only `manifests::load`), generates the manifests with
# bench/proxier-gen.py, and prints one line per measure: seconds, and the
# peak resident set (VmHWM, MiB) of the process. Then "poll": here only
# (crates/kube-ipvs-proxier/examples/manifests-poll.rs), a ManifestsSource poll after
# the one-EndpointSlice file slice-0.yaml was rewritten (in-process time).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
BASE=${1:-bba03ea}
SIZES=${KPVS_BENCH_SIZES:-10000 50000}
RUNS=${KPVS_BENCH_RUNS:-3}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

mkdir "$WORK/base"
git archive "$BASE" | tar -x -C "$WORK/base"
cp crates/kube-ipvs-proxier/examples/manifests-bench.rs "$WORK/base/crates/kube-ipvs-proxier/examples/"
# One target directory for both trees: the dependencies build once.
for tree in base new; do
    src=$ROOT
    [ "$tree" = base ] && src=$WORK/base
    # Cargo tells changed sources by their times: make this tree's newest.
    find "$src/crates" -name '*.rs' -exec touch {} +
    (cd "$src" && CARGO_TARGET_DIR="$ROOT/target" cargo build --release -q \
        -p kube-ipvs-proxier --example manifests-bench --bin kube-ipvs-proxier)
    mkdir -p "$WORK/bin-$tree"
    cp target/release/examples/manifests-bench target/release/kube-ipvs-proxier "$WORK/bin-$tree/"
done
# The incremental poll exists only here.
cargo build --release -q -p kube-ipvs-proxier --example manifests-poll

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
hwm_of() { awk '/Maximum resident/ {printf "%.0f\n", $6 / 1024}'; }

echo "machine: nproc $(nproc), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
printf '%-6s %-5s %-5s %9s %9s\n' N what tree seconds MiB
for n in $SIZES; do
    python3 bench/proxier-gen.py manifests "$WORK/m$n" "$n" 10
    for what in load plan; do
        for tree in base new; do
            : >"$WORK/$tree-$what-s" && : >"$WORK/$tree-$what-m"
        done
        for _ in $(seq "$RUNS"); do
            for tree in base new; do
                if [ "$what" = load ]; then
                    cmd=("$WORK/bin-$tree/manifests-bench" "$WORK/m$n")
                else
                    cmd=("$WORK/bin-$tree/kube-ipvs-proxier" plan --manifests "$WORK/m$n"
                        --node-ip 192.168.100.1)
                fi
                start=$(date +%s.%N)
                /usr/bin/time -v "${cmd[@]}" >/dev/null 2>"$WORK/time"
                end=$(date +%s.%N)
                echo "$end - $start" | bc >>"$WORK/$tree-$what-s"
                hwm_of <"$WORK/time" >>"$WORK/$tree-$what-m"
            done
        done
        for tree in base new; do
            printf '%-6s %-5s %-5s %9.3f %9s\n' "$n" "$what" "$tree" \
                "$(median <"$WORK/$tree-$what-s")" "$(median <"$WORK/$tree-$what-m")"
        done
    done
    # A poll after slice-0.yaml (one EndpointSlice) was rewritten.
    for _ in $(seq "$RUNS"); do
        target/release/examples/manifests-poll "$WORK/m$n" slice-0.yaml |
            awk '$2 == "changed" {print $3}'
    done >"$WORK/poll-s"
    printf '%-6s %-5s %-5s %9.3f %9s\n' "$n" poll new "$(median <"$WORK/poll-s")" -
done
