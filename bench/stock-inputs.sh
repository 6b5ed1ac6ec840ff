#!/usr/bin/env bash
# The inputs of a benchmark VM, made on the host (the guest sees the host's
# root, not its /tmp): N Services x R endpoints as manifests
# (bench/proxier-gen.py, SPLIT of them with a slice file of their own) and
# as one JSON List with the Node for the API-server double (objects.json),
# `ipvsadm -R` input from the generator, and from the proxier's `plan` of
# the same manifests the `ipset restore`, `ip -batch` (the dummy and the
# VIPs) and `iptables-restore` inputs of the stock tools.
# Usage: bench/stock-inputs.sh DIR N R PROXIER [SPLIT]
set -euo pipefail
dir=$1 n=$2 r=$3 proxier=$4
gen="python3 $(dirname "$0")/proxier-gen.py"
rm -rf "$dir"
mkdir -p "$dir"
$gen manifests "$dir/manifests" "$n" "$r" ${5:+"$5"}
$gen restore "$n" "$r" >"$dir/ipvsadm.restore"
$gen objects "$dir/objects.json" "$n" "$r"
"$proxier" plan --manifests "$dir/manifests" --hostname-override node-1 \
    --node-ip 192.168.100.1 >"$dir/plan" 2>/dev/null
grep -E '^(create|add) ' "$dir/plan" >"$dir/ipset.restore"
{
    echo "link add kube-ipvs0 type dummy"
    sed -n '/^# ip addr show kube-ipvs0/,/^$/p' "$dir/plan" | grep '^[0-9a-f]' |
        sed 's|^|address add |; s|$| dev kube-ipvs0|'
} >"$dir/ip.batch"
sed -n '/^# iptables-restore/,$p' "$dir/plan" | sed 1d >"$dir/iptables.restore"
rm "$dir/plan"
