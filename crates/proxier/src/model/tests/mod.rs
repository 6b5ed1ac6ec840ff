use super::*;
use crate::cluster::fixtures;

mod hostile;
mod hostile_matrix;

fn build_model(yaml: &str, node: &NodeContext) -> (ClusterModel, Vec<Warning>) {
    build(&fixtures::snapshot(yaml), node)
}

fn node() -> NodeContext {
    let mut node = NodeContext::new("node-1");
    node.labels.insert(ZONE_LABEL.into(), "zone-a".into());
    node
}

fn addrs(list: &[&str]) -> Vec<SocketAddr> {
    list.iter().map(|a| a.parse().unwrap()).collect()
}

const DUAL: &str = r#"
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  clusterIP: 10.96.0.5
  clusterIPs: [10.96.0.5, "fd00:96::5"]
  ports: [{name: http, port: 80, targetPort: web}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-v4, namespace: shop, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
endpoints: [{addresses: [10.244.1.2], nodeName: node-1}, {addresses: [10.244.2.2], nodeName: node-2}]
ports: [{name: http, port: 8080, protocol: TCP}, {name: other, port: 9090}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-v6, namespace: shop, labels: {kubernetes.io/service-name: web}}
addressType: IPv6
endpoints: [{addresses: ["fd00:244::2"], nodeName: node-2}]
ports: [{name: http, port: 8080}]
"#;

#[test]
fn cluster_ips_per_family_and_named_target_ports() {
    let (model, warnings) = build_model(DUAL, &node());
    assert!(warnings.is_empty());
    assert_eq!(model.ports.len(), 2);
    let v4 = &model.ports[0];
    assert_eq!(
        (v4.family, v4.cluster_ip, v4.port),
        (Family::Inet, "10.96.0.5".parse().unwrap(), 80)
    );
    assert_eq!(v4.origin(), "shop/web:http");
    // targetPort "web" resolves through the slice port named like the
    // service port: 8080, not the "other" port.
    assert_eq!(
        v4.internal_destinations(&node()),
        addrs(&["10.244.1.2:8080", "10.244.2.2:8080"])
    );
    assert!(v4.endpoints[0].local && !v4.endpoints[1].local);
    let v6 = &model.ports[1];
    assert_eq!(v6.family, Family::Inet6);
    assert_eq!(
        v6.internal_destinations(&node()),
        addrs(&["[fd00:244::2]:8080"])
    );
}

#[test]
fn skipped_services_give_no_warning() {
    let yaml = r#"
apiVersion: v1
kind: Service
metadata: {name: headless}
spec: {clusterIP: None, ports: [{port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: ext}
spec: {type: ExternalName, externalName: example.com}
---
apiVersion: v1
kind: Service
metadata: {name: other, labels: {service.kubernetes.io/service-proxy-name: foo}}
spec: {clusterIP: 10.96.0.9, ports: [{port: 80}]}
"#;
    let (model, warnings) = build_model(yaml, &node());
    assert!(model.ports.is_empty());
    assert!(warnings.is_empty());
}

#[test]
fn an_invalid_object_is_one_warning_and_is_skipped() {
    let yaml = r#"
apiVersion: v1
kind: Service
metadata: {name: bad, namespace: shop}
spec: {clusterIP: 10.96.0.300, ports: [{port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: badport, namespace: shop}
spec: {clusterIP: 10.96.0.7, ports: [{port: 80, protocol: ICMP}]}
---
apiVersion: v1
kind: Service
metadata: {name: good, namespace: shop}
spec: {clusterIP: 10.96.0.8, ports: [{port: 80}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: orphan, namespace: shop}
addressType: IPv4
endpoints: [{addresses: [10.244.1.2]}]
"#;
    let (model, warnings) = build_model(yaml, &node());
    assert_eq!(model.ports.len(), 1);
    assert_eq!(model.ports[0].name, "good");
    assert_eq!(
        warnings,
        vec![
            Warning::new(
                "EndpointSlice",
                "shop/orphan",
                "metadata.labels[kubernetes.io/service-name]",
                "missing: the slice belongs to no Service"
            ),
            Warning::new(
                "Service",
                "shop/bad",
                "spec.clusterIP",
                "\"10.96.0.300\" is not an IP address"
            ),
            Warning::new(
                "Service",
                "shop/badport",
                "spec.ports[0].protocol",
                "unsupported protocol \"ICMP\""
            ),
        ]
    );
}

#[test]
fn affinity_lb_ingress_and_policies() {
    let yaml = r#"
apiVersion: v1
kind: Service
metadata: {name: lb}
spec:
  type: LoadBalancer
  clusterIP: 10.96.0.20
  externalTrafficPolicy: Local
  healthCheckNodePort: 32000
  sessionAffinity: ClientIP
  loadBalancerSourceRanges: ["192.168.0.0/16", "fd00::/8"]
  ports: [{port: 80, nodePort: 30080}]
status:
  loadBalancer:
    ingress: [{ip: 1.2.3.4}, {ip: 1.2.3.5, ipMode: Proxy}, {hostname: lb.example.com}]
---
apiVersion: v1
kind: Service
metadata: {name: sticky}
spec:
  clusterIP: 10.96.0.21
  externalTrafficPolicy: Local
  sessionAffinity: ClientIP
  sessionAffinityConfig: {clientIP: {timeoutSeconds: 600}}
  ports: [{port: 80, protocol: UDP}]
"#;
    let (model, _) = build_model(yaml, &node());
    let lb = &model.ports[0];
    assert_eq!(
        lb.load_balancer_ips,
        vec!["1.2.3.4".parse::<IpAddr>().unwrap()]
    );
    assert_eq!(lb.affinity_timeout, Some(DEFAULT_AFFINITY_TIMEOUT));
    assert_eq!(lb.source_ranges, vec!["192.168.0.0/16".parse().unwrap()]);
    assert!(lb.external_policy_local);
    assert_eq!(lb.health_check_node_port, Some(32000));
    assert_eq!(lb.node_port, Some(30080));
    let sticky = &model.ports[1];
    assert_eq!(sticky.affinity_timeout, Some(600));
    assert_eq!(sticky.protocol, Protocol::Udp);
    // ETP Local on a Service that is not externally reachable is ignored.
    assert!(!sticky.external_policy_local);
}

fn endpoints_yaml(policy: &str, endpoints: &str) -> String {
    format!(
        r#"
apiVersion: v1
kind: Service
metadata: {{name: svc}}
spec:
  type: NodePort
  clusterIP: 10.96.0.30
  {policy}
  ports: [{{port: 80, nodePort: 30001}}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {{name: svc-1, labels: {{kubernetes.io/service-name: svc}}}}
addressType: IPv4
endpoints: {endpoints}
ports: [{{port: 80}}]
"#
    )
}

#[test]
fn external_policy_local_falls_back_to_cluster_endpoints() {
    let remote =
        "[{addresses: [10.0.1.1], nodeName: node-2}, {addresses: [10.0.1.2], nodeName: node-3}]";
    let (model, _) = build_model(
        &endpoints_yaml("externalTrafficPolicy: Local", remote),
        &node(),
    );
    let port = &model.ports[0];
    assert_eq!(
        port.external_destinations(&node()),
        addrs(&["10.0.1.1:80", "10.0.1.2:80"])
    );
    let mixed =
        "[{addresses: [10.0.1.1], nodeName: node-1}, {addresses: [10.0.1.2], nodeName: node-3}]";
    let (model, _) = build_model(
        &endpoints_yaml("externalTrafficPolicy: Local", mixed),
        &node(),
    );
    let port = &model.ports[0];
    assert_eq!(port.external_destinations(&node()), addrs(&["10.0.1.1:80"]));
    assert_eq!(
        port.internal_destinations(&node()),
        addrs(&["10.0.1.1:80", "10.0.1.2:80"])
    );
}

#[test]
fn internal_policy_local_has_no_fallback() {
    let yaml = r#"
apiVersion: v1
kind: Service
metadata: {name: svc}
spec: {clusterIP: 10.96.0.31, internalTrafficPolicy: Local, ports: [{port: 80}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: svc-1, labels: {kubernetes.io/service-name: svc}}
addressType: IPv4
endpoints: [{addresses: [10.0.1.1], nodeName: node-2}]
ports: [{port: 80}]
"#;
    let (model, _) = build_model(yaml, &node());
    assert!(model.ports[0].internal_destinations(&node()).is_empty());
    let (model, _) = build_model(yaml, &NodeContext::new("node-2"));
    assert_eq!(
        model.ports[0].internal_destinations(&NodeContext::new("node-2")),
        addrs(&["10.0.1.1:80"])
    );
}

#[test]
fn ready_then_serving_terminating_never_not_serving() {
    let eps = "[{addresses: [10.0.1.1], conditions: {ready: true}},
        {addresses: [10.0.1.2], conditions: {ready: false, serving: true, terminating: true}},
        {addresses: [10.0.1.3], conditions: {ready: false, serving: false, terminating: true}},
        {addresses: [10.0.1.4], conditions: {ready: false, serving: false, terminating: false}}]";
    let (model, _) = build_model(&endpoints_yaml("", eps), &node());
    assert_eq!(
        model.ports[0].internal_destinations(&node()),
        addrs(&["10.0.1.1:80"])
    );
    let eps =
        "[{addresses: [10.0.1.2], conditions: {ready: false, serving: true, terminating: true}},
        {addresses: [10.0.1.3], conditions: {ready: false, serving: false, terminating: true}},
        {addresses: [10.0.1.4], conditions: {ready: false, serving: false, terminating: false}}]";
    let (model, _) = build_model(&endpoints_yaml("", eps), &node());
    assert_eq!(
        model.ports[0].internal_destinations(&node()),
        addrs(&["10.0.1.2:80"])
    );
}

#[test]
fn a_duplicate_address_keeps_the_running_pod() {
    // A terminating pod's IP reused by a new pod, in either order, in one
    // slice or across two: the running one is kept (kube-proxy's rule).
    let yaml = |eps: &str| endpoints_yaml("externalTrafficPolicy: Local", eps);
    let old = "{addresses: [10.0.1.1], nodeName: node-2, conditions: {ready: false, serving: true, terminating: true}}";
    let new = "{addresses: [10.0.1.1], nodeName: node-1, conditions: {ready: true}}";
    for eps in [format!("[{old}, {new}]"), format!("[{new}, {old}]")] {
        let (model, _) = build_model(&yaml(&eps), &node());
        let port = &model.ports[0];
        assert_eq!(port.endpoints.len(), 1, "{eps}");
        assert!(port.endpoints[0].ready && port.endpoints[0].local, "{eps}");
        assert_eq!(port.external_destinations(&node()), addrs(&["10.0.1.1:80"]));
    }
    // Two running duplicates: the later one read (slice-name order).
    let two = format!(
        "{}---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n\
         metadata: {{name: svc-2, labels: {{kubernetes.io/service-name: svc}}}}\n\
         addressType: IPv4\nendpoints: [{{addresses: [10.0.1.1], nodeName: node-3}}]\n\
         ports: [{{port: 80}}]\n",
        yaml("[{addresses: [10.0.1.1], nodeName: node-1}]")
    );
    let (model, _) = build_model(&two, &node());
    assert_eq!(model.ports[0].endpoints.len(), 1);
    assert!(!model.ports[0].endpoints[0].local, "svc-2's, read last");
}

#[test]
fn topology_hints_and_same_node() {
    let eps =
        "[{addresses: [10.0.1.1], hints: {forZones: [{name: zone-a}], forNodes: [{name: node-1}]}},
        {addresses: [10.0.1.2], hints: {forZones: [{name: zone-b}], forNodes: [{name: node-2}]}},
        {addresses: [10.0.1.3], hints: {forZones: [{name: zone-a}], forNodes: [{name: node-3}]}}]";
    let (model, _) = build_model(&endpoints_yaml("", eps), &node());
    assert_eq!(
        model.ports[0].internal_destinations(&node()),
        addrs(&["10.0.1.1:80", "10.0.1.3:80"])
    );
    let (model, _) = build_model(
        &endpoints_yaml("trafficDistribution: PreferSameNode", eps),
        &node(),
    );
    assert_eq!(
        model.ports[0].internal_destinations(&node()),
        addrs(&["10.0.1.1:80"])
    );
    // A zone with no hinted endpoint, or an endpoint without hints: all.
    let other_zone = {
        let mut n = NodeContext::new("node-9");
        n.labels.insert(ZONE_LABEL.into(), "zone-c".into());
        n
    };
    assert_eq!(model.ports[0].internal_destinations(&other_zone).len(), 3);
    let eps =
        "[{addresses: [10.0.1.1], hints: {forZones: [{name: zone-a}]}}, {addresses: [10.0.1.2]}]";
    let (model, _) = build_model(&endpoints_yaml("", eps), &node());
    assert_eq!(model.ports[0].internal_destinations(&node()).len(), 2);
}
