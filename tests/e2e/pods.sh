# Sourced by the end-to-end tests inside the test VM: network namespaces as
# pods on this node, routed like a typical CNI (each pod a /32 on a veth,
# with a default route to the host end, 169.254.1.1), tiny servers that answer with the pod's
# name, and an "external" namespace that reaches the node like another
# machine on a link.

PODS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
NODE_IP=192.168.100.1
EXTERNAL_IP=192.168.100.2

# node_setup: forwarding on, the link to the external machine.
node_setup() {
    sysctl -qw net.ipv4.ip_forward=1
    ip netns add external
    ip link add ext0 type veth peer name eth0 netns external
    ip addr add "$NODE_IP/24" dev ext0
    ip link set ext0 up
    ip -n external addr add "$EXTERNAL_IP/24" dev eth0
    ip -n external link set lo up
    ip -n external link set eth0 up
    ip -n external route add default via "$NODE_IP"
}

# pod_add NAME IP: a pod namespace with address IP/32.
pod_add() {
    local name=$1 ip=$2 host="v-$1"
    ip netns add "$name"
    ip link add "$host" type veth peer name eth0 netns "$name"
    ip link set "$host" up
    ip addr add 169.254.1.1/32 dev "$host"
    ip route add "$ip/32" dev "$host"
    ip -n "$name" link set lo up
    ip -n "$name" addr add "$ip/32" dev eth0
    ip -n "$name" link set eth0 up
    ip -n "$name" route add 169.254.1.1 dev eth0 scope link
    ip -n "$name" route add default via 169.254.1.1 dev eth0
}

# pod_serve NAME: the servers of tests/e2e/server.py in pod NAME (TCP :80,
# :8080 holding the connection, UDP :53, SCTP :9), answering "NAME CLIENT-IP".
pod_serve() {
    ip netns exec "$1" python3 "$PODS_DIR/server.py" "$1" >/dev/null 2>&1 &
}

# run_in NETNS CMD...: run CMD in a namespace ("host" for the node itself).
run_in() {
    local ns=$1; shift
    if [ "$ns" = host ]; then "$@"; else ip netns exec "$ns" "$@"; fi
}

# tcp_get NETNS IP PORT: the first line a TCP server sends (empty on failure).
tcp_get() {
    run_in "$1" python3 -c '
import socket, sys
try:
    s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3)
    print(s.recv(256).decode().strip())
except OSError as e:
    print("")
' "$2" "$3"
}

# udp_get NETNS IP PORT: the answer to one datagram (empty on timeout).
udp_get() {
    run_in "$1" python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(3)
try:
    s.sendto(b"?", (sys.argv[1], int(sys.argv[2])))
    print(s.recvfrom(256)[0].decode().strip())
except OSError:
    print("")
' "$2" "$3"
}

# wait_ready NETNS IP PORT: until a TCP server answers (10 s at most).
wait_ready() {
    for _ in $(seq 50); do
        [ -n "$(tcp_get "$1" "$2" "$3")" ] && return 0
        sleep 0.2
    done
    return 1
}

# pod_ip NAME: the address of four_pods' pod NAME (a to d).
pod_ip() {
    case $1 in a) echo 10.244.1.2 ;; b) echo 10.244.2.3 ;; c) echo 10.244.3.4 ;; d) echo 10.244.4.5 ;; esac
}

# four_pods: the node set up with pods a, b, c, d (10.244.1.2 to
# 10.244.4.5) serving on :80 and ready, and a pod client (10.244.9.9), as
# the manifests, API and credentials suites use them.
four_pods() {
    node_setup
    for p in a b c d; do pod_add "$p" "$(pod_ip "$p")"; done
    pod_add client 10.244.9.9
    for p in a b c d; do pod_serve "$p"; done
    for p in a b c d; do wait_ready host "$(pod_ip $p)" 80; done
}
