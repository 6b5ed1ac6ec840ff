//! Service-level cases of kube-proxy's pkg/proxy/ipvs/proxier_test.go
//! (v1.35): bind addresses, external IPs, load balancers, health-check
//! node ports. kube-proxy's `testNodeName` is `test-hostname` here;
//! `buildFakeProxier` and `NewFakeProxier(…, nil, …)` have no node IPs
//! (no NodePort virtual servers) unless a test adds interfaces.

use super::*;
use crate::config::NodePortAddresses;

#[test]
fn multi_port_service_bind_addr() {
    // TestMultiPortServiceBindAddr: a multi-port Service binds its ClusterIP
    // once; it stays bound when a port is removed or added, and is unbound
    // (absent from the plan) when the Service is deleted.
    let service = |ports: &str| {
        format!(
            r#"
apiVersion: v1
kind: Service
metadata: {{name: svc1, namespace: ns1}}
spec:
  type: ClusterIP
  clusterIP: 172.16.55.4
  ports: [{ports}]
"#
        )
    };
    let port1 = "{name: port1, protocol: TCP, port: 1234, targetPort: 0}";
    let port2 = "{name: port2, protocol: TCP, port: 1235, targetPort: 0}";
    let port3 = "{name: port3, protocol: UDP, port: 1236, targetPort: 0}";
    let cases = [
        // service1: port1 + port2
        (service(&format!("{port1}, {port2}")), 2),
        // service2: port2 removed
        (service(port1), 1),
        // service3: port1 + port2 + port3 (UDP)
        (service(&format!("{port1}, {port2}, {port3}")), 3),
    ];
    for (yaml, virtual_servers) in cases {
        let plan = run(&yaml, &node(&[]), &ProxyConfig::default());
        let bound: Vec<String> = plan.bind_addrs.iter().map(ToString::to_string).collect();
        assert_eq!(bound, ["172.16.55.4"], "{yaml}");
        assert_eq!(set(&plan, "KUBE-IPVS-IPS"), ["172.16.55.4"]);
        // One virtual server per port.
        assert_eq!(plan.services.len(), virtual_servers);
    }
    // service3 deleted: every address unbound.
    let plan = run("", &node(&[]), &ProxyConfig::default());
    assert!(plan.bind_addrs.is_empty());
    assert!(set(&plan, "KUBE-IPVS-IPS").is_empty());
    assert!(plan.services.is_empty());
}

#[test]
fn external_ips_no_endpoint() {
    // TestExternalIPsNoEndpoint: 2 virtual servers, the external one
    // without real servers.
    let yaml = r#"
apiVersion: v1
kind: Service
metadata: {name: svc1, namespace: ns1}
spec:
  type: ClusterIP
  clusterIP: 10.20.30.41
  externalIPs: [50.60.70.81]
  ports: [{name: p80, port: 80, protocol: TCP, targetPort: 80}]
"#;
    let plan = run(yaml, &node(&[]), &ProxyConfig::default());
    assert_eq!(
        vs(&plan),
        [
            "Inet { protocol: Tcp, addr: 10.20.30.41:80 } -> ",
            "Inet { protocol: Tcp, addr: 50.60.70.81:80 } -> ",
        ]
    );
    assert!(dests(&plan, "50.60.70.81:80/tcp").is_empty());
    assert_eq!(set(&plan, "KUBE-EXTERNAL-IP"), ["50.60.70.81,tcp:80"]);
}

#[test]
fn load_balancer_ingress_route_type_proxy() {
    // TestLoadBalancerIngressRouteTypeProxy, the LoadBalancerIPMode-enabled
    // cases: (ClusterIP, LB IP, ipMode, virtual servers). An ingress with
    // ipMode Proxy gets no virtual server.
    let cases = [
        ("10.20.30.41", "1.2.3.4", "ipMode: Proxy", 1),
        ("10.20.30.42", "1.2.3.5", "ipMode: VIP", 2),
        ("10.20.30.43", "1.2.3.6", "", 2),
    ];
    for (cluster_ip, lb_ip, ip_mode, expected) in cases {
        let yaml = format!(
            r#"
apiVersion: v1
kind: Service
metadata: {{name: svc1, namespace: ns1}}
spec:
  type: LoadBalancer
  clusterIP: {cluster_ip}
  ports: [{{name: p80, port: 80, protocol: TCP, nodePort: 3001}}]
status: {{loadBalancer: {{ingress: [{{ip: {lb_ip}, {ip_mode}}}]}}}}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {{name: svc1-1, namespace: ns1, labels: {{kubernetes.io/service-name: svc1}}}}
addressType: IPv4
endpoints: [{{addresses: [10.180.0.1]}}]
ports: [{{name: p80, port: 80, protocol: TCP}}]
"#
        );
        let plan = run(&yaml, &node(&[]), &ProxyConfig::default());
        assert_eq!(plan.services.len(), expected, "{lb_ip} {ip_mode}");
    }
}

#[test]
fn health_check_node_port() {
    // TestHealthCheckNodePort: three LoadBalancer Services sharing
    // 10.20.30.41:80 and node port 3000, externalTrafficPolicy Local with
    // health-check node ports 30000 and 30001, and one with policy Cluster
    // (its health-check node port 30002 is ignored). nodePortAddresses
    // 100.101.102.0/24; interfaces 100.101.102.103/24 and 2001:db8::/64.
    let service = |name: &str, policy: &str, hc: u16| {
        format!(
            r#"---
apiVersion: v1
kind: Service
metadata: {{name: {name}, namespace: ns1}}
spec:
  type: LoadBalancer
  clusterIP: 10.20.30.41
  externalTrafficPolicy: {policy}
  healthCheckNodePort: {hc}
  ports: [{{name: p80, port: 80, protocol: TCP, nodePort: 3000}}]
"#
        )
    };
    let yaml = [
        service("valid-svc1", "Local", 30000),
        service("valid-svc2", "Local", 30001),
        service("invalid-svc3", "Cluster", 30002),
    ]
    .concat();
    let config = ProxyConfig {
        node_port_addresses: NodePortAddresses::Cidrs(
            parse_cidrs("--nodeport-addresses", &["100.101.102.0/24"]).unwrap(),
        ),
        ..ProxyConfig::default()
    };
    let (plan, warnings) =
        run_with_warnings(&yaml, &node(&["100.101.102.103", "2001:db8::"]), &config);
    // The shared ClusterIP and node-port virtual servers are planned once
    // (kube-proxy syncs the same VS three times); the others are reported.
    assert!(
        warnings.iter().all(|w| w.message.contains("already used")),
        "{warnings:?}"
    );
    assert_eq!(
        vs(&plan),
        [
            "Inet { protocol: Tcp, addr: 10.20.30.41:80 } -> ",
            "Inet { protocol: Tcp, addr: 100.101.102.103:3000 } -> ",
        ]
    );
    // The health-check node port set holds only the valid ports.
    assert_eq!(
        set(&plan, "KUBE-HEALTH-CHECK-NODE-PORT"),
        ["30000", "30001"]
    );
    let tables = &plan.iptables[&Family::Inet];
    let node_port_chain = [
        chain(&tables.nat.text(), "KUBE-NODE-PORT"),
        chain(&tables.filter.text(), "KUBE-NODE-PORT"),
    ]
    .concat();
    assert_eq!(
        node_port_chain,
        [
            "RETURN KUBE-NODE-PORT-LOCAL-TCP",
            "KUBE-MARK-MASQ KUBE-NODE-PORT-TCP",
            "ACCEPT KUBE-HEALTH-CHECK-NODE-PORT",
        ]
    );
}

#[test]
fn only_local_load_balancing() {
    // TestOnlyLocalLoadBalancing: externalTrafficPolicy Local, one local
    // and one remote endpoint: the LB VS gets only the local one; the LB
    // entry is also in KUBE-LOAD-BALANCER-LOCAL (RETURN, no masquerade).
    let yaml = r#"
apiVersion: v1
kind: Service
metadata: {name: svc1, namespace: ns1}
spec:
  type: LoadBalancer
  clusterIP: 10.20.30.41
  externalTrafficPolicy: Local
  ports: [{name: p80, port: 80, protocol: TCP, nodePort: 3001}]
status: {loadBalancer: {ingress: [{ip: 1.2.3.4}]}}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: svc1-1, namespace: ns1, labels: {kubernetes.io/service-name: svc1}}
addressType: IPv4
endpoints:
- {addresses: [10.180.0.1], nodeName: test-hostname}
- {addresses: [10.180.1.1], nodeName: other-node}
ports: [{name: p80, port: 80, protocol: TCP}]
"#;
    let plan = run(yaml, &node(&[]), &ProxyConfig::default());
    assert_eq!(plan.services.len(), 2);
    assert_eq!(
        dests(&plan, "1.2.3.4:80/tcp"),
        [("10.180.0.1:80".to_owned(), 1)]
    );
    assert_eq!(set(&plan, "KUBE-LOAD-BALANCER"), ["1.2.3.4,tcp:80"]);
    assert_eq!(set(&plan, "KUBE-LOAD-BALANCER-LOCAL"), ["1.2.3.4,tcp:80"]);
    let nat = &plan.iptables[&Family::Inet].nat.text();
    assert_eq!(
        chain(nat, "KUBE-SERVICES"),
        [
            "RETURN -s 127.0.0.0/8",
            "KUBE-LOAD-BALANCER KUBE-LOAD-BALANCER",
            "KUBE-MARK-MASQ KUBE-CLUSTER-IP",
            "KUBE-NODE-PORT",
            "ACCEPT KUBE-CLUSTER-IP",
            "ACCEPT KUBE-LOAD-BALANCER",
        ]
    );
    assert_eq!(
        chain(nat, "KUBE-LOAD-BALANCER"),
        ["RETURN KUBE-LOAD-BALANCER-LOCAL", "KUBE-MARK-MASQ"]
    );
}
