#!/usr/bin/env bash
# The demo: in the real-kernel VM, the ipvs-netlink library creates the seeds'
# example (ClusterIP 10.96.197.40:8000 -> three backends :80, rr) in one
# batch; then our listing (ipvs-list) is printed beside the real
# `ipvsadm -Ln`, and the two are compared byte for byte.
# Sets up everything it needs on first run (packages, kernel): vm/setup.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
vm/setup.sh >/dev/null
cargo build --quiet --locked -p ipvs-netlink --example seed-demo --example ipvs-list
bin=${CARGO_TARGET_DIR:-target}/debug/examples
vm/run.sh -- bash -c "
set -e
$bin/seed-demo
echo
echo '--- ipvs-list (this library) ---'
$bin/ipvs-list | tee /tmp/ours
echo '--- ipvsadm -Ln (the real tool) ---'
ipvsadm -Ln | tee /tmp/theirs
cmp -s /tmp/ours /tmp/theirs && echo 'identical: yes' || { echo 'identical: NO'; diff /tmp/ours /tmp/theirs; exit 1; }
" 2>&1 | grep -v '^\[ *[0-9.]*\] reboot'
