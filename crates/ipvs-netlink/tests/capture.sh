#!/usr/bin/env bash
# Capture what the real ipvsadm sends to and receives from a real kernel, as
# test vectors for the packet layer. Runs in the test VM (root, IPVS loaded):
#   vm/run.sh -- crates/ipvs-netlink/tests/capture.sh
# Writes crates/ipvs-netlink/tests/captures/NN-name.hex (one netlink datagram
# a line, `>` sent, `<` received) and the real listings under
# captures/listings/. Rerun it to redo the vectors; review the diff.
# `capture.sh daemons` captures only the sync-daemon runs (34 and up).
set -euo pipefail
ONLY=${1:-all}
[ "${KPVS_IN_VM:-}" = 1 ] || { echo "capture.sh: run me inside the VM (vm/run.sh -- $0)" >&2; exit 2; }
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${KPVS_VM_OUT:?}/captures
mkdir -p "$OUT/listings"
n=0

# cap NAME ipvsadm-args...: one ipvsadm run, its datagrams to NN-NAME.hex.
cap() {
    local name=$1; shift
    n=$((n + 1))
    local file
    file=$(printf '%s/%02d-%s.hex' "$OUT" "$n" "$name")
    strace -xx -s 65535 -e trace=sendmsg,recvmsg,sendto,recvfrom \
        -e write=all -e read=all -o "$OUT/strace.tmp" ipvsadm "$@" >"$OUT/stdout.tmp" 2>&1 || true
    python3 "$HERE/strace2hex.py" "ipvsadm $*" <"$OUT/strace.tmp" >"$file"
    sed 's/^/# out: /' "$OUT/stdout.tmp" >>"$file"
    rm -f "$OUT/strace.tmp" "$OUT/stdout.tmp"
}

# The sync-daemon commands (NEW/DEL/GET_DAEMON), numbered after the rest.
daemons() {
    n=33
    cap start-daemon-master --start-daemon master --mcast-interface lo --syncid 7
    cap start-daemon-backup --start-daemon backup --mcast-interface lo --syncid 9 \
        --sync-maxlen 1400 --mcast-group 224.0.0.82 --mcast-port 8849 --mcast-ttl 2
    cap list-daemons -L --daemon
    cap err-daemon-exists --start-daemon master --mcast-interface lo --syncid 7
    cap stop-daemon-master --stop-daemon master
    cap stop-daemon-backup --stop-daemon backup
    cap list-no-daemons -L --daemon
}
if [ "$ONLY" = daemons ]; then
    daemons
    echo "captured $((n - 33)) ipvsadm runs"
    exit 0
fi

ipvsadm -C
cap add-service-tcp -A -t 10.96.197.40:8000 -s rr
cap add-service-udp-persistent -A -u 10.96.0.10:53 -s wlc -p 300 -M 255.255.255.0 -o
cap add-service-sctp-sh -A --sctp-service 10.0.0.3:3868 -s sh -b sh-fallback,sh-port
cap add-service-fwmark-mh -A -f 100 -s mh -b mh-port
cap add-service-fwmark6 -A -f 200 -6 -s wrr -p
cap add-service-tcp6 -A -t '[fd00::1]:80' -s lc -p 60 -M 64
cap add-service-udp6-ops -A -u '[fd00::2]:53' -s rr -o
cap add-dest-masq -a -t 10.96.197.40:8000 -r 10.244.1.2:80 -m -w 1
cap add-dest-masq2 -a -t 10.96.197.40:8000 -r 10.244.1.3:80 -m -w 1
cap add-dest-local -a -t 10.96.197.40:8000 -r 127.0.0.1:8000
cap add-dest-masq6 -a -t '[fd00::1]:80' -r '[fd00::10]:8080' -m -w 2
cap add-dest-droute-thresh -a -f 100 -r 10.244.2.1 -g -w 3 -x 100 -y 10
cap add-dest-tunnel-gue -a -u 10.96.0.10:53 -r 10.244.2.2:53 -i --tun-type gue --tun-port 6080 --tun-nocsum
cap add-dest-tunnel-ipip -a -u 10.96.0.10:53 -r 10.244.2.3:53 -i -w 4
cap add-dest-sctp -a --sctp-service 10.0.0.3:3868 -r 10.244.2.4:3868 -m -w 1
cap add-dest-fwmark6 -a -f 200 -6 -r fd00::20 -g -w 1
cap edit-service -E -t 10.96.197.40:8000 -s wrr
cap edit-dest -e -t 10.96.197.40:8000 -r 10.244.1.2:80 -m -w 0
cap list -Ln
cap list-stats -Ln --stats
cap get-service -Ln -t 10.96.197.40:8000
cap set-timeouts --set 900 120 300
cap get-timeouts -Ln --timeout
cap zero-service -Z -t 10.96.197.40:8000
cap zero-all -Z
cap err-service-exists -A -u 10.96.0.10:53 -s rr
cap err-service-missing -D -t 10.9.9.9:1
cap err-unknown-scheduler -A -t 10.9.9.9:1 -s nosuch
cap err-dest-exists -a -t 10.96.197.40:8000 -r 10.244.1.3:80 -m
cap err-dest-missing -d -t 10.96.197.40:8000 -r 10.244.9.9:80
cap del-dest -d -t 10.96.197.40:8000 -r 10.244.1.3:80
cap del-service -D -t 10.96.197.40:8000
cap flush -C

# Real listings of a varied table, for the formatter's unit tests.
ipvsadm -A -t 10.96.197.40:8000 -s rr
for i in 2 3 4; do ipvsadm -a -t 10.96.197.40:8000 -r 10.244.1.$i:80 -m -w 1; done
ipvsadm -A -u 10.96.0.10:53 -s wlc -p 300 -M 255.255.255.0 -o
ipvsadm -a -u 10.96.0.10:53 -r 10.244.2.2:53 -i --tun-type gue --tun-port 6080 --tun-nocsum
ipvsadm -a -u 10.96.0.10:53 -r 10.244.2.3:53 -i -w 4 -x 1000 -y 10
ipvsadm -A --sctp-service 10.0.0.3:3868 -s sh -b sh-fallback,sh-port
ipvsadm -a --sctp-service 10.0.0.3:3868 -r 10.244.2.4:3868 -m -w 1
ipvsadm -A -f 100 -s mh -b mh-port
ipvsadm -a -f 100 -r 10.244.2.1 -g -w 3
ipvsadm -A -f 200 -6 -s wrr -p
ipvsadm -a -f 200 -6 -r fd00::20 -g -w 1
ipvsadm -A -t '[fd00::1]:80' -s lc -p 60 -M 64
ipvsadm -a -t '[fd00::1]:80' -r '[fd00::10]:8080' -m -w 2
ipvsadm -a -t '[fd00::1]:80' -r '[2001:db8:ffff:ffff:ffff:ffff:ffff:fff1]:65535' -m -w 65535
ipvsadm -A -u '[fd00::2]:53' -s rr -o
ipvsadm -A -t 10.96.0.1:443 -s sed -p 10800
ipvsadm -a -t 10.96.0.1:443 -r 127.0.0.1:6443
ipvsadm -a -t 10.96.0.1:443 -r 192.168.255.255:65535 -m -w 100
ipvsadm -Ln >"$OUT/listings/plain.txt"
ipvsadm -Ln --stats >"$OUT/listings/stats.txt"
ipvsadm -Ln --rate >"$OUT/listings/rate.txt"
ipvsadm -Ln --timeout >"$OUT/listings/timeout.txt"
ipvsadm -S -n >"$OUT/listings/save.txt"
ipvsadm -C
daemons
echo "captured $n ipvsadm runs"
