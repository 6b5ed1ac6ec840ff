#!/usr/bin/env bash
# Fault injection of kube-ipvs-proxier in the test VM, from manifests:
# kill -9 at seeded random points of large syncs, SIGTERM in the middle of
# one, with a client pod looping against a Service that exists throughout
# and foreign IPVS, ipset and iptables state beside ours.
#
#   1. the proxier syncs one Service ("keep", ClusterIP 10.96.250.1:8000 ->
#      pods a, b); a client pod starts connecting to it every ~0.3 s; a
#      foreign virtual server, ipset and iptables chains are made;
#   2. N generated Services (bench/proxier-gen.py, 1 endpoint each) are
#      added; the proxier is started cold on them and killed (-9) at a
#      random delay after its sync has started; restarted; after its first
#      sync the kernel must equal the plan. Then the N Services are removed
#      from the manifests (a deletion sync of N), killed at a random point,
#      restarted, checked; added again (kill, restart, check)... until 5
#      kills have landed in the middle of a sync (the process ended without
#      logging it); a kill that came after its sync had ended halves the
#      next delay (a fast machine); at most 12 rounds;
#   3. the N Services are removed once more and the proxier gets SIGTERM in
#      the middle of that sync: the daemon must drop the sync within 2 s
#      (its own log line) and the process be gone within 5 s (process
#      teardown alone takes seconds under TCG); tried again with a shorter
#      delay, up to 3 times, while it lands after the sync; restarted, checked;
#   4. the client saw no failure; the foreign state is byte-identical.
#
# The kernel is checked against references that are not our program's
# output where possible: the IPVS table (`ipvsadm -Sn`) against the
# generator's `ipvsadm -R` input plus the keep and foreign lines; the
# ipset members and the VIPs bound against the proxier's `plan` (no kernel).
#
# Usage (inside the VM): tests/faults/run.sh PROXIER_BINARY
# Environment: FAULTS_SERVICES (N, default 300), FAULTS_SEED (default: the
# time), FAULTS_WINDOW_MS (kill delays are uniform in [0, this) after the
# first change of the IPVS table, default 1000). Prints one line per check, RESULT lines with the
# figures, and a closing "faults: N passed, N failed".
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
. "$ROOT/tests/e2e/pods.sh"
. "$ROOT/tests/e2e/check.sh"
PROXIER=$(realpath "$1")
[ "${KPVS_IN_VM:-}" = 1 ] || { echo "faults: run me inside the VM (vm/run.sh)" >&2; exit 2; }

N=${FAULTS_SERVICES:-300}
SEED=${FAULTS_SEED:-$(date +%s)}
WINDOW_MS=${FAULTS_WINDOW_MS:-1000}
W=/tmp/faults
M=$W/manifests     # what the proxier reads
BULK=$W/bulk       # the N Services' files while they are not in $M
LOG=$W/proxier.log
mkdir -p "$M" "$BULK"
GEN="python3 $ROOT/bench/proxier-gen.py"
KEEP_VIP=10.96.250.1
FLAGS=(--manifests "$M" --hostname-override node-1 --node-ip "$NODE_IP"
    --cluster-cidr 10.244.0.0/16)

result() { echo "RESULT $1 $2"; }
eq() { [ "$1" = "$2" ] || { echo "     expected [$2], got [$1]"; return 1; }; }
same_file() { # same_file WHAT EXPECTED ACTUAL: equal, else the first differences
    cmp -s "$2" "$3" && return 0
    echo "     $1 differs ($(wc -l <"$2") lines expected, $(wc -l <"$3") found):"
    diff "$2" "$3" | head -n 8 | sed 's/^/       /'
    return 1
}
now_ms() { date +%s%3N; }

# --- the proxier ------------------------------------------------------------
PROXIER_PID=
start_proxier() {
    echo "--- start $(date +%T.%N)" >>"$LOG"
    "$PROXIER" run "${FLAGS[@]}" --ipvs-sync-period 300s --manifests-poll-period 200ms \
        >>"$LOG" 2>&1 &
    PROXIER_PID=$!
}
cleanup() {
    [ -n "$PROXIER_PID" ] && kill "$PROXIER_PID" 2>/dev/null && wait "$PROXIER_PID" 2>/dev/null
    [ -n "${CLIENT_PID:-}" ] && kill "$CLIENT_PID" 2>/dev/null
}
trap cleanup EXIT
# syncs_done: how many "sync done" lines the log has.
syncs_done() { grep -c "sync done" "$LOG"; }
# wait_sync AFTER SECONDS: until the log has more than AFTER sync lines.
wait_sync() {
    local after=$1 end=$((SECONDS + $2))
    while [ "$(syncs_done)" -le "$after" ]; do
        kill -0 "$PROXIER_PID" 2>/dev/null || { echo "     the proxier exited"; return 1; }
        [ "$SECONDS" -ge "$end" ] && { echo "     no sync within $2 s"; return 1; }
        sleep 0.2
    done
}
# The TCP virtual servers, from /proc/net/ip_vs: one read, where `ipvsadm
# -Ln` makes a destination dump per service (hundreds of ms at 300 under
# TCG, longer than what is left of a sync once its first one shows).
vs_count() { grep -c '^TCP' /proc/net/ip_vs || true; }
# wait_vs_count_not COUNT SECONDS: until the IPVS table stops having COUNT
# virtual servers (a sync has started writing).
wait_vs_count_not() {
    local count=$1 end=$((SECONDS + $2))
    while [ "$(vs_count)" -eq "$count" ]; do
        [ "$SECONDS" -ge "$end" ] && return 1
        sleep 0.02
    done
}

# --- references -------------------------------------------------------------
# The IPVS table expected, as `ipvsadm -Sn` prints it (sorted): the
# generator's restore input when the N Services are there, keep, foreign.
expected_ipvs() { # expected_ipvs with|without
    {
        [ "$1" = with ] && $GEN restore "$N" 1
        echo "-A -t $KEEP_VIP:8000 -s rr"
        echo "-a -t $KEEP_VIP:8000 -r 10.244.1.2:80 -m -w 1"
        echo "-a -t $KEEP_VIP:8000 -r 10.244.2.3:80 -m -w 1"
        cat "$W/foreign.ipvs"
    } | sort
}
# plan_sections DIR OUT: the proxier's plan of a manifests directory,
# cut into OUT.members (ipset add lines) and OUT.vips (bound VIPs), sorted.
plan_sections() {
    "$PROXIER" plan --manifests "$1" "${FLAGS[@]:2}" 2>/dev/null >"$2.plan"
    sed -n '/^# ipset save/,/^$/p' "$2.plan" | grep '^add ' | sort >"$2.members"
    sed -n '/^# ip addr show kube-ipvs0/,/^$/p' "$2.plan" | grep -v '^#' | grep . | sort >"$2.vips"
}
kernel_members() { ipset save | grep '^add KUBE-' | sort; }
kernel_vips() { ip -o addr show dev kube-ipvs0 | awk '{print $4}' | sort; }

# equals_plan WITH|WITHOUT ROUND: the kernel against the references.
equals_plan() {
    local ref=$W/plan-$1 tag=$2
    expected_ipvs "$1" >"$W/expected.ipvs"
    ipvsadm -Sn | sort >"$W/kernel.ipvs"
    kernel_members >"$W/kernel.members"
    kernel_vips >"$W/kernel.vips"
    check "$tag: IPVS table equals the generator's (ipvsadm -Sn, $(wc -l <"$W/expected.ipvs") lines)" \
        same_file "IPVS" "$W/expected.ipvs" "$W/kernel.ipvs"
    check "$tag: ipset members equal the plan ($(wc -l <"$ref.members"))" \
        same_file "ipset" "$ref.members" "$W/kernel.members"
    check "$tag: the VIPs bound equal the plan ($(wc -l <"$ref.vips"))" \
        same_file "VIPs" "$ref.vips" "$W/kernel.vips"
}

# --- foreign state ------------------------------------------------------------
foreign_setup() {
    ipvsadm -A -t 10.99.0.1:1234 -s wlc
    ipvsadm -a -t 10.99.0.1:1234 -r 10.244.1.2:80 -m -w 3
    foreign_ipvs >"$W/foreign.ipvs"
    ipset create FOREIGN-SET hash:ip,port
    ipset add FOREIGN-SET 10.1.2.3,tcp:99
    iptables -t nat -N FOREIGN-CHAIN
    iptables -t nat -A FOREIGN-CHAIN -s 10.9.9.9/32 -j RETURN
    iptables -t filter -N FOREIGN-CHAIN
    iptables -t filter -A FOREIGN-CHAIN -d 10.9.9.9/32 -j ACCEPT
}
foreign_ipvs() { ipvsadm -Sn | grep -F -- "-t 10.99.0.1:1234 "; }
foreign_state() {
    foreign_ipvs
    ipset save FOREIGN-SET
    for table in nat filter; do
        iptables-save -t "$table" | grep -E '^(:FOREIGN-CHAIN|-A FOREIGN-CHAIN)' |
            sed 's/\[[0-9]*:[0-9]*\]$//'
    done
}

# --- the client loop ------------------------------------------------------------
# Connects to keep every ~0.3 s with a 10 s timeout (the pods' Python
# servers and this client starve for seconds under TCG while the proxier
# parses YAML on both vCPUs: 3 s timed out 3 times in 675 once); writes "OK FAIL" to
# $W/client after every attempt and a line per failure to $W/client.fail.
start_client() {
    ip netns exec client python3 - "$KEEP_VIP" "$W/client" <<'PY' >>"$W/client.fail" 2>&1 &
import os, socket, sys, time
vip, out = sys.argv[1], sys.argv[2]
ok = fail = 0
while True:
    try:
        s = socket.create_connection((vip, 8000), timeout=10)
        s.settimeout(10)
        line = s.recv(256).decode().strip()
        s.close()
        if line.split(" ")[0] in ("a", "b"):
            ok += 1
        else:
            fail += 1
            print(time.strftime("%T"), "answer", repr(line), flush=True)
    except OSError as e:
        fail += 1
        print(time.strftime("%T"), "error", e, flush=True)
    with open(out + ".tmp", "w") as f:
        f.write(f"{ok} {fail}\n")
    os.replace(out + ".tmp", out)
    time.sleep(0.3)
PY
    CLIENT_PID=$!
}
client_counts() { cat "$W/client" 2>/dev/null || echo "0 0"; }

# --- rounds ------------------------------------------------------------
# DELAYS: 12 seeded uniform delays in [0, WINDOW_MS) ms (rounds are added
# until 5 kills land mid-sync; see SCALE below).
# (No process substitution: the VM has no /dev/fd.)
read -r -a DELAYS <<<"$(python3 -c '
import random, sys
r = random.Random(int(sys.argv[1]))
print(*(r.randrange(int(sys.argv[2])) for _ in range(12)))' "$SEED" "$WINDOW_MS")"
echo "     seed $SEED, $N Services, kill delays (ms after the sync starts): ${DELAYS[*]}"
result seed "$SEED"
result services "$N"

# One file, moved in and out in one rename, so that a poll never sees half.
bulk_in() { mv "$BULK/bulk.yaml" "$M/"; }
bulk_out() { mv "$M/bulk.yaml" "$BULK/"; }

KILLS=0
MID_SYNC=0
# Percent of a round's delay used: halved after a signal that landed after
# the sync had ended (a fast machine), so the next one lands inside.
SCALE=100
# interrupt SIGNAL ROUND FROM_COUNT: once the IPVS table stops having
# FROM_COUNT virtual servers, wait the round's delay and send SIGNAL; the
# kill counts as mid-sync if no new sync line was logged by then.
interrupt() {
    local signal=$1 round=$2 from=$3 before delay
    before=$(syncs_done)
    delay=$((${DELAYS[$(((round - 1) % 12))]} * SCALE / 100))
    if ! wait_vs_count_not "$from" 1200; then
        echo "     round $round: the sync never started"
        return 1
    fi
    sleep "$(awk -v d="$delay" 'BEGIN { printf "%.3f", d / 1000 }')"
    local vs_at_signal
    vs_at_signal=$(vs_count)
    local sent
    sent=$(now_ms)
    kill -"$signal" "$PROXIER_PID"
    while kill -0 "$PROXIER_PID" 2>/dev/null; do sleep 0.05; done
    local exited
    exited=$(now_ms)
    wait "$PROXIER_PID" 2>/dev/null
    PROXIER_PID=
    # Mid-sync: the process ended without logging the sync it was in.
    MID=no
    [ "$(syncs_done)" -eq "$before" ] && MID=yes
    [ "$MID" = no ] && SCALE=$((SCALE / 2))
    echo "     round $round: SIG$signal $delay ms after the sync started; mid-sync: $MID; $vs_at_signal virtual servers at the signal; exited after $((exited - sent)) ms"
    result "round-$round-delay-ms" "$delay"
    result "round-$round-virtual-servers-at-signal" "$vs_at_signal"
    SENT_MS=$sent
    EXIT_MS=$((exited - sent))
    [ "$MID" = yes ] && MID_SYNC=$((MID_SYNC + 1))
    [ "$signal" = KILL ] && KILLS=$((KILLS + 1))
    return 0
}

# restart_and_check WITH|WITHOUT ROUND: a new proxier; after its first
# sync the kernel equals the plan.
restart_and_check() {
    local before
    before=$(syncs_done)
    start_proxier
    check "round $2: the restarted proxier completes its first sync" wait_sync "$before" 1200
    local line
    line=$(grep "sync done" "$LOG" | tail -n 1)
    echo "     $line"
    # What the restart had left to do: the interrupted sync's remainder.
    result "round-$2-restart-messages" "$(sed -n 's/.* mutating_messages=\([0-9]*\).*/\1/p' <<<"$line")"
    equals_plan "$1" "round $2"
}

# --- 1. the node, keep, foreign state, the client ------------------------------
node_setup
for p in a:10.244.1.2 b:10.244.2.3 client:10.244.9.9; do pod_add "${p%%:*}" "${p#*:}"; done
for p in a b; do pod_serve "$p"; done
for p in 10.244.1.2 10.244.2.3; do wait_ready host "$p" 80; done
cat >"$M/keep.yaml" <<EOF
---
apiVersion: v1
kind: Service
metadata: {name: keep, namespace: faults}
spec:
  clusterIP: $KEEP_VIP
  ports: [{name: p, port: 8000, targetPort: 80, protocol: TCP}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: keep-1, namespace: faults, labels: {kubernetes.io/service-name: keep}}
addressType: IPv4
ports: [{name: p, port: 80, protocol: TCP}]
endpoints:
- {addresses: ["10.244.1.2"], conditions: {ready: true}, nodeName: node-1}
- {addresses: ["10.244.2.3"], conditions: {ready: true}, nodeName: node-1}
EOF
foreign_setup
foreign_state >"$W/foreign.before"
$GEN manifests "$W/gen" "$N" 1
cat "$W/gen"/services.yaml "$W/gen"/slice-0.yaml "$W/gen"/slices.yaml >"$BULK/bulk.yaml"
# The plans of both states (CPU only), in the background meanwhile.
mkdir -p "$W/keep-only"
cp "$M/keep.yaml" "$W/keep-only/"
plan_sections "$W/keep-only" "$W/plan-without" &
plans=$!

start_proxier
check "keep: the first sync is done" wait_sync 0 300
wait $plans
mkdir -p "$W/all" && cp "$M/keep.yaml" "$BULK/bulk.yaml" "$W/all/"
plan_sections "$W/all" "$W/plan-with" &
plans=$!
check "keep: answered by a or b" eq "$(tcp_get client "$KEEP_VIP" 8000 | cut -d' ' -f1 | tr b a)" a
start_client
kill -TERM "$PROXIER_PID"; wait "$PROXIER_PID"; PROXIER_PID=
BASE=$(vs_count)

# --- 2. five kills -----------------------------------------------------------
T0=$SECONDS
# Round 1: a cold start on the N Services.
bulk_in
start_proxier
check "round 1 (cold start, adding $N): killed -9 at a random point" interrupt KILL 1 "$BASE"
wait $plans
FULL=$((BASE + N))
restart_and_check with 1
# Rounds alternate deleting and adding the N Services, until 5 kills have
# landed in the middle of a sync (at most 12 rounds).
round=1
while [ "$MID_SYNC" -lt 5 ] && [ "$round" -lt 12 ]; do
    round=$((round + 1))
    if [ $((round % 2)) = 0 ]; then
        bulk_out
        check "round $round (deleting $N): killed -9 at a random point" interrupt KILL "$round" "$FULL"
        restart_and_check without "$round"
    else
        bulk_in
        check "round $round (adding $N): killed -9 at a random point" interrupt KILL "$round" "$BASE"
        restart_and_check with "$round"
    fi
done
check "5 of $KILLS kills in the middle of a sync" test "$MID_SYNC" -ge 5

# --- 3. SIGTERM in the middle of a sync -------------------------------------------
# From the state with the N Services; tried again (shorter delay) while the
# signal lands after the sync has ended, at most 3 times.
if [ $((round % 2)) = 0 ]; then
    b=$(syncs_done)
    bulk_in
    wait_sync "$b" 1200
fi
for attempt in 1 2 3; do
    round=$((round + 1))
    bulk_out
    check "round $round (deleting $N): SIGTERM at a random point" interrupt TERM "$round" "$FULL"
    { [ "$MID" = yes ] || [ "$attempt" = 3 ]; } && break
    restart_and_check without "$round"
    b=$(syncs_done)
    bulk_in
    wait_sync "$b" 1200
done
result sigterm-exit-ms "$EXIT_MS"
check "round $round: SIGTERM landed in the middle of the sync" eq "$MID" yes
# The reaction (signal to the daemon's own line, same clock) and the exit
# (signal to the process gone: includes the teardown of the process, which
# takes 0.6-2.7 s for kill -9 too under TCG on a loaded host).
stopping=$(grep "stopping in the middle of a sync" "$LOG" | tail -n 1)
reaction=-1
[ -n "$stopping" ] && reaction=$(($(date -d "${stopping%% *}" +%s%3N) - SENT_MS))
result sigterm-reaction-ms "$reaction"
check "round $round: the daemon dropped the sync within 2 s of SIGTERM ($reaction ms)" \
    test "$reaction" -ge 0 -a "$reaction" -le 2000
check "round $round: the process exited within 5 s of SIGTERM ($EXIT_MS ms)" test "$EXIT_MS" -le 5000
restart_and_check without "$round"
result rounds-seconds $((SECONDS - T0))

# --- 4. the client and the foreign state ---------------------------------------------
sleep 1
read -r ok fail <<<"$(client_counts)"
result client-ok "$ok"
result client-failures "$fail"
check "the client's connections to keep never failed ($ok answered, $fail failed)" \
    test "$fail" -eq 0 -a "$ok" -gt 0
foreign_state >"$W/foreign.after"
check "the foreign virtual server, ipset and iptables chains are byte-identical" \
    same_file "foreign state" "$W/foreign.before" "$W/foreign.after"
kill -TERM "$PROXIER_PID"; wait "$PROXIER_PID"; PROXIER_PID=

if [ "$failed" -gt 0 ]; then
    echo "--- proxier log"
    grep -v '^\s*$' "$LOG" | tail -n 40
    echo "--- client failures"
    tail -n 20 "$W/client.fail"
fi
echo "faults: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
