# Sourced by the end-to-end tests inside the test VM: network namespaces as
# pods on this node, routed like a typical CNI (each pod a /32 on a veth,
# with a default route to the host end, 169.254.1.1), tiny servers that answer with the pod's
# name, and an "external" namespace that reaches the node like another
# machine on a link.

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

# pod_serve NAME: TCP :80 and UDP :53 servers in pod NAME answering
# "NAME CLIENT-IP" (over HTTP/1.0 when the client sends a GET; the TCP one
# also serves :8080, holding the connection open until the client closes,
# for graceful-termination tests).
pod_serve() {
    local name=$1
    ip netns exec "$name" python3 - "$name" >/dev/null 2>&1 <<'PY' &
import socket, sys, threading
name = sys.argv[1]

def answer(peer):
    return f"{name} {peer[0]}\n".encode()

def tcp(port, hold):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port)); s.listen(64)
    while True:
        c, peer = s.accept()
        def serve(c=c, peer=peer):
            try:
                # An HTTP client (curl) sends a request first: answer it in
                # HTTP; a plain client sends nothing and gets the bare line.
                c.settimeout(0.3)
                try:
                    request = c.recv(4096)
                except OSError:
                    request = b""
                c.settimeout(None)
                body = answer(peer)
                if request.startswith(b"GET"):
                    body = b"HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body
                c.sendall(body)
                if hold:
                    while c.recv(4096):
                        pass
            finally:
                c.close()
        threading.Thread(target=serve, daemon=True).start()

def udp(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", port))
    while True:
        _, peer = s.recvfrom(4096)
        s.sendto(answer(peer), peer)

threading.Thread(target=tcp, args=(80, False), daemon=True).start()
threading.Thread(target=tcp, args=(8080, True), daemon=True).start()
udp(53)
PY
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
