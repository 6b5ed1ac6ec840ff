#!/usr/bin/env bash
# `-R` benchmark: the ipvsadm example of ipvs-netlink (parse everything,
# then pipelined batches) against the real `ipvsadm -R` (a round trip per
# line), same input, same VM (vm/run.sh, qemu TCG).
#
# In one boot: ours, ipvsadm, ours again, each on an empty table. Between
# runs the table is flushed (`ipvsadm -C`) and the script waits for the
# kernel's destination trash list to empty (deleted real servers stay
# there until its timer frees them, up to about 3 minutes; while they are
# there every new real server walks the whole list). The second run of
# ours shows whether the wait was enough: it should match the first.
#
# Usage: bench/ipvsadm.sh   (KPVS_BENCH_SERVICES=10000 KPVS_BENCH_REALS=10
#   KPVS_BENCH_MEM=4096 KPVS_BENCH_TRASH_WAIT=200 by default)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

N=${KPVS_BENCH_SERVICES:-10000}
R=${KPVS_BENCH_REALS:-10}
MEM=${KPVS_BENCH_MEM:-4096}
WAIT=${KPVS_BENCH_TRASH_WAIT:-200}

cargo build --release -p ipvs-netlink --example ipvsadm
TARGET=${CARGO_TARGET_DIR:-target}
case $TARGET in /*) ;; *) TARGET=$ROOT/$TARGET ;; esac
OURS=$TARGET/release/examples/ipvsadm
echo "load before: $(uptime)"

vm/run.sh --mem "$MEM" -- bash -c "
set -e
echo \"KERNEL \$(uname -r)\"
python3 bench/proxier-gen.py restore $N $R > /tmp/restore
echo \"restore file: \$(wc -l < /tmp/restore) lines\"
timed() {
    local name=\$1 s e
    shift
    s=\$(date +%s.%N)
    \"\$@\" < /tmp/restore
    e=\$(date +%s.%N)
    lines=\$(ipvsadm -Sn | wc -l)
    awk -v s=\"\$s\" -v e=\"\$e\" -v n=\"\$name\" -v l=\"\$lines\" \
        'BEGIN { printf \"RESULT %s restore %.3f table_lines=%s\\n\", n, e - s, l }'
    [ \"\$lines\" = \"\$(wc -l < /tmp/restore)\" ] || { echo \"\$name: table incomplete\"; exit 1; }
    ipvsadm -C
}
timed ours $OURS -R
sleep $WAIT
timed ipvsadm ipvsadm -R
sleep $WAIT
timed ours-again $OURS -R
" | tr -d '\r' | grep -v '^\[ *[0-9.]*\]'
echo "load after: $(uptime)"
