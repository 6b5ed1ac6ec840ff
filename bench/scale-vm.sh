#!/usr/bin/env bash
# The in-VM half of the scale benchmark (bench/scale.sh runs it in one
# test-bed VM per size): the proxier in manifests mode, in API mode and the
# stock tools on one kernel, one after the other.
#
#   scale-vm.sh N R SPLIT PROXIER INPUTS STEPS...
#     INPUTS: made by bench/scale.sh on the host: manifests/ (proxier-gen.py
#       manifests N R SPLIT), objects.json, ipvsadm.restore, ipset.restore,
#       ip.batch, iptables.restore.
#     STEPS, in this order, any subset:
#       cold      the proxier on an empty kernel to its first `sync done`
#                 (wall from process start, the logged sync, /metrics)
#       changes   KPVS_BENCH_CHANGES (20) endpoint changes one at a time,
#                 each to the next `sync done` (bench/churn.py changes)
#       churn     KPVS_BENCH_RATE (100) changes/s for KPVS_BENCH_SECONDS
#                 (60), then the kernel compared with the expected table
#       warm      SIGTERM, a second proxier on the same kernel to its first
#                 `sync done` (should send nothing)
#       api       API mode: the proxier's --cleanup, the API-server double
#                 (apiserver/fake_apiserver.py beside this script, a copy of
#                 tests/apiserver) started with INPUTS/objects.json
#                 (proxier-gen.py objects: the Node and the generated
#                 Services and EndpointSlices, without the changes of
#                 `changes` and `churn`), a proxier on its kubeconfig from
#                 the empty kernel to the sync that added the N Services,
#                 then SIGTERM and a warm restart (api-warm-*)
#       kubeadm  kubeadm's default path beside --node-ip: API mode, address
#                 binding (kube-proxy's), the proxier started on the empty
#                 kernel twice, with --node-ip and without (the node's
#                 addresses from notifications), each to its N Services,
#                 then one endpoint added to one EndpointSlice through the
#                 double and removed again, six times: RESULT
#                 kubeadm-<run>-change-{messages,elapsed-ms} (the first),
#                 -change-{user-cpu-ms,to-ipvsadm-ms} (medians, and -each),
#                 and -idle-user-cpu-ms-per-10s before; KPVS_BENCH_KUBEADM_RUNS
#                 ("node-ip default") gives the runs and their order
#       trio      the proxier's --cleanup, KPVS_BENCH_TRASH_WAIT s (200:
#                 the kernel frees deleted real servers), then ipvsadm -R,
#                 ipset restore and ip -batch of the same state, and
#                 iptables-restore apart
# Prints `RESULT KEY VALUE`, `LINE ...` (the proxier's sync lines), `MATCH`,
# `LATENCY_MS`, `SYNCS`, `CHURN` (bench/churn.py) and `CHECK ... ok|FAILED`.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/vm-lib.sh"
[ "${KPVS_IN_VM:-}" = 1 ] || { echo "scale-vm.sh: run me inside the VM (vm/run.sh)" >&2; exit 2; }
N=$1 R=$2 SPLIT=$3 PROXIER=$4 INPUTS=$5
shift 5
STEPS=" $* "
CHANGES=${KPVS_BENCH_CHANGES:-20}
RATE=${KPVS_BENCH_RATE:-100}
SECONDS_CHURN=${KPVS_BENCH_SECONDS:-60}
TRASH_WAIT=${KPVS_BENCH_TRASH_WAIT:-200}
POLL=${KPVS_BENCH_POLL:-100ms}
CHURN="python3 $HERE/churn.py"
W=/tmp/scale
M=$W/manifests
mkdir -p "$W"
echo "KERNEL $(uname -r)"
echo "RESULT size $N"

now() { date +%s.%N; }
sub() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a - b }'; }
result() { echo "RESULT $1 $2"; }
has() { [[ $STEPS == *" $1 "* ]]; }
check() { # check NAME GOT WANT
    if [ "$2" = "$3" ]; then echo "CHECK $1 = $3: ok"; else echo "CHECK $1 = $3: FAILED ($2)"; fi
}

line_time() { date -d "${1%% *}" +%s.%N; }
# report PHASE LINE T0: a logged sync's figures, and the wall time from T0.
report() {
    echo "LINE $1 $2"
    result "$1-wall" "$(sub "$(line_time "$2")" "$3")"
    result "$1-elapsed-ms" "$(field elapsed_ms "$2")"
    result "$1-messages" "$(field mutating_messages "$2")"
    result "$1-forks" "$(field iptables_forks "$2")"
}
hwm() { sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$1/status"; }
stop() { kill -TERM "$1"; wait "$1" || true; }
metric() { # metric NAME: its IPv4 sample from /metrics
    curl -s -m 10 http://127.0.0.1:10249/metrics | awk -v n="$1" '$1 ~ "^" n "\\{" && /IPv4/ { print $2 }'
}
PID=
# The node and binding flags of `start` (the kubeadm step changes them).
NODE_FLAGS=(--node-ip 192.168.100.1)
BIND_FLAGS=(--vip-bind-mode route)
# start LOG [SOURCE-FLAGS...]: the proxier in the background, T0 its
# start; by default on the manifests.
start() {
    local log=$1
    shift
    [ $# -gt 0 ] || set -- --manifests "$M" --manifests-poll-period "$POLL"
    T0=$(now)
    "$PROXIER" run "$@" --hostname-override node-1 "${NODE_FLAGS[@]}" \
        "${BIND_FLAGS[@]}" --ipvs-sync-period 1h \
        --metrics-bind-address 127.0.0.1:10249 2>"$log" &
    PID=$!
}
cold_figures() { # cold_figures PHASE LOG: after a cold start's sync, its figures and checks
    local started
    started=$(grep -m1 'started; kernel state adopted' "$2")
    result "$1-started-wall" "$(sub "$(line_time "$started")" "$T0")"
    result "$1-metric-sync-sum-s" "$(metric kubeproxy_sync_proxy_rules_duration_seconds_sum)"
    result "$1-metric-sync-count" "$(metric kubeproxy_sync_proxy_rules_duration_seconds_count)"
    result "$1-vmhwm-kib" "$(hwm "$PID")"
    check "$1: ipvsadm TCP services" "$(ipvsadm -Ln | grep -c '^TCP' || true)" "$N"
    check "$1: real servers" "$(ipvsadm -Ln | grep -c -- '-> [0-9]' || true)" "$((N * R))"
    check "$1: local routes on kube-ipvs0" \
        "$(ip route show table local dev kube-ipvs0 | grep -c '^local' || true)" "$N"
    check "$1: KUBE-CLUSTER-IP entries" "$(ipset list KUBE-CLUSTER-IP | grep -c ',tcp:80' || true)" "$N"
}
table_check() { # table_check NAME CHANGE-FILES...: ipvsadm -Sn = the expected table
    local name=$1
    shift
    $CHURN expect "$N" "$R" "$@" >"$W/expected"
    ipvsadm -Sn | sort >"$W/kernel"
    if cmp -s "$W/expected" "$W/kernel"; then
        echo "CHECK $name: ipvsadm -Sn = expected ($(wc -l <"$W/kernel") lines): ok"
    else
        echo "CHECK $name: ipvsadm -Sn = expected: FAILED ($(diff "$W/expected" "$W/kernel" | grep -c '^[<>]') lines differ)"
        diff "$W/expected" "$W/kernel" | head -n 6
    fi
}

if has cold || has warm; then
    s=$(now)
    cp -r "$INPUTS/manifests" "$M"
    result copy-s "$(sub "$(now)" "$s")"
fi
CHANGE_FILES=()

if has cold; then
    start "$W/cold.log"
    report cold "$(wait_line "$W/cold.log" ': sync done' 1 5400 "$PID")" "$T0"
    cold_figures cold "$W/cold.log"
fi

FIRST=0
if has changes; then
    since=$(wc -l <"$W/cold.log")
    $CHURN changes "$M" "$N" "$R" "$SPLIT" "$FIRST" "$CHANGES" "$W/cold.log" "$W/changes"
    grep ': sync done' "$W/cold.log" | sed -n '2,4s/^/LINE change /p'
    $CHURN match "$W/cold.log" "$W/changes" "$since" 60 | sed 's/^/changes /'
    CHANGE_FILES+=("$W/changes")
    FIRST=$((FIRST + CHANGES))
    table_check changes "${CHANGE_FILES[@]}"
fi

if has churn; then
    since=$(wc -l <"$W/cold.log")
    $CHURN churn "$M" "$N" "$R" "$SPLIT" "$FIRST" "$RATE" "$SECONDS_CHURN" "$W/churn" "${CHANGE_FILES[@]}"
    $CHURN match "$W/cold.log" "$W/churn" "$since" 900 | sed 's/^/churn /'
    CHANGE_FILES+=("$W/churn")
    table_check churn "${CHANGE_FILES[@]}"
    result churn-vmhwm-kib "$(hwm "$PID")"
fi

if [ -n "$PID" ]; then
    stop "$PID"
    PID=
fi

if has warm; then
    start "$W/warm.log"
    report warm "$(wait_line "$W/warm.log" ': sync done' 1 5400 "$PID")" "$T0"
    result warm-vmhwm-kib "$(hwm "$PID")"
    table_check warm "${CHANGE_FILES[@]}"
    stop "$PID"
    PID=
fi
if has api; then
    # The API mode's cold start: nothing of ours in the kernel.
    "$PROXIER" --cleanup >"$W/api-cleanup.log" 2>&1 || echo "CHECK api: cleanup: FAILED ($(tail -n 1 "$W/api-cleanup.log"))"
    check "api: virtual servers before" "$(ipvsadm -Ln | grep -c '^TCP' || true)" 0
    D=$W/apiserver
    rm -rf "$D"
    s=$(now)
    python3 "$HERE/apiserver/fake_apiserver.py" serve --state-dir "$D" \
        --objects "$INPUTS/objects.json" >"$W/apiserver.out" 2>&1 &
    API_PID=$!
    until [ -e "$D/ready" ]; do
        kill -0 "$API_PID" 2>/dev/null || { echo "CHECK api: the double started: FAILED"; tail -n 5 "$W/apiserver.out"; exit 1; }
        sleep 0.2
    done
    # Its start with every object stored (a certificate made, then a
    # create per object), to the ready file.
    result api-apiserver-load-s "$(sub "$(now)" "$s")"
    # synced LOG WANT: the `sync done` line by which services_added sums
    # to WANT (the first one when WANT is 0); RESULT ...-syncs says which.
    synced() {
        local nth=0 sum=0 line
        while :; do
            nth=$((nth + 1))
            line=$(wait_line "$1" ': sync done' "$nth" 5400 "$PID") || return 1
            sum=$((sum + $(field services_added "$line")))
            [ "$sum" -lt "$2" ] || break
        done
        echo "$nth $line"
    }
    start "$W/api.log" --kubeconfig "$D/kubeconfig"
    got=$(synced "$W/api.log" "$N")
    result api-syncs "${got%% *}"
    report api "${got#* }" "$T0"
    cold_figures api "$W/api.log"
    # The double holds the generated objects, whatever `changes` and
    # `churn` wrote into the manifests.
    table_check api
    stop "$PID"
    start "$W/api-warm.log" --kubeconfig "$D/kubeconfig"
    line=$(wait_line "$W/api-warm.log" ': sync done' 1 5400 "$PID")
    report api-warm "$line" "$T0"
    result api-warm-vmhwm-kib "$(hwm "$PID")"
    check "api-warm: messages" "$(field mutating_messages "$line")" 0
    table_check api-warm
    stop "$PID"
    PID=
    stop "$API_PID"
fi
if has kubeadm; then
    D=$W/apiserver-kubeadm
    rm -rf "$D"
    python3 "$HERE/apiserver/fake_apiserver.py" serve --state-dir "$D" \
        --objects "$INPUTS/objects.json" >"$W/apiserver-kubeadm.out" 2>&1 &
    API_PID=$!
    until [ -e "$D/ready" ]; do
        kill -0 "$API_PID" 2>/dev/null || { echo "CHECK kubeadm: the double started: FAILED"; exit 1; }
        sleep 0.2
    done
    BIND_FLAGS=()
    cputicks() { awk '{ print $14 }' "/proc/$1/stat"; } # utime, clock ticks
    hz=$(getconf CLK_TCK)
    for run in ${KPVS_BENCH_KUBEADM_RUNS:-node-ip default}; do
        case "$run" in
            node-ip) NODE_FLAGS=(--node-ip 192.168.100.1) ;;
            default) NODE_FLAGS=() ;;
            *) echo "CHECK kubeadm: run $run (node-ip or default): FAILED"; continue ;;
        esac
        "$PROXIER" --cleanup >"$W/kubeadm-cleanup.log" 2>&1 || echo "CHECK kubeadm-$run: cleanup: FAILED"
        log=$W/kubeadm-$run.log
        start "$log" --kubeconfig "$D/kubeconfig"
        nth=0 sum=0
        while [ "$sum" -lt "$N" ]; do
            nth=$((nth + 1))
            line=$(wait_line "$log" ': sync done' "$nth" 5400 "$PID") || break
            sum=$((sum + $(field services_added "$line")))
        done
        report "kubeadm-$run-cold" "$line" "$T0"
        check "kubeadm-$run: VIP addresses on kube-ipvs0" \
            "$(ip -o addr show dev kube-ipvs0 | grep -c ' inet ' || true)" "$N"
        # The change: one endpoint more in Service 7's slice (slice-add),
        # and back (slice-orig); both rendered before anything is timed.
        python3 - "$INPUTS/objects.json" "$W" <<'PY'
import json, sys
for item in json.load(open(sys.argv[1]))["items"]:
    if item["kind"] == "EndpointSlice" and item["metadata"]["name"] == "svc-7-1":
        open(sys.argv[2] + "/slice-orig.json", "w").write(json.dumps(item))
        item["endpoints"].append({"addresses": ["10.250.0.7"], "conditions": {"ready": True}, "nodeName": "node-2"})
        open(sys.argv[2] + "/slice-add.json", "w").write(json.dumps(item))
PY
        vip=$(python3 -c 'import json,sys
for i in json.load(open(sys.argv[1]))["items"]:
    if i["kind"] == "Service" and i["metadata"]["name"] == "svc-7": print(i["spec"]["clusterIP"])' "$INPUTS/objects.json")
        sleep 2
        # The proxier's CPU while nothing changes (watch bookmarks, timers).
        ticks=$(cputicks "$PID")
        sleep 10
        result "kubeadm-$run-idle-user-cpu-ms-per-10s" "$(( ($(cputicks "$PID") - ticks) * 1000 / hz ))"
        # Six changes (add, remove, ...), each timed alone: the user CPU
        # from just before the update to its sync, and the update until
        # `ipvsadm -Ln` shows it.
        cpus=() lats=()
        for k in 1 2 3 4 5 6; do
            if [ $((k % 2)) = 1 ]; then file=slice-add.json want=1; else file=slice-orig.json want=0; fi
            syncs=$(grep -c ': sync done' "$log")
            ticks=$(cputicks "$PID")
            s=$(now)
            python3 "$HERE/apiserver/fake_apiserver.py" ctl -d "$D" put - <"$W/$file" >/dev/null
            deadline=$(($(date +%s) + 300))
            until [ "$(ipvsadm -Ln -t "$vip:80" | grep -c '10.250.0.7:80')" = "$want" ]; do
                [ "$(date +%s)" -lt "$deadline" ] || { echo "CHECK kubeadm-$run: change $k programmed: FAILED"; break; }
                sleep 0.02
            done
            lats+=("$(awk -v a="$(now)" -v b="$s" 'BEGIN { printf "%.0f", (a - b) * 1000 }')")
            line=$(wait_line "$log" ': sync done' "$((syncs + 1))" 600 "$PID")
            cpus+=("$(( ($(cputicks "$PID") - ticks) * 1000 / hz ))")
            if [ "$k" = 1 ]; then first=$line; fi
        done
        median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { printf "%.0f", (v[int((NR + 1) / 2)] + v[int(NR / 2) + 1]) / 2 }'; }
        echo "LINE kubeadm-$run-change $first"
        result "kubeadm-$run-change-messages" "$(field mutating_messages "$first")"
        result "kubeadm-$run-change-elapsed-ms" "$(field elapsed_ms "$first")"
        result "kubeadm-$run-change-user-cpu-ms" "$(median "${cpus[@]}")"
        result "kubeadm-$run-change-user-cpu-ms-each" "${cpus[*]}"
        result "kubeadm-$run-change-to-ipvsadm-ms" "$(median "${lats[@]}")"
        result "kubeadm-$run-change-to-ipvsadm-ms-each" "${lats[*]}"
        # The proxier's lines since the cold sync, for where the time went.
        awk -v n="$nth" '/: sync done/ { seen++ } seen >= n' "$log" | { grep -v ': sync done' || true; } | tail -n 12 \
            | cut -c1-300 | sed "s/^/LOG kubeadm-$run /"
        stop "$PID"
        PID=
        # Six changes: the double holds the generated slice again.
    done
    NODE_FLAGS=(--node-ip 192.168.100.1)
    BIND_FLAGS=(--vip-bind-mode route)
    stop "$API_PID"
fi
grep -hE ' (WARN|ERROR) ' "$W"/*.log 2>/dev/null | head -n 5 | sed 's/^/PROXIER-WARN /' || true

if has trio; then
    # Everything the proxier made (nothing when there was no proxier).
    "$PROXIER" --cleanup >"$W/cleanup.log" 2>&1 || echo "CHECK cleanup: FAILED ($(tail -n 1 "$W/cleanup.log"))"
    check "trio: virtual servers before" "$(ipvsadm -Ln | grep -c '^TCP' || true)" 0
    check "trio: KUBE- ipsets before" "$(ipset list -n | grep -c '^KUBE-' || true)" 0
    sleep "$TRASH_WAIT"
    cp "$INPUTS"/ipvsadm.restore "$INPUTS"/ipset.restore "$INPUTS"/ip.batch "$INPUTS"/iptables.restore "$W/"
    echo "INPUT trio ipvsadm=$(wc -l <"$W/ipvsadm.restore") ipset=$(wc -l <"$W/ipset.restore")" \
        "ip=$(wc -l <"$W/ip.batch") iptables=$(wc -l <"$W/iptables.restore") lines"
    timed() { # timed KEY COMMAND...
        local key=$1 s
        shift
        s=$(now)
        "$@"
        result "$key" "$(sub "$(now)" "$s")"
    }
    s=$(now)
    timed trio-ipvsadm ipvsadm -R <"$W/ipvsadm.restore"
    timed trio-ipset ipset restore <"$W/ipset.restore"
    timed trio-ip ip -batch "$W/ip.batch"
    result trio-total "$(sub "$(now)" "$s")"
    timed trio-iptables iptables-restore --noflush --counters <"$W/iptables.restore"
    check "trio: ipvsadm TCP services" "$(ipvsadm -Ln | grep -c '^TCP' || true)" "$N"
    check "trio: real servers" "$(ipvsadm -Ln | grep -c -- '-> [0-9]' || true)" "$((N * R))"
fi
# The proxier's logs and the change files, for a look afterwards.
# (The change files exist only when their steps ran.)
if [ -n "${KPVS_VM_OUT:-}" ]; then
    cp "$W"/*.log "$W"/changes "$W"/churn "$KPVS_VM_OUT/" 2>/dev/null || true
fi
echo "DONE"
