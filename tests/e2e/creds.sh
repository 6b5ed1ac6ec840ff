#!/usr/bin/env bash
# End-to-end tests of kube-ipvs-proxier when its credentials and the API
# server's change, in the test VM (issue 18, section 3), against the
# API-server double (tests/apiserver) with ipvsadm and ipset as the oracles:
#  1. the token is rotated (the kubelet's atomic swap of the token files) and
#     from then only the new one is accepted: the proxier keeps watching
#     without a restart; the time it took to use the new token is printed;
#  2. 403 Forbidden (the RBAC removed) and 3. 401 (the token revoked): the
#     kernel is left as it is, /healthz and /livez stay 200 as kube-proxy's
#     (no update is queued, the periodic syncs go on), the log names the
#     resource and the status, and a change made during the outage reaches
#     the kernel once access returns (time printed);
#  4. the serving certificate is replaced by one from the same CA and every
#     connection closed: the proxier reconnects (time printed) and a change
#     made after it reaches the kernel.
# Usage (inside the VM): tests/e2e/creds.sh PROXIER_BINARY
# Prints one line per check and a closing "creds: N passed, N failed".
set -u
. "$(dirname "$0")/apilib.sh" creds "${1:-}"
# syncPeriod 5s: the health timeout (2 × syncPeriod) is 10 s, shorter than
# the outages below.
write_config 5s

ipset_state() { ipset save | sort; }
kernel_state() { ipvs_rules; ipset_state; }
status_of() { local out; out=$(http_get "$1"); echo "${out%% *}"; }
# reqs FILTER SINCE-SEQ: python over the API requests logged after SINCE-SEQ
# (r: the request; KINDS maps the proxier's three list/watch paths to names).
reqs() {
    local code=$1 since=$2
    shift 2
    ctl get "requests?since=$since" | python3 -c '
import json, sys
KINDS = {"/api/v1/services": "Services", "/apis/discovery.k8s.io/v1/endpointslices": "EndpointSlices",
         "/api/v1/nodes": "Node"}
rs = json.load(sys.stdin)["requests"]
'"$code" "$@"
}
# first_ok FIELD VALUE SINCE-SEQ T0: seconds from T0 (epoch) to the first 2xx
# list or watch with FIELD == VALUE, for each of the three kinds, the
# slowest printed; nothing until all three have one.
first_ok() {
    reqs '
field, value, t0 = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
first = {}
for r in rs:
    k = KINDS.get(r["path"])
    if k and k not in first and r[field] == value and (r["status"] or 0) // 100 == 2:
        first[k] = r["time"] - t0
if len(first) == len(KINDS):
    print("%.1f" % max(first.values()), " ".join("%s %.1f s" % kv for kv in sorted(first.items())))
' "$3" "$1" "$2" "$4"
}
# refused STATUS SINCE-SEQ: the kinds that got STATUS after SINCE-SEQ, and how often.
refused() {
    reqs '
code = int(sys.argv[1]); n = {}
for r in rs:
    k = KINDS.get(r["path"])
    if k and r["status"] == code:
        n[k] = n.get(k, 0) + 1
print(" ".join("%s:%d" % kv for kv in sorted(n.items())))
' "$2" "$1"
}
all_refused() { local out; out=$(refused "$1" "$2"); [ "$(wc -w <<<"$out")" = 3 ]; }
field_of() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }
epoch() { date +%s.%N; }
since() { python3 -c 'import sys; print("%.1f" % (float(sys.argv[2]) - float(sys.argv[1])))' "$1" "$(epoch)"; }
watching_since() { # the three kinds have a 200 watch after SEQ
    [ "$(reqs '
print(len({KINDS[r["path"]] for r in rs if r["path"] in KINDS and r["query"].get("watch") in ("true", "1") and r["status"] == 200}))
' "$1")" = 3 ]
}

# --- the node, its pods, the double, the proxier --------------------------------
four_pods
start_apiserver || { echo "creds: the API-server double did not start"; cat "$W/apiserver.out"; echo "creds: 0 passed, 1 failed"; exit 1; }
list "$(node_obj)" "$(svc demo 10.96.197.40 8000 80 TCP)" "$(slice demo 80 TCP a b)" | put
start_proxier
pid0=$PROXIER_PID
check "start: the ClusterIP is programmed from the API" slowly has_rs 10.96.197.40:8000 10.244.2.3:80
check "start: traffic" eq "$(names client 10.96.197.40 8000 4)" "a a b b "

# --- 1. the token is rotated --------------------------------------------------------
# First a reconnect, so the proxier has just used (and maybe re-read) its
# token file when the rotation comes: a client that re-reads the file only
# once a minute is then at its slowest.
seq0=$(last_seq)
ctl drop-watches >/dev/null
check "token: the watches are back after a drop" slowly watching_since "$seq0"
sleep 1
seq1=$(last_seq)
rotation=$(ctl rotate-token)
t_rot=$(field_of "$rotation" rotatedAt)
ctl drop-watches >/dev/null
slice demo 80 TCP a b c | put
check "token: a change made after the rotation reaches the kernel" within 150 has_rs 10.96.197.40:8000 10.244.3.4:80
echo "     the change reached the kernel $(since "$t_rot") s after the rotation"
picked() { [ -n "$(first_ok token 2 "$seq1" "$t_rot")" ]; }
check "token: Services, EndpointSlices and the Node are watched again with the new token" within 150 picked
pickup=$(first_ok token 2 "$seq1" "$t_rot")
echo "     token pickup: ${pickup%% *} s after the rotation (${pickup#* }); refused meanwhile: $(refused 401 "$seq1")"
check "token: the same proxier process (no restart)" eq "$PROXIER_PID:$(alive && echo up)" "$pid0:up"
check "token: traffic over the three endpoints" eq "$(names client 10.96.197.40 8000 6)" "a a b b c c "
token_line=$(plain_log | grep -m1 "new token")
[ -n "$token_line" ] && echo "     proxier: ${token_line#*Z }"
check "token: the proxier logs the new token it read" nonempty "$token_line"

# refuse CODE SVC VIP POD: access refused with CODE (403: the RBAC removed,
# 401: the token revoked), the watches dropped so that they must list
# again, and Service SVC (VIP, endpoint POD) made meanwhile; every kind must
# be refused, the kernel keep its state ($before) and traffic flow.
# Sets before and t_refused.
refuse() {
    local code=$1 seq
    before=$(kernel_state)
    seq=$(last_seq)
    if [ "$code" = 401 ]; then ctl forbid --401 >/dev/null; else ctl forbid >/dev/null; fi
    t_refused=$(epoch)
    ctl drop-watches >/dev/null
    list "$(svc "$2" "$3" 80 80 TCP)" "$(slice "$2" 80 TCP "$4")" | put
    check "$code: every kind is refused (Services, EndpointSlices, Node)" slowly all_refused "$code" "$seq"
    echo "     refused: $(refused "$code" "$seq")"
    sleep 2
    check "$code: the kernel keeps its state (ipvsadm -Sn, ipset save)" eq "$(kernel_state)" "$before"
    check "$code: traffic flows" eq "$(names client 10.96.197.40 8000 6)" "a a b b c c "
}
# allow_again CODE VIP POD-IP: access back; the Service made during the
# outage must be programmed (the time printed).
allow_again() {
    local t_allow
    ctl allow >/dev/null
    t_allow=$(epoch)
    check "$1: after allow, the Service made during the outage is programmed" within 90 has_rs "$2:80" "$3:80"
    echo "     recovered $(since "$t_allow") s after access returned"
}

# --- 2. 403 Forbidden: the RBAC removed ------------------------------------------
refuse 403 during-403 10.96.0.50 b
check "403: the proxier keeps running" alive
for kind in Services EndpointSlices Node; do
    check "403: the log names $kind and 403 Forbidden" \
        grep -q "$kind: .*403 Forbidden" <<<"$(plain_log)"
done
err=$(plain_log | grep -m1 "Services: .*403 Forbidden")
echo "     proxier: ${err#*Z }"
# kube-proxy's /healthz: unhealthy only when an update was queued more than
# 2 × syncPeriod ago and not synced; nothing arrives, the periodic syncs go
# on, so it stays 200. Checked past the 10 s timeout.
while [ "$(since "$t_refused" | cut -d. -f1)" -lt 12 ]; do sleep 1; done
check "403: /healthz stays 200 past 2 × syncPeriod, as kube-proxy's" eq "$(status_of http://127.0.0.1:10256/healthz)" 200
check "403: /livez stays 200" eq "$(status_of http://127.0.0.1:10256/livez)" 200
check "403: the kernel still keeps its state ($(since "$t_refused") s in)" eq "$(kernel_state)" "$before"
allow_again 403 10.96.0.50 10.244.2.3
check "403: it gets traffic" eq "$(names client 10.96.0.50 80 2)" "b b "
back=$(plain_log | grep -m1 "answers again")
[ -n "$back" ] && echo "     proxier: ${back#*Z }"
check "403: the log says when access is back" nonempty "$back"

# --- 3. 401: the token revoked -----------------------------------------------------
refuse 401 during-401 10.96.0.51 c
check "401: the log names Services and 401 Unauthorized" grep -q "Services: .*401 Unauthorized" <<<"$(plain_log)"
check "401: /healthz stays 200" eq "$(status_of http://127.0.0.1:10256/healthz)" 200
allow_again 401 10.96.0.51 10.244.3.4

# --- 4. a new serving certificate from the same CA --------------------------------
seq4=$(last_seq)
t_cert=$(epoch)
ctl rotate-cert >/dev/null
slice demo 80 TCP a b c d | put
check "cert: a change made after the rotation reaches the kernel" within 90 has_rs 10.96.197.40:8000 10.244.4.5:80
echo "     the change reached the kernel $(since "$t_cert") s after the rotation"
reconnected() { [ -n "$(first_ok cert 2 "$seq4" "$t_cert")" ]; }
check "cert: Services, EndpointSlices and the Node are watched over the new certificate" within 90 reconnected
again=$(first_ok cert 2 "$seq4" "$t_cert")
echo "     reconnected ${again%% *} s after the rotation (${again#* })"
check "cert: the same proxier process" eq "$PROXIER_PID:$(alive && echo up)" "$pid0:up"
check "cert: traffic over the four endpoints" eq "$(names client 10.96.197.40 8000 8)" "a a b b c c d d "

echo "     the suite took $SECONDS s"
if [ "$failed" -gt 0 ]; then
    echo "--- proxier log"
    plain_log | tail -n 60
    echo "--- ipvsadm -Ln"
    ipvsadm -Ln
    echo "--- double log"
    tail -n 30 "$D/apiserver.log"
fi
summary creds
