#!/usr/bin/env bash
# The demo, end to end in the real-kernel VM: three pods (network
# namespaces) serve on port 80; kube-ipvs-proxier runs from
# examples/manifests/demo.yaml (ClusterIP 10.96.197.40:8000 -> the pods :80,
# round robin); a client pod curls the ClusterIP six times; the IPVS table is
# shown by the real ipvsadm and by our ipvs-list, which must be identical.
# Sets up everything it needs on first run (packages, kernel): vm/setup.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${CARGO_TARGET_DIR:-target}/debug
if [ "${1:-}" != --in-vm ]; then
    vm/setup.sh >/dev/null
    cargo build --quiet --locked -p kube-ipvs-proxier --bin kube-ipvs-proxier
    cargo build --quiet --locked -p ipvs-netlink --example ipvs-list
    exec vm/run.sh -- examples/demo.sh --in-vm
fi

. tests/e2e/pods.sh
node_setup
for p in a:10.244.1.2 b:10.244.2.3 c:10.244.3.4 client:10.244.9.9; do pod_add "${p%%:*}" "${p#*:}"; done
for p in a b c; do pod_serve "$p"; done
for ip in 10.244.1.2 10.244.2.3 10.244.3.4; do wait_ready host "$ip" 80; done

echo "--- kube-ipvs-proxier run --manifests examples/manifests/demo.yaml"
"$bin/kube-ipvs-proxier" run --manifests examples/manifests/demo.yaml \
    --hostname-override node-1 --node-ip "$NODE_IP" --cluster-cidr 10.244.0.0/16 2>/tmp/proxier.log &
proxier=$!
for _ in $(seq 75); do ipvsadm -Ln | grep -q 10.96.197.40 && break; sleep 0.2; done
sed 's/^/    /' /tmp/proxier.log

echo "--- curl http://10.96.197.40:8000 from a client pod, six times (pod name, client IP)"
for _ in 1 2 3 4 5 6; do
    ip netns exec client curl -s --max-time 3 http://10.96.197.40:8000/ || echo "(no answer)"
done
echo "--- the same from the node"
curl -s --max-time 3 http://10.96.197.40:8000/ || echo "(no answer)"

echo "--- ipvsadm -Ln (the real tool)"
ipvsadm -Ln | tee /tmp/theirs
echo "--- ipvs-list (our library)"
"$bin/examples/ipvs-list" | tee /tmp/ours
cmp -s /tmp/ours /tmp/theirs && echo "identical: yes" || { echo "identical: NO"; exit 1; }
kill "$proxier"; wait "$proxier" 2>/dev/null || true
