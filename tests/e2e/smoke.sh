#!/usr/bin/env bash
# Checks the pod plumbing with plain ipvsadm (no proxier): a ClusterIP on
# kube-ipvs0 with three pods behind it, reached from a client pod and the host.
set -eu
. "$(dirname "$0")/pods.sh"
node_setup
for p in a:10.244.1.2 b:10.244.2.3 c:10.244.3.4 client:10.244.9.9; do pod_add "${p%%:*}" "${p#*:}"; done
for p in a b c; do pod_serve "$p"; done
wait_ready host 10.244.1.2 80
ip link add kube-ipvs0 type dummy
ip addr add 10.96.197.40/32 dev kube-ipvs0
ipvsadm -A -t 10.96.197.40:8000 -s rr
for ip in 10.244.1.2 10.244.2.3 10.244.3.4; do ipvsadm -a -t 10.96.197.40:8000 -r $ip:80 -m; done
for i in 1 2 3 4 5 6; do echo "client: $(tcp_get client 10.96.197.40 8000 | cut -d" " -f1)"; done
echo "host: $(tcp_get host 10.96.197.40 8000)"
ipvsadm -A -u 10.96.0.10:53 -s rr; ip addr add 10.96.0.10/32 dev kube-ipvs0
ipvsadm -a -u 10.96.0.10:53 -r 10.244.1.2:53 -m
echo "udp: $(udp_get client 10.96.0.10 53)"
ipvsadm -Ln
