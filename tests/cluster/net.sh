# Sourced by tests/cluster/run.sh: three nodes as network namespaces on a
# bridge (the node network, in namespace "fabric"), pods behind each node
# routed like a CNI (tests/e2e/pods.sh's routed /32 veths, plus IPv6), and
# outside clients on the node network.
#
# Node N (1..3): namespace node-N, eth0 10.0.0.N/24 and fd00::N/64, pod CIDRs
# 10.244.N.0/24 and fd00:244:N::/64, static routes to the other nodes' pod
# CIDRs via their node IPs. Outside clients: 10.0.0.10X and fd00::10X.

# nsx NETNS CMD...: CMD in a namespace with only the network switched (the
# mount namespace stays shared, so `ip netns add` inside is seen by all).
nsx() { local ns=$1; shift; nsenter --net="/run/netns/$ns" "$@"; }

node_ip() { echo "10.0.0.$1"; }
node_ip6() { echo "fd00::$1"; }

# fabric_setup: the bridge every node and outside client is plugged into.
fabric_setup() {
    ip netns add fabric
    ip -n fabric link set lo up
    ip -n fabric link add br0 type bridge
    ip -n fabric link set br0 up
}

# plug NETNS IP4 IP6: a veth eth0 in NETNS on the bridge.
plug() {
    local ns=$1 ip4=$2 ip6=$3
    ip -n fabric link add "f-$ns" type veth peer name eth0 netns "$ns"
    ip -n fabric link set "f-$ns" master br0 up
    ip -n "$ns" link set lo up
    ip -n "$ns" addr add "$ip4/24" dev eth0
    ip -n "$ns" addr add "$ip6/64" dev eth0 nodad
    ip -n "$ns" link set eth0 up
}

# node_add N: node N with forwarding on, plugged in, routes to the others.
node_add() {
    local n=$1 m ns=node-$1
    ip netns add "$ns"
    nsx "$ns" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 \
        net.ipv6.conf.default.accept_dad=0
    plug "$ns" "$(node_ip "$n")" "$(node_ip6 "$n")"
    for m in 1 2 3; do
        [ "$m" = "$n" ] && continue
        ip -n "$ns" route add "10.244.$m.0/24" via "$(node_ip "$m")"
        ip -n "$ns" -6 route add "fd00:244:$m::/64" via "$(node_ip6 "$m")"
    done
}

# outside_add NAME N: an outside client 10.0.0.N / fd00::N on the node network.
outside_add() {
    ip netns add "$1"
    plug "$1" "10.0.0.$2" "fd00::$2"
}

# pod_ip N HOST, pod_ip6 N HOST: the addresses of pod HOST behind node N.
pod_ip() { echo "10.244.$1.$2"; }
pod_ip6() { echo "fd00:244:$1::$2"; }

# cluster_pod NAME N HOST: a pod behind node N (pods.sh's pod_add run in
# the node's namespace) with an IPv6 address too, serving tests/e2e/server.py.
cluster_pod() {
    local name=$1 n=$2 host=$3
    nsx "node-$n" bash -c '. "$1"; pod_add "$2" "$3"' _ "$ROOT/tests/e2e/pods.sh" "$name" "$(pod_ip "$n" "$host")"
    ip -n "node-$n" addr add fe80::1/64 dev "v-$name" nodad
    ip -n "node-$n" -6 route add "$(pod_ip6 "$n" "$host")/128" dev "v-$name"
    ip -n "$name" addr add "$(pod_ip6 "$n" "$host")/128" dev eth0 nodad
    ip -n "$name" -6 route add default via fe80::1 dev eth0
    [ "${4:-}" = noserve ] && return
    ip netns exec "$name" python3 "$ROOT/tests/e2e/server.py" "$name" >/dev/null 2>&1 &
}

# pod_del NAME N: the pod and its route on node N go (its server dies with
# the namespace's last socket... so it is killed first).
pod_del() {
    ip netns pids "$1" 2>/dev/null | xargs -r kill 2>/dev/null
    ip -n "node-$2" link del "v-$1" 2>/dev/null
    ip netns del "$1"
}
