#!/usr/bin/env bash
# Scale benchmark (issue 8): kube-ipvs-proxier in manifests mode at N
# ClusterIP TCP Services x R endpoints, against the stock tools, one
# test-bed VM (qemu TCG) per size, everything of a size in that one VM
# (bench/scale-vm.sh): cold start, endpoint changes one at a time, churn,
# warm restart, cold start and warm restart in API mode (against the
# API-server double of tests/apiserver), kubeadm's default path (API mode,
# address binding, no --node-ip) beside --node-ip, then ipvsadm -R + ipset restore +
# ip -batch of the same state on the cleaned kernel.
#
# Usage: bench/scale.sh
#   KPVS_BENCH_SIZES (default "10000 50000"): the N to run
#   KPVS_BENCH_REALS (default 10): R
#   KPVS_BENCH_STEPS_<N> (default: "cold changes churn warm api kubeadm
#     trio" at 10000 and below, "cold changes warm api trio" above: no churn,
#     no kubeadm): the steps of that size
#     (cold changes churn warm api kubeadm trio: see bench/scale-vm.sh)
#   KPVS_BENCH_SPLIT (default 1000): Services with a slice file of their own,
#     the changed ones (change c: Service 7919c mod SPLIT; the churn comes
#     back to a Service every SPLIT changes, 10 s at 100/s)
#   KPVS_BENCH_CHANGES, KPVS_BENCH_RATE, KPVS_BENCH_SECONDS,
#     KPVS_BENCH_TRASH_WAIT, KPVS_BENCH_POLL, KPVS_BENCH_KUBEADM_RUNS: see
#     bench/scale-vm.sh
#   KPVS_BENCH_MEM (default 6144 MiB), KPVS_BENCH_LOG (append to this file);
#   KPVS_VM_TIMEOUT (vm/run.sh, 3000 s) is too short for 10k on a busy host
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
SIZES=${KPVS_BENCH_SIZES:-10000 50000}
R=${KPVS_BENCH_REALS:-10}
SPLIT=${KPVS_BENCH_SPLIT:-1000}
MEM=${KPVS_BENCH_MEM:-6144}
TARGET=${CARGO_TARGET_DIR:-target}
case $TARGET in /*) ;; *) TARGET=$ROOT/$TARGET ;; esac
PROXIER=$TARGET/release/kube-ipvs-proxier
LOG=${KPVS_BENCH_LOG:-$(mktemp -d "${TMPDIR:-/tmp}/scale-bench.XXXXXX")/results}

cargo build --release -p kube-ipvs-proxier --bin kube-ipvs-proxier
echo "MACHINE $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)" | tee -a "$LOG"
for n in $SIZES; do
    steps_var=KPVS_BENCH_STEPS_$n
    default="cold changes churn warm api kubeadm trio"
    [ "$n" -gt 10000 ] && default="cold changes warm api trio"
    steps=${!steps_var:-$default}
    inputs=$TARGET/scale-bench/$n-$R
    bench/stock-inputs.sh "$inputs" "$n" "$R" "$PROXIER" "$SPLIT"
    # The guest runs copies, so that the scripts can be edited meanwhile.
    cp bench/scale-vm.sh bench/vm-lib.sh bench/churn.py bench/proxier-gen.py "$inputs/"
    cp -r tests/apiserver "$inputs/apiserver"
    echo "== N=$n steps: $steps (load: $(cut -d' ' -f1-3 /proc/loadavg))" | tee -a "$LOG"
    vm/run.sh --mem "$MEM" --smp 2 -- env \
        KPVS_BENCH_CHANGES="${KPVS_BENCH_CHANGES:-20}" KPVS_BENCH_RATE="${KPVS_BENCH_RATE:-100}" \
        KPVS_BENCH_SECONDS="${KPVS_BENCH_SECONDS:-60}" KPVS_BENCH_TRASH_WAIT="${KPVS_BENCH_TRASH_WAIT:-200}" \
        KPVS_BENCH_POLL="${KPVS_BENCH_POLL:-100ms}" \
        KPVS_BENCH_KUBEADM_RUNS="${KPVS_BENCH_KUBEADM_RUNS:-node-ip default}" \
        "$inputs/scale-vm.sh" "$n" "$R" "$SPLIT" "$PROXIER" "$inputs" $steps | tr -d '\r' | tee -a "$LOG"
    echo "== N=$n done (load: $(cut -d' ' -f1-3 /proc/loadavg))" | tee -a "$LOG"
done
echo "results: $LOG"
