#!/usr/bin/env bash
# A three-node cluster inside the test VM: each node a network namespace
# with its own proxier started as kubeadm's DaemonSet starts it
# (examples/kubeadm/config.conf, --hostname-override=node-N, no --node-ip),
# all watching one API-server double (tests/apiserver); pods behind each
# node routed like a CNI; outside clients on the node network. Traffic is
# asserted, and the conntrack cases (a UDP/SCTP flow kept going while its
# backend changes) are measured into a table.
# Usage (inside the VM): tests/cluster/run.sh PROXIER_BINARY
# Prints one line per check and "cluster: N passed, N failed".
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
. "$ROOT/tests/e2e/check.sh"
. "$HERE/net.sh"
PROXIER=$(realpath "$1")
[ "${KPVS_IN_VM:-}" = 1 ] || { echo "cluster: run me inside the VM (vm/run.sh)" >&2; exit 2; }

W=/tmp/cluster
D=$W/apiserver
mkdir -p "$W"
eq() { [ "$1" = "$2" ] || { echo "     expected [$2], got [$1]"; return 1; }; }
eventually() { within 20 "$@"; }
now() { date +%s.%N | cut -c1-14; }

# --- the API-server double, reached from every node at its 127.0.0.1:6443 ---
PIDS=()
ctl() { "$ROOT/tests/apiserver/ctl.sh" -d "$D" "$@"; }
put() { "$HERE/objs.py" "$@" | ctl put - >/dev/null; }
python3 "$ROOT/tests/apiserver/fake_apiserver.py" serve --state-dir "$D" --port 6443 \
    --control-port 6444 --bookmark-interval 2 >"$W/apiserver.out" 2>&1 &
PIDS+=($!)
ctl wait-ready 60 >/dev/null || { echo "cluster: the double did not start"; echo "cluster: 0 passed, 1 failed"; exit 1; }
# The double's control API address (its ready file), for curl.
CTL_URL=$(python3 -c 'import json,sys; print("http://127.0.0.1:%d" % json.load(open(sys.argv[1]))["controlPort"])' "$D/ready")
python3 "$HERE/relay.py" unix "$W/api.sock" 127.0.0.1 6443 &
PIDS+=($!)

# --- the network -----------------------------------------------------------
# The bridge (and SCTP, for the flow cases) are not among vm/run.sh's modules.
modprobe -d "${KPVS_VM_KROOT:-/}" -a bridge sctp 2>/dev/null
fabric_setup
for n in 1 2 3; do
    node_add "$n"
    ip netns exec "node-$n" python3 "$HERE/relay.py" tcp 127.0.0.1 6443 "$W/api.sock" &
    PIDS+=($!)
done
outside_add out1 101
outside_add out2 102
# pods: NAME NODE HOST
cluster_pod c1 1 100 noserve   # a client pod on node 1
cluster_pod p1 1 10
cluster_pod p2 2 10
cluster_pod p3 3 10
cluster_pod q3 3 11
cluster_pod r1 1 11
for p in 1 2 3; do put node "$p" "$(node_ip "$p")" "$(node_ip6 "$p")"; done

# --- the proxiers ------------------------------------------------------------
# kubeadm's config file; only the kubeconfig path (the double's) and the
# cluster CIDR (dual-stack, as kubeadm writes it for a dual-stack cluster).
# Each node gets its own copy, as each node mounts the ConfigMap.
CFG=$W/config.conf
sed -e "s|kubeconfig: /var/lib/kube-proxy/kubeconfig.conf|kubeconfig: $D/kubeconfig|" \
    -e 's|^clusterCIDR: .*|clusterCIDR: 10.244.0.0/16,fd00:244::/32|' \
    "$ROOT/examples/kubeadm/config.conf" >"$CFG"
declare -A PROXY
start_proxier() { # start_proxier N [WRAPPER...]
    local n=$1; shift
    [ -f "$W/config-$n.conf" ] || cp "$CFG" "$W/config-$n.conf"
    ip netns exec "node-$n" "$@" "$PROXIER" --config="$W/config-$n.conf" --hostname-override="node-$n" \
        >>"$W/proxier-$n.log" 2>&1 &
    PROXY[$n]=$!
}
stop_proxier() { # SIGTERM to the proxier (under strace: strace's child)
    local pid=${PROXY[$1]:-}
    [ -n "$pid" ] || return 0
    if [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = strace ]; then
        pgrep -P "$pid" | xargs -r kill 2>/dev/null
    else
        kill "$pid" 2>/dev/null
    fi
    wait "$pid" 2>/dev/null
    PROXY[$1]=
}
cleanup() {
    for n in 1 2 3; do stop_proxier "$n"; done
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
    for ns in $(ip netns list | awk '{print $1}'); do ip netns pids "$ns" | xargs -r kill 2>/dev/null; done
}
trap cleanup EXIT
for n in 1 2 3; do start_proxier "$n"; done

# --- helpers -----------------------------------------------------------------
ipvs() { ip netns exec "node-$1" ipvsadm -Ln; }
has_vs() { ipvs "$1" | grep -q -- "$2"; }
# set_ready NODE SET ENTRY: waits (20 s at most) for ENTRY in the node's
# SET. A sync writes IPVS before the ipsets and iptables (as kube-proxy), so
# a virtual server is there before the rules its traffic needs (the
# NodePort's SNAT or its Local rules); traffic checks wait for the end.
set_ready() { within 20 ip netns exec "node-$1" ipset test "$2" "$3" 2>/dev/null || true; }
has_rs() { # has_rs NODE t|u|s VS RS
    local opt=-$2; [ "$2" = s ] && opt=--sctp-service
    ip netns exec "node-$1" ipvsadm -Ln "$opt" "$3" 2>/dev/null | grep -q -- "-> $4"
}
no_rs() { ! has_rs "$@"; }
vs_everywhere() { local n; for n in 1 2 3; do has_vs "$n" "$1" || return 1; done; }
# ask NETNS PROTO HOST PORT [COUNT]: the answers, one a line.
ask() { ip netns exec "$1" python3 "$HERE/probe.py" "$2" "$3" "$4" "${5:-1}"; }
# names NETNS PROTO HOST PORT COUNT: the distinct pods answering.
names() { ask "$@" | cut -d' ' -f1 | sort -u | tr '\n' ' '; }
hc() { ip netns exec out1 curl -s -o /dev/null -m 3 -w '%{http_code}' "http://$(node_ip "$1"):$2/"; }

# --- 1. ClusterIP across nodes --------------------------------------------------
put svc web ip=10.96.0.10 -- slice web "$(pod_ip 2 10)@node-2" "$(pod_ip 3 10)@node-3"
check "clusterip: programmed on every node" eventually vs_everywhere 10.96.0.10:80
check "clusterip: a pod on node 1 reaches the pods on nodes 2 and 3" \
    eq "$(names c1 tcp 10.96.0.10 80 6)" "p2 p3 "
check "clusterip: the backend sees the client pod's own address" \
    eq "$(ask c1 tcp 10.96.0.10 80 | cut -d' ' -f2)" "$(pod_ip 1 100)"

# --- 2. NodePort, Cluster and Local -------------------------------------------------
put svc np ip=10.96.0.20 np=30020 -- slice np "$(pod_ip 3 10)@node-3"
check "nodeport cluster: programmed on node 1" eventually has_vs 1 "$(node_ip 1):30020"
set_ready 1 KUBE-NODE-PORT-TCP 30020
a=$(ask out1 tcp "$(node_ip 1)" 30020)
check "nodeport cluster: through node 1 to the pod on node 3" eq "${a%% *}" p3
check "nodeport cluster: the pod sees node 1's address (SNAT)" eq "${a#* }" "$(node_ip 1)"
put svc loc ip=10.96.0.21 type=LoadBalancer np=30021 etp=Local hc=32021 -- \
    slice loc "$(pod_ip 3 10)@node-3"
check "nodeport local: programmed on node 3" eventually has_vs 3 "$(node_ip 3):30021"
set_ready 3 KUBE-NODE-PORT-LOCAL-TCP 30021
a=$(ask out1 tcp "$(node_ip 3)" 30021)
check "nodeport local: node 3 (local endpoint) answers" eq "${a%% *}" p3
check "nodeport local: the pod sees the client's address" eq "${a#* }" 10.0.0.101
check "nodeport local: node 1 (no local endpoint) does not answer" eq "$(ask out1 tcp "$(node_ip 1)" 30021)" -

# --- 3. health-check node ports and a load balancer --------------------------------
hc_is() { [ "$(hc "$1" 32021)" = "$2" ]; }
check "health check: 200 on node 3 (local endpoint)" eventually hc_is 3 200
check "health check: 503 on node 1" eventually hc_is 1 503
check "health check: 503 on node 2" eventually hc_is 2 503
rm -f "$W/stop"
ip netns exec out1 python3 "$HERE/loop.py" "$W/lb.json" "$W/stop" \
    "lb:32021:30021:$(node_ip 1),$(node_ip 2),$(node_ip 3)" &
lbpid=$!
sleep 3
# The endpoint moves from node 3 to node 2: the new pod first, then the old
# one terminating (serving, not ready), as a deleted pod does, then gone.
put slice loc "$(pod_ip 3 10)@node-3" "$(pod_ip 2 10)@node-2"
check "health check: 200 on node 2 once its pod is added" eventually hc_is 2 200
put slice loc "$(pod_ip 3 10)@node-3~" "$(pod_ip 2 10)@node-2"
check "health check: 503 on node 3 once its pod is terminating" eventually hc_is 3 503
sleep 2
put slice loc "$(pod_ip 2 10)@node-2"
sleep 3
touch "$W/stop"; wait "$lbpid"
lbres() { python3 -c 'import json,sys; r=list(json.load(open(sys.argv[1])).values())[0]; print(eval(sys.argv[2]))' "$W/lb.json" "$1"; }
echo "     load balancer: $(lbres 'r["ok"]') answered, $(lbres 'r["failed"]') failed, nodes $(lbres 'r["nodes"]'), pods $(lbres 'r["answers"]')"
check "load balancer: 0 failed requests while the endpoint moves" eq "$(lbres 'r["failed"]')" 0
check "load balancer: both pods answered" eq "$(lbres '" ".join(sorted(r["answers"]))')" "p2 p3"

# --- 4. LoadBalancer IP with source ranges; 6. external IPs --------------------------
for c in out1 out2; do
    ip -n "$c" route add 203.0.113.10/32 via "$(node_ip 1)"
    ip -n "$c" route add 203.0.113.20/32 via "$(node_ip 1)"
done
put svc lbr ip=10.96.0.30 type=LoadBalancer np=30030 lb=203.0.113.10 ranges=10.0.0.101/32 -- \
    slice lbr "$(pod_ip 2 10)@node-2" -- \
    svc ext ip=10.96.0.40 eip=203.0.113.20 -- slice ext "$(pod_ip 3 10)@node-3"
check "lb ip: programmed on node 1" eventually has_vs 1 203.0.113.10:80
check "lb ip: the allowed client (10.0.0.101) gets through" eq "$(ask out1 tcp 203.0.113.10 80 | cut -d' ' -f1)" p2
check "lb ip: the denied client (10.0.0.102) does not" eq "$(ask out2 tcp 203.0.113.10 80)" -
check "external ip: programmed on node 1" eventually has_vs 1 203.0.113.20:80
check "external ip: an outside client reaches the pod on node 3" eq "$(ask out2 tcp 203.0.113.20 80 | cut -d' ' -f1)" p3

# --- 7. dual-stack --------------------------------------------------------------------
put svc ds ip=10.96.0.50,fd00:96::50 np=30050 -- \
    slice ds "$(pod_ip 2 10)@node-2" -- slice ds v6=1 "$(pod_ip6 2 10)@node-2"
check "dual-stack: the IPv6 ClusterIP is programmed" eventually has_vs 1 "\[fd00:96::50\]:80"
check "dual-stack: IPv4 ClusterIP from a pod" eq "$(ask c1 tcp 10.96.0.50 80 | cut -d' ' -f1)" p2
check "dual-stack: IPv6 ClusterIP from a pod, the pod's address kept" eq "$(ask c1 tcp fd00:96::50 80)" "p2 $(pod_ip6 1 100)"
check "dual-stack: IPv6 NodePort through node 1 to node 2" eq "$(ask out1 tcp "$(node_ip6 1)" 30050 | cut -d' ' -f1)" p2
check "dual-stack: IPv4 NodePort too" eq "$(ask out1 tcp "$(node_ip 1)" 30050 | cut -d' ' -f1)" p2

. "$HERE/churn.sh"
. "$HERE/lifecycle.sh"

if [ "$failed" -gt 0 ]; then
    for n in 1 2 3; do echo "--- proxier node-$n (last lines)"; tail -n 15 "$W/proxier-$n.log"; done
fi
echo "cluster: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
