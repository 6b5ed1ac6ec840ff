#!/usr/bin/env bash
# Bad input from the cluster, in the test VM: the proxier in API mode
# against the API-server double (tests/apiserver), fed what a real API
# server would refuse or what only a large cluster sends:
#   * BADAPI_SERVICES (10,000) Services with 2 endpoints each, created in
#     one burst (one PUT of a List): all programmed, the time to converge,
#     peak RSS and open fds;
#   * a Service with 1,000 ports and its slice: 1,000 virtual servers;
#   * a 1,000-endpoint slice of 100 distinct addresses: 100 real servers,
#     no warning storm;
#   * a 64 KiB name and 64 KiB label values: programmed (kube-proxy has no
#     limit; names never reach the kernel in IPVS mode), log lines cut;
#   * watch events whose object is the wrong kind or malformed (the
#     double's /inject): skipped with a warning naming the object and the
#     field, and later changes still reach the kernel.
# Throughout: the proxier stays alive, /healthz answers 200, VmHWM stays
# under BADAPI_RSS_MIB and open fds under BADAPI_FDS.
# Oracles: /proc/net/ip_vs, ipvsadm -Sn/-Ln, ipset list, /proc/PID/status, /proc/PID/fd.
# Usage (inside the VM): tests/e2e/badapi.sh PROXIER_BINARY
# Prints one line per check and a closing "badapi: N passed, N failed".
set -u
. "$(dirname "$0")/apilib.sh" badapi "${1:-}"
N=${BADAPI_SERVICES:-10000}
RSS_BOUND_MIB=${BADAPI_RSS_MIB:-160}
FD_BOUND=${BADAPI_FDS:-64}
START=$SECONDS
write_config
trap 'cleanup; [ -n "${SAMPLER:-}" ] && kill "$SAMPLER" 2>/dev/null' EXIT
# eventually CMD...: within 60 s (a sync after the burst is slow under TCG).
eventually() { within 60 "$@"; }

# --- oracles ------------------------------------------------------------------
vs_count() { grep -c '^TCP\|^UDP\|^SCTP' /proc/net/ip_vs; }
vs_at_least() { [ "$(vs_count)" -ge "$1" ]; }
# rs_of VIP:PORT: the real servers of one TCP virtual server (ipvsadm -Ln -t).
rs_of() { ipvsadm -Ln -t "$1" 2>/dev/null | grep -c '^  -> [0-9]'; }
status_kb() { awk -v k="$1:" '$1 == k {print $2}' "/proc/$PROXIER_PID/status" 2>/dev/null; }
fds() { ls "/proc/$PROXIER_PID/fd" 2>/dev/null | wc -l; }
healthz_200() { local h; h=$(http_get http://127.0.0.1:10256/healthz); [ "${h%% *}" = 200 ]; }
log_lines() { wc -l <"$LOG"; }
longest_log_line() { awk '{ if (length($0) > m) m = length($0) } END { print m + 0 }' "$LOG"; }
under() { [ "$1" -le "$2" ] || { echo "     $1 > $2"; return 1; }; }
steady() { # the invariants, after each case
    check "$1: the proxier is alive" alive
    check "$1: /healthz answers 200" eventually healthz_200
}
# The peak of VmRSS, sampled every 0.2 s (VmHWM is the kernel's own peak).
rss_sampler() {
    local max=0 v
    while kill -0 "$PROXIER_PID" 2>/dev/null; do
        v=$(status_kb VmRSS)
        [ -n "$v" ] && [ "$v" -gt "$max" ] && { max=$v; echo "$max" >"$W/rss-max"; }
        sleep 0.2
    done
}

# --- start: the Node and one Service --------------------------------------------
node_setup
# The history holds the whole burst: a watch that falls behind relists
# only when it must, not because the double forgot (a real server's watch
# cache keeps far more).
start_apiserver --history-limit 100000 \
    || { echo "badapi: the API-server double did not start"; cat "$W/apiserver.out"; echo "badapi: 0 passed, 1 failed"; exit 1; }
list "$(node_obj)" "$(svc sentinel 10.96.0.10 80 80 TCP)" "$(slice sentinel 80 TCP a)" | put
start_proxier
check "start: the first Service is programmed" eventually has_vs 10.96.0.10:80
rss_sampler &
SAMPLER=$!
echo "     at start: VmRSS $(status_kb VmRSS) kB, $(fds) fds"

# --- 1. N Services in one burst -------------------------------------------------
python3 - "$N" >"$W/burst.json" <<'PY'
import json, sys
n = int(sys.argv[1])
items = []
for i in range(n):
    name = f"burst-{i}"
    vip = f"10.97.{i // 250}.{i % 250 + 1}"
    items.append({"apiVersion": "v1", "kind": "Service",
                  "metadata": {"name": name, "namespace": "burst"},
                  "spec": {"type": "ClusterIP", "clusterIP": vip,
                           "ports": [{"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"}]}})
    items.append({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                  "metadata": {"name": name + "-1", "namespace": "burst",
                               "labels": {"kubernetes.io/service-name": name}},
                  "addressType": "IPv4",
                  "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
                  "endpoints": [{"addresses": [f"10.{246 + k}.{i // 250}.{i % 250 + 1}"],
                                 "conditions": {"ready": True}, "nodeName": "node-2"} for k in range(2)]})
json.dump({"kind": "List", "apiVersion": "v1", "items": items}, sys.stdout)
PY
base=$(vs_count)
t0=$SECONDS
ctl put "$W/burst.json" >/dev/null
echo "     $N Services and $N EndpointSlices stored by the double in $((SECONDS - t0)) s"
converge() { vs_at_least $((base + N)); }
within 600 converge
t1=$SECONDS
check "burst: all $N Services are virtual servers (/proc/net/ip_vs: $(vs_count) = $((base + N)))" eq "$(vs_count)" $((base + N))
echo "     converged $((t1 - t0)) s after the PUT began"
rs_total() { ipvsadm -Sn | grep -c '^-a -t 10\.97\.'; }
all_rs() { [ "$(rs_total)" -eq $((2 * N)) ]; }
check "burst: 2 real servers each ($((2 * N)) in ipvsadm -Sn)" eventually all_rs
sample=$((N / 2))
check "burst: one in the middle has its ClusterIP in ipset KUBE-CLUSTER-IP" \
    bash -c "ipset list KUBE-CLUSTER-IP | grep -q '^10\.97\.$((sample / 250))\.$((sample % 250 + 1)),tcp:80'"
hwm=$(status_kb VmHWM)
echo "     after the burst: VmRSS $(status_kb VmRSS) kB, VmHWM $hwm kB, sampled peak $(cat "$W/rss-max" 2>/dev/null) kB, $(fds) fds"
check "burst: VmHWM $((hwm / 1024)) MiB <= $RSS_BOUND_MIB MiB" under "$((hwm / 1024))" "$RSS_BOUND_MIB"
check "burst: open fds $(fds) <= $FD_BOUND" under "$(fds)" "$FD_BOUND"
steady burst

# --- 2. a Service with 1,000 ports ----------------------------------------------
python3 - >"$W/ports.json" <<'PY'
import json, sys
ports = [{"name": f"p{i}", "port": 20000 + i, "targetPort": 30000 + i, "protocol": "TCP"} for i in range(1000)]
svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "many-ports", "namespace": "bad"},
       "spec": {"type": "ClusterIP", "clusterIP": "10.96.50.1", "ports": ports}}
slc = {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
       "metadata": {"name": "many-ports-1", "namespace": "bad", "labels": {"kubernetes.io/service-name": "many-ports"}},
       "addressType": "IPv4",
       "ports": [{"name": f"p{i}", "port": 30000 + i, "protocol": "TCP"} for i in range(1000)],
       "endpoints": [{"addresses": ["10.248.0.1"], "conditions": {"ready": True}}]}
json.dump({"kind": "List", "apiVersion": "v1", "items": [svc, slc]}, sys.stdout)
PY
ctl put "$W/ports.json" >/dev/null
ports_vs() { ipvsadm -Sn | grep -c '^-A -t 10\.96\.50\.1:'; }
ports_rs() { ipvsadm -Sn | grep -c '^-a -t 10\.96\.50\.1:.* -r 10\.248\.0\.1:'; }
all_ports() { [ "$(ports_vs)" -eq 1000 ] && [ "$(ports_rs)" -eq 1000 ]; }
check "1,000 ports: 1,000 virtual servers with their real server" eventually all_ports
echo "     virtual servers $(ports_vs), real servers $(ports_rs)"
check "1,000 ports: the last port maps to its target port" \
    bash -c "ipvsadm -Sn | grep -q '^-a -t 10\.96\.50\.1:20999 -r 10\.248\.0\.1:30999 '"
steady "1,000 ports"

# --- 3. 1,000 endpoints, 100 distinct addresses -------------------------------------
lines_before=$(log_lines)
python3 - >"$W/dups.json" <<'PY'
import json, sys
svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "dups", "namespace": "bad"},
       "spec": {"type": "ClusterIP", "clusterIP": "10.96.50.2", "ports": [{"name": "p", "port": 80, "targetPort": 80}]}}
eps = [{"addresses": [f"10.249.0.{i % 100 + 1}"], "conditions": {"ready": True}} for i in range(1000)]
slc = {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
       "metadata": {"name": "dups-1", "namespace": "bad", "labels": {"kubernetes.io/service-name": "dups"}},
       "addressType": "IPv4", "ports": [{"name": "p", "port": 80, "protocol": "TCP"}], "endpoints": eps}
json.dump({"kind": "List", "apiVersion": "v1", "items": [svc, slc]}, sys.stdout)
PY
ctl put "$W/dups.json" >/dev/null
dups_100() { [ "$(rs_of 10.96.50.2:80)" -eq 100 ]; }
check "duplicates: 1,000 endpoints of 100 addresses give 100 real servers" eventually dups_100
echo "     real servers: $(rs_of 10.96.50.2:80); log lines during the case: $(($(log_lines) - lines_before))"
check "duplicates: no warning storm (at most 5 log lines)" under $(($(log_lines) - lines_before)) 5
steady duplicates

# --- 4. 64 KiB names and label values ------------------------------------------------
python3 - >"$W/long.json" <<'PY'
import json, sys
long_name = "l" * 65536
value = "v" * 65536
svc = {"apiVersion": "v1", "kind": "Service",
       "metadata": {"name": long_name, "namespace": "bad", "labels": {"big": value}, "annotations": {"a": value}},
       "spec": {"type": "ClusterIP", "clusterIP": "10.96.50.3", "ports": [{"name": "p", "port": 80, "targetPort": 80}]}}
slc = {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
       "metadata": {"name": "long-1", "namespace": "bad",
                    "labels": {"kubernetes.io/service-name": long_name, "big": value}},
       "addressType": "IPv4", "ports": [{"name": "p", "port": 80, "protocol": "TCP"}],
       "endpoints": [{"addresses": ["10.250.0.1"], "conditions": {"ready": True}, "nodeName": "n" * 65536}]}
# a 64 KiB name that is also bad input: its warning names it, cut
bad = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "b" * 65536, "namespace": "bad"},
       "spec": {"type": "ClusterIP", "clusterIP": "10.96.50.4", "externalIPs": ["not-an-ip"],
                "ports": [{"name": "p", "port": 80, "targetPort": 80}]}}
json.dump({"kind": "List", "apiVersion": "v1", "items": [svc, slc, bad]}, sys.stdout)
PY
ctl put "$W/long.json" >/dev/null
long_programmed() { [ "$(rs_of 10.96.50.3:80)" -eq 1 ]; }
check "64 KiB: a Service with a 64 KiB name and labels is programmed with its endpoint" eventually long_programmed
check "64 KiB: the other one is programmed without its bad external IP" eventually has_vs 10.96.50.4:80
bad_warned() { plain_log | grep -q 'Service bad/bbbb.*… spec.externalIPs\[0\]'; }
check "64 KiB: its warning names it, cut" eventually bad_warned
check "64 KiB: no log line over 4 KiB (longest $(longest_log_line))" under "$(longest_log_line)" 4096
steady "64 KiB"

# --- 5. watch events of the wrong kind or malformed ---------------------------------
inject() { ctl inject "$1" - "${2:-ADDED}" >/dev/null; } # inject KIND [TYPE] <JSON
echo '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"intruder","namespace":"bad"},"data":{"k":"v"}}' | inject svc
echo '{"apiVersion":"discovery.k8s.io/v1","kind":"EndpointSlice","metadata":{"name":"sentinel-x","namespace":"e2e"},"addressType":"IPv4","endpoints":[]}' | inject svc MODIFIED
# a Service of the right kind whose port is a string: the update is skipped, the old sentinel stays
echo '{"apiVersion":"v1","kind":"Service","metadata":{"name":"sentinel","namespace":"e2e"},"spec":{"clusterIP":"10.96.0.10","ports":[{"port":"eighty"}]}}' | inject svc MODIFIED
echo '{"apiVersion":"v1","kind":"Service","metadata":{"name":"dups-1","namespace":"bad"},"spec":{}}' | inject endpointslices MODIFIED
echo '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"node-1"}}' | inject nodes MODIFIED
named() { plain_log | grep -qF -- "$1"; }
check "wrong kind: a ConfigMap in the Services watch is named" eventually named 'ConfigMap bad/intruder kind: the Service watch sent a ConfigMap'
check "wrong kind: an EndpointSlice in the Services watch is named" named 'EndpointSlice e2e/sentinel-x kind: the Service watch sent a EndpointSlice'
check "malformed: a Service whose port is a string is named with the field" \
    named 'Service e2e/sentinel spec.ports[0].port: cannot be read as a Service'
check "wrong kind: a Service in the EndpointSlices watch is named" named 'Service bad/dups-1 kind: the EndpointSlice watch sent a Service'
check "wrong kind: a Pod in the Node watch is named" named 'Pod node-1 kind: the Node watch sent a Pod'
check "wrong kind: the old sentinel is kept" has_vs 10.96.0.10:80
check "wrong kind: the duplicates' slice is kept" eq "$(rs_of 10.96.50.2:80)" 100
list "$(svc after-bad 10.96.0.11 80 80 TCP)" "$(slice after-bad 80 TCP b)" | put
check "wrong kind: a Service created afterwards reaches the kernel" eventually has_rs 10.96.0.11:80 10.244.2.3:80
slice sentinel 80 TCP a c | put
check "wrong kind: an endpoint change afterwards reaches the kernel" eventually has_rs 10.96.0.10:80 10.244.3.4:80
check "wrong kind: no relist was needed (one Services list request)" \
    eq "$(requests_since 0 | grep -c '^GET /api/v1/services {[^}]*"limit"')" 1
steady "wrong kind"

# --- 6. a watch event that is not an object (no resourceVersion) ---------------------
# kube-rs cannot resume after an event without a resourceVersion: it lists
# again (at 10,000 Services under TCG the relist and its resync take over a
# minute, hence 180 s).
echo '"not an object"' | inject svc
check "not an object: named" eventually named 'Service ?: cannot be read as a Service (invalid type: string "not an object"'
list "$(svc after-relist 10.96.0.12 80 80 TCP)" "$(slice after-relist 80 TCP c)" | put
check "not an object: a Service created afterwards reaches the kernel (after the relist)" \
    within 180 has_rs 10.96.0.12:80 10.244.3.4:80
check "not an object: the burst is still programmed" eq "$(vs_count)" $((base + N + 1000 + 3 + 2))
steady "not an object"

# --- the bounds over the whole run ------------------------------------------------------
hwm=$(status_kb VmHWM)
echo "     at the end: VmRSS $(status_kb VmRSS) kB, VmHWM $hwm kB, sampled peak $(cat "$W/rss-max" 2>/dev/null) kB, $(fds) fds, $(vs_count) virtual servers"
check "end: VmHWM $((hwm / 1024)) MiB <= $RSS_BOUND_MIB MiB" under "$((hwm / 1024))" "$RSS_BOUND_MIB"
check "end: open fds $(fds) <= $FD_BOUND" under "$(fds)" "$FD_BOUND"
check "end: no panic in the log" bash -c "! grep -q 'panicked' '$LOG'"

if [ "$failed" -gt 0 ]; then
    echo "--- proxier log (cut at 300 characters a line)"
    tail -n 40 "$LOG" | cut -c1-300
    echo "--- double log"
    tail -n 20 "$D/apiserver.log" | cut -c1-300
fi
echo "     the suite took $((SECONDS - START)) s"
summary badapi
