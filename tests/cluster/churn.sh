# Sourced by tests/cluster/run.sh: one flow (UDP from a fixed source port,
# or one SCTP association) kept going while its Service's backend is
# replaced, or while the Service goes from zero endpoints to one. Measured:
# the time from the EndpointSlice update to the first answer from the new
# backend, and the answers from the removed backend after the update was
# synced (seen in `ipvsadm -Ln` of the node the flow goes through). The
# removed pod keeps running, so a stale path would still be answered.

TABLE=$W/conntrack-table
printf '%-34s %-8s %10s %8s %8s %10s\n' case change recovery_s synced_s after_s stale >"$TABLE"

# flow_case NAME PROTO CLIENT HOST PORT NODE VS CHANGE SVC-ARGS... --
#   CHANGE: replace (old p2@node-2 -> new q3@node-3, or for etp=Local
#   p1 -> r1 on node 1) or zero (no endpoint -> q3 / r1). VS: the
#   ipvsadm service ("-t ADDR:PORT" style: u|t|s ADDR:PORT) on NODE.
flow_case() {
    local name=$1 proto=$2 client=$3 host=$4 port=$5 node=$6 vs=$7 change=$8; shift 8
    local svc=f$((++FLOWS)) P=${proto^^} old new oldip newip
    if [[ " $* " = *" etp=Local "* ]]; then old=p1 new=r1; oldip=$(pod_ip 1 10)@node-1 newip=$(pod_ip 1 11)@node-1
    else old=p2 new=q3; oldip=$(pod_ip 2 10)@node-2 newip=$(pod_ip 3 11)@node-3; fi
    local tport=53; [ "$proto" = sctp ] && tport=9
    local first=("$oldip"); [ "$change" = zero ] && first=()
    put svc "$svc" "$@" port="$port" target=$tport proto="$P" -- slice "$svc" port=$tport proto="$P" "${first[@]}"
    if [ "$change" = replace ]; then within 20 has_rs "$node" "${vs%% *}" "${vs#* }" "${oldip%@*}:$tport"
    else within 20 has_vs "$node" "${vs#* }"; fi
    local log=$W/flow-$svc.log; : >"$log"
    ip netns exec "$client" python3 "$HERE/flow.py" "$proto" "$host" "$port" 40000 0.1 "$log" &
    local fpid=$!
    if [ "$change" = replace ]; then within 15 grep -q " $old " "$log"; else sleep 2; fi
    # The update is rendered first and sent with curl, so t0 is the update
    # reaching the double, not two Python start-ups of the test's tools.
    local t0 t1 body=$W/flow-$svc.json
    "$HERE/objs.py" slice "$svc" port=$tport proto="$P" "$newip" >"$body"
    t0=$(now)
    curl -sf -X PUT -H 'Content-Type: application/json' --data-binary @"$body" \
        "$CTL_URL/objects" >/dev/null
    within 20 has_rs "$node" "${vs%% *}" "${vs#* }" "${newip%@*}:$tport"
    [ "$change" = replace ] && within 20 no_rs "$node" "${vs%% *}" "${vs#* }" "${oldip%@*}:$tport"
    t1=$(now)
    within 10 grep -q " $new " "$log"
    sleep 1
    kill "$fpid"; wait "$fpid" 2>/dev/null
    local res
    res=$(python3 - "$log" "$t0" "$t1" "$old" "$new" <<'PY'
import sys
log, t0, t1, old, new = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4], sys.argv[5]
rows = [l.split() for l in open(log) if l.strip()]
firsts = [float(r[0]) for r in rows if r[1] == new and float(r[0]) >= t0]
stale = sum(1 for r in rows if r[1] == old and float(r[0]) > t1)
rec = "%.2f" % (firsts[0] - t0) if firsts else "none"
after = "%.2f" % (firsts[0] - t1) if firsts else "none"
print(rec, stale, "%.2f" % (t1 - t0), after)
PY
)
    read -r rec stale synced after <<<"$res"
    printf '%-34s %-8s %10s %8s %8s %10s\n' "$name" "$change" "$rec" "$synced" "$after" "$stale" >>"$TABLE"
    FLOW_REC=$rec FLOW_STALE=$stale FLOW_AFTER=$after
}
FLOWS=0
# flow_check NAME LIMIT-S: the last case recovered within LIMIT-S with no stale answer.
# recovered LIMIT [SECONDS]: SECONDS (the last case's recovery) <= LIMIT.
recovered() { local v=${2:-$FLOW_REC}; [ "$v" != none ] && python3 -c "import sys; sys.exit(0 if float('$v') <= $1 else 1)"; }
no_stale() { [ "$FLOW_STALE" = 0 ]; }

N1=$(node_ip 1) N2=$(node_ip 2)
for c in out1 out2; do
    ip -n "$c" route add 203.0.113.30/32 via "$N1"
    ip -n "$c" route add 203.0.113.40/32 via "$N1"
done
# run_case NAME LIMIT ARGS...: flow_case, then its checks.
run_case() {
    local name=$1 limit=$2; shift 2
    flow_case "$name" "$@"
    # The conntrack question: once the kernel has the update, the flow moves.
    check "$name: new backend answers within 1 s of the sync (${FLOW_AFTER} s)" recovered 1 "$FLOW_AFTER"
    # End to end, from the update reaching the double (issue 16: 2 s for UDP).
    check "$name: new backend answers within ${limit} s of the slice update (${FLOW_REC} s)" recovered "$limit"
    [ "$7" = replace ] && check "$name: no answer from the removed backend after the sync" no_stale
}
i=100
for change in replace zero; do
    i=$((i + 1)); run_case "udp clusterip from a pod" 2 udp c1 10.96.1.$i 53 1 "u 10.96.1.$i:53" $change ip=10.96.1.$i
    i=$((i + 1)); run_case "udp nodeport via node 2 (SNAT)" 2 udp out1 "$N2" $((30100 + i)) 2 "u $N2:$((30100 + i))" \
        $change ip=10.96.1.$i np=$((30100 + i))
    i=$((i + 1)); run_case "udp external ip" 2 udp out1 203.0.113.30 $((5300 + i)) 1 "u 203.0.113.30:$((5300 + i))" \
        $change ip=10.96.1.$i eip=203.0.113.30
    i=$((i + 1)); run_case "udp lb ip" 2 udp out1 203.0.113.40 $((5300 + i)) 1 "u 203.0.113.40:$((5300 + i))" \
        $change ip=10.96.1.$i type=LoadBalancer np=$((30100 + i)) lb=203.0.113.40
    i=$((i + 1)); run_case "udp nodeport etp=Local via node 1" 2 udp out1 "$N1" $((30100 + i)) 1 "u $N1:$((30100 + i))" \
        $change ip=10.96.1.$i np=$((30100 + i)) etp=Local
done
if ip netns exec c1 python3 -c \
    'import socket; socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_SCTP)' 2>/dev/null; then
    for change in replace zero; do
        i=$((i + 1)); run_case "sctp clusterip from a pod" 5 sctp c1 10.96.1.$i 9 1 "s 10.96.1.$i:9" $change ip=10.96.1.$i
    done
else
    echo "     sctp: the module or socket is not available, skipped"
fi
echo "     conntrack measurements (recovery_s: slice update -> first answer of the new backend;"
echo "     stale: answers of the removed backend after ipvsadm showed the update; synced_s: update -> ipvsadm):"
sed 's/^/     /' "$TABLE"
cp "$TABLE" "${KPVS_VM_OUT:-$W}/" 2>/dev/null
