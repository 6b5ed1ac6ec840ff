//! Service addresses that are the node's own: a virtual server there would
//! take over the node's own service on that port (SSH on 22), so those
//! addresses are refused with a warning and the rest is planned.

use super::*;

const HIJACK: &str = r#"
apiVersion: v1
kind: Service
metadata: {name: ssh, namespace: h}
spec:
  type: LoadBalancer
  clusterIP: 10.96.0.50
  externalIPs: [192.168.1.10, 203.0.113.5]
  ports: [{port: 22, nodePort: 30022}]
status: {loadBalancer: {ingress: [{ip: 192.168.1.10}, {ip: 198.51.100.9}]}}
---
apiVersion: v1
kind: Service
metadata: {name: node-as-cluster-ip, namespace: h}
spec: {clusterIP: 192.168.1.10, ports: [{port: 8080}]}
"#;

#[test]
fn node_addresses_are_refused_as_service_addresses() {
    let node = node(&["192.168.1.10"]);
    let (plan, warnings) = run_with_warnings(HIJACK, &node, &ProxyConfig::default());
    let keys: Vec<String> = plan.services.keys().map(|k| format!("{k:?}")).collect();
    assert_eq!(plan.services.len(), 4, "{keys:?}");
    for key in [
        "10.96.0.50:22/tcp",
        "203.0.113.5:22/tcp",
        "198.51.100.9:22/tcp",
        // NodePorts are meant to be at the node's addresses.
        "192.168.1.10:30022/tcp",
    ] {
        dests(&plan, key);
    }
    assert_eq!(set(&plan, "KUBE-EXTERNAL-IP"), ["203.0.113.5,tcp:22"]);
    assert_eq!(set(&plan, "KUBE-LOAD-BALANCER"), ["198.51.100.9,tcp:22"]);
    assert_eq!(set(&plan, "KUBE-CLUSTER-IP"), ["10.96.0.50,tcp:22"]);
    assert!(
        !plan
            .bind_addrs
            .contains(&"192.168.1.10".parse::<IpAddr>().unwrap())
    );
    let lines: Vec<String> = warnings.iter().map(ToString::to_string).collect();
    assert_eq!(
        lines,
        [
            "Service h/node-as-cluster-ip spec.clusterIP: 192.168.1.10 is an address of this node: a virtual server at 192.168.1.10:8080 would take over the node's own port 8080/tcp; skipped",
            "Service h/ssh spec.externalIPs: 192.168.1.10 is an address of this node: a virtual server at 192.168.1.10:22 would take over the node's own port 22/tcp; skipped",
            "Service h/ssh status.loadBalancer.ingress: 192.168.1.10 is an address of this node: a virtual server at 192.168.1.10:22 would take over the node's own port 22/tcp; skipped",
        ]
    );
}

#[test]
fn a_primary_ip_is_the_nodes_too() {
    // The Node object's address, not among the kernel's (plan mode).
    let mut node = node(&[]);
    node.primary_ips = vec!["192.168.1.10".parse().unwrap()];
    let (plan, warnings) = run_with_warnings(HIJACK, &node, &ProxyConfig::default());
    assert!(
        plan.services
            .keys()
            .all(|k| !format!("{k:?}").starts_with("192.168.1.10:")),
        "{:?}",
        plan.services.keys()
    );
    assert_eq!(warnings.len(), 3, "{warnings:?}");
}
