#!/bin/sh
# Records the netlink traffic of the real `ipset` binary for the byte-vector
# tests in tests/captures.rs. Re-executes itself inside a fresh network
# namespace (`unshare -n`), so no set leaks onto the machine. Needs root,
# ipset and strace.
#
# Each capture NAME gives NAME.strace (the strace log with hex dumps of every
# netlink datagram sent and received) and NAME.out (what ipset printed).
set -eu

if [ "${IPSET_CAPTURE_NETNS:-}" != 1 ]; then
    IPSET_CAPTURE_NETNS=1 exec unshare -n "$0" "$@"
fi

out="$(cd "$(dirname "$0")" && pwd)/captures"
mkdir -p "$out"
rm -f "$out"/*.strace "$out"/*.out

# cap NAME ARGS...: run `ipset ARGS...` under strace. Failing commands are
# captured too (their error replies are test vectors); stdin is passed on.
cap() {
    name=$1
    shift
    strace -f -xx -s 65535 -e trace=sendmsg,sendto,recvmsg,recvfrom \
        -e write=all -e read=all -o "$out/$name.strace" \
        ipset "$@" >"$out/$name.out" 2>&1 || true
    sed -i "1i # ipset $*" "$out/$name.strace"
}

cap version version

# create: every type, both families, options, -exist and a duplicate
cap create-hash-ip create t-ip hash:ip family inet hashsize 1024 maxelem 65536
cap create-hash-ip6 create t-ip6 hash:ip family inet6 hashsize 1024 maxelem 65536
cap create-hash-ipport create t-ipport hash:ip,port family inet hashsize 1024 maxelem 65536
cap create-hash-ipport6 create t-ipport6 hash:ip,port family inet6 hashsize 1024 maxelem 65536
cap create-hash-ipportip create t-ipportip hash:ip,port,ip family inet hashsize 1024 maxelem 65536
cap create-hash-ipportnet create t-ipportnet hash:ip,port,net family inet hashsize 1024 maxelem 65536
cap create-hash-net create t-net hash:net family inet hashsize 1024 maxelem 65536
cap create-bitmap-port create t-port bitmap:port range 0-65535
cap create-hash-ip-opts create t-opts hash:ip family inet hashsize 4096 maxelem 100000 timeout 600 counters comment
cap create-bitmap-port-opts create t-port2 bitmap:port range 1024-2047 timeout 60 counters
cap create-exist create t-ip hash:ip family inet hashsize 1024 maxelem 65536 -exist
cap create-dup create t-ip hash:ip family inet hashsize 1024 maxelem 65536

# add / test / del of one element, with and without -exist
cap add-ip add t-ip 10.0.0.1
cap add-ip-exist add t-ip 10.0.0.1 -exist
cap add-ip-dup add t-ip 10.0.0.1
cap add-ip6 add t-ip6 fd00::1
cap add-ipport add t-ipport 10.0.0.1,tcp:80
cap add-ipport-udp add t-ipport 10.0.0.2,udp:53
cap add-ipport-sctp add t-ipport 10.0.0.3,sctp:30000
cap add-ipport6 add t-ipport6 fd00::1,udp:53
cap add-ipportip add t-ipportip 10.0.0.1,tcp:80,10.0.0.1
cap add-ipportnet add t-ipportnet 10.0.0.1,tcp:80,10.1.0.0/16
cap add-net add t-net 10.0.0.0/8
cap add-port add t-port 30080
cap test-ip test t-ip 10.0.0.1
cap test-ip-absent test t-ip 10.9.9.9
cap test-ipport test t-ipport 10.0.0.1,tcp:80
cap del-ipport del t-ipport 10.0.0.2,udp:53
cap del-ipport-missing del t-ipport 10.0.0.2,udp:53
cap del-ipport-exist del t-ipport 10.0.0.2,udp:53 -exist
cap del-port del t-port 30080

# batched adds: restore aggregates elements into IPSET_ATTR_ADT
printf 'add t-ipport 10.0.1.1,tcp:8080\nadd t-ipport 10.0.1.2,udp:8081\nadd t-ipport 10.0.1.3,tcp:8082\n' \
    >"$out/restore.in"
cap restore-ipport restore -exist <"$out/restore.in"
rm -f "$out/restore.in"

# list / save
cap list-names list -n
cap list-terse list -t t-ipport
cap list-ipport list t-ipport
cap save-ipport save t-ipport
cap save-ipport6 save t-ipport6
cap save-ipportip save t-ipportip
cap save-ipportnet save t-ipportnet
cap save-port save t-port
cap save-all save

# set-level commands
cap flush flush t-ipport
cap rename rename t-net t-net2
cap swap swap t-ip t-opts
cap swap-mismatch swap t-ip t-ipport
cap destroy destroy t-net2
cap destroy-missing destroy t-nosuch
