//! Table-style tests mirroring kube-proxy's pkg/proxy/ipvs/proxier_test.go;
//! the addresses and expected values are those of the kube-proxy tests.

use std::net::IpAddr;

use super::*;
use crate::{
    config::{ProxyConfig, parse_cidrs},
    model::NodeContext,
    source::manifests,
};

mod kube_proxy_endpoints;
mod kube_proxy_services;
mod own_addresses;

fn node(ips: &[&str]) -> NodeContext {
    let mut node = NodeContext::new("test-hostname");
    node.node_ips = ips.iter().map(|ip| ip.parse().unwrap()).collect();
    node.primary_ips = node.node_ips.iter().take(1).copied().collect();
    node
}

fn run(yaml: &str, node: &NodeContext, config: &ProxyConfig) -> KernelPlan {
    let (snapshot, warnings) = manifests::parse(yaml, "t.yaml");
    assert!(warnings.is_empty(), "{warnings:?}");
    let (plan, warnings) = plan(&snapshot, node, config);
    assert!(warnings.is_empty(), "{warnings:?}");
    plan
}

/// `ADDR:PORT/PROTO -> [real servers]` lines, like kube-proxy's fake IPVS.
fn vs(plan: &KernelPlan) -> Vec<String> {
    plan.services
        .values()
        .map(|s| {
            let rs: Vec<String> = s.real_servers.iter().map(|r| r.addr.to_string()).collect();
            format!("{:?} -> {}", s.service.key, rs.join(","))
        })
        .collect()
}

/// The real servers of the virtual server `key` (`ADDR:PORT/PROTO`, e.g.
/// `172.20.1.1:80/tcp`) as `(ADDR:PORT, weight)`, like kube-proxy's
/// `ipvs.GetRealServers`.
fn dests(plan: &KernelPlan, key: &str) -> Vec<(String, u32)> {
    let found = plan.services.values().find(|s| {
        let ServiceKey::Inet { protocol, addr } = s.service.key else {
            return false;
        };
        format!("{addr}/{}", format!("{protocol:?}").to_lowercase()) == key
    });
    found
        .unwrap_or_else(|| panic!("no virtual server {key}: {:?}", vs(plan)))
        .real_servers
        .iter()
        .map(|r| (r.addr.to_string(), r.weight))
        .collect()
}

/// Like [`run`], but returns the planner's warnings instead of failing on
/// them.
fn run_with_warnings(
    yaml: &str,
    node: &NodeContext,
    config: &ProxyConfig,
) -> (KernelPlan, Vec<crate::model::Warning>) {
    let (snapshot, warnings) = manifests::parse(yaml, "t.yaml");
    assert!(warnings.is_empty(), "{warnings:?}");
    plan(&snapshot, node, config)
}

/// The `-A CHAIN` rules of an iptables-restore text as kube-proxy's
/// `ExpectedIptablesChain` sees them: `JUMP [MATCH-SET] [-s SOURCE]`.
fn chain(table: &str, chain: &str) -> Vec<String> {
    let prefix = format!("-A {chain} ");
    table
        .lines()
        .filter_map(|line| line.strip_prefix(&prefix))
        .map(|rule| {
            let words: Vec<&str> = rule.split_whitespace().collect();
            let after = |flag: &str| {
                words
                    .iter()
                    .position(|w| *w == flag)
                    .and_then(|i| words.get(i + 1))
                    .copied()
            };
            let mut out = after("-j").unwrap_or_default().to_owned();
            if let Some(set) = after("--match-set") {
                out = format!("{out} {set}");
            }
            if let Some(source) = after("-s") {
                out = format!("{out} -s {source}");
            }
            out
        })
        .collect()
}

fn set(plan: &KernelPlan, name: &str) -> Vec<String> {
    plan.ipsets[name]
        .entries
        .iter()
        .map(ToString::to_string)
        .collect()
}

fn svc(kind: &str, extra: &str, ep_node: &str) -> String {
    format!(
        r#"
apiVersion: v1
kind: Service
metadata: {{name: svc1, namespace: ns1}}
spec:
  type: {kind}
  clusterIP: 10.20.30.41
  ports: [{{name: p80, port: 80, nodePort: 3001}}]
  {extra}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {{name: svc1-1, namespace: ns1, labels: {{kubernetes.io/service-name: svc1}}}}
addressType: IPv4
endpoints: [{{addresses: [10.180.0.1], nodeName: {ep_node}}}]
ports: [{{name: p80, port: 80}}]
"#
    )
}

#[test]
fn cluster_ip() {
    let plan = run(
        &svc("ClusterIP", "", "other"),
        &node(&["100.101.102.103"]),
        &ProxyConfig::default(),
    );
    assert_eq!(plan.services.len(), 1);
    let planned = plan.services.values().next().unwrap();
    assert_eq!(planned.origin, "ns1/svc1:p80");
    assert_eq!(planned.service.scheduler.name(), "rr");
    assert_eq!(planned.service.flags.bits(), 0);
    assert_eq!(planned.real_servers[0].weight, 1);
    assert_eq!(set(&plan, "KUBE-CLUSTER-IP"), ["10.20.30.41,tcp:80"]);
    assert_eq!(set(&plan, "KUBE-IPVS-IPS"), ["10.20.30.41"]);
    assert!(set(&plan, "KUBE-LOOP-BACK").is_empty());
    assert_eq!(
        plan.bind_addrs
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        ["10.20.30.41"]
    );
}

#[test]
fn node_port_ipv4() {
    // TestNodePortIPv4: node IPs 100.101.102.103 (+ loopback, skipped).
    let plan = run(
        &svc("NodePort", "", "other"),
        &node(&["100.101.102.103", "127.0.0.1"]),
        &ProxyConfig::default(),
    );
    assert_eq!(
        vs(&plan),
        [
            "Inet { protocol: Tcp, addr: 10.20.30.41:80 } -> 10.180.0.1:80",
            "Inet { protocol: Tcp, addr: 100.101.102.103:3001 } -> 10.180.0.1:80",
        ]
    );
    assert_eq!(set(&plan, "KUBE-NODE-PORT-TCP"), ["3001"]);
    // NodePort addresses are never bound.
    assert!(
        !plan
            .bind_addrs
            .contains(&"100.101.102.103".parse::<IpAddr>().unwrap())
    );
}

#[test]
fn node_port_ipv6() {
    // TestNodePortIPv6: link-local and loopback addresses are not used.
    let yaml = r#"
apiVersion: v1
kind: Service
metadata: {name: svc1, namespace: ns1}
spec: {type: NodePort, clusterIP: "2020::1", ports: [{name: p80, port: 80, nodePort: 3001}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: svc1-1, namespace: ns1, labels: {kubernetes.io/service-name: svc1}}
addressType: IPv6
endpoints: [{addresses: ["1002:ab8::2:1"]}]
ports: [{name: p80, port: 80}]
"#;
    let plan = run(
        yaml,
        &node(&["2001:db8::1:1", "fe80::1", "::1"]),
        &ProxyConfig::default(),
    );
    assert_eq!(
        vs(&plan),
        [
            "Inet { protocol: Tcp, addr: [2001:db8::1:1]:3001 } -> [1002:ab8::2:1]:80",
            "Inet { protocol: Tcp, addr: [2020::1]:80 } -> [1002:ab8::2:1]:80",
        ]
    );
    assert_eq!(set(&plan, "KUBE-6-NODE-PORT-TCP"), ["3001"]);
    assert_eq!(plan.ipsets["KUBE-6-CLUSTER-IP"].family, Family::Inet6);
    assert!(
        plan.iptables[&Family::Inet6]
            .nat
            .text()
            .contains("-A KUBE-SERVICES -s ::1/128 -j RETURN\n")
    );
}

#[test]
fn only_local_external_ips_and_node_ports() {
    // TestOnlyLocalExternalIPs / TestOnlyLocalNodePorts.
    let yaml = svc(
        "NodePort",
        "externalTrafficPolicy: Local\n  externalIPs: [50.60.70.81]",
        "test-hostname",
    );
    let plan = run(&yaml, &node(&["100.101.102.103"]), &ProxyConfig::default());
    assert_eq!(set(&plan, "KUBE-EXTERNAL-IP-LOCAL"), ["50.60.70.81,tcp:80"]);
    assert!(set(&plan, "KUBE-EXTERNAL-IP").is_empty());
    assert_eq!(set(&plan, "KUBE-NODE-PORT-LOCAL-TCP"), ["3001"]);
    assert_eq!(set(&plan, "KUBE-NODE-PORT-TCP"), ["3001"]);
    assert_eq!(
        set(&plan, "KUBE-LOOP-BACK"),
        ["10.180.0.1,tcp:80,10.180.0.1"]
    );
    assert!(
        plan.bind_addrs
            .contains(&"50.60.70.81".parse::<IpAddr>().unwrap())
    );
    let nat = &plan.iptables[&Family::Inet].nat.text();
    assert!(nat.contains(
        "-A KUBE-SERVICES -m comment --comment \"Kubernetes service external ip + port with externalTrafficPolicy=local\" -m set --match-set KUBE-EXTERNAL-IP-LOCAL dst,dst -m physdev ! --physdev-is-in -m addrtype ! --src-type LOCAL -j ACCEPT\n"
    ));
    assert!(nat.contains(
        "-A KUBE-NODE-PORT -p tcp -m comment --comment \"Kubernetes nodeport TCP port with externalTrafficPolicy=local\" -m set --match-set KUBE-NODE-PORT-LOCAL-TCP dst -j RETURN\n"
    ));
}

#[test]
fn load_balancer_source_ranges() {
    // TestLoadBalancerSourceRanges: LB 1.2.3.4, source 10.0.0.0/8, node IP
    // outside the range: DROP from the node in KUBE-IPVS-OUT-FILTER.
    let yaml = svc(
        "LoadBalancer",
        "loadBalancerSourceRanges: [10.0.0.0/8]\nstatus: {loadBalancer: {ingress: [{ip: 1.2.3.4}]}}",
        "other",
    );
    let plan = run(&yaml, &node(&["100.101.102.103"]), &ProxyConfig::default());
    assert_eq!(set(&plan, "KUBE-LOAD-BALANCER"), ["1.2.3.4,tcp:80"]);
    assert_eq!(set(&plan, "KUBE-LOAD-BALANCER-FW"), ["1.2.3.4,tcp:80"]);
    assert_eq!(
        set(&plan, "KUBE-LOAD-BALANCER-SOURCE-CIDR"),
        ["1.2.3.4,tcp:80,10.0.0.0/8"]
    );
    assert!(set(&plan, "KUBE-LOAD-BALANCER-SOURCE-IP").is_empty());
    let filter = &plan.iptables[&Family::Inet].filter.text();
    assert!(filter.contains(
        "-A KUBE-PROXY-FIREWALL -m comment --comment \"Kubernetes service load balancer ip + port for load balancer with sourceRange\" -m set --match-set KUBE-LOAD-BALANCER-FW dst,dst -j KUBE-SOURCE-RANGES-FIREWALL\n"
    ));
    assert!(filter.contains("-A KUBE-IPVS-OUT-FILTER -s 1.2.3.4 -m ipvs --vaddr 1.2.3.4 --vproto tcp --vport 80 -j DROP\n"));
    // A node inside the range gets the SOURCE-IP entry instead.
    let plan = run(&yaml, &node(&["10.1.2.3"]), &ProxyConfig::default());
    assert_eq!(
        set(&plan, "KUBE-LOAD-BALANCER-SOURCE-IP"),
        ["1.2.3.4,tcp:80,1.2.3.4"]
    );
    assert!(
        !plan.iptables[&Family::Inet]
            .filter
            .text()
            .contains("KUBE-IPVS-OUT-FILTER -s")
    );
}

#[test]
fn session_affinity_and_mh() {
    // TestSessionAffinity: persistent, timeout 10800 by default.
    let yaml = svc("NodePort", "sessionAffinity: ClientIP", "other");
    let config = ProxyConfig {
        scheduler: "mh".into(),
        ..ProxyConfig::default()
    };
    let plan = run(&yaml, &node(&["100.101.102.103"]), &config);
    for planned in plan.services.values() {
        assert_eq!(planned.service.flags.bits(), 0x1 | 0x10);
        assert_eq!(planned.service.timeout, 10800);
    }
}

#[test]
fn masquerade_rule_variants() {
    // TestMasqueradeRule and the local-detector variant.
    let yaml = svc("ClusterIP", "", "other");
    let head = "-A KUBE-SERVICES -m comment --comment \"Kubernetes service cluster ip + port for masquerade purpose\" -m set --match-set KUBE-CLUSTER-IP";
    let cases = [
        (
            ProxyConfig::default(),
            format!("{head} src,dst -j KUBE-MARK-MASQ\n"),
        ),
        (
            ProxyConfig {
                masquerade_all: true,
                ..ProxyConfig::default()
            },
            format!("{head} dst,dst -j KUBE-MARK-MASQ\n"),
        ),
        (
            ProxyConfig {
                cluster_cidrs: parse_cidrs("--cluster-cidr", &["10.244.0.0/16"]).unwrap(),
                ..ProxyConfig::default()
            },
            format!("{head} dst,dst ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ\n"),
        ),
    ];
    for (config, want) in cases {
        let plan = run(&yaml, &node(&["100.101.102.103"]), &config);
        assert!(
            plan.iptables[&Family::Inet].nat.text().contains(&want),
            "{want}"
        );
    }
    let config = ProxyConfig {
        random_fully: false,
        ..ProxyConfig::default()
    };
    let nat = run(&yaml, &node(&[]), &config).iptables[&Family::Inet]
        .nat
        .text();
    assert!(
        nat.contains("-j MASQUERADE\n-A KUBE-MARK-MASQ -j MARK --or-mark 0x00004000\nCOMMIT\n")
    );
}

#[test]
fn no_match_set_rule_for_an_empty_set() {
    let plan = run(
        &svc("ClusterIP", "", "other"),
        &node(&[]),
        &ProxyConfig::default(),
    );
    let nat = &plan.iptables[&Family::Inet].nat.text();
    assert!(!nat.contains("--match-set KUBE-LOAD-BALANCER "));
    assert!(!nat.contains("--match-set KUBE-LOOP-BACK"));
    assert!(
        nat.contains("-A KUBE-SERVICES -m set --match-set KUBE-CLUSTER-IP dst,dst -j ACCEPT\n")
    );
}

#[test]
fn example_manifests() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/manifests");
    let (snapshot, warnings) = manifests::load(&root.join("demo.yaml")).unwrap();
    assert!(warnings.is_empty());
    let (kp, warnings) = plan(
        &snapshot,
        &NodeContext::new("node-1"),
        &ProxyConfig::default(),
    );
    assert!(warnings.is_empty());
    let table = print::render_ipvs(&kp);
    assert_eq!(
        table,
        "IP Virtual Server version 1.2.1 (size=4096)\n\
         Prot LocalAddress:Port Scheduler Flags\n  \
         -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n\
         TCP  10.96.197.40:8000 rr\n  \
         -> 10.244.1.2:80                Masq    1      0          0         \n  \
         -> 10.244.2.3:80                Masq    1      0          0         \n  \
         -> 10.244.3.4:80                Masq    1      0          0         \n"
    );

    let (snapshot, warnings) = manifests::load(&root.join("rich.yaml")).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    let node = NodeContext::resolve(
        "node-1",
        snapshot
            .nodes
            .iter()
            .find(|n| n.metadata.name.as_deref() == Some("node-1"))
            .map(AsRef::as_ref),
        crate::model::AddressSources::default(),
    );
    let (kp, warnings) = plan(&snapshot, &node, &ProxyConfig::default());
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert_eq!(
        (warnings[0].object.as_str(), warnings[0].field.as_str()),
        ("shop/broken", "spec.clusterIP")
    );
    assert_eq!(kp.services.len(), 9);
    assert!(!kp.services.values().any(|s| s.origin.contains("db")));
    assert_eq!(set(&kp, "KUBE-LOAD-BALANCER"), ["203.0.113.50,tcp:443"]);
    assert_eq!(set(&kp, "KUBE-HEALTH-CHECK-NODE-PORT"), ["32100"]);
    assert_eq!(set(&kp, "KUBE-6-CLUSTER-IP"), ["fd00:96::20,tcp:8080"]);
    let text = print::render(&kp);
    assert!(text.contains("TCP  10.96.10.10:80 rr persistent 600\n"));
    assert!(text.contains("create KUBE-NODE-PORT-TCP bitmap:port range 0-65535\nadd KUBE-NODE-PORT-TCP 30080\nadd KUBE-NODE-PORT-TCP 30443\n"));
}
