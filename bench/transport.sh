#!/usr/bin/env bash
# One netlink transport (issue 9, item 4): ipvs-netlink and ipset-netlink on
# their old engines (built from an older commit) against the same libraries
# on netlink-transport, side by side in one run.
#   IPVS, in one test-bed VM (vm/run.sh, qemu TCG): `ipvs-bench
#     library-create N R`, `library-dump`, `library-flush` of each build, and
#     `proto-bench create N R` (netlink-proto 0.14 `request_batch`), in the
#     order old new proto new old proto; each run in its own network
#     namespace, so each starts from an empty IPVS table and an empty
#     destination trash list (re-adding flushed real servers in one
#     namespace is quadratic for 120 s), with lo up (without a local
#     routing table the kernel refuses real servers with EINVAL), 10 s apart.
#   ipset, on the host in a fresh network namespace (like bench/ipset.sh):
#     the old and the new `ipset-bench` (library against the ipset tool,
#     medians of 3), in the order old new old new.
#
# Usage: bench/transport.sh OLD_BIN_DIR
#   OLD_BIN_DIR holds `ipvs-bench` and `ipset-bench` release builds of the
#   old engine, e.g.
#     git worktree add /tmp/old 9ddc42e && (cd /tmp/old && cargo build \
#       --release -p ipvs-netlink --example ipvs-bench \
#       -p ipset-netlink --example ipset-bench)
#   KPVS_BENCH_SERVICES (default 10000), KPVS_BENCH_REALS (default 10),
#   KPVS_BENCH_MEM (default 4096 MiB), KPVS_BENCH_ORDER (the IPVS runs,
#   default "old new proto new old proto"), KPVS_BENCH_IPSET=0 skips ipset.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
OLD=$(cd "${1:?usage: bench/transport.sh OLD_BIN_DIR}" && pwd)
N=${KPVS_BENCH_SERVICES:-10000}
R=${KPVS_BENCH_REALS:-10}
MEM=${KPVS_BENCH_MEM:-4096}

cargo build --release --locked -p ipvs-netlink --example ipvs-bench --example proto-bench \
    -p ipset-netlink --example ipset-bench
TARGET=${CARGO_TARGET_DIR:-target}
case $TARGET in /*) ;; *) TARGET=$ROOT/$TARGET ;; esac
NEW=$TARGET/release/examples

LOG=$(mktemp -d "${TMPDIR:-/tmp}/transport-bench.XXXXXX")/results
echo "load before: $(uptime)" | tee "$LOG"

run_ipvs() {
    local variant=$1
    if [ "$variant" = proto ]; then
        echo "unshare -n sh -c 'ip link set lo up && $NEW/proto-bench create $N $R'; sleep 10"
    else
        local bin=$OLD/ipvs-bench
        [ "$variant" = new ] && bin=$NEW/ipvs-bench
        echo "unshare -n sh -c 'ip link set lo up && $bin library-create $N $R && $bin library-dump && $bin library-flush' \
            | sed 's/^RESULT library /RESULT $variant /'; sleep 10"
    fi
}
script="set -e; echo KERNEL \$(uname -r)"
for variant in ${KPVS_BENCH_ORDER:-old new proto new old proto}; do
    script="$script
$(run_ipvs "$variant")"
done
echo "== IPVS: one VM" >&2
vm/run.sh --mem "$MEM" -- bash -c "$script" | tr -d '\r' | tee -a "$LOG"

echo "== ipset: host, fresh network namespaces" >&2
IPSET_ORDER="old new old new"
[ "${KPVS_BENCH_IPSET:-1}" = 0 ] && IPSET_ORDER=
for variant in $IPSET_ORDER; do
    bin=$OLD/ipset-bench
    [ "$variant" = new ] && bin=$NEW/ipset-bench
    unshare -n "$bin" | sed "s/^|/IPSET $variant |/" | tee -a "$LOG"
done
echo "load after: $(uptime)" | tee -a "$LOG"

CPU=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
echo
echo "machine: $(nproc) CPUs, $CPU; IPVS guest: Linux $(sed -n 's/^KERNEL //p' "$LOG" | head -n 1) under qemu TCG, 2 vCPUs, $MEM MiB; ipset: host kernel $(uname -r)"
echo "IPVS: $N TCP services (rr, masq) x $R real servers = $((N * (R + 1))) messages, windows of 256 messages / 64 KiB"
awk '
    $1 == "RESULT" { key = $2 " " $3; v[key] = v[key] " " $4; if (!(key in best) || $4 < best[key]) best[key] = $4 }
    END {
        printf "%-12s %-22s %-22s %-10s %s\n", "phase (s)", "old (runs)", "new (runs)", "new/old", "best"
        split("create dump dump+format flush", phases, " ")
        for (i = 1; i <= 4; i++) {
            p = phases[i]; o = best["old " p]; n = best["new " p]
            printf "%-12s %-22s %-22s %-10s old %s new %s\n", p, v["old " p], v["new " p],
                (o > 0) ? sprintf("%.3f", n / o) : "-", o, n
        }
        o = best["old create"]; q = best["proto create"]
        printf "netlink-proto request_batch create:%s (best %s, proto/old %.3f, proto/new %.3f)\n",
            v["proto create"], q, (o > 0) ? q / o : 0, (best["new create"] > 0) ? q / best["new create"] : 0
    }' "$LOG"
grep -E 'errors=[1-9]' "$LOG" || true
echo "ipset (median of 3 per run; library column is ours):"
grep -E '^IPSET' "$LOG"
echo "raw results: $LOG"
