//! The cases one by one: a one-endpoint change, virtual-server claimants
//! taking over, shared members, a family appearing, a new node context,
//! kube-proxy's no-local-endpoints metric, health-check facts.

use std::{
    collections::{BTreeMap, BTreeSet},
    sync::Arc,
};

use crate::cluster::objects::{EndpointSlice, Service};
use ipset_netlink::Entry;
use ipvs_netlink::{Family, ServiceKey};

use super::sorted;
use crate::{
    cluster::{ServiceName, Snapshot},
    config::ProxyConfig,
    model::NodeContext,
    plan::{self, IncrementalPlanner, PlanChanges},
    source::manifests,
};
use std::net::IpAddr;

fn node() -> NodeContext {
    let mut node = NodeContext::new("node-1");
    node.node_ips = vec!["192.168.1.10".parse().unwrap()];
    node.primary_ips = node.node_ips.clone();
    node
}

/// Parses YAML into (Services by name, slices by Service name).
fn objects(yaml: &str) -> (Vec<Service>, Vec<EndpointSlice>) {
    let (snapshot, warnings) = manifests::parse(yaml, "t.yaml");
    assert!(warnings.is_empty(), "{warnings:?}");
    (
        unshare(snapshot.services),
        unshare(snapshot.endpoint_slices),
    )
}

fn unshare<T: Clone>(list: Vec<Arc<T>>) -> Vec<T> {
    list.into_iter().map(Arc::unwrap_or_clone).collect()
}

fn cluster_ip_service(i: usize, ip: &str) -> String {
    format!(
        "---\napiVersion: v1\nkind: Service\nmetadata: {{name: svc-{i}, namespace: ns}}\n\
         spec: {{clusterIP: {ip}, ports: [{{name: http, port: 80}}]}}\n"
    )
}

fn slice_yaml(service: &str, endpoints: &[(&str, &str)]) -> String {
    let list: Vec<String> = endpoints
        .iter()
        .map(|(ip, node)| format!("{{addresses: [{ip}], nodeName: {node}}}"))
        .collect();
    format!(
        "---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n\
         metadata: {{name: {service}-1, namespace: ns, labels: {{kubernetes.io/service-name: {service}}}}}\n\
         addressType: IPv4\nports: [{{name: http, port: 8080}}]\nendpoints: [{}]\n",
        list.join(", ")
    )
}

fn push_all(planner: &mut IncrementalPlanner, services: &[Service], slices: &[EndpointSlice]) {
    for service in services {
        let name = ServiceName::of(service);
        let mine: Vec<&EndpointSlice> = slices
            .iter()
            .filter(|s| ServiceName::of_slice(s).as_ref() == Some(&name))
            .collect();
        let warnings = planner.update(&name, Some(service), &mine);
        assert!(warnings.is_empty(), "{warnings:?}");
    }
}

#[test]
fn one_endpoint_change_lists_one_virtual_server() {
    let mut yaml = String::new();
    for i in 0..50 {
        yaml += &cluster_ip_service(i, &format!("10.96.0.{}", i + 1));
        yaml += &slice_yaml(
            &format!("svc-{i}"),
            &[("10.244.1.1", "node-2"), ("10.244.1.2", "node-2")],
        );
    }
    let (services, slices) = objects(&yaml);
    let mut planner = IncrementalPlanner::new(node(), ProxyConfig::default());
    push_all(&mut planner, &services, &slices);
    assert_eq!(planner.take_changes(), PlanChanges::All);
    assert_eq!(planner.take_changes(), PlanChanges::None);

    let (_, changed) = objects(&slice_yaml(
        "svc-7",
        &[("10.244.1.1", "node-2"), ("10.244.1.3", "node-2")],
    ));
    let name = ServiceName::new("ns", "svc-7");
    let warnings = planner.update(&name, Some(&services[7]), &[&changed[0]]);
    assert!(warnings.is_empty());
    let key = ServiceKey::tcp("10.96.0.8:80".parse().unwrap());
    let PlanChanges::Some(keys) = planner.take_changes() else {
        panic!("expected a partial change");
    };
    assert_eq!(keys.services, BTreeSet::from([key]));
    assert!(
        keys.bind_addrs.is_empty() && keys.ipset_entries.is_empty() && keys.iptables.is_empty()
    );
    let servers: Vec<String> = planner.plan().services[&key]
        .real_servers
        .iter()
        .map(|r| r.addr.to_string())
        .collect();
    assert_eq!(servers, ["10.244.1.1:8080", "10.244.1.3:8080"]);
    // The same objects again change nothing.
    planner.update(&name, Some(&services[7]), &[&changed[0]]);
    assert_eq!(planner.take_changes(), PlanChanges::None);
}

#[test]
fn the_first_claimant_wins_and_the_next_takes_over() {
    // Three Services on one ClusterIP:port, one address bound.
    let yaml = [
        cluster_ip_service(1, "10.96.0.1"),
        cluster_ip_service(2, "10.96.0.1"),
        cluster_ip_service(3, "10.96.0.1"),
    ]
    .concat();
    let (services, _) = objects(&yaml);
    let mut planner = IncrementalPlanner::new(node(), ProxyConfig::default());
    // Added last to first: each newcomer takes over.
    assert!(
        planner
            .update(&ServiceName::of(&services[2]), Some(&services[2]), &[])
            .is_empty()
    );
    let warnings = planner.update(&ServiceName::of(&services[1]), Some(&services[1]), &[]);
    assert_eq!(
        warnings.iter().map(ToString::to_string).collect::<Vec<_>>(),
        [
            "Service ns/svc-3: virtual server 10.96.0.1:80/tcp is already used by ns/svc-2:http; skipped"
        ]
    );
    planner.update(&ServiceName::of(&services[0]), Some(&services[0]), &[]);
    let key = ServiceKey::tcp("10.96.0.1:80".parse().unwrap());
    assert_eq!(planner.plan().services[&key].origin, "ns/svc-1:http");
    assert_eq!(
        sorted(planner.warnings())
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        [
            "Service ns/svc-2: virtual server 10.96.0.1:80/tcp is already used by ns/svc-1:http; skipped",
            "Service ns/svc-3: virtual server 10.96.0.1:80/tcp is already used by ns/svc-1:http; skipped",
        ]
    );
    let (want, _) = plan::plan(
        &Snapshot {
            services: services.iter().cloned().map(Arc::new).collect(),
            ..Snapshot::default()
        },
        &node(),
        &ProxyConfig::default(),
    );
    assert_eq!(planner.plan(), &want);
    planner.take_changes();
    // The winner goes: the next one takes over, the address stays bound.
    planner.update(&ServiceName::of(&services[0]), None, &[]);
    assert_eq!(planner.plan().services[&key].origin, "ns/svc-2:http");
    let PlanChanges::Some(keys) = planner.take_changes() else {
        panic!("expected a partial change");
    };
    assert_eq!(keys.services, BTreeSet::from([key]));
    assert!(keys.bind_addrs.is_empty(), "{keys:?}");
    assert!(
        planner
            .plan()
            .bind_addrs
            .contains(&"10.96.0.1".parse().unwrap())
    );
    planner.update(&ServiceName::of(&services[1]), None, &[]);
    planner.update(&ServiceName::of(&services[2]), None, &[]);
    assert!(planner.plan().services.is_empty() && planner.plan().bind_addrs.is_empty());
    assert!(planner.warnings().is_empty());
}

#[test]
fn members_shared_by_services_stay_until_the_last_goes() {
    // A local pod backing two Services on the same target port: one
    // KUBE-LOOP-BACK member; an external IP of both, on different ports.
    let yaml = format!(
        "{}{}{}{}",
        "---\napiVersion: v1\nkind: Service\nmetadata: {name: a, namespace: ns}\n\
         spec: {clusterIP: 10.96.0.1, externalIPs: [203.0.113.1], ports: [{name: http, port: 80}]}\n",
        "---\napiVersion: v1\nkind: Service\nmetadata: {name: b, namespace: ns}\n\
         spec: {clusterIP: 10.96.0.2, externalIPs: [203.0.113.1], ports: [{name: http, port: 81}]}\n",
        slice_yaml("a", &[("10.244.0.5", "node-1")]),
        slice_yaml("b", &[("10.244.0.5", "node-1")]),
    );
    let (services, slices) = objects(&yaml);
    let mut planner = IncrementalPlanner::new(node(), ProxyConfig::default());
    push_all(&mut planner, &services, &slices);
    let loop_back: Entry = "10.244.0.5,tcp:8080,10.244.0.5".parse().unwrap();
    let external: IpAddr = "203.0.113.1".parse().unwrap();
    let has_member = |p: &IncrementalPlanner| {
        p.plan().ipsets["KUBE-LOOP-BACK"]
            .entries
            .contains(&loop_back)
    };
    assert!(has_member(&planner));
    assert!(planner.plan().bind_addrs.contains(&external));
    planner.take_changes();
    planner.update(&ServiceName::new("ns", "a"), None, &[&slices[0]]);
    assert!(has_member(&planner));
    assert!(planner.plan().bind_addrs.contains(&external));
    let PlanChanges::Some(keys) = planner.take_changes() else {
        panic!("expected a partial change");
    };
    assert!(!keys.bind_addrs.contains(&external), "{keys:?}");
    assert!(
        !keys
            .ipset_entries
            .get("KUBE-LOOP-BACK")
            .is_some_and(|e| e.contains(&loop_back))
    );
    planner.update(&ServiceName::new("ns", "b"), None, &[&slices[1]]);
    assert!(!has_member(&planner));
    assert!(planner.plan().bind_addrs.is_empty());
    let (want, _) = plan::plan(&Snapshot::default(), &node(), &ProxyConfig::default());
    assert_eq!(planner.plan(), &want);
}

#[test]
fn a_first_ipv6_service_changes_everything() {
    let yaml = "apiVersion: v1\nkind: Service\nmetadata: {name: v6, namespace: ns}\n\
                spec: {clusterIP: 'fd00:96::1', ports: [{port: 80}]}\n";
    let (services, _) = objects(yaml);
    let mut planner = IncrementalPlanner::new(node(), ProxyConfig::default());
    planner.take_changes();
    assert!(!planner.plan().ipsets.contains_key("KUBE-6-CLUSTER-IP"));
    planner.update(&ServiceName::new("ns", "v6"), Some(&services[0]), &[]);
    assert_eq!(planner.take_changes(), PlanChanges::All);
    assert_eq!(planner.plan().ipsets["KUBE-6-CLUSTER-IP"].entries.len(), 1);
    assert!(planner.plan().iptables.contains_key(&Family::Inet6));
    planner.update(&ServiceName::new("ns", "v6"), None, &[]);
    assert_eq!(planner.take_changes(), PlanChanges::All);
    let (want, _) = plan::plan(&Snapshot::default(), &node(), &ProxyConfig::default());
    assert_eq!(planner.plan(), &want);
}

#[test]
fn a_new_node_context_replans_everything() {
    let yaml = "apiVersion: v1\nkind: Service\nmetadata: {name: np, namespace: ns}\n\
                spec: {type: NodePort, clusterIP: 10.96.0.1, ports: [{port: 80, nodePort: 30080}]}\n";
    let (services, _) = objects(yaml);
    let mut planner = IncrementalPlanner::new(node(), ProxyConfig::default());
    planner.update(&ServiceName::new("ns", "np"), Some(&services[0]), &[]);
    planner.take_changes();
    assert!(planner.set_node(node()).is_empty());
    assert_eq!(planner.take_changes(), PlanChanges::None, "same node");
    let mut moved = node();
    moved.node_ips.push("192.168.2.10".parse().unwrap());
    planner.set_node(moved.clone());
    assert_eq!(planner.take_changes(), PlanChanges::All);
    assert!(
        planner
            .plan()
            .services
            .contains_key(&ServiceKey::tcp("192.168.2.10:30080".parse().unwrap()))
    );
    let snapshot = Snapshot {
        services: services.into_iter().map(Arc::new).collect(),
        ..Snapshot::default()
    };
    assert_eq!(
        planner.plan(),
        &plan::plan(&snapshot, &moved, &ProxyConfig::default()).0
    );
}

/// kube-proxy's TestNoEndpointsMetric (pkg/proxy/ipvs/proxier_test.go): a
/// NodePort Service with local policies, endpoints here or elsewhere.
#[test]
fn no_local_endpoints_like_kube_proxy() {
    /// internalTrafficPolicy, externalTrafficPolicy, endpoints (address,
    /// node), the expected internal and external counts.
    type Case<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)], usize, usize);
    let cases: [Case; 7] = [
        (
            "Local",
            "Cluster",
            &[("10.0.1.1", "node-1"), ("10.0.1.2", "node-2")],
            0,
            0,
        ),
        (
            "Cluster",
            "Local",
            &[("10.0.1.1", "node-1"), ("10.0.1.2", "node-2")],
            0,
            0,
        ),
        (
            "Local",
            "Local",
            &[("10.0.1.1", "node-1"), ("10.0.1.2", "node-2")],
            0,
            0,
        ),
        (
            "Local",
            "Cluster",
            &[("10.0.1.1", "node-2"), ("10.0.1.2", "node-2")],
            1,
            0,
        ),
        (
            "Cluster",
            "Local",
            &[("10.0.1.1", "node-2"), ("10.0.1.2", "node-2")],
            0,
            1,
        ),
        (
            "Local",
            "Local",
            &[("10.0.1.1", "node-2"), ("10.0.1.2", "node-2")],
            1,
            1,
        ),
        ("Local", "Local", &[], 0, 0),
    ];
    for (internal, external, endpoints, want_internal, want_external) in cases {
        let yaml = format!(
            "apiVersion: v1\nkind: Service\nmetadata: {{name: svc, namespace: ns}}\n\
             spec: {{type: NodePort, clusterIP: 172.30.1.1, internalTrafficPolicy: {internal}, \
             externalTrafficPolicy: {external}, ports: [{{name: p80, port: 80, nodePort: 30000}}]}}\n\
             ---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n\
             metadata: {{name: svc-1, namespace: ns, labels: {{kubernetes.io/service-name: svc}}}}\n\
             addressType: IPv4\nports: [{{name: p80, port: 80}}]\nendpoints: [{}]\n",
            endpoints
                .iter()
                .map(|(ip, node)| format!("{{addresses: [{ip}], nodeName: {node}}}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let (services, slices) = objects(&yaml);
        let mut planner = IncrementalPlanner::new(node(), ProxyConfig::default());
        push_all(&mut planner, &services, &slices);
        let counts = planner
            .no_local_endpoints()
            .get(&Family::Inet)
            .copied()
            .unwrap_or_default();
        assert_eq!(
            (counts.internal, counts.external),
            (want_internal, want_external),
            "ITP {internal}, ETP {external}, {endpoints:?}"
        );
    }
}

#[test]
fn health_check_ports_and_local_ready_endpoints() {
    let yaml = "apiVersion: v1\nkind: Service\nmetadata: {name: lb, namespace: ns}\n\
                spec: {type: LoadBalancer, clusterIP: 10.96.0.9, externalTrafficPolicy: Local, \
                healthCheckNodePort: 32000, ports: [{name: http, port: 80, nodePort: 30080}, \
                {name: https, port: 443, nodePort: 30443}]}\n\
                ---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n\
                metadata: {name: lb-1, namespace: ns, labels: {kubernetes.io/service-name: lb}}\n\
                addressType: IPv4\nports: [{name: http, port: 8080}, {name: https, port: 8443}]\n\
                endpoints: [{addresses: [10.244.0.1], nodeName: node-1}, \
                {addresses: [10.244.0.2], nodeName: node-1, conditions: {ready: false}}, \
                {addresses: [10.244.0.3], nodeName: node-2}]\n";
    let (services, slices) = objects(yaml);
    let mut planner = IncrementalPlanner::new(node(), ProxyConfig::default());
    push_all(&mut planner, &services, &slices);
    let name = ServiceName::new("ns", "lb");
    assert_eq!(
        planner.health_check_ports(),
        BTreeMap::from([(32000, name.clone())])
    );
    // One local ready pod, counted once over both ports.
    assert_eq!(
        planner.local_endpoints(),
        BTreeMap::from([(name.clone(), 1)])
    );
    assert_eq!(planner.local_ready(&name), 1);
    planner.update(&name, None, &[]);
    assert!(planner.health_check_ports().is_empty() && planner.local_endpoints().is_empty());
    assert_eq!(planner.local_ready(&name), 0);
}
