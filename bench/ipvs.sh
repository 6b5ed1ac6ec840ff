#!/usr/bin/env bash
# IPVS benchmark (issue 2, item 5): ipvs-netlink against `ipvsadm` and a
# hand-built netlink sender (the kernel-bound floor), each variant in a fresh
# test-bed VM (vm/run.sh, qemu TCG) so no run sees another's leftovers:
#   library: execute() create, table() dump (+ ipvsadm -Ln formatting), flush
#   ipvsadm: ipvsadm -R < file, ipvsadm -Ln > /dev/null, ipvsadm -C
#   raw:     hand-built NEW_SERVICE/NEW_DEST windows, service + dest dumps
# Never flush and re-add in one boot: the kernel's destination trash list
# makes re-adding quadratic for 120 s.
#
# Usage: bench/ipvs.sh
#   KPVS_BENCH_SERVICES (default 10000), KPVS_BENCH_REALS (default 10)
#   KPVS_BENCH_SWEEP=1: also a batch-size sweep (chunk 1, 64, 256) of library
#   and raw creation at KPVS_BENCH_SWEEP_SERVICES (default 1000) services.
#   KPVS_BENCH_MEM (default 4096 MiB).
#   KPVS_BENCH_PAIRS (default 3): after the library dump, that many rounds of
#   raw dump then library dump on the same table in the same VM (the fairest
#   library/raw dump comparison: separate VMs on a shared host differ by
#   more than the decoding costs).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

N=${KPVS_BENCH_SERVICES:-10000}
R=${KPVS_BENCH_REALS:-10}
MEM=${KPVS_BENCH_MEM:-4096}
SWEEP_N=${KPVS_BENCH_SWEEP_SERVICES:-1000}
PAIRS=${KPVS_BENCH_PAIRS:-3}
export KPVS_BENCH_SERVICES=$N KPVS_BENCH_REALS=$R

cargo build --release -p ipvs-netlink --example ipvs-bench
TARGET=${CARGO_TARGET_DIR:-target}
case $TARGET in /*) ;; *) TARGET=$ROOT/$TARGET ;; esac
BIN=$TARGET/release/examples/ipvs-bench
"$BIN" raw-selftest

LOG=$(mktemp -d "${TMPDIR:-/tmp}/ipvs-bench.XXXXXX")/results
echo "load before: $(uptime)" | tee "$LOG"

# Guest prelude: `timed VARIANT PHASE command...` prints a RESULT line with
# the wall time of the command (to fd 3, so the command's own output can be
# redirected).
PRELUDE='exec 3>&1
timed() {
    local variant=$1 phase=$2 s e
    shift 2
    s=$(date +%s.%N)
    "$@"
    e=$(date +%s.%N)
    awk -v s="$s" -v e="$e" -v v="$variant" -v p="$phase" \
        "BEGIN { printf \"RESULT %s %s %.3f\\n\", v, p, e - s }" >&3
}
echo "KERNEL $(uname -r)"
set -e'

vm() {
    local name=$1 script=$2
    echo "== $name: fresh VM" >&2
    vm/run.sh --mem "$MEM" -- bash -c "$PRELUDE
$script" | tr -d '\r' | tee -a "$LOG"
}

vm library "
timed library create-wall $BIN library-create $N $R
timed library dump-wall $BIN library-dump
for round in \$(seq $PAIRS); do
    $BIN raw-dump | sed 's/^RESULT raw dump /PAIR raw /'
    $BIN library-dump | sed -n 's/^RESULT library dump /PAIR library /p'
done
timed library flush-wall $BIN library-flush
"

vm ipvsadm "
$BIN gen-restore $N $R > /tmp/restore
echo \"restore file: \$(wc -l < /tmp/restore) lines\"
timed ipvsadm create ipvsadm -R < /tmp/restore
timed ipvsadm dump ipvsadm -Ln > /dev/null
$BIN raw-dump | sed 's/^RESULT raw dump/CHECK ipvsadm-table/'
timed ipvsadm flush ipvsadm -C
"

vm raw "
timed raw create-wall $BIN raw-create $N $R
timed raw dump-wall $BIN raw-dump
"

if [ "${KPVS_BENCH_SWEEP:-0}" = 1 ]; then
    for chunk in 1 64 256; do
        vm "sweep library chunk $chunk" "$BIN library-create $SWEEP_N $R --chunk $chunk | sed 's/^RESULT library create/SWEEP library $chunk/'"
        vm "sweep raw chunk $chunk" "$BIN raw-create $SWEEP_N $R --chunk $chunk | sed 's/^RESULT raw create/SWEEP raw $chunk/'"
    done
fi
echo "load after: $(uptime)" | tee -a "$LOG"

CPU=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
KERNEL=$(sed -n 's/^KERNEL //p' "$LOG" | head -n 1)
echo
echo "IPVS benchmark: $N TCP services (rr, masq) x $R real servers = $((N * (R + 1))) messages"
echo "machine: $(nproc) CPUs, $CPU; guest: Linux $KERNEL under qemu TCG, 2 vCPUs, $MEM MiB"
echo "batch window: $(sed -n 's/^RESULT library create .*chunk=\([0-9]*\).*/\1/p' "$LOG") messages / 64 KiB (library and raw)"
awk '
    $1 == "RESULT" { t[$2 " " $3] = $4 }
    function show(phase, lib, adm, raw) {
        l = t["library " lib]; a = t["ipvsadm " adm]; r = t["raw " raw]
        printf "%-12s %10s %10s %10s %16s %12s\n", phase,
            l == "" ? "-" : l, a == "" ? "-" : a, r == "" ? "-" : r,
            (a != "" && l > 0) ? sprintf("%.2fx", a / l) : "-",
            (l != "" && r > 0) ? sprintf("%.2fx", l / r) : "-"
    }
    END {
        printf "%-12s %10s %10s %10s %16s %12s\n", "phase (s)", "library", "ipvsadm", "raw",
            "ipvsadm/library", "library/raw"
        show("create", "create", "create", "create")
        show("dump", "dump", "dump", "dump")
        show("dump+format", "dump+format", "dump", "dump")
        show("flush", "flush", "flush", "")
        printf "process wall (incl. exec): library create %s dump %s flush %s; raw create %s dump %s\n",
            t["library create-wall"], t["library dump-wall"], t["library flush-wall"],
            t["raw create-wall"], t["raw dump-wall"]
    }' "$LOG"
grep -E '^(CHECK|restore file)|errors=[1-9]' "$LOG" || true
awk '
    $1 == "PAIR" { n[$2]++; if (!($2 in best) || $3 < best[$2]) best[$2] = $3; all[$2] = all[$2] " " $3 }
    END {
        if (n["raw"] && n["library"])
            printf "same-VM dump, %d rounds (best): library %s raw %s library/raw %.2fx (library:%s; raw:%s)\n",
                n["library"], best["library"], best["raw"], best["library"] / best["raw"], all["library"], all["raw"]
    }' "$LOG"
if [ "${KPVS_BENCH_SWEEP:-0}" = 1 ]; then
    echo "batch sweep, $SWEEP_N services x $R real servers (seconds):"
    awk '$1 == "SWEEP" { printf "  %-8s chunk %4s  %s\n", $2, $3, $4 }' "$LOG"
fi
echo "raw results: $LOG"
