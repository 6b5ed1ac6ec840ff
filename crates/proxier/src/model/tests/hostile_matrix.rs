//! Every hostile value in every list slot, between good siblings and next
//! to a bystander Service: the bad entry is one warning naming its slot,
//! nothing good is lost. Prints the case count (`--nocapture`).

use serde_json::{Value, json};

use super::*;

/// Values no slot may take: not addresses, forged log lines, huge.
fn garbage() -> Vec<String> {
    let mut out: Vec<String> = [
        "not-an-ip",
        "10.0.0.300",
        "1.2.3.4/32",
        "1.2.3.4 5",
        "1.2.3.4\nWARN forged line",
        "\u{1b}[31mred",
        "١٢٣.١.١.١",
        "::ffff:",
        "fe80::1%eth0",
    ]
    .map(String::from)
    .to_vec();
    out.push("9".repeat(5000));
    out
}

/// Addresses no Service address may be.
const BAD_VIRTUAL: [&str; 11] = [
    "127.0.0.1",
    "127.1.2.3",
    "::1",
    "0.0.0.0",
    "::",
    "224.0.0.1",
    "239.255.255.250",
    "ff02::1",
    "ff05::1",
    "255.255.255.255",
    "::ffff:127.0.0.1",
];

/// Addresses no endpoint may be (the API server refuses them).
const BAD_ENDPOINT: [&str; 7] = [
    "127.0.0.1",
    "0.0.0.0",
    "169.254.169.254",
    "224.0.0.251",
    "::1",
    "fe80::1",
    "fd00::9",
];

fn documents(objects: &[Value]) -> String {
    objects
        .iter()
        .map(|o| format!("---\n{o}\n"))
        .collect::<String>()
}

fn bystander() -> Vec<Value> {
    vec![
        json!({"apiVersion": "v1", "kind": "Service",
               "metadata": {"name": "bystander", "namespace": "ok"},
               "spec": {"clusterIP": "10.96.1.1", "ports": [{"port": 80}]}}),
        json!({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
               "metadata": {"name": "bystander-1", "namespace": "ok",
                            "labels": {"kubernetes.io/service-name": "bystander"}},
               "addressType": "IPv4", "endpoints": [{"addresses": ["10.0.9.9"]}],
               "ports": [{"port": 80}]}),
    ]
}

fn service(spec: Value, status: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Service",
           "metadata": {"name": "target", "namespace": "h"},
           "spec": spec, "status": status})
}

fn slice(endpoints: Value, ports: Value) -> Value {
    json!({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
           "metadata": {"name": "target-1", "namespace": "h",
                        "labels": {"kubernetes.io/service-name": "target"}},
           "addressType": "IPv4", "endpoints": endpoints, "ports": ports})
}

/// One slot: builds the target objects around a bad value, and tells
/// whether the good siblings survived.
struct Slot {
    name: &'static str,
    field: &'static str,
    values: Vec<String>,
    objects: fn(&str) -> Vec<Value>,
    kept: fn(&ClusterModel) -> bool,
}

fn target(model: &ClusterModel) -> Vec<&ServicePort> {
    model.ports.iter().filter(|p| p.name == "target").collect()
}

fn ips(list: &[&str]) -> Vec<IpAddr> {
    list.iter().map(|a| a.parse().unwrap()).collect()
}

fn slots() -> Vec<Slot> {
    let with = |extra: &[&str]| {
        let mut values: Vec<String> = extra.iter().map(|v| (*v).to_owned()).collect();
        values.extend(garbage());
        values
    };
    let cluster_ips: Vec<String> = with(&BAD_VIRTUAL)
        .into_iter()
        // A second IPv4 address is another error (two of a family).
        .filter(|v| {
            v.trim()
                .parse::<IpAddr>()
                .map_or(true, |ip| Family::of(ip) == Family::Inet6)
        })
        .collect();
    vec![
        Slot {
            name: "clusterIPs[1]",
            field: "spec.clusterIPs[1]",
            values: cluster_ips,
            objects: |bad| {
                vec![service(
                    json!({"clusterIPs": ["10.96.0.9", bad], "ports": [{"port": 80}]}),
                    json!({}),
                )]
            },
            kept: |m| {
                target(m)
                    .iter()
                    .map(|p| p.cluster_ip)
                    .eq(ips(&["10.96.0.9"]))
            },
        },
        Slot {
            name: "externalIPs",
            field: "spec.externalIPs[1]",
            values: with(&[&BAD_VIRTUAL[..], &["169.254.1.1", "fe80::2", ""]].concat()),
            objects: |bad| {
                vec![service(
                    json!({"clusterIP": "10.96.0.9", "externalIPs": ["203.0.113.1", bad, "203.0.113.2"],
                           "ports": [{"port": 80}]}),
                    json!({}),
                )]
            },
            kept: |m| {
                target(m)
                    .iter()
                    .all(|p| p.external_ips == ips(&["203.0.113.1", "203.0.113.2"]))
                    && target(m).len() == 1
            },
        },
        Slot {
            name: "load-balancer ingress",
            field: "status.loadBalancer.ingress[1].ip",
            values: with(&BAD_VIRTUAL),
            objects: |bad| {
                vec![service(
                    json!({"type": "LoadBalancer", "clusterIP": "10.96.0.9",
                           "ports": [{"port": 80, "nodePort": 30080}]}),
                    json!({"loadBalancer": {"ingress": [{"ip": "198.51.100.1"}, {"ip": bad},
                                                         {"ip": "198.51.100.2"}]}}),
                )]
            },
            kept: |m| {
                target(m).len() == 1
                    && target(m)[0].load_balancer_ips == ips(&["198.51.100.1", "198.51.100.2"])
            },
        },
        Slot {
            name: "loadBalancerSourceRanges",
            field: "spec.loadBalancerSourceRanges[1]",
            values: with(&["10.0.0.0/33", "bogus/8", "10.0.0.0/x", ""])
                .into_iter()
                .filter(|v| v.parse::<crate::types::Cidr>().is_err())
                .collect(),
            objects: |bad| {
                vec![service(
                    json!({"type": "LoadBalancer", "clusterIP": "10.96.0.9",
                           "loadBalancerSourceRanges": ["10.0.0.0/8", bad, "192.168.0.0/16"],
                           "ports": [{"port": 80, "nodePort": 30080}]}),
                    json!({"loadBalancer": {"ingress": [{"ip": "198.51.100.1"}]}}),
                )]
            },
            kept: |m| {
                target(m).len() == 1
                    && target(m)[0].source_ranges.len() == 2
                    && target(m)[0].load_balancer_ips.len() == 1
            },
        },
        Slot {
            name: "Service port protocol",
            field: "spec.ports[1].protocol",
            values: with(&["ICMP", "tcp", ""]),
            objects: |bad| {
                vec![service(
                    json!({"clusterIP": "10.96.0.9", "ports": [{"name": "a", "port": 80},
                           {"name": "b", "port": 81, "protocol": bad}, {"name": "c", "port": 82}]}),
                    json!({}),
                )]
            },
            kept: |m| target(m).iter().map(|p| p.port).eq([80, 82]),
        },
        Slot {
            name: "endpoint address",
            field: "endpoints[1].addresses[0]",
            values: with(&[&BAD_ENDPOINT[..], &[""]].concat()),
            objects: |bad| {
                vec![
                    service(
                        json!({"clusterIP": "10.96.0.9", "ports": [{"port": 80}]}),
                        json!({}),
                    ),
                    slice(
                        json!([{"addresses": ["10.0.1.1"]}, {"addresses": [bad]},
                               {"addresses": ["10.0.1.2"]}]),
                        json!([{"port": 8080}]),
                    ),
                ]
            },
            kept: |m| {
                target(m).len() == 1
                    && target(m)[0]
                        .endpoints
                        .iter()
                        .map(|e| e.addr.to_string())
                        .eq(["10.0.1.1:8080", "10.0.1.2:8080"].map(String::from))
            },
        },
        Slot {
            name: "slice port protocol",
            field: "ports[1].protocol",
            values: with(&["ICMP", "udp", ""]),
            objects: |bad| {
                vec![
                    service(
                        json!({"clusterIP": "10.96.0.9",
                               "ports": [{"name": "a", "port": 80}, {"name": "c", "port": 82}]}),
                        json!({}),
                    ),
                    slice(
                        json!([{"addresses": ["10.0.1.1"]}]),
                        json!([{"name": "a", "port": 8080}, {"name": "b", "port": 8081, "protocol": bad},
                               {"name": "c", "port": 8082}]),
                    ),
                ]
            },
            kept: |m| target(m).len() == 2 && target(m).iter().all(|p| p.endpoints.len() == 1),
        },
    ]
}

#[test]
fn every_hostile_value_in_every_slot_loses_nothing_good() {
    let (mut cases, mut lost) = (0, 0);
    for slot in slots() {
        for bad in &slot.values {
            cases += 1;
            let mut objects = (slot.objects)(bad);
            objects.extend(bystander());
            let (model, warnings) = build_model(&documents(&objects), &node());
            let what = format!("{} = {bad:?}", slot.name);
            let bystander_ok = model
                .ports
                .iter()
                .any(|p| p.name == "bystander" && p.endpoints.len() == 1);
            if !bystander_ok || !(slot.kept)(&model) {
                lost += 1;
                eprintln!("{what}: lost a good object or entry: {:?}", model.ports);
            }
            assert_eq!(warnings.len(), 1, "{what}: {warnings:?}");
            assert_eq!(warnings[0].field, slot.field, "{what}");
            let line = warnings[0].to_string();
            assert!(!line.chars().any(char::is_control), "{what}: {line:?}");
            assert!(
                line.chars().count() < 2 * Warning::MAX_VALUE_CHARS,
                "{what}"
            );
        }
    }
    println!("hostile input: {cases} cases, {lost} good objects or entries lost");
    assert_eq!(lost, 0);
    assert!(cases > 100, "{cases}");
}
