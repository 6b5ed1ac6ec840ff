#!/usr/bin/env bash
# End-to-end tests of kube-ipvs-proxier in API mode, in the test VM: the
# API-server double (tests/apiserver) serves Services, EndpointSlices and
# the Node over TLS with a token; pods are network namespaces
# (tests/e2e/pods.sh); the proxier runs as a kubeadm DaemonSet would run it
# (`--config=FILE --hostname-override=NODE`). Traffic is asserted, and the
# proxier is put through watch drops, a relist after a 410, a 20 s outage,
# kill -9, health checks, metrics, a config file change, --init-only and
# --cleanup.
# Usage (inside the VM): tests/e2e/api.sh PROXIER_BINARY
# Prints one line per check and a closing "e2e: N passed, N failed".
set -u
. "$(dirname "$0")/apilib.sh" api "${1:-}"
write_config

# --- the node and its pods ------------------------------------------------------
four_pods

start_apiserver || { echo "e2e: the API-server double did not start"; cat "$W/apiserver.out"; echo "e2e: 0 passed, 1 failed"; exit 1; }
list "$(node_obj)" \
    "$(svc demo 10.96.197.40 8000 80 TCP)" "$(slice demo 80 TCP a b c)" \
    "$(svc web 10.96.0.20 80 80 TCP 30080)" "$(slice web 80 TCP a b)" \
    "$(svc gone 10.96.0.71 80 80 TCP)" "$(slice gone 80 TCP a)" | put

# --- 1. start: Services from the API ------------------------------------------
start_proxier
check "api: the ClusterIP virtual server is programmed from the API" eventually has_vs "10.96.197.40:8000"
check "api: ClusterIP round robin over a, b, c" eq "$(names client 10.96.197.40 8000 6)" "a a b b c c "
check "api: NodePort reached from the external machine" eventually has_vs "$NODE_IP:30080"
check "api: NodePort answers" nonempty "$(tcp_get external "$NODE_IP" 30080)"
reqs=$(requests_since 0)
check "api: Services are listed with kube-proxy's label and field selectors" \
    grep -q '^GET /api/v1/services .*"fieldSelector": "spec.clusterIP!=None", "labelSelector": "!service.kubernetes.io/service-proxy-name"' <<<"$reqs"
check "api: EndpointSlices are listed with kube-proxy's label selector" \
    grep -q '^GET /apis/discovery.k8s.io/v1/endpointslices .*"labelSelector": "!service.kubernetes.io/headless"' <<<"$reqs"
check "api: the Node is watched by name" \
    grep -q '^GET /api/v1/nodes .*"fieldSelector": "metadata.name=node-1"' <<<"$reqs"
starting() { ctl events | python3 -c '
import json, sys
evs = json.load(sys.stdin)["items"]
sys.exit(0 if any(e.get("reason") == "Starting" and (e.get("regarding") or e.get("involvedObject") or {}).get("name") == "node-1" for e in evs) else 1)'; }
check "api: a Starting event for Node node-1 is posted" eventually starting

# --- 2. ignored Services ----------------------------------------------------------
list "$(svc other-proxy 10.96.0.61 8061 80 TCP - "" '{"service.kubernetes.io/service-proxy-name":"other"}')" \
    "$(slice other-proxy 80 TCP a)" \
    "$(svc headless None 8062 80 TCP)" \
    "$(svc marked 10.96.0.62 8064 80 TCP - "" '{"service.kubernetes.io/headless":""}')" \
    "$(slice marked 80 TCP a)" \
    "$(svc extname - 8063 80 TCP - '"type":"ExternalName","externalName":"example.com"')" \
    "$(svc sentinel 10.96.0.69 8069 80 TCP)" "$(slice sentinel 80 TCP a)" | put
check "ignored: a later Service (sentinel) is programmed" eventually has_vs "10.96.0.69:8069"
check "ignored: the service-proxy-name Service has no virtual server" no_vs "10.96.0.61:8061"
check "ignored: the headless Service has no virtual server" no_vs ":8062 "
check "ignored: the ExternalName Service has no virtual server" no_vs ":8063 "
# kube-proxy 1.35 selects Services by service-proxy-name only: a Service
# with a ClusterIP that carries the headless label is proxied.
check "selected: a ClusterIP Service labelled service.kubernetes.io/headless is programmed" \
    has_vs "10.96.0.62:8064"

# --- 3. an endpoint change, and its latency ---------------------------------------
t0=$(now_ms)
slice demo 80 TCP a b c d | put
t1=$(now_ms)
end=$((SECONDS + 15))
until has_rs 10.96.197.40:8000 10.244.4.5:80 || [ "$SECONDS" -ge "$end" ]; do :; done
t2=$(now_ms)
echo "     endpoint change visible in ipvsadm -Ln: $((t2 - t1)) ms after the control API stored it ($((t2 - t0)) ms after the call started)"
check "endpoints: the new endpoint is a real server" has_rs 10.96.197.40:8000 10.244.4.5:80
check "endpoints: it gets traffic" eq "$(names client 10.96.197.40 8000 8)" "a a b b c c d d "

# --- 4. watch drop ------------------------------------------------------------------
ctl drop-watches >/dev/null
list "$(svc after-drop 10.96.0.70 80 80 TCP)" "$(slice after-drop 80 TCP b)" | put
check "watch drop: a Service created after the drop shows up" slowly has_vs "10.96.0.70:80"
check "watch drop: the proxier keeps running" alive

# --- 5. a delete seen only through a relist after 410 --------------------------------
check "relist: Service gone is programmed" has_vs "10.96.0.71:80"
ctl down >/dev/null
ctl delete svc e2e gone >/dev/null
ctl delete endpointslices e2e gone-1 >/dev/null
seq_before=$(last_seq)
ctl restart --compact >/dev/null
check "relist: the Service deleted during the outage is removed" after_relist no_vs "10.96.0.71:80"
after=$(requests_since "$seq_before")
check "relist: a Services list (no watch) after the restart" \
    grep -q '^GET /api/v1/services {[^}]*"limit"' <<<"$after"
check "relist: the proxier keeps running" alive

# --- 6. a 20 s outage ------------------------------------------------------------------
ctl down 20 >/dev/null
sleep 3
check "outage: traffic flows (3 s in)" eq "$(names client 10.96.197.40 8000 4)" "a b c d "
sleep 7
check "outage: traffic flows (10 s in)" eq "$(names client 10.96.197.40 8000 4)" "a b c d "
check "outage: the proxier keeps running" alive
health=$(http_get http://127.0.0.1:10256/healthz)
check "outage: /healthz stays 200 (nothing pending)" eq "${health%% *}" 200
sleep 11
ctl restart --compact >/dev/null
list "$(svc after-outage 10.96.0.72 80 80 TCP)" "$(slice after-outage 80 TCP c)" | put
check "outage: after a restart with compacted history, a new Service appears" after_relist has_vs "10.96.0.72:80"
# The EndpointSlice watcher reconnects on its own backoff, maybe after the Services one.
check "outage: its endpoint follows" after_relist has_rs 10.96.0.72:80 10.244.3.4:80
check "outage: it gets traffic" eq "$(names client 10.96.0.72 80 2)" "c c "

# --- 7. health and metrics --------------------------------------------------------------
health=$(http_get http://127.0.0.1:10256/healthz)
check "healthz: 200" eq "${health%% *}" 200
check "healthz: lastUpdated, currentTime, nodeEligible, healthy" \
    grep -q "currentTime .*healthy .*lastUpdated .*nodeEligible.* healthy=True nodeEligible=True" <<<"$(json_fields "${health#* }")"
livez=$(http_get http://127.0.0.1:10256/livez)
check "livez: 200 with lastUpdated, currentTime, healthy" \
    grep -q "currentTime .*healthy .*lastUpdated.* healthy=True" <<<"$(json_fields "${livez#* }")"
check "livez: 200" eq "${livez%% *}" 200
metrics=$(http_get http://127.0.0.1:10249/metrics)
for m in kubeproxy_sync_proxy_rules_duration_seconds_bucket kubeproxy_sync_proxy_rules_last_timestamp_seconds \
    kubeproxy_sync_proxy_rules_endpoint_changes_total kubeproxy_sync_proxy_rules_service_changes_total \
    kubeproxy_proxy_healthz_total; do
    check "metrics: $m" grep -q "^$m" <<<"${metrics#* }"
done
check "/proxyMode is ipvs" eq "$(http_get http://127.0.0.1:10249/proxyMode)" "200 ipvs"

# --- 8. health-check node port ------------------------------------------------------------
list "$(svc lb 10.96.0.80 80 80 TCP 30081 '"type":"LoadBalancer","externalTrafficPolicy":"Local","healthCheckNodePort":32100')" \
    "$(slice lb 80 TCP a@node-1)" | put
hc() { local out; out=$(http_get "http://$NODE_IP:32100/healthz"); echo "${out%% *}"; }
hc200() { [ "$(hc)" = 200 ]; }
hc503() { [ "$(hc)" = 503 ]; }
check "health-check node port: 200 with a local endpoint" eventually hc200
check "health-check node port: localEndpoints 1" grep -q '"localEndpoints": *1' <<<"$(http_get "http://$NODE_IP:32100/")"
slice lb 80 TCP c@node-2 | put
check "health-check node port: 503 once the only endpoint is on another node" eventually hc503

# --- 9. kill -9 and restart, against a server without the spec.clusterIP field selector --------
eventually has_vs "10.96.0.80:80"
before=$(ipvs_rules)
kill -9 "$PROXIER_PID"
wait "$PROXIER_PID" 2>/dev/null
PROXIER_PID=
check "kill -9: traffic flows with the proxier dead" eq "$(names client 10.96.197.40 8000 4)" "a b c d "
ctl unsupported-field-selector spec.clusterIP >/dev/null
: >"$LOG"
start_proxier
synced() { plain_log | grep -q "sync done"; }
check "kill -9: the restarted proxier syncs" slowly synced
first_sync=$(plain_log | grep -m1 "sync done")
echo "     $first_sync"
check "kill -9: the first sync sends 0 netlink messages" grep -q "mutating_messages=0 " <<<"$first_sync"
check "kill -9: the same IPVS table (ipvsadm -Sn)" eq "$(ipvs_rules)" "$before"
check "kill -9: traffic flows" eq "$(names client 10.96.197.40 8000 4)" "a b c d "
check "field-selector fallback: the headless Service is still ignored" no_vs ":8062 "
ctl del unsupported-field-selector >/dev/null

# --- 10. the config file changes: the proxier exits, as kube-proxy ------------------------
echo "# edited" >>"$CFG"
# A child that exited stays a zombie until waited for.
exited() { [ ! -e "/proc/$PROXIER_PID" ] || awk '{exit !($3 == "Z")}' "/proc/$PROXIER_PID/stat"; }
check "config change: the proxier exits" eventually exited
wait "$PROXIER_PID" 2>/dev/null
status=$?
PROXIER_PID=
check "config change: with a non-zero status" test "$status" -ne 0
check "config change: kube-proxy's log line" \
    grep -q "content of the proxy server's configuration file was updated" "$LOG"

# --- 11. --init-only ---------------------------------------------------------------------
echo 0 >/proc/sys/net/ipv4/vs/expire_nodest_conn
"$PROXIER" --init-only --config="$CFG" >>"$LOG" 2>&1
check "init-only: exits 0" eq "$?" 0
check "init-only: sets kube-proxy's sysctls" eq "$(cat /proc/sys/net/ipv4/vs/expire_nodest_conn)" 1

# --- 12. --cleanup ---------------------------------------------------------------------
stop_proxier
ipvsadm -A -t 192.0.2.1:80 -s rr
"$PROXIER" --cleanup --config="$CFG" >>"$LOG" 2>&1
check "cleanup: exits 0" eq "$?" 0
check "cleanup: no KUBE- ipsets" eq "$(ipset list -n | grep -c '^KUBE-')" 0
check "cleanup: no kube-ipvs0" bash -c '! ip link show kube-ipvs0 >/dev/null 2>&1'
check "cleanup: no KUBE- chains (nat, filter)" eq "$(iptables-save | grep -c '^:KUBE-')" 0
check "cleanup: no virtual server of ours" eq "$(ipvsadm -Ln | grep -c '10\.96\.\|'"$NODE_IP")" 0
check "cleanup: the foreign virtual server 192.0.2.1:80 is kept" has_vs "192.0.2.1:80"

if [ "$failed" -gt 0 ]; then
    echo "--- proxier log"
    tail -n 40 "$LOG"
    echo "--- ipvsadm -Ln"
    ipvsadm -Ln
    echo "--- double log"
    tail -n 20 "$D/apiserver.log"
fi
summary
