#!/usr/bin/env bash
# The in-VM half of the proxier benchmark (bench/proxier.sh runs it in a
# fresh test-bed VM per variant). Prints `RESULT VARIANT KEY VALUE` lines,
# `LINE VARIANT PHASE <log line>` with the proxier's own sync lines, and
# `CHECK ...` lines.
#
#   proxier-vm.sh proxier MODE N R PROXIER [STEPS]   MODE: address | route
#       cold start on an empty kernel (first `sync done`), a sync with no
#       change (a manifest touched), VmHWM, SIGTERM; warm restart on the
#       same kernel, one endpoint replaced, the periodic resync, VmHWM.
#       STEPS: full (default), warm (all but the no-change sync: every
#       manifest change re-reads all the manifests, minutes at 10k under
#       TCG), cold (the cold start and VmHWM only).
#   proxier-vm.sh trio N R INPUTS
#       what kube-proxy's state amounts to, by the stock tools: ipvsadm -R,
#       ipset restore (the plan's sets), ip -batch (dummy + N /32
#       addresses), then iptables-restore of the plan's rules (separately).
#       INPUTS: a directory with ipvsadm.restore, ipset.restore, ip.batch
#       and iptables.restore (bench/proxier.sh makes it on the host).
#   proxier-vm.sh bind MODE COUNT BIND_BENCH
#       LinkWriter::bind of COUNT VIPs (crates/proxier/examples/bind-bench.rs).
#   proxier-vm.sh bind-ip MODE COUNT
#       the same COUNT VIPs bound by `ip -batch` (the iproute2 reference).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/vm-lib.sh"
GEN="python3 $HERE/proxier-gen.py"
[ "${KPVS_IN_VM:-}" = 1 ] || { echo "proxier-vm.sh: run me inside the VM (vm/run.sh)" >&2; exit 2; }
echo "KERNEL $(uname -r)"

M=/tmp/bench/manifests
mkdir -p "$M"
NODE_FLAGS=(--hostname-override node-1 --node-ip 192.168.100.1)
FIRST_VIP=10.96.0.10

now() { date +%s.%N; }
sub() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a - b }'; }
result() { echo "RESULT $VARIANT $1 $2"; }

# timed KEY command...: RESULT with the wall time of the command.
timed() {
    local key=$1 s e
    shift
    s=$(now)
    "$@"
    e=$(now)
    result "$key" "$(sub "$e" "$s")"
}


# report PHASE LINE [T0]: the figures of one logged sync; with T0, the wall
# time from T0 to the line's own timestamp.
report() {
    local phase=$1 line=$2 t0=${3:-}
    echo "LINE $VARIANT $phase $line"
    if [ -n "$t0" ]; then
        local ts
        ts=$(date -d "${line%% *}" +%s.%N)
        result "$phase-wall" "$(sub "$ts" "$t0")"
    fi
    result "$phase-elapsed-ms" "$(field elapsed_ms "$line")"
    result "$phase-messages" "$(field mutating_messages "$line")"
    result "$phase-forks" "$(field iptables_forks "$line")"
}

hwm() { sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$1/status"; }

stop() {
    kill -TERM "$1"
    wait "$1" || true
}

bound_count() {
    case $1 in
        address) ip -o addr show dev kube-ipvs0 | grep -c ' inet ' || true ;;
        route) ip route show table local dev kube-ipvs0 | grep -c '^local' || true ;;
    esac
}

case ${1:-} in
    proxier)
        MODE=$2 N=$3 R=$4 PROXIER=$5 STEPS=${6:-full}
        VARIANT=proxier-$MODE
        $GEN manifests "$M" "$N" "$R"
        start() { # start LOG [extra flags]: the proxier in the background
            local log=$1
            shift
            T0=$(now)
            "$PROXIER" run --manifests "$M" "${NODE_FLAGS[@]}" --vip-bind-mode "$MODE" "$@" \
                2>"$log" &
            PID=$!
        }

        # 1. cold start on an empty kernel.
        start /tmp/bench/cold.log --ipvs-sync-period 10m
        report cold "$(wait_line /tmp/bench/cold.log ': sync done' 1 3000 "$PID")" "$T0"
        started=$(grep -m1 'started; kernel state adopted' /tmp/bench/cold.log)
        result cold-started-wall "$(sub "$(date -d "${started%% *}" +%s.%N)" "$T0")"
        services=$(ipvsadm -Ln | grep -c '^TCP' || true)
        result cold-services "$services"
        result cold-real-servers "$(ipvsadm -Ln | grep -c -- '-> [0-9]' || true)"
        result cold-bound "$(bound_count "$MODE")"
        result cold-cluster-ip-entries "$(ipset list KUBE-CLUSTER-IP | grep -c ',tcp:80' || true)"
        [ "$services" = "$N" ] && echo "CHECK $VARIANT ipvsadm TCP services = $N: ok" ||
            echo "CHECK $VARIANT ipvsadm TCP services = $N: FAILED ($services)"

        # 2. a sync with nothing changed: a manifest touched.
        if [ "$STEPS" = full ]; then
            touch "$M/services.yaml"
            report nochange "$(wait_line /tmp/bench/cold.log ': sync done' 2 3000 "$PID")"
        fi
        result cold-vmhwm-kib "$(hwm "$PID")"
        stop "$PID"
        [ "$STEPS" = cold ] && exit 0

        # 3. warm restart on the same kernel (with a 30 s resync period,
        # so step 5 sees one).
        start /tmp/bench/warm.log --ipvs-sync-period 30s
        report warm "$(wait_line /tmp/bench/warm.log ': sync done' 1 3000 "$PID")" "$T0"

        # 4. one endpoint of Service 0 replaced.
        $GEN change "$M" "$N" "$R"
        report change "$(wait_line /tmp/bench/warm.log ': sync done' 2 3000 "$PID")"
        result change-new-endpoint "$(ipvsadm -Ln -t "$FIRST_VIP:80" | grep -c '10.250.0.1:80' || true)"
        result change-real-servers "$(ipvsadm -Ln -t "$FIRST_VIP:80" | grep -c -- '-> [0-9]' || true)"

        # 5. the periodic resync (logged only when it sent or forked).
        if line=$(wait_line /tmp/bench/warm.log ': resync done' 1 120 "$PID" 2>/dev/null); then
            report resync "$line"
        else
            result resync-logged no
        fi
        result warm-vmhwm-kib "$(hwm "$PID")"
        stop "$PID"
        grep -E ' (WARN|ERROR) ' /tmp/bench/cold.log /tmp/bench/warm.log | head -n 5 | sed 's/^/PROXIER-WARN /' || true
        ;;
    trio)
        N=$2 R=$3
        VARIANT=trio
        mkdir -p /tmp/bench
        cp "$4"/ipvsadm.restore "$4"/ipset.restore "$4"/ip.batch "$4"/iptables.restore /tmp/bench/
        echo "INPUT trio ipvsadm=$(wc -l </tmp/bench/ipvsadm.restore) ipset=$(wc -l </tmp/bench/ipset.restore)" \
            "ip=$(wc -l </tmp/bench/ip.batch) iptables=$(wc -l </tmp/bench/iptables.restore) lines;" \
            "sets: $(grep '^create' /tmp/bench/ipset.restore | cut -d' ' -f2 | tr '\n' ' ')"
        s=$(now)
        timed ipvsadm ipvsadm -R </tmp/bench/ipvsadm.restore
        timed ipset ipset restore </tmp/bench/ipset.restore
        timed ip ip -batch /tmp/bench/ip.batch
        e=$(now)
        result total "$(sub "$e" "$s")"
        timed iptables iptables-restore --noflush --counters </tmp/bench/iptables.restore
        services=$(ipvsadm -Ln | grep -c '^TCP' || true)
        result services "$services"
        result bound "$(bound_count address)"
        [ "$services" = "$N" ] && echo "CHECK trio ipvsadm TCP services = $N: ok" ||
            echo "CHECK trio ipvsadm TCP services = $N: FAILED ($services)"
        ;;
    bind)
        MODE=$2 COUNT=$3 BIN=$4
        VARIANT=bind-$MODE
        timed wall "$BIN" "$MODE" "$COUNT"
        result bound "$(bound_count "$MODE")"
        ;;
    bind-ip)
        MODE=$2 COUNT=$3
        VARIANT=bind-ip-$MODE
        mkdir -p /tmp/bench
        awk -v n="$COUNT" -v mode="$MODE" 'BEGIN {
            print "link add kube-ipvs0 type dummy"
            for (i = 0; i < n; i++) {
                k = i + 10; vip = sprintf("10.96.%d.%d", int(k / 256), k % 256)
                if (mode == "address") print "address add " vip "/32 dev kube-ipvs0"
                else print "route add local " vip "/32 dev kube-ipvs0 table local proto static scope host"
            }
        }' >/tmp/bench/bind.batch
        timed wall ip -batch /tmp/bench/bind.batch
        result bound "$(bound_count "$MODE")"
        ;;
    *)
        echo "usage: proxier-vm.sh proxier MODE N R PROXIER [STEPS] | trio N R INPUTS | bind MODE COUNT BIN | bind-ip MODE COUNT" >&2
        exit 2
        ;;
esac
