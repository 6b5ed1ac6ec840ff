#!/usr/bin/env bash
# Proxier benchmark (issue 4, item 7): kube-ipvs-proxier against the stock
# tools, each variant in a fresh test-bed VM (vm/run.sh, qemu TCG):
#   proxier-address / proxier-route: `run --vip-bind-mode MODE` on an empty
#       kernel to the first `sync done` (cold start), a sync with nothing
#       changed, VmHWM; SIGTERM and a warm restart on the same kernel, one
#       endpoint replaced, a periodic resync (bench/proxier-vm.sh).
#   trio: `ipvsadm -R` + `ipset restore` + `ip -batch` (dummy + /32
#       addresses) of the same state, what kube-proxy's state amounts to;
#       `iptables-restore` of the plan's rules timed apart.
#   bind-address / bind-route: LinkWriter::bind of KPVS_BENCH_BIND VIPs
#       (crates/proxier/examples/bind-bench.rs); bind-ip-route: the same
#       local routes by `ip -batch` (KPVS_BENCH_BIND_IP=0 skips it).
# Manifests: N ClusterIP TCP Services x R ready endpoints on another node
# (bench/proxier-gen.py), written to /tmp inside the VM.
#
# Usage: bench/proxier.sh
#   KPVS_BENCH_SIZES (default "1000 10000"): the N to run
#   KPVS_BENCH_REALS (default 10): R
#   KPVS_BENCH_VARIANTS (default "proxier-address proxier-route trio")
#   KPVS_BENCH_BIND (default 40000; 0 skips the bind variants)
#   KPVS_BENCH_BIG (default 2000): above that many Services, the address
#   variant skips the no-change sync and the route variant runs the cold
#   start only (each manifest change re-reads every manifest: minutes at
#   10k under TCG)
#   KPVS_BENCH_MEM (default 4096 MiB)
#   KPVS_BENCH_LOG: append to this results file (default: a new one); the
#   summary covers everything in it, so runs can be split and summed up.
#   KPVS_BENCH_SUMMARY_ONLY=1: only print the summary of KPVS_BENCH_LOG.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

SIZES=${KPVS_BENCH_SIZES:-1000 10000}
R=${KPVS_BENCH_REALS:-10}
VARIANTS=${KPVS_BENCH_VARIANTS:-proxier-address proxier-route trio}
BIND=${KPVS_BENCH_BIND:-40000}
MEM=${KPVS_BENCH_MEM:-4096}
BIG=${KPVS_BENCH_BIG:-2000}

if [ -z "${KPVS_BENCH_LOG:-}" ]; then
    KPVS_BENCH_LOG=$(mktemp -d "${TMPDIR:-/tmp}/proxier-bench.XXXXXX")/results
fi
LOG=$KPVS_BENCH_LOG

if [ "${KPVS_BENCH_SUMMARY_ONLY:-0}" != 1 ]; then
    cargo build --release -p kube-ipvs-proxier --bin kube-ipvs-proxier --example bind-bench
    TARGET=${CARGO_TARGET_DIR:-target}
    case $TARGET in /*) ;; *) TARGET=$ROOT/$TARGET ;; esac
    PROXIER=$TARGET/release/kube-ipvs-proxier
    BIND_BENCH=$TARGET/release/examples/bind-bench

    echo "LOAD before $(uptime)" | tee -a "$LOG"
    vm() {
        echo "== $*: fresh VM" >&2
        vm/run.sh --mem "$MEM" -- bench/proxier-vm.sh "$@" | tr -d '\r' | tee -a "$LOG"
    }
    for n in $SIZES; do
        echo "SIZE $n $R" >>"$LOG"
        address_steps=full route_steps=full
        if [ "$n" -gt "$BIG" ]; then address_steps=warm route_steps=cold; fi
        for variant in $VARIANTS; do
            case $variant in
                proxier-address) vm proxier address "$n" "$R" "$PROXIER" "$address_steps" ;;
                proxier-route) vm proxier route "$n" "$R" "$PROXIER" "$route_steps" ;;
                trio)
                    inputs=$TARGET/proxier-bench/trio-$n-$R
                    bench/stock-inputs.sh "$inputs" "$n" "$R" "$PROXIER"
                    vm trio "$n" "$R" "$inputs"
                    ;;
                *) echo "unknown variant $variant" >&2; exit 2 ;;
            esac
        done
    done
    if [ "$BIND" -gt 0 ]; then
        echo "SIZE bind $BIND" >>"$LOG"
        vm bind address "$BIND" "$BIND_BENCH"
        vm bind route "$BIND" "$BIND_BENCH"
        if [ "${KPVS_BENCH_BIND_IP:-1}" = 1 ]; then
            vm bind-ip route "$BIND"
        fi
    fi
    echo "LOAD after $(uptime)" | tee -a "$LOG"
fi

CPU=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
KERNEL=$(sed -n 's/^KERNEL //p' "$LOG" | head -n 1)
echo
echo "Proxier benchmark: ClusterIP TCP Services x $R endpoints"
echo "machine: $(nproc) CPUs, $CPU; guest: Linux $KERNEL under qemu TCG, 2 vCPUs, $MEM MiB"
grep '^LOAD' "$LOG" || true
# The results, one table per size (a RESULT belongs to the last SIZE line
# before it).
awk '
    $1 == "SIZE" { size = $2; if (!(size in seen)) { seen[size] = 1; order[++sizes] = size } }
    $1 == "RESULT" && $2 == "bind" { bind[$3] = $5; bound[$3] = $4; next }
    $1 == "RESULT" { t[size, $2, $3] = $4 }
    function v(s, variant, key) { return ((s, variant, key) in t) ? t[s, variant, key] : "-" }
    function row(s, label, key, scale,   a, r) {
        a = v(s, "proxier-address", key); r = v(s, "proxier-route", key)
        if (scale && a != "-") a = sprintf("%.1f", a / scale)
        if (scale && r != "-") r = sprintf("%.1f", r / scale)
        printf "  %-44s %12s %12s\n", label, a, r
    }
    function ratio(x, y) { return (x != "-" && y != "-" && y > 0) ? sprintf("%.2fx", x / y) : "-" }
    END {
        for (i = 1; i <= sizes; i++) {
            s = order[i]
            if (s == "bind") continue
            printf "\nN = %s Services\n", s
            printf "  %-44s %12s %12s\n", "proxier --vip-bind-mode", "address", "route"
            row(s, "cold start: wall to first sync (s)", "cold-wall")
            row(s, "cold start: wall to \"started\" (s)", "cold-started-wall")
            row(s, "cold start: logged elapsed_ms", "cold-elapsed-ms")
            row(s, "cold start: mutating messages", "cold-messages")
            row(s, "cold start: iptables forks", "cold-forks")
            row(s, "cold start: ipvsadm TCP services", "cold-services")
            row(s, "cold start: real servers", "cold-real-servers")
            row(s, "cold start: VIPs bound", "cold-bound")
            row(s, "no-change sync: mutating messages", "nochange-messages")
            row(s, "no-change sync: iptables forks", "nochange-forks")
            row(s, "no-change sync: elapsed_ms", "nochange-elapsed-ms")
            row(s, "warm restart: wall to first sync (s)", "warm-wall")
            row(s, "warm restart: elapsed_ms", "warm-elapsed-ms")
            row(s, "warm restart: mutating messages", "warm-messages")
            row(s, "warm restart: iptables forks", "warm-forks")
            row(s, "1 endpoint replaced: elapsed_ms", "change-elapsed-ms")
            row(s, "1 endpoint replaced: mutating messages", "change-messages")
            row(s, "1 endpoint replaced: iptables forks", "change-forks")
            row(s, "resync: mutating messages", "resync-messages")
            row(s, "resync: iptables forks", "resync-forks")
            row(s, "resync: elapsed_ms", "resync-elapsed-ms")
            row(s, "VmHWM after cold start + no-change (MiB)", "cold-vmhwm-kib", 1024)
            row(s, "VmHWM after warm restart + change (MiB)", "warm-vmhwm-kib", 1024)
            printf "  trio (s): ipvsadm -R %s + ipset restore %s + ip -batch %s = %s; iptables-restore %s\n",
                v(s, "trio", "ipvsadm"), v(s, "trio", "ipset"), v(s, "trio", "ip"),
                v(s, "trio", "total"), v(s, "trio", "iptables")
            printf "  trio / proxier cold start (wall): address %s, route %s\n",
                ratio(v(s, "trio", "total"), v(s, "proxier-address", "cold-wall")),
                ratio(v(s, "trio", "total"), v(s, "proxier-route", "cold-wall"))
        }
        if ("bind" in seen) {
            printf "\nLinkWriter::bind of %s VIPs (s): address %s, route %s (address/route %s);" \
                " process wall: address %s, route %s\n",
                bound["address"] != "" ? bound["address"] : bound["route"],
                bind["address"] != "" ? bind["address"] : "-", bind["route"] != "" ? bind["route"] : "-",
                ratio(bind["address"], bind["route"]),
                v("bind", "bind-address", "wall"), v("bind", "bind-route", "wall")
        }
    }' "$LOG"
grep -E '^(CHECK|INPUT|PROXIER-WARN)|bind (address|route) [0-9]' "$LOG" || true
echo "raw results: $LOG"
