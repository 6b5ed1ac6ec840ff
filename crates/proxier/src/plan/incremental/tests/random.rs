//! Random Services, EndpointSlices, nodes and configurations for the
//! equivalence tests, from small pools so that objects collide: shared
//! ClusterIPs, external IPs, load-balancer IPs, node ports and pod IPs;
//! local and remote endpoints; every Service type and policy; dual stack;
//! a few invalid objects.

use crate::cluster::objects::{EndpointSlice, Service};
use serde_json::{Value, json};

use crate::{
    cluster::ServiceName,
    config::{NodePortAddresses, ProxyConfig, parse_cidrs},
    model::{NodeContext, ZONE_LABEL},
};

/// xorshift64*: deterministic, seeded.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// True with probability `percent`/100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// Up to `max` distinct items.
    pub fn some<T: Clone + PartialEq>(&mut self, items: &[T], max: usize) -> Vec<T> {
        let mut out = Vec::new();
        for _ in 0..self.below(max + 1) {
            let item = self.pick(items).clone();
            if !out.contains(&item) {
                out.push(item);
            }
        }
        out
    }
}

pub const NODE: &str = "node-1";
const NODE_IP: &str = "192.168.1.10";
const NODE_IP6: &str = "fd00:1::10";

pub const NAMESPACES: [&str; 2] = ["a", "b"];
pub const NAMES: [&str; 4] = ["s0", "s1", "s2", "s3"];

const CLUSTER_IPS: [&str; 5] = [
    "10.96.0.1",
    "10.96.0.2",
    "10.96.0.3",
    "10.96.0.4",
    "10.96.0.5",
];
const CLUSTER_IPS6: [&str; 3] = ["fd00:96::1", "fd00:96::2", "fd00:96::3"];
const EXTERNAL_IPS: [&str; 5] = [
    "203.0.113.1",
    "203.0.113.2",
    NODE_IP,
    "10.96.0.1",
    "fd00:e::1",
];
const LB_IPS: [&str; 4] = ["198.51.100.1", "198.51.100.2", "203.0.113.1", "fd00:b::1"];
const SOURCE_RANGES: [&str; 4] = [
    "192.168.1.0/24",
    "10.0.0.0/8",
    " 172.16.0.0/12 ",
    "fd00::/16",
];
const POD_IPS: [&str; 6] = [
    "10.244.0.1",
    "10.244.0.2",
    "10.244.0.3",
    "10.244.1.1",
    "10.244.1.2",
    "10.244.1.3",
];
const POD_IPS6: [&str; 3] = ["fd00:244::1", "fd00:244::2", "fd00:244::3"];
const PORT_NAMES: [&str; 3] = ["", "http", "dns"];
const PROTOCOLS: [&str; 4] = ["TCP", "TCP", "UDP", "SCTP"];

/// A random Service `namespace/name`.
pub fn service(rng: &mut Rng, name: &ServiceName) -> Service {
    let mut labels = json!({});
    if rng.chance(3) {
        labels["service.kubernetes.io/service-proxy-name"] = json!("other");
    }
    let service_type = *rng.pick(&["ClusterIP", "NodePort", "LoadBalancer", "LoadBalancer"]);
    let mut spec = json!({ "type": service_type });
    let v4 = rng.pick(&CLUSTER_IPS).to_string();
    let v6 = rng.pick(&CLUSTER_IPS6).to_string();
    let cluster_ips = match rng.below(10) {
        0..=5 => vec![v4],
        6..=7 => vec![v4, v6],
        8 => vec![v6],
        _ => vec![v6, v4],
    };
    spec["clusterIP"] = json!(cluster_ips[0]);
    spec["clusterIPs"] = json!(cluster_ips);
    match rng.below(40) {
        0 => spec["clusterIP"] = json!("None"),
        1 => spec["clusterIPs"] = json!(["bogus"]),
        2 => spec["type"] = json!("ExternalName"),
        _ => {}
    }
    let mut ports = Vec::new();
    for _ in 0..1 + rng.below(2) {
        let mut port = json!({
            "name": rng.pick(&PORT_NAMES),
            "port": rng.pick(&[80, 443, 53]),
            "protocol": rng.pick(&PROTOCOLS),
        });
        if service_type != "ClusterIP" && rng.chance(80) {
            port["nodePort"] = json!(rng.pick(&[30001, 30002, 30003]));
        }
        if rng.chance(2) {
            port["protocol"] = json!("ICMP");
        }
        ports.push(port);
    }
    spec["ports"] = json!(ports);
    spec["externalIPs"] = json!(rng.some(&EXTERNAL_IPS, 2));
    if rng.chance(30) {
        spec["loadBalancerSourceRanges"] = json!(rng.some(&SOURCE_RANGES, 2));
    }
    if rng.chance(30) {
        spec["sessionAffinity"] = json!("ClientIP");
        if rng.chance(50) {
            spec["sessionAffinityConfig"] =
                json!({"clientIP": {"timeoutSeconds": rng.pick(&[60, 10800, 0])}});
        }
    }
    if rng.chance(35) {
        spec["externalTrafficPolicy"] = json!("Local");
        if rng.chance(80) {
            spec["healthCheckNodePort"] = json!(rng.pick(&[32001, 32002]));
        }
    }
    if rng.chance(25) {
        spec["internalTrafficPolicy"] = json!("Local");
    }
    if rng.chance(20) {
        spec["trafficDistribution"] = json!(rng.pick(&["PreferClose", "PreferSameNode"]));
    }
    let mut ingress = Vec::new();
    if service_type == "LoadBalancer" {
        for ip in rng.some(&LB_IPS, 2) {
            let mut entry = json!({ "ip": ip });
            match rng.below(4) {
                0 => entry["ipMode"] = json!("Proxy"),
                1 => entry["ipMode"] = json!("VIP"),
                _ => {}
            }
            ingress.push(entry);
        }
    }
    object(json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": { "namespace": name.namespace, "name": name.name, "labels": labels },
        "spec": spec,
        "status": { "loadBalancer": { "ingress": ingress } },
    }))
}

/// A random EndpointSlice `index` of the Service `name`; its ports and
/// family mostly match `service`'s.
pub fn slice(
    rng: &mut Rng,
    name: &ServiceName,
    index: usize,
    service: Option<&Service>,
) -> EndpointSlice {
    let spec = service
        .and_then(|s| s.spec.as_ref())
        .filter(|_| rng.chance(85));
    let v6 = match spec.and_then(|s| s.cluster_ips.as_ref()) {
        Some(ips) => ips[rng.below(ips.len())].contains(':'),
        None => rng.chance(25),
    };
    let pods: &[&str] = if v6 { &POD_IPS6 } else { &POD_IPS };
    let mut ports = Vec::new();
    match spec.and_then(|s| s.ports.as_ref()) {
        Some(service_ports) => {
            for port in service_ports {
                ports.push(json!({
                    "name": port.name.clone().unwrap_or_default(),
                    "port": rng.pick(&[8080, 8443, 5353]),
                    "protocol": port.protocol.clone().unwrap_or_else(|| "TCP".into()),
                }));
            }
        }
        None => {
            for port_name in rng.some(&PORT_NAMES, 2) {
                ports.push(json!({
                    "name": port_name,
                    "port": rng.pick(&[8080, 8443, 5353]),
                    "protocol": rng.pick(&PROTOCOLS),
                }));
            }
        }
    }
    let mut endpoints = Vec::new();
    for _ in 0..rng.below(5) {
        let mut endpoint = json!({ "addresses": [rng.pick(pods)] });
        let mut conditions = json!({});
        for condition in ["ready", "serving", "terminating"] {
            if rng.chance(40) {
                conditions[condition] = json!(rng.chance(50));
            }
        }
        endpoint["conditions"] = conditions;
        match rng.below(3) {
            0 => endpoint["nodeName"] = json!(NODE),
            1 => endpoint["nodeName"] = json!("node-2"),
            _ => {}
        }
        if rng.chance(20) {
            endpoint["hints"] = json!({
                "forZones": [{"name": rng.pick(&["zone-a", "zone-b"])}],
                "forNodes": [{"name": rng.pick(&[NODE, "node-2"])}],
            });
        }
        if rng.chance(2) {
            endpoint["addresses"] = json!(["nope"]);
        }
        endpoints.push(endpoint);
    }
    let mut labels = json!({ "kubernetes.io/service-name": name.name });
    if rng.chance(3) {
        labels["service.kubernetes.io/headless"] = json!("");
    }
    object(json!({
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "namespace": name.namespace,
            "name": format!("{}-{index}", name.name),
            "labels": labels,
        },
        "addressType": if v6 { "IPv6" } else { "IPv4" },
        "ports": ports,
        "endpoints": endpoints,
    }))
}

fn object<T: serde::de::DeserializeOwned>(value: Value) -> T {
    serde_json::from_value(value).expect("generated object")
}

/// A random node context for [`NODE`].
pub fn node(rng: &mut Rng) -> NodeContext {
    let mut node = NodeContext::new(NODE);
    let (ips, primary): (&[&str], &[&str]) = match rng.below(5) {
        0 => (&[], &[]),
        1 => (&[NODE_IP, NODE_IP6], &[NODE_IP, NODE_IP6]),
        2 => (&[NODE_IP, "127.0.0.1", "203.0.113.2"], &[NODE_IP]),
        3 => (&[NODE_IP6], &[NODE_IP6]),
        _ => (&[NODE_IP], &[NODE_IP]),
    };
    node.node_ips = ips.iter().map(|ip| ip.parse().expect("ip")).collect();
    node.primary_ips = primary.iter().map(|ip| ip.parse().expect("ip")).collect();
    if rng.chance(70) {
        node.labels.insert(
            ZONE_LABEL.into(),
            rng.pick(&["zone-a", "zone-b"]).to_string(),
        );
    }
    node
}

/// A random configuration.
pub fn config(rng: &mut Rng) -> ProxyConfig {
    let mut config = ProxyConfig::default();
    match rng.below(6) {
        0 => config.scheduler = "mh".into(),
        1 => config.masquerade_all = true,
        2 => {
            config.cluster_cidrs =
                parse_cidrs("--cluster-cidr", &["10.244.0.0/16", "fd00:244::/64"]).expect("cidr")
        }
        3 => config.node_port_addresses = NodePortAddresses::Primary,
        4 => {
            config.node_port_addresses = NodePortAddresses::Cidrs(
                parse_cidrs("--nodeport-addresses", &["192.168.0.0/16"]).expect("cidr"),
            )
        }
        _ => {}
    }
    config
}
