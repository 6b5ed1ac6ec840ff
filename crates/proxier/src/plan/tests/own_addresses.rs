//! Service addresses that are the node's own. As kube-proxy does, an
//! external or load-balancer IP held by the node (kube-vip in ARP mode,
//! keepalived) gets its virtual server and set entries, and only the
//! `kube-ipvs0` binding is skipped (`shouldBind`). A ClusterIP that is a
//! node address is refused: bound to `kube-ipvs0` it would move the node's
//! address.

use super::*;

const HELD: &str = r#"
apiVersion: v1
kind: Service
metadata: {name: vip, namespace: h}
spec:
  type: LoadBalancer
  clusterIP: 10.96.0.50
  externalIPs: [192.168.1.10, 203.0.113.5]
  ports: [{port: 22, nodePort: 30022}]
status: {loadBalancer: {ingress: [{ip: 192.168.1.11}, {ip: 198.51.100.9}]}}
---
apiVersion: v1
kind: Service
metadata: {name: node-as-cluster-ip, namespace: h}
spec: {clusterIP: 192.168.1.10, ports: [{port: 8080}]}
"#;

fn ips(list: &[&str]) -> Vec<IpAddr> {
    list.iter().map(|ip| ip.parse().unwrap()).collect()
}

fn bound(plan: &KernelPlan) -> Vec<String> {
    plan.bind_addrs.iter().map(ToString::to_string).collect()
}

#[test]
fn node_addresses_get_virtual_servers_but_no_binding() {
    let node = node(&["192.168.1.10", "192.168.1.11"]);
    let (plan, warnings) = run_with_warnings(HELD, &node, &ProxyConfig::default());
    let keys: Vec<String> = plan.services.keys().map(|k| format!("{k:?}")).collect();
    assert_eq!(plan.services.len(), 7, "{keys:?}");
    for key in [
        "10.96.0.50:22/tcp",
        "192.168.1.10:22/tcp",
        "203.0.113.5:22/tcp",
        "192.168.1.11:22/tcp",
        "198.51.100.9:22/tcp",
        "192.168.1.10:30022/tcp",
        "192.168.1.11:30022/tcp",
    ] {
        dests(&plan, key);
    }
    assert_eq!(
        set(&plan, "KUBE-EXTERNAL-IP"),
        ["192.168.1.10,tcp:22", "203.0.113.5,tcp:22"]
    );
    assert_eq!(
        set(&plan, "KUBE-LOAD-BALANCER"),
        ["192.168.1.11,tcp:22", "198.51.100.9,tcp:22"]
    );
    assert_eq!(set(&plan, "KUBE-CLUSTER-IP"), ["10.96.0.50,tcp:22"]);
    // The node's own addresses stay off kube-ipvs0 and out of
    // KUBE-IPVS-IPS (kube-proxy's activeBindAddrs).
    assert_eq!(bound(&plan), ["10.96.0.50", "198.51.100.9", "203.0.113.5"]);
    assert_eq!(
        set(&plan, "KUBE-IPVS-IPS"),
        ["10.96.0.50", "198.51.100.9", "203.0.113.5"]
    );
    let lines: Vec<String> = warnings.iter().map(ToString::to_string).collect();
    assert_eq!(
        lines,
        [
            "Service h/node-as-cluster-ip spec.clusterIP: 192.168.1.10 is an address of this node: binding the virtual server 192.168.1.10:8080 to kube-ipvs0 would move it; skipped"
        ]
    );
}

#[test]
fn a_primary_ip_is_the_nodes_too() {
    // The Node object's address, not among the kernel's (plan mode).
    let mut node = node(&[]);
    node.primary_ips = ips(&["192.168.1.10"]);
    let (plan, warnings) = run_with_warnings(HELD, &node, &ProxyConfig::default());
    dests(&plan, "192.168.1.10:22/tcp");
    assert!(!bound(&plan).contains(&"192.168.1.10".to_owned()));
    assert_eq!(warnings.len(), 1, "{warnings:?}");
}

#[test]
fn an_address_arriving_on_the_node_is_unbound_and_kept() {
    // kube-vip moves 192.168.1.11 to this node, then away again: the
    // virtual server stays, only the binding follows.
    let (snapshot, _) = manifests::parse(HELD, "t.yaml");
    let away = node(&["192.168.1.10"]);
    let here = node(&["192.168.1.10", "192.168.1.11"]);
    let mut planner = IncrementalPlanner::new(away.clone(), ProxyConfig::default());
    for service in &snapshot.services {
        let name = crate::cluster::ServiceName::of(service);
        planner.update_shared(&name, Some(service.clone()), Vec::new());
    }
    let lb: IpAddr = "192.168.1.11".parse().unwrap();
    assert!(planner.plan().bind_addrs.contains(&lb));
    planner.set_node(here.clone());
    assert!(!planner.plan().bind_addrs.contains(&lb));
    dests(planner.plan(), "192.168.1.11:22/tcp");
    assert_eq!(
        planner.plan(),
        &plan(&snapshot, &here, &ProxyConfig::default()).0
    );
    planner.set_node(away.clone());
    assert!(planner.plan().bind_addrs.contains(&lb));
    assert_eq!(
        planner.plan(),
        &plan(&snapshot, &away, &ProxyConfig::default()).0
    );
}
