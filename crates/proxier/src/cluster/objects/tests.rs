use k8s_openapi::api::{core::v1 as core, discovery::v1 as discovery};
use serde_json::{Value, json};

use super::*;

/// A Service with every field the model reads, and some it does not.
fn rich_service() -> Value {
    json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {
            "name": "web", "namespace": "shop", "resourceVersion": "42", "uid": "u-1",
            "labels": {"app": "web", "service.kubernetes.io/service-proxy-name": "x"},
            "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}"},
            "managedFields": [{"manager": "kubectl", "operation": "Update"}]
        },
        "spec": {
            "type": "LoadBalancer", "clusterIP": "10.96.0.10",
            "clusterIPs": ["10.96.0.10", "fd00::10"], "ipFamilies": ["IPv4", "IPv6"],
            "externalIPs": ["192.0.2.1"], "loadBalancerSourceRanges": ["198.51.100.0/24"],
            "sessionAffinity": "ClientIP",
            "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 60}},
            "externalTrafficPolicy": "Local", "internalTrafficPolicy": "Cluster",
            "healthCheckNodePort": 32000, "trafficDistribution": "PreferClose",
            "selector": {"app": "web"},
            "ports": [
                {"name": "http", "protocol": "TCP", "port": 80, "targetPort": "http", "nodePort": 30080},
                {"port": 53, "protocol": "UDP"}
            ]
        },
        "status": {"loadBalancer": {"ingress": [
            {"ip": "203.0.113.5", "ipMode": "VIP", "ports": [{"port": 80, "protocol": "TCP"}]},
            {"hostname": "lb.example"}
        ]}}
    })
}

fn rich_slice() -> Value {
    json!({
        "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
        "metadata": {
            "name": "web-abc", "namespace": "shop", "resourceVersion": "43",
            "labels": {"kubernetes.io/service-name": "web",
                       "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"},
            "annotations": {"endpoints.kubernetes.io/last-change-trigger-time": "2026-01-01T00:00:00Z",
                            "other": "dropped"},
            "ownerReferences": [{"apiVersion": "v1", "kind": "Service", "name": "web", "uid": "u-1"}]
        },
        "addressType": "IPv4",
        "endpoints": [
            {"addresses": ["10.244.1.2", "10.244.1.3"],
             "conditions": {"ready": true, "serving": true, "terminating": false},
             "hints": {"forZones": [{"name": "zone-a"}], "forNodes": [{"name": "node-1"}]},
             "nodeName": "node-1", "zone": "zone-a",
             "targetRef": {"kind": "Pod", "name": "web-1", "namespace": "shop"}},
            {"addresses": ["10.244.2.2"], "conditions": {"ready": false}},
            {"addresses": []}
        ],
        "ports": [{"name": "http", "protocol": "TCP", "port": 8080, "appProtocol": "http"},
                  {"name": "dns"}]
    })
}

#[test]
fn reads_like_k8s_openapi_then_converted() {
    // Two independent paths: the compact types' own deserializer, and
    // k8s-openapi's followed by the conversion the API source uses.
    for value in [
        rich_service(),
        json!({"metadata": {"name": "bare"}}),
        json!({}),
    ] {
        let direct: Service = serde_json::from_value(value.clone()).unwrap();
        let full: core::Service = serde_json::from_value(value).unwrap();
        assert_eq!(direct, Service::from(full));
    }
    for value in [rich_slice(), json!({"metadata": {"name": "bare"}})] {
        let direct: EndpointSlice = serde_json::from_value(value.clone()).unwrap();
        let full: discovery::EndpointSlice = serde_json::from_value(value).unwrap();
        assert_eq!(direct, EndpointSlice::from(full));
    }
}

#[test]
fn keeps_what_the_model_reads() {
    let service: Service = serde_json::from_value(rich_service()).unwrap();
    let meta = &service.metadata;
    assert_eq!(meta.name.as_deref(), Some("web"));
    assert_eq!(meta.resource_version.as_deref(), Some("42"));
    assert_eq!(meta.trigger_time, None);
    let labels = meta.labels.as_ref().unwrap();
    assert!(labels.contains_key("service.kubernetes.io/service-proxy-name"));
    // Only the labels the proxier reads are kept.
    assert_eq!(labels.get("app"), None);
    assert_eq!(labels.iter().count(), 1);
    assert_eq!(labels.get("ap"), None);
    let spec = service.spec.as_ref().unwrap();
    let ports = spec.ports.as_ref().unwrap();
    assert_eq!((ports[0].port, ports[0].node_port), (80, Some(30080)));
    assert_eq!((ports[1].name.as_deref(), ports[1].port), (None, 53));
    let timeout = spec
        .session_affinity_config
        .as_ref()
        .unwrap()
        .client_ip
        .as_ref();
    assert_eq!(timeout.unwrap().timeout_seconds, Some(60));
    let ingress = service
        .status
        .unwrap()
        .load_balancer
        .unwrap()
        .ingress
        .unwrap();
    assert_eq!(ingress[0].ip_mode.as_deref(), Some("VIP"));
    assert_eq!(ingress[1].ip, None);

    let slice: EndpointSlice = serde_json::from_value(rich_slice()).unwrap();
    assert_eq!(
        slice.metadata.trigger_time.as_deref(),
        Some("2026-01-01T00:00:00Z")
    );
    let hints = slice.endpoints[0].hints.as_ref().unwrap();
    assert_eq!(hints.for_zones.as_ref().unwrap()[0].name, "zone-a");
    assert_eq!(hints.for_nodes.as_ref().unwrap()[0].name, "node-1");
    assert_eq!(
        slice.endpoints[1].conditions.as_ref().unwrap().ready,
        Some(false)
    );
    assert!(slice.endpoints[2].addresses.is_empty());
    assert_eq!(slice.ports.as_ref().unwrap()[1].port, None);
}

#[test]
fn null_and_missing_fields_are_defaults_and_wrong_types_fail() {
    let slice: EndpointSlice = serde_json::from_value(json!({
        "metadata": null, "addressType": null, "endpoints": [{"addresses": null}]
    }))
    .unwrap();
    assert_eq!(slice.address_type, "");
    assert!(slice.endpoints[0].addresses.is_empty());
    let service: Service =
        serde_json::from_value(json!({"spec": {"ports": [{"port": null, "name": "a"}]}})).unwrap();
    assert_eq!(service.spec.unwrap().ports.unwrap()[0].port, 0);
    for bad in [
        json!({"spec": {"ports": [{"port": "80"}]}}),
        json!({"spec": {"clusterIPs": "10.0.0.1"}}),
        json!({"metadata": {"labels": {"a": 1}}}),
    ] {
        assert!(
            serde_json::from_value::<Service>(bad.clone()).is_err(),
            "{bad}"
        );
        assert!(
            serde_json::from_value::<core::Service>(bad.clone()).is_err(),
            "{bad}"
        );
    }
}

#[test]
fn lists_have_no_spare_capacity() {
    let endpoints: Vec<Value> = (0..10)
        .map(|i| json!({"addresses": [format!("10.244.0.{i}")], "conditions": {"ready": true}}))
        .collect();
    let value = json!({
        "metadata": {"name": "s"}, "addressType": "IPv4", "endpoints": endpoints,
        "ports": [{"port": 80}]
    });
    let direct: EndpointSlice = serde_json::from_value(value.clone()).unwrap();
    let full: discovery::EndpointSlice = serde_json::from_value(value).unwrap();
    let converted = EndpointSlice::from(full);
    for slice in [&direct, &converted] {
        assert_eq!(slice.endpoints.len(), 10);
        assert_eq!(slice.endpoints.capacity(), 10);
    }
    let ports = converted.ports.as_ref().unwrap();
    assert_eq!(ports.capacity(), ports.len());
}
