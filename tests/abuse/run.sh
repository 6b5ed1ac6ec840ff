#!/usr/bin/env bash
# The proxier's HTTP endpoints under abuse, in the test VM: the proxier runs
# from manifests with healthz (10256) and metrics (10249) on every address
# and a LoadBalancer Service with externalTrafficPolicy Local (so a
# health-check node port, 32100); an "attacker" network namespace attacks
# all three (tests/abuse/attack.py) while a normal client in the "external"
# namespace probes them:
#
#   1. idle: ABUSE_IDLE idle TCP connections (default 10,000);
#   2. slowloris: ABUSE_SLOWLORIS connections trickling a request head, a
#      byte a second each (reopened when cut);
#   3. a 1 MiB header, then a body of ABUSE_BODY_MIB MiB (default 100), on
#      each port;
#   4. garbage: malformed request lines and headers, an HTTP/2 preface, a
#      TLS ClientHello on the plain port, binary noise, each on a fresh
#      connection to each port, ABUSE_GARBAGE_ROUNDS rounds (default 2);
#   5. flood: two processes of ABUSE_FLOOD_CONNS (default 12) keep-alive
#      connections each sending pipelined
#      valid requests as fast as they are answered, for ABUSE_FLOOD_SECONDS
#      (default 30).
#
# During each attack (ABUSE_HOLD seconds at least, or until a one-shot
# attack ends) a monitor loop probes /healthz and the health-check node
# port with curl --max-time 1 from "external" and samples the proxier's
# VmRSS and open fds from /proc; one endpoint change (the manifest edited)
# is timed until `ipvsadm -Ln` shows it. Checks, during and after each
# attack: every /healthz probe 200 within 1 s, every health-check probe
# 200, the endpoint change in the kernel within ABUSE_CHANGE_BOUND seconds
# (default 5), RSS under ABUSE_RSS_MIB (default 128) MiB, open fds under the
# listeners' connection bounds plus the fds before the attack plus 64, the
# process alive; and what each attack must see (connections evicted,
# slowloris cut at the header timeout, 431 for the big head, every
# malformed request answered or closed).
#
# Usage (inside the VM): tests/abuse/run.sh PROXIER_BINARY
# Prints one line per check, RESULT lines with the figures and a closing
# "abuse: N passed, N failed".
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
. "$ROOT/tests/e2e/pods.sh"
. "$ROOT/tests/e2e/check.sh"
PROXIER=$(realpath "$1")
[ "${KPVS_IN_VM:-}" = 1 ] || { echo "abuse: run me inside the VM (vm/run.sh)" >&2; exit 2; }

IDLE=${ABUSE_IDLE:-10000}
SLOWLORIS=${ABUSE_SLOWLORIS:-1000}
BODY_MIB=${ABUSE_BODY_MIB:-100}
FLOOD_SECONDS=${ABUSE_FLOOD_SECONDS:-30}
FLOOD_CONNS=${ABUSE_FLOOD_CONNS:-12}
HOLD=${ABUSE_HOLD:-10}
CHANGE_BOUND=${ABUSE_CHANGE_BOUND:-5}
RSS_MIB=${ABUSE_RSS_MIB:-128}
# The listeners' connection bound (crates/proxier/src/serve/limits.rs):
# 1,024 each, three listeners.
PER_LISTENER=1024
LISTENERS=3

W=/tmp/abuse
M=$W/manifests
LOG=$W/proxier.log
mkdir -p "$M"
ATTACKER_IP=192.168.101.2
HEALTHZ=$NODE_IP:10256
METRICS=$NODE_IP:10249
HC=$NODE_IP:32100
VIP=10.96.0.80:80
POD_A=10.244.1.2
POD_B=10.244.2.3

result() { echo "RESULT $*"; }
eq() { [ "$1" = "$2" ] || { echo "     expected [$2], got [$1]"; return 1; }; }
# le A B / lt A B: numeric comparisons (decimals allowed), explained on failure.
le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 <= b + 0) }' || { echo "     $1 > $2"; return 1; }; }
lt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 < b + 0) }' || { echo "     $1 >= $2"; return 1; }; }

# --- the node, the client and the attacker ------------------------------------
node_setup   # the "external" namespace: the normal client
# Every attack connection, and each closed one for a while after, is a
# conntrack entry (IPVS loads nf_conntrack); the VM's default table (a few
# thousand on 2 GiB) would drop the attacker's SYNs long before the
# proxier's limits are reached. kube-proxy sizes it to 32,768 a CPU, at
# least 131,072, on a node; so does this test bed.
sysctl -qw net.netfilter.nf_conntrack_max=131072
ip netns add attacker
ip link add atk0 type veth peer name eth0 netns attacker
ip addr add 192.168.101.1/24 dev atk0
ip link set atk0 up
ip -n attacker addr add "$ATTACKER_IP/24" dev eth0
ip -n attacker link set lo up
ip -n attacker link set eth0 up
ip -n attacker route add default via 192.168.101.1

# --- manifests: one LoadBalancer Service, externalTrafficPolicy Local ----------
cat >"$M/svc.yaml" <<EOF
apiVersion: v1
kind: Service
metadata: {name: lb, namespace: abuse}
spec:
  type: LoadBalancer
  clusterIP: 10.96.0.80
  externalTrafficPolicy: Local
  healthCheckNodePort: 32100
  ports:
  - {name: p, port: 80, targetPort: 80, protocol: TCP, nodePort: 30081}
EOF
# slice POD-IP...: the Service's endpoints, all on this node; written atomically.
slice() {
    {
        cat <<EOF
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: lb-1
  namespace: abuse
  labels: {kubernetes.io/service-name: lb}
addressType: IPv4
ports: [{name: p, port: 80, protocol: TCP}]
endpoints:
EOF
        for ip in "$@"; do
            echo "- {addresses: [\"$ip\"], conditions: {ready: true}, nodeName: node-1}"
        done
    } >"$M/.slice.tmp" && mv "$M/.slice.tmp" "$M/slice.yaml"
}
slice "$POD_A"
WITH_B=0

# --- the proxier --------------------------------------------------------------
"$PROXIER" run --manifests "$M" --hostname-override node-1 --node-ip "$NODE_IP" \
    --cluster-cidr 10.244.0.0/16 --manifests-poll-period 200ms \
    --healthz-bind-address 0.0.0.0:10256 --metrics-bind-address 0.0.0.0:10249 >>"$LOG" 2>&1 &
PID=$!
trap 'kill "$PID" 2>/dev/null; wait "$PID" 2>/dev/null' EXIT
alive() { kill -0 "$PID" 2>/dev/null; }
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$PID/status" 2>/dev/null; }
fds() { ls "/proc/$PID/fd" 2>/dev/null | wc -l; }

# probe NAME URL: "NAME CODE SECONDS" from the normal client (000 and about
# 1 s when nothing answered within 1 s).
probe() {
    ip netns exec external curl -s -o /dev/null --max-time 1 \
        -w "$1 %{http_code} %{time_total}\n" "$2"
}
probe_healthz() { probe healthz "http://$HEALTHZ/healthz"; }
probe_hc() { probe hc "http://$HC/"; }
healthz_ok() { local out; out=$(probe_healthz); [ "$(cut -d' ' -f2 <<<"$out")" = 200 ] || { echo "     $out"; return 1; }; }
hc_ok() { local out; out=$(probe_hc); [ "$(cut -d' ' -f2 <<<"$out")" = 200 ] || { echo "     $out"; return 1; }; }
has_b() { ipvsadm -Ln -t "$VIP" 2>/dev/null | grep -q -- "-> $POD_B:80"; }

# change_endpoints: toggles pod b in the Service's endpoints and prints the
# seconds until `ipvsadm -Ln` shows it (99 when it did not within 30 s).
change_endpoints() {
    local t0 t
    if [ "$WITH_B" = 0 ]; then slice "$POD_A" "$POD_B"; WITH_B=1; else slice "$POD_A"; WITH_B=0; fi
    t0=$(date +%s%N)
    for _ in $(seq 300); do
        if { [ "$WITH_B" = 1 ] && has_b; } || { [ "$WITH_B" = 0 ] && ! has_b; }; then
            awk -v ns=$(($(date +%s%N) - t0)) 'BEGIN { printf "%.2f", ns / 1e9 }'
            return
        fi
        sleep 0.1
    done
    echo 99
}

# monitor FILE: probes and /proc samples, one round every ~0.3 s, until killed.
monitor() {
    while :; do
        probe_healthz | sed "s/\$/ $SECONDS/"
        probe_hc | sed "s/\$/ $SECONDS/"
        echo "rss $(rss_kb) fds $(fds)"
        sleep 0.3
    done >>"$1"
}

# stats FILE KIND: "n=N p50=S max=S bad=N" over the probes of KIND (bad: not
# 200, or 1 s or more).
stats() {
    awk -v kind="$2" '$1 == kind { print $3, ($2 != 200 || $3 >= 1) }' "$1" | sort -n | awk '
        { n++; t[n] = $1; bad += $2 }
        END { if (!n) { print "n=0 p50=- max=- bad=0"; exit }
              printf "n=%d p50=%.3f max=%.3f bad=%d\n", n, t[int((n + 1) / 2)], t[n], bad }'
}
field() { tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p" | head -n 1; }
peak() { awk -v k="$2" '$1 == "rss" { v = (k == "rss" ? $2 : $4); if (v > m) m = v } END { print m + 0 }' "$1"; }

# --- baseline -------------------------------------------------------------------
check "proxier: health-check node port 32100 answers 200 (a local endpoint)" within 60 hc_ok
check "proxier: /healthz answers 200 within 1 s" within 30 healthz_ok
check "proxier: /metrics answers from another namespace" \
    within 10 ip netns exec attacker curl -sf --max-time 2 -o /dev/null "http://$METRICS/metrics"
BASE_FDS=$(fds)
BASE_RSS=$(rss_kb)
FD_BOUND=$((BASE_FDS + LISTENERS * PER_LISTENER + 64))
base_changes=
for _ in 1 2 3; do base_changes="$base_changes $(change_endpoints)"; done
result "baseline conntrack_max=$(sysctl -n net.netfilter.nf_conntrack_max) fds=$BASE_FDS rss_kib=$BASE_RSS endpoint_change_s=${base_changes# } $(grep -o 'open-file limit: [0-9]*' "$LOG" | head -n 1 | tr -d ' ' | tr : =)"
check "baseline: endpoint changes reach the kernel within ${CHANGE_BOUND} s ($base_changes)" \
    le "$(tr ' ' '\n' <<<"$base_changes" | sort -n | tail -n 1)" "$CHANGE_BOUND"

# attack NAME ONESHOT ARGS...: runs attack.py ARGS in the attacker namespace
# with the monitor going; ONESHOT=1 waits for the attacker to end, else it is
# held ABUSE_HOLD s and stopped. Sets REPORT (the attacker's REPORT line) and
# runs the common checks.
attack() {
    local name=$1 oneshot=$2 apid mpid t0 ready=0 change
    shift 2
    local out=$W/$name.out mon=$W/$name.mon
    : >"$out"; : >"$mon"
    echo "# $name: attack.py $*"
    ip netns exec attacker nice -n 19 python3 "$HERE/attack.py" "$@" >"$out" 2>&1 &
    apid=$!
    for _ in $(seq 3000); do
        grep -q '^READY' "$out" && { ready=1; break; }
        kill -0 "$apid" 2>/dev/null || break
        sleep 0.1
    done
    check "$name: the attack is under way ($(grep '^READY' "$out" | head -n 1))" eq "$ready" 1
    t0=$SECONDS
    monitor "$mon" &
    mpid=$!
    sleep 2
    change=$(change_endpoints)
    if [ "$oneshot" = 1 ]; then
        for _ in $(seq 1200); do kill -0 "$apid" 2>/dev/null || break; sleep 0.1; done
    fi
    sleep "$(awk -v h="$HOLD" -v e="$((SECONDS - t0))" 'BEGIN { print (h > e ? h - e : 1) }')"
    kill "$mpid"; wait "$mpid" 2>/dev/null
    kill -TERM "$apid" 2>/dev/null; wait "$apid" 2>/dev/null
    REPORT=$(grep '^REPORT' "$out" | tail -n 1)
    [ -n "$REPORT" ] || { echo "     attacker output:"; sed 's/^/     | /' "$out" | tail -n 5; }
    local hz hc rss fdp
    hz=$(stats "$mon" healthz)
    hc=$(stats "$mon" hc)
    rss=$(peak "$mon" rss)
    fdp=$(peak "$mon" fds)
    result "$name healthz $hz"
    result "$name hc $hc"
    result "$name peak rss_kib=$rss fds=$fdp endpoint_change_s=$change"
    result "$name attacker ${REPORT#REPORT }"
    awk '($1 == "healthz" || $1 == "hc") && ($2 != 200 || $3 >= 1) { print "     slow or failed probe at +" $4 - t0 " s: " $1, $2, $3 }' t0="$t0" "$mon"
    check "$name: during: /healthz probed (n>=3) and every probe 200 within 1 s ($hz)" \
        eval '[ "$(field "$hz" n)" -ge 3 ] && [ "$(field "$hz" bad)" = 0 ]'
    check "$name: during: every health-check node port probe 200 within 1 s ($hc)" \
        eval '[ "$(field "$hc" n)" -ge 3 ] && [ "$(field "$hc" bad)" = 0 ]'
    check "$name: during: an endpoint change reached the kernel in ${change} s (<= $CHANGE_BOUND)" \
        le "$change" "$CHANGE_BOUND"
    check "$name: during: RSS peak ${rss} KiB < $RSS_MIB MiB" lt "$rss" "$((RSS_MIB * 1024))"
    check "$name: during: open fds peak $fdp < $FD_BOUND" lt "$fdp" "$FD_BOUND"
    check "$name: after: the proxier is alive" alive
    check "$name: after: /healthz answers 200 within 1 s" healthz_ok
    check "$name: after: the health-check node port answers 200" hc_ok
    change=$(change_endpoints)
    check "$name: after: an endpoint change reached the kernel in ${change} s (<= $CHANGE_BOUND)" \
        le "$change" "$CHANGE_BOUND"
    check "$name: after: open fds back to $(fds) <= $((BASE_FDS + 16)) (connections released)" \
        within 10 eval '[ "$(fds)" -le $((BASE_FDS + 16)) ]'
}

TARGETS=("$HEALTHZ/healthz" "$HC/" "$METRICS/metrics")
ATTACKS=" ${ABUSE_ATTACKS:-idle slowloris bighead bigbody garbage flood} "
selected() { [[ "$ATTACKS" == *" $1 "* ]]; }

# --- 1. idle connections ----------------------------------------------------------
if selected idle; then
attack idle 0 idle --conns "$IDLE" "${TARGETS[@]}"
still=$(field "$REPORT" still_open)
check "idle: the server holds at most $LISTENERS x $PER_LISTENER of them (${still:-?} still open)" \
    le "${still:-99999}" "$((LISTENERS * PER_LISTENER))"
if [ "$IDLE" -gt $((LISTENERS * PER_LISTENER)) ]; then
    check "idle: the oldest were evicted ($(field "$REPORT" closed_by_server) closed by the server)" \
        lt 0 "$(field "$REPORT" closed_by_server)"
fi

fi

# --- 2. slowloris -----------------------------------------------------------------
if selected slowloris; then
attack slowloris 0 slowloris --conns "$SLOWLORIS" "${TARGETS[@]}"
check "slowloris: connections cut by the server ($(field "$REPORT" cut_by_server))" \
    lt 0 "$(field "$REPORT" cut_by_server)"
# The header timeout is 5 s; the attacker's clock ticks every second and
# the VM is slow: 9 s is the bound.
check "slowloris: no trickling head lived past 9 s (longest $(field "$REPORT" longest_s) s)" \
    lt "$(field "$REPORT" longest_s)" 9

fi

# --- 3. a 1 MiB header, a large body ----------------------------------------------
if selected bighead; then
attack bighead 1 bighead --bytes $((1 << 20)) "${TARGETS[@]}"
check "bighead: every port answered 431 or closed (not 200)" \
    eval '! grep -q "status=HTTP/1.1_2" <<<"$REPORT" && [ "$(grep -o "status=" <<<"$REPORT" | wc -l)" = 3 ]'
fi
if selected bigbody; then
attack bigbody 1 bigbody --bytes $((BODY_MIB << 20)) "${TARGETS[@]}"
check "bigbody: every port answered (status line seen)" \
    eq "$(grep -o 'status=HTTP/1.1_[0-9]*' <<<"$REPORT" | wc -l)" 3
# The handlers take no body: the server answers and closes without reading
# it (what it took is what the sockets' buffers hold), never drains it.
check "bigbody: no port read the whole body" \
    eval '! grep -qE "taken=([0-9]+),of=\1( |$)" <<<"$REPORT"'

fi

# --- 4. garbage -------------------------------------------------------------------
if selected garbage; then
attack garbage 1 garbage --answer-within 7 --rounds "${ABUSE_GARBAGE_ROUNDS:-2}" "${TARGETS[@]}"
check "garbage: every malformed request answered or closed within 7 s ($(field "$REPORT" held_or_refused) held)" \
    eq "$(field "$REPORT" held_or_refused)" 0
check "garbage: at least one full round ($(field "$REPORT" rounds))" le 1 "$(field "$REPORT" rounds)"

fi

# --- 5. flood of valid requests -----------------------------------------------------
# ABUSE_FLOOD_TARGETS: which ports (default all three at once).
FLOOD_TARGETS=()
for t in ${ABUSE_FLOOD_TARGETS:-healthz hc metrics}; do
    case $t in healthz) FLOOD_TARGETS+=("$HEALTHZ/healthz") ;; hc) FLOOD_TARGETS+=("$HC/") ;;
        metrics) FLOOD_TARGETS+=("$METRICS/metrics") ;; esac
done
if selected flood; then
HOLD=$FLOOD_SECONDS attack flood 0 flood --procs 2 --conns "$FLOOD_CONNS" --depth 32 "${FLOOD_TARGETS[@]}"
check "flood: requests answered ($(field "$REPORT" answered), $(field "$REPORT" per_s)/s)" \
    lt 0 "$(field "$REPORT" answered)"
check "flood: every answer 200 ($(field "$REPORT" statuses))" \
    eval '[ -z "$(tr , "\n" <<<"$(field "$REPORT" statuses)" | grep -v "^200:")" ]'

fi

echo "proxier log (warnings and errors):"
grep -E 'WARN|ERROR' "$LOG" | sed 's/\x1b\[[0-9;]*m//g' | cut -c1-200 | sort | uniq -c | sort -rn | head -n 10
echo "abuse: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
