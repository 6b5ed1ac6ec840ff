#!/usr/bin/env bash
# End-to-end tests of kube-ipvs-proxier in the test VM: network namespaces as
# pods, the proxier run from manifests, traffic asserted (not just tables).
# Usage (inside the VM): tests/e2e/run.sh PROXIER_BINARY
# Prints one line per check and a closing "e2e: N passed, N failed".
# With E2E_CAPS=net_admin (a comma-separated list, possibly empty) the
# proxier runs confined as the least-privilege DaemonSet's container
# (tests/e2e/confine.sh: only those capabilities, read-only mounts,
# no_new_privs), after `--init-only` run as full root as its privileged init
# container; extra checks assert the confinement from /proc/PID.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/pods.sh"
. "$HERE/check.sh"
PROXIER=$(realpath "$1")
[ "${KPVS_IN_VM:-}" = 1 ] || { echo "e2e: run me inside the VM (vm/run.sh)" >&2; exit 2; }

M=/tmp/e2e/manifests
LOG=/tmp/e2e/proxier.log
mkdir -p "$M"
# eventually CMD...: true once CMD succeeds within 15 s.
eventually() {
    for _ in $(seq 75); do "$@" && return 0; sleep 0.2; done
    return 1
}

# --- manifests ---------------------------------------------------------
# service NAME CLUSTER-IP PORT TARGET-PORT PROTO [NODE-PORT|-] [spec lines...]
# (a node port makes it type NodePort)
service() {
    local name=$1 ip=$2 port=$3 target=$4 proto=$5 node_port=${6:--}
    shift 5; [ $# -gt 0 ] && shift
    local type=ClusterIP extra=
    if [ "$node_port" != - ]; then type=NodePort; extra=", nodePort: $node_port"; fi
    cat <<EOF
---
apiVersion: v1
kind: Service
metadata: {name: $name, namespace: e2e}
spec:
  type: $type
  clusterIP: $ip
  ports:
  - {name: p, port: $port, targetPort: $target, protocol: $proto$extra}
EOF
    for line in "$@"; do echo "  $line"; done
}

# slice SERVICE PORT PROTO POD[@NODE]...: a ready endpoint per pod.
slice() {
    local svc=$1 port=$2 proto=$3; shift 3
    cat <<EOF
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: $svc-1
  namespace: e2e
  labels: {kubernetes.io/service-name: $svc}
addressType: IPv4
ports: [{name: p, port: $port, protocol: $proto}]
endpoints:
EOF
    for ep in "$@"; do
        local pod=${ep%@*} node=node-1
        [ "$ep" != "$pod" ] && node=${ep#*@}
        echo "- {addresses: [\"$(pod_ip "$pod")\"], conditions: {ready: true}, nodeName: $node}"
    done
}

# write FILE: stdin to the manifests directory, atomically.
write() { cat >"$M/.$1.tmp" && mv "$M/.$1.tmp" "$M/$1"; }

demo_manifests() {
    { service demo 10.96.197.40 8000 80 TCP; slice demo 80 TCP a b c; } | write demo.yaml
}

# --- proxier -----------------------------------------------------------
PROXIER_PID=
# The least-privilege run: the proxier under tests/e2e/confine.sh.
CONFINE=()
[ -n "${E2E_CAPS+set}" ] && CONFINE=("$HERE/confine.sh" "$E2E_CAPS")
# The node flags (section 7 runs without --node-ip) and the resync period.
NODE_FLAGS=(--node-ip "$NODE_IP")
SYNC_PERIOD=3s
start_proxier() {
    "${CONFINE[@]}" "$PROXIER" run --manifests "$M" --hostname-override node-1 "${NODE_FLAGS[@]}" \
        --cluster-cidr 10.244.0.0/16 --ipvs-sync-period "$SYNC_PERIOD" --graceful-check-period 1s \
        --manifests-poll-period 200ms "$@" >>"$LOG" 2>&1 &
    PROXIER_PID=$!
}
stop_proxier() {
    [ -n "$PROXIER_PID" ] && kill "$PROXIER_PID" 2>/dev/null && wait "$PROXIER_PID" 2>/dev/null
    PROXIER_PID=
}
trap stop_proxier EXIT

# --- helpers for checks ----------------------------------------------------
names() { # names NETNS IP PORT N: the pods answering N requests, sorted
    for _ in $(seq "$4"); do tcp_get "$1" "$2" "$3" | cut -d' ' -f1; done | sort | tr '\n' ' '
}
has_vs() { ipvsadm -Ln | grep -q "$1"; }
no_vs() { ! ipvsadm -Ln | grep -q "$1"; }
rs_weight() { # rs_weight VS RS: the weight of real server RS in service VS
    ipvsadm -Ln -t "$1" 2>/dev/null | awk -v rs="$2" '$2 == rs {print $4}'
}
eq() { [ "$1" = "$2" ] || { echo "     expected [$2], got [$1]"; return 1; }; }
nonempty() { [ -n "$1" ] || { echo "     got nothing"; return 1; }; }

# --- the node and its pods ----------------------------------------------------
four_pods

# --- 0. least privilege: the init container's job first -----------------------
# The sets of /proc/PID/status field $2 of process $1, as capsh names
# them, sorted; and E2E_CAPS the same way.
status_field() { awk -v f="$2:" '$1 == f {print $2}' "/proc/$1/status"; }
caps_of() { capsh --decode="$(status_field "$1" "$2")" \
    | sed 's/^[^=]*=//' | tr ',' '\n' | sed '/^$/d' | sort | paste -sd, -; }
wanted_caps() { tr ',' '\n' <<<"$E2E_CAPS" | sed '/^$/d; s/^/cap_/' | sort | paste -sd, -; }
# The sysctls kube-proxy sets in IPVS mode (strictARP off), which the
# confined proxier cannot write.
SYSCTLS="net.ipv4.vs.conntrack net.ipv4.vs.expire_nodest_conn net.ipv4.vs.expire_quiescent_template net.ipv4.ip_forward"
all_set() { for s in $SYSCTLS; do [ "$(sysctl -n "$s")" = 1 ] || { echo "     $s is not 1"; return 1; }; done; }
confined_checks() { # the running proxier's confinement, from /proc
    local pid=$PROXIER_PID want
    want=$(wanted_caps)
    check "least privilege: effective capabilities are only [$want]" eq "$(caps_of "$pid" CapEff)" "$want"
    check "least privilege: permitted capabilities are only [$want]" eq "$(caps_of "$pid" CapPrm)" "$want"
    check "least privilege: bounding set is only [$want]" eq "$(caps_of "$pid" CapBnd)" "$want"
    check "least privilege: no ambient capabilities" eq "$(caps_of "$pid" CapAmb)" ""
    check "least privilege: no_new_privs is set" eq "$(status_field "$pid" NoNewPrivs)" 1
    # Writes in the proxier's mount namespace (as full root) must fail.
    # (Its refused sysctl write above showed /proc/sys read-only in action.)
    check "least privilege: /proc/sys is mounted read-only for the proxier" \
        awk '$5 == "/proc/sys" && $6 ~ /^ro(,|$)/ {found = 1} END {exit !found}' "/proc/$pid/mountinfo"
    check "least privilege: its /tmp (and so every mount) is read-only" \
        bash -c '! nsenter -t "$1" -m touch /tmp/e2e/confined 2>/dev/null' _ "$pid"
}
if [ ${#CONFINE[@]} -gt 0 ]; then
    echo "     least privilege: the proxier holds only [$E2E_CAPS]"
    demo_manifests
    # Sysctls at the wrong value (the VM boots with vs/conntrack=0) and
    # /proc/sys read-only: the confined
    # proxier stops at once, naming it (kube-proxy's EnsureSysctl).
    sysctl -qw net.ipv4.vs.expire_nodest_conn=0
    refused=$(timeout 60 "${CONFINE[@]}" "$PROXIER" run --manifests "$M" --hostname-override node-1 \
        "${NODE_FLAGS[@]}" --cluster-cidr 10.244.0.0/16 2>&1)
    status=$?
    check "least privilege: a wrong sysctl it cannot write ends the start (exit 1)" eq "$status" 1
    named() {
        grep -q "can't set sysctl net/ipv4/vs/[a-z_]* to 1 (it is 0): Read-only file system.*--init-only" \
            <<<"$refused" || { echo "     got: $(tail -n 2 <<<"$refused")"; return 1; }
    }
    check "least privilege: the error names the sysctl and --init-only" named
    # The privileged init container: `--init-only` as full root.
    check "least privilege: --init-only (the privileged init container) succeeds" \
        "$PROXIER" run --manifests "$M" --hostname-override node-1 "${NODE_FLAGS[@]}" \
        --cluster-cidr 10.244.0.0/16 --init-only
    check "least privilege: --init-only set kube-proxy's sysctls" all_set
fi

# --- 1. the seeds' demo ------------------------------------------------
demo_manifests
start_proxier
check "demo: virtual server programmed" eventually has_vs "10.96.197.40:8000"
[ ${#CONFINE[@]} -gt 0 ] && confined_checks
plan_ipvs() { "$PROXIER" plan --manifests "$M" --hostname-override node-1 --node-ip "$NODE_IP" \
    --cluster-cidr 10.244.0.0/16 2>/dev/null | sed -n '/^# ipvsadm -Ln/,/^$/p' | sed '1d;$d'; }
# Before any traffic, so the connection counters are 0 as in the plan.
check "demo: live ipvsadm -Ln equals the plan output" eq "$(ipvsadm -Ln)" "$(plan_ipvs)"
check "demo: 6 requests from a client pod hit a, b, c twice each" \
    eq "$(names client 10.96.197.40 8000 6)" "a a b b c c "
check "demo: the host reaches the ClusterIP" nonempty "$(tcp_get host 10.96.197.40 8000)"

# --- 2. more Services ------------------------------------------------
{
    service web 10.96.0.20 80 80 TCP 30080
    slice web 80 TCP a b
    service dns 10.96.0.10 53 53 UDP
    slice dns 53 UDP b
    service sticky 10.96.0.30 80 80 TCP - "sessionAffinity: ClientIP"
    slice sticky 80 TCP a b c
    service local 10.96.0.50 80 80 TCP 30050 "externalTrafficPolicy: Local"
    slice local 80 TCP a c@node-2
} | write more.yaml
{ service hold 10.96.0.40 9000 8080 TCP; slice hold 8080 TCP a b; } | write hold.yaml
check "more: NodePort virtual server on the node IP" eventually has_vs "$NODE_IP:30080"
check "NodePort: reached from the external machine" \
    nonempty "$(tcp_get external "$NODE_IP" 30080)"
check "UDP ClusterIP: answered by b" eq "$(udp_get client 10.96.0.10 53 | cut -d' ' -f1)" b
sticky=$(names client 10.96.0.30 80 5)
check "sessionAffinity ClientIP: one client stays on one pod" \
    eq "$(echo "$sticky" | tr ' ' '\n' | sort -u | grep -c .)" 1
local_answer=$(tcp_get external "$NODE_IP" 30050)
check "externalTrafficPolicy Local: only the local endpoint serves the NodePort" \
    eq "$(echo "$local_answer" | cut -d' ' -f1)" a
check "externalTrafficPolicy Local: the client source IP is preserved" \
    eq "$(echo "$local_answer" | cut -d' ' -f2)" "$EXTERNAL_IP"
check "hairpin: pod a reaches itself through its ClusterIP" \
    eq "$(names a 10.96.197.40 8000 3)" "a b c "

# --- 2b. hostile input: bad entries are skipped, their siblings kept ------------
# One Service with a loopback external IP, the node IP as an external IP at
# port 22 and a good external IP; its slice has an unparsable and a
# loopback endpoint between two good ones. Another Service has a loopback
# ClusterIP.
{
    service hostile 10.96.0.60 22 80 TCP - \
        "externalIPs: [127.0.0.1, $NODE_IP, 203.0.113.60]"
    cat <<EOF
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: hostile-1, namespace: e2e, labels: {kubernetes.io/service-name: hostile}}
addressType: IPv4
ports: [{name: p, port: 80, protocol: TCP}]
endpoints:
- {addresses: ["$(pod_ip a)"], nodeName: node-1}
- {addresses: ["not-an-ip"]}
- {addresses: ["127.0.0.1"]}
- {addresses: ["$(pod_ip b)"], nodeName: node-1}
EOF
    service loopvip 127.0.0.2 80 80 TCP
    slice loopvip 80 TCP a
} | write hostile.yaml
check "hostile: the good external IP is programmed" eventually has_vs "203.0.113.60:22 "
check "hostile: externalIP 127.0.0.1 is rejected" no_vs "127.0.0.1:22 "
# kube-proxy programs an external IP held by the node (kube-vip, keepalived)
# and only leaves it off kube-ipvs0.
check "node-held externalIP: the node IP gets its virtual server" has_vs "$NODE_IP:22 "
check "node-held externalIP: it is not bound to kube-ipvs0" \
    bash -c '! ip -o addr show kube-ipvs0 | grep -q " $1/"' _ "$NODE_IP"
check "node-held externalIP: it stays on its own interface" \
    bash -c 'ip -o addr show | grep -v kube-ipvs0 | grep -q " $1/"' _ "$NODE_IP"
check "node-held externalIP: a client pod reaches the Service there" \
    eq "$(names client "$NODE_IP" 22 4)" "a a b b "
check "hostile: ClusterIP 127.0.0.2 is rejected" no_vs "127.0.0.2:80 "
check "hostile: the bad endpoints are skipped, both good siblings serve" \
    eq "$(names client 10.96.0.60 22 4)" "a a b b "
warned() {
    local p
    for p in "Service e2e/hostile spec.externalIPs\[0\]: 127.0.0.1 is a loopback address" \
        "EndpointSlice e2e/hostile-1 endpoints\[1\].addresses\[0\]: \"not-an-ip\"" \
        "EndpointSlice e2e/hostile-1 endpoints\[2\].addresses\[0\]: 127.0.0.1" \
        "Service e2e/loopvip spec.clusterIP: 127.0.0.2 is a loopback address"; do
        grep -q -- "$p" "$LOG" || { echo "     no warning: $p"; return 1; }
    done
}
check "hostile: each bad entry is named in its own warning" warned
rm "$M/hostile.yaml"
check "hostile: its Services go with the file" eventually no_vs "203.0.113.60:22 "

# --- 3. scale up, scale down with an open connection ---------------------
{ service demo 10.96.197.40 8000 80 TCP; slice demo 80 TCP a b c d; } | write demo.yaml
check "scale-up: the new endpoint is added" eventually has_vs "10.244.4.5:80"
check "scale-up: it gets traffic" eq "$(names client 10.96.197.40 8000 8)" "a a b b c c d d "

# A long-lived connection to pod a through the "hold" service.
holder_fifo=/tmp/e2e/hold
mkfifo "$holder_fifo"
ip netns exec client python3 - "$holder_fifo" <<'PY' &
import socket, struct, sys
s = socket.create_connection(("10.96.0.40", 9000), timeout=5)
print("holder:", s.recv(64).decode().strip(), flush=True)
open(sys.argv[1]).read()          # wait until told to close
s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
s.close()                          # RST: the IPVS entry goes away fast
PY
holder=$!
busy() { ipvsadm -Ln -t 10.96.0.40:9000 | awk '$3 == "Masq" && $5 > 0 {print $2}'; }
opened() { [ -n "$(busy)" ]; }
eventually opened
held=$(busy)
check "scale-down: a connection is open" nonempty "$held"
others=$(for p in a b; do echo "$(pod_ip $p):8080"; done | grep -v "^$held$")
{
    service hold 10.96.0.40 9000 8080 TCP
    slice hold 8080 TCP "$( [ "$held" = 10.244.1.2:8080 ] && echo b || echo a)"
} | write hold.yaml
weight_zero() { [ "$(rs_weight 10.96.0.40:9000 "$held")" = 0 ]; }
check "scale-down: the busy real server drains at weight 0" eventually weight_zero
check "scale-down: the other real server keeps weight 1" \
    eq "$(rs_weight 10.96.0.40:9000 "$others")" 1
echo close >"$holder_fifo"
wait "$holder" 2>/dev/null
gone() { [ -z "$(rs_weight 10.96.0.40:9000 "$held")" ]; }
check "scale-down: removed once the connection is closed" eventually gone

# --- 4. Service deletion -------------------------------------------------
rm "$M/more.yaml"
check "deletion: the NodePort virtual server is removed" eventually no_vs "$NODE_IP:30080"
check "deletion: the UDP virtual server is removed" no_vs "10.96.0.10:53"
check "deletion: the VIP is unbound" eq "$(ip -o addr show kube-ipvs0 | grep -c '10.96.0.10/32')" 0
check "deletion: the ipset entry is gone" \
    eq "$(ipset list KUBE-CLUSTER-IP | grep -c '10.96.0.10,udp:53')" 0

# --- 5. warm restart: nothing sent ---------------------------------------------
stop_proxier
: >"$LOG"
start_proxier
restarted() { grep -q "sync done" "$LOG"; }
eventually restarted
first_sync=$(grep -m1 "sync done" "$LOG")
echo "     $first_sync"
check "warm restart: the first sync sends 0 netlink messages" \
    grep -q "mutating_messages=0 " <<<"$first_sync"
check "warm restart: traffic still flows" nonempty "$(tcp_get client 10.96.197.40 8000)"

# --- 6. route binding mode ---------------------------------------------------
stop_proxier
start_proxier --vip-bind-mode route
routes() { ip route show table local dev kube-ipvs0 | grep -q "10.96.197.40"; }
check "route mode: the VIP is a local route" eventually routes
no_addr() { ! ip -o addr show kube-ipvs0 | grep -q "10.96.197.40"; }
check "route mode: and no longer an address" eventually no_addr
check "route mode: 6 requests from a client pod hit every pod" \
    eq "$(names client 10.96.197.40 8000 8)" "a a b b c c d d "
check "route mode: the host reaches the ClusterIP" nonempty "$(tcp_get host 10.96.197.40 8000)"
check "route mode: hairpin" eq "$(names a 10.96.197.40 8000 4)" "a b c d "
stop_proxier

# --- 7. no --node-ip (kubeadm's default): node addresses from notifications --
# The NodePort needs the node's addresses, read from the kernel; a sync
# after a one-endpoint change must not dump them (RTM_GETADDR), counted
# by strace on the proxier's sends. No resync in the window (1h).
NODE_FLAGS=()
SYNC_PERIOD=1h
{ service np 10.96.0.90 80 80 TCP 30090; slice np 80 TCP a; } | write np.yaml
: >"$LOG"
start_proxier
check "kubeadm default: the NodePort on the node IP, from the kernel's addresses" \
    eventually has_vs "$NODE_IP:30090"
synced() { grep -c "sync done" "$LOG"; }
before=$(synced)
strace_out=/tmp/e2e/strace.out
strace -f -qq -e trace=sendto,sendmsg -e signal=none -o "$strace_out" -p "$PROXIER_PID" 2>/dev/null &
strace_pid=$!
sleep 2
{ service np 10.96.0.90 80 80 TCP 30090; slice np 80 TCP a b; } | write np.yaml
np_b() { ipvsadm -Ln -t "$NODE_IP:30090" | grep -q "10.244.2.3:80"; }
check "kubeadm default: the endpoint change is programmed" eventually np_b
more_syncs() { [ "$(synced)" -gt "$before" ]; }
eventually more_syncs
sleep 1
kill "$strace_pid" 2>/dev/null
wait "$strace_pid" 2>/dev/null
echo "     $(grep -c . "$strace_out") sends traced, $(grep -c RTM_GETADDR "$strace_out") RTM_GETADDR"
check "kubeadm default: the sync's netlink sends were traced" grep -q "sendmsg\|sendto" "$strace_out"
check "kubeadm default: the sync sends no RTM_GETADDR dump" eq "$(grep -c RTM_GETADDR "$strace_out")" 0
# The oracle's own check: strace names an address dump as RTM_GETADDR.
strace -f -qq -e trace=sendto,sendmsg -o "$strace_out.ip" ip -o addr show >/dev/null
check "kubeadm default: strace names an address dump RTM_GETADDR" grep -q RTM_GETADDR "$strace_out.ip"
added_on_node() { has_vs "10.99.0.7:30090"; }
ip addr add 10.99.0.7/32 dev lo
{ service np 10.96.0.90 80 80 TCP 30090; slice np 80 TCP a b c; } | write np.yaml
check "kubeadm default: a new node address is seen (NodePort on it)" eventually added_on_node
ip addr del 10.99.0.7/32 dev lo
stop_proxier

if [ "$failed" -gt 0 ]; then
    echo "--- proxier log"
    tail -n 40 "$LOG"
    echo "--- ipvsadm -Ln"
    ipvsadm -Ln
fi
summary
