# Sourced by tests/cluster/run.sh after the traffic checks: a rolling
# restart of every node's proxier with clients looping (netlink writes
# counted with strace), a load-balancer VIP also held on a node's own
# interface (kube-vip ARP mode), a config file change and a Node address
# change.

# --- 10. rolling restart -------------------------------------------------------
# Counted from `strace -f -e trace=sendto,sendmsg` of the proxier and its
# children: IPVS generic-netlink and ipset messages, and of them those that
# write (nlcount.py). Prints "IPVS-ALL IPVS-WRITES IPSET-ALL IPSET-WRITES".
count_writes() { ip netns exec "node-$1" python3 "$HERE/nlcount.py" "$W/strace-$1"; }
rm -f "$W/stop"
ip netns exec c1 python3 "$HERE/loop.py" "$W/roll.json" "$W/stop" tcp:10.96.0.10:80 &
roll1=$!
ip netns exec out1 python3 "$HERE/loop.py" "$W/roll-out.json" "$W/stop" "tcp:$(node_ip 2):30020" &
roll2=$!
sleep 2
# A real server still draining (weight 0, TCP connections in TIME_WAIT for
# up to 2 min) is deleted by whichever proxier first sees it idle: the old
# one's graceful check or the new one's first sync, as kube-proxy's
# GracefulDeleteRS. Each node is restarted once none is left, so the
# restart alone is counted.
drained() { ! ip netns exec "node-$1" ipvsadm -Sn | grep -q -- ' -w 0$'; }
for n in 1 2 3; do
    within 150 drained "$n" || echo "     node-$n: a real server still drains"
    before=$(ip netns exec "node-$n" ipvsadm -Sn | sort)
    stop_proxier "$n"
    lines=$(wc -l <"$W/proxier-$n.log")
    start_proxier "$n" strace -f -qq -xx -e trace=sendto,sendmsg -e signal=none -s 4096 -o "$W/strace-$n"
    synced() { tail -n "+$((lines + 1))" "$W/proxier-$1.log" | sed 's/\x1b\[[0-9;]*m//g' | grep -q "sync done"; }
    within 60 synced "$n"
    sleep 2
    read -r ia iw sa sw <<<"$(count_writes "$n")"
    [ -n "${KPVS_VM_OUT:-}" ] && head -c 200000 "$W/strace-$n" >"$KPVS_VM_OUT/strace-node-$n.txt"
    echo "     node-$n restart: IPVS messages $ia (writes $iw), ipset messages $sa (writes $sw)"
    check "rolling restart node-$n: the first sync is done" synced "$n"
    check "rolling restart node-$n: IPVS and ipset were read (strace saw them)" test "$ia" -gt 0 -a "$sa" -gt 0
    check "rolling restart node-$n: 0 IPVS writes, 0 ipset writes" eq "$iw $sw" "0 0"
    check "rolling restart node-$n: the same IPVS table (ipvsadm -Sn)" \
        eq "$(ip netns exec "node-$n" ipvsadm -Sn | sort)" "$before"
done
touch "$W/stop"; wait "$roll1" "$roll2"
for f in roll roll-out; do
    r=$(python3 -c 'import json,sys; r=list(json.load(open(sys.argv[1])).values())[0]; print(r["ok"], r["failed"], *r["errors"][:3])' "$W/$f.json")
    echo "     $f: $r"
    check "rolling restart: 0 failed requests ($f)" eq "$(cut -d' ' -f2 <<<"$r")" 0
done

# --- 5. the LB VIP also on node 1's interface (kube-vip ARP mode) ----------------
ip -n node-1 addr add 203.0.113.50/32 dev eth0
ip -n out1 route add 203.0.113.50/32 via "$(node_ip 1)"
put svc vip ip=10.96.0.60 type=LoadBalancer np=30060 lb=203.0.113.50 -- slice vip "$(pod_ip 3 10)@node-3"
vip_answers() { [ "$(ask out1 tcp 203.0.113.50 80 | cut -d' ' -f1)" = p3 ]; }
check "kube-vip: the LB VIP held on node 1's eth0 still reaches the pod" eventually vip_answers

# --- 12. the config file changes -------------------------------------------------------
pid=${PROXY[1]}
sed -i 's/^  scheduler: ""/  scheduler: "wrr"/' "$W/config-1.conf"
exited() { ! kill -0 "$1" 2>/dev/null; }
check "config change: the proxier on node 1 exits" within 20 exited "$pid"
stop_proxier 1; start_proxier 1
wrr() { ip netns exec node-1 ipvsadm -Ln -t 10.96.0.10:80 | grep -q "TCP  10.96.0.10:80 wrr"; }
check "config change: restarted, node 1 uses the new scheduler (wrr)" eventually wrr
check "config change: traffic through node 1" eq "$(names c1 tcp 10.96.0.10 80 6)" "p2 p3 "

# --- 11. a node whose address changes ----------------------------------------------------
pid=${PROXY[3]}
ip -n node-3 addr add 10.0.0.33/24 dev eth0
put node 3 10.0.0.33 "$(node_ip6 3)"
check "node ip change: the proxier on node 3 exits" within 20 exited "$pid"
stop_proxier 3; start_proxier 3
check "node ip change: restarted, node 3 serves the NodePort on its new address" \
    eventually has_vs 3 "10.0.0.33:30020"
check "node ip change: traffic through the new address" \
    eq "$(ask out1 tcp 10.0.0.33 30020 | cut -d' ' -f1)" p3
