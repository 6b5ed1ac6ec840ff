//! Hostile and broken input: bad entries are skipped one by one, each with
//! its own warning naming the field and the value; the rest is proxied.

use super::*;

fn ips(list: &[&str]) -> Vec<IpAddr> {
    list.iter().map(|a| a.parse().unwrap()).collect()
}

fn warn(object: &str, field: &str, message: &str) -> Warning {
    let kind = if object.ends_with("-eps") {
        "EndpointSlice"
    } else {
        "Service"
    };
    Warning::new(kind, object, field, message)
}

const SERVICES: &str = r#"
apiVersion: v1
kind: Service
metadata: {name: loop, namespace: h}
spec: {clusterIP: 127.0.0.1, ports: [{port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: dual, namespace: h}
spec: {clusterIPs: [0.0.0.0, "fd00:96::7"], ports: [{port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: ext, namespace: h}
spec:
  type: LoadBalancer
  clusterIP: 10.96.0.40
  externalIPs: [127.0.0.1, 203.0.113.9, "not\nan ip", 224.0.0.5, 169.254.169.254, 255.255.255.255, "::", 203.0.113.10]
  loadBalancerSourceRanges: ["10.0.0.0/8", "bogus"]
  ports: [{name: a, port: 80, nodePort: 30080}, {name: b, port: 81, protocol: ICMP}, {name: c, port: 70000}, {name: d, port: 82}]
status:
  loadBalancer:
    ingress: [{ip: 0.0.0.0}, {ip: 198.51.100.7}, {ip: "ff02::1"}, {hostname: lb.example.com}, {ip: 239.1.1.1}]
"#;

#[test]
fn every_bad_service_entry_is_its_own_warning_and_the_rest_is_proxied() {
    let (model, warnings) = build_model(SERVICES, &node());
    let names: Vec<_> = model
        .ports
        .iter()
        .map(|p| (p.name.as_str(), p.port_name.as_str(), p.cluster_ip))
        .collect();
    assert_eq!(
        names,
        [
            ("dual", "", "fd00:96::7".parse().unwrap()),
            ("ext", "a", "10.96.0.40".parse().unwrap()),
            ("ext", "d", "10.96.0.40".parse().unwrap()),
        ]
    );
    let ext = &model.ports[1];
    assert_eq!(ext.external_ips, ips(&["203.0.113.9", "203.0.113.10"]));
    assert_eq!(ext.load_balancer_ips, ips(&["198.51.100.7"]));
    assert_eq!(ext.source_ranges, vec!["10.0.0.0/8".parse().unwrap()]);
    assert_eq!(ext.node_port, Some(30080));
    let ext_warning = |field: &str, message: &str| warn("h/ext", field, message);
    assert_eq!(
        warnings,
        vec![
            warn(
                "h/loop",
                "spec.clusterIP",
                "127.0.0.1 is a loopback address; skipped"
            ),
            warn(
                "h/dual",
                "spec.clusterIPs[0]",
                "0.0.0.0 is an unspecified address; skipped"
            ),
            ext_warning(
                "spec.externalIPs[0]",
                "127.0.0.1 is a loopback address; skipped"
            ),
            ext_warning(
                "spec.externalIPs[2]",
                "\"not\\nan ip\" is not an IP address; skipped"
            ),
            ext_warning(
                "spec.externalIPs[3]",
                "224.0.0.5 is a multicast address; skipped"
            ),
            ext_warning(
                "spec.externalIPs[4]",
                "169.254.169.254 is a link-local address; skipped"
            ),
            ext_warning(
                "spec.externalIPs[5]",
                "255.255.255.255 is the broadcast address; skipped"
            ),
            ext_warning(
                "spec.externalIPs[6]",
                ":: is an unspecified address; skipped"
            ),
            ext_warning(
                "status.loadBalancer.ingress[0].ip",
                "0.0.0.0 is an unspecified address; skipped"
            ),
            ext_warning(
                "status.loadBalancer.ingress[2].ip",
                "ff02::1 is a multicast address; skipped"
            ),
            ext_warning(
                "status.loadBalancer.ingress[4].ip",
                "239.1.1.1 is a multicast address; skipped"
            ),
            ext_warning(
                "spec.loadBalancerSourceRanges[1]",
                "\"bogus\" is not a CIDR (not an IP address); skipped"
            ),
            ext_warning("spec.ports[1].protocol", "unsupported protocol \"ICMP\""),
            ext_warning("spec.ports[2].port", "70000 is not within 1-65535"),
        ]
    );
    // The log line escapes what the value carried.
    assert!(!warnings[3].to_string().contains('\n'));
}

#[test]
fn a_long_bad_value_is_cut_in_the_warning() {
    let long = "9".repeat(100_000);
    let yaml = format!(
        "apiVersion: v1\nkind: Service\nmetadata: {{name: s}}\nspec: {{clusterIP: 10.96.0.1, externalIPs: [\"{long}\"], ports: [{{port: 80}}]}}\n"
    );
    let (model, warnings) = build_model(&yaml, &node());
    assert_eq!(model.ports.len(), 1);
    assert!(model.ports[0].external_ips.is_empty());
    assert_eq!(warnings.len(), 1);
    assert!(warnings[0].message.chars().count() < Warning::MAX_VALUE_CHARS + 40);
    assert!(warnings[0].message.starts_with("\"999"));
}

#[test]
fn source_ranges_that_are_all_bad_close_the_load_balancer() {
    // Dropping every bad range would leave none: a load balancer open to
    // every source. Its addresses are skipped instead; the rest stays.
    let yaml = r#"
apiVersion: v1
kind: Service
metadata: {name: fw}
spec:
  type: LoadBalancer
  clusterIPs: [10.96.0.41, "fd00:96::41"]
  loadBalancerSourceRanges: ["10.0.0.0/33", "fd00::/64"]
  ports: [{port: 443, nodePort: 30443}]
status: {loadBalancer: {ingress: [{ip: 198.51.100.8}, {ip: "fd00:b::8"}]}}
"#;
    let (model, warnings) = build_model(yaml, &node());
    assert_eq!(model.ports.len(), 2);
    let (v4, v6) = (&model.ports[0], &model.ports[1]);
    assert!(v4.load_balancer_ips.is_empty());
    assert_eq!(v4.node_port, Some(30443));
    assert_eq!(v6.load_balancer_ips, ips(&["fd00:b::8"]));
    assert_eq!(v6.source_ranges, vec!["fd00::/64".parse().unwrap()]);
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert_eq!(warnings[0].field, "spec.loadBalancerSourceRanges[0]");
    assert_eq!(
        warnings[1],
        warn(
            "default/fw",
            "spec.loadBalancerSourceRanges",
            "no valid IPv4 range left: the IPv4 load-balancer IPs are skipped, not opened to every source"
        )
    );
}

const SLICE: &str = r#"
apiVersion: v1
kind: Service
metadata: {name: web, namespace: h}
spec: {clusterIP: 10.96.0.42, ports: [{name: http, port: 80}, {name: alt, port: 81}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-eps, namespace: h, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
endpoints:
  - {addresses: [10.0.1.1]}
  - {addresses: [not-an-ip]}
  - {addresses: [127.0.0.1]}
  - {addresses: ["fd00::1"]}
  - {addresses: [169.254.0.9]}
  - {addresses: [10.0.1.5]}
ports: [{name: http, port: 8080}, {name: alt, port: 0}, {name: x, port: 9, protocol: GRE}]
"#;

#[test]
fn one_bad_endpoint_or_port_does_not_drop_its_slice() {
    let (model, warnings) = build_model(SLICE, &node());
    let http = model.ports.iter().find(|p| p.port_name == "http").unwrap();
    assert_eq!(
        http.internal_destinations(&node()),
        addrs(&["10.0.1.1:8080", "10.0.1.5:8080"])
    );
    let alt = model.ports.iter().find(|p| p.port_name == "alt").unwrap();
    assert!(alt.endpoints.is_empty());
    assert_eq!(
        warnings,
        vec![
            warn(
                "h/web-eps",
                "ports[1].port",
                "0 is not within 1-65535; skipped"
            ),
            warn(
                "h/web-eps",
                "ports[2].protocol",
                "unsupported protocol \"GRE\"; skipped"
            ),
            warn(
                "h/web-eps",
                "endpoints[1].addresses[0]",
                "\"not-an-ip\" is not an IP address; skipped"
            ),
            warn(
                "h/web-eps",
                "endpoints[2].addresses[0]",
                "127.0.0.1 is a loopback address; skipped"
            ),
            warn(
                "h/web-eps",
                "endpoints[3].addresses[0]",
                "fd00::1 does not match addressType IPv4; skipped"
            ),
            warn(
                "h/web-eps",
                "endpoints[4].addresses[0]",
                "169.254.0.9 is a link-local address; skipped"
            ),
        ]
    );
}

#[test]
fn each_kind_has_its_own_label_selector() {
    let yaml = r#"
apiVersion: v1
kind: Service
metadata: {name: marked, labels: {service.kubernetes.io/service-proxy-name: other}}
spec: {clusterIP: 10.96.0.42, ports: [{port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: odd, labels: {service.kubernetes.io/headless: ""}}
spec: {clusterIP: 10.96.0.43, ports: [{port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec: {clusterIP: 10.96.0.44, ports: [{port: 80}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-1, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
endpoints: [{addresses: [10.0.2.1]}]
ports: [{port: 80}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: web-2
  labels: {kubernetes.io/service-name: web, service.kubernetes.io/service-proxy-name: other}
addressType: IPv4
endpoints: [{addresses: [10.0.2.2]}]
ports: [{port: 80}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: web-3
  labels: {kubernetes.io/service-name: web, service.kubernetes.io/headless: ""}
addressType: IPv4
endpoints: [{addresses: [10.0.2.3]}]
ports: [{port: 80}]
"#;
    // kube-proxy 1.35: Services are selected by
    // `!service.kubernetes.io/service-proxy-name` only, EndpointSlices by
    // `!service.kubernetes.io/headless` only.
    let (model, warnings) = build_model(yaml, &node());
    assert!(warnings.is_empty(), "{warnings:?}");
    let names: Vec<&str> = model.ports.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["odd", "web"]);
    let web = &model.ports[1];
    assert_eq!(
        web.internal_destinations(&node()),
        addrs(&["10.0.2.1:80", "10.0.2.2:80"])
    );
    // The incremental planner's per-Service model agrees.
    let snapshot = fixtures::snapshot(yaml);
    let slices: Vec<_> = snapshot.endpoint_slices.iter().map(AsRef::as_ref).collect();
    let (ports, _) = build_service(
        &ServiceName::new("default", "marked"),
        snapshot.services.first().map(AsRef::as_ref),
        &slices,
        "node-1",
    );
    assert!(ports.is_empty());
    let (ports, _) = build_service(
        &ServiceName::new("default", "web"),
        snapshot.services.get(2).map(AsRef::as_ref),
        &slices,
        "node-1",
    );
    assert_eq!(
        ports[0].internal_destinations(&node()),
        addrs(&["10.0.2.1:80", "10.0.2.2:80"])
    );
}
