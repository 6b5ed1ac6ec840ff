//! Endpoint selection cases of kube-proxy's pkg/proxy/ipvs/proxier_test.go
//! (v1.35): internalTrafficPolicy and ready / serving / terminating
//! endpoints. kube-proxy's `testNodeName` is `test-hostname` here (see
//! [`node`]); `NewFakeProxier(…, nil, …)` has no node IPs, so no NodePort
//! virtual servers. kube-proxy compares the real servers' `ip:port`; its
//! `syncEndpoint` adds every chosen real server with weight 1 (weight 0 is
//! only the graceful deletion of a real server that still has connections,
//! which is the reconciler's job, not the plan's), so the weights are
//! checked as 1.

use super::*;

/// The Service of the `Test_EndpointSlice*Terminating*` tests: NodePort
/// type without a node port number, external IP 1.2.3.4, an unnamed port
/// 80.
fn terminating_service(external_policy: &str, endpoints: &str) -> String {
    format!(
        r#"
apiVersion: v1
kind: Service
metadata: {{name: svc1, namespace: ns1}}
spec:
  clusterIP: 172.20.1.1
  selector: {{foo: bar}}
  type: NodePort
  externalTrafficPolicy: {external_policy}
  internalTrafficPolicy: Cluster
  externalIPs: [1.2.3.4]
  ports: [{{name: "", port: 80, targetPort: 80, protocol: TCP}}]
{endpoints}"#
    )
}

/// The EndpointSlice `svc1-1` of `ns1` with these endpoints (YAML list
/// items).
fn slice(endpoints: &str) -> String {
    format!(
        r#"---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {{name: svc1-1, namespace: ns1, labels: {{kubernetes.io/service-name: svc1}}}}
addressType: IPv4
ports: [{{name: "", port: 80, protocol: TCP}}]
endpoints:
{endpoints}"#
    )
}

/// One endpoint: address, node, ready, serving, terminating.
fn ep(ip: &str, node: &str, ready: bool, serving: bool, terminating: bool) -> String {
    format!(
        "- {{addresses: [{ip}], nodeName: {node}, conditions: {{ready: {ready}, serving: {serving}, terminating: {terminating}}}}}\n"
    )
}

const CLUSTER_VS: &str = "172.20.1.1:80/tcp";
const EXTERNAL_VS: &str = "1.2.3.4:80/tcp";

/// After the slice is deleted: both virtual servers stay, without real
/// servers, and KUBE-LOOP-BACK is empty (the second half of each
/// `Test_EndpointSlice*Terminating*` test).
fn assert_after_slice_delete(external_policy: &str) {
    let plan = run(
        &terminating_service(external_policy, ""),
        &node(&[]),
        &ProxyConfig::default(),
    );
    assert_eq!(plan.services.len(), 2);
    assert!(dests(&plan, CLUSTER_VS).is_empty());
    assert!(dests(&plan, EXTERNAL_VS).is_empty());
    assert!(set(&plan, "KUBE-LOOP-BACK").is_empty());
}

/// The endpoints of both `Test_EndpointSliceReadyAndTerminating*` tests:
/// two ready local, one serving-terminating local, one not-serving local,
/// one ready remote.
fn ready_and_terminating_endpoints() -> String {
    [
        ep("10.0.1.1", "test-hostname", true, true, false),
        ep("10.0.1.2", "test-hostname", true, true, false),
        ep("10.0.1.3", "test-hostname", false, true, true),
        ep("10.0.1.4", "test-hostname", false, false, true),
        ep("10.0.1.5", "another-node", true, true, false),
    ]
    .concat()
}

/// KUBE-LOOP-BACK for those endpoints: every local one, whatever its
/// conditions.
const FOUR_LOCAL_LOOP_BACK: [&str; 4] = [
    "10.0.1.1,tcp:80,10.0.1.1",
    "10.0.1.2,tcp:80,10.0.1.2",
    "10.0.1.3,tcp:80,10.0.1.3",
    "10.0.1.4,tcp:80,10.0.1.4",
];

#[test]
fn endpoint_slice_ready_and_terminating_cluster() {
    // Test_EndpointSliceReadyAndTerminatingCluster: with ready endpoints and
    // externalTrafficPolicy Cluster, only the ready ones are used.
    let endpoints = ready_and_terminating_endpoints();
    let yaml = terminating_service("Cluster", &slice(&endpoints));
    let plan = run(&yaml, &node(&[]), &ProxyConfig::default());
    assert_eq!(set(&plan, "KUBE-LOOP-BACK"), FOUR_LOCAL_LOOP_BACK);
    assert_eq!(plan.services.len(), 2);
    let ready = [
        ("10.0.1.1:80".to_owned(), 1),
        ("10.0.1.2:80".to_owned(), 1),
        ("10.0.1.5:80".to_owned(), 1),
    ];
    assert_eq!(dests(&plan, CLUSTER_VS), ready);
    assert_eq!(dests(&plan, EXTERNAL_VS), ready);
    assert_after_slice_delete("Cluster");
}

#[test]
fn endpoint_slice_ready_and_terminating_local() {
    // Test_EndpointSliceReadyAndTerminatingLocal: externalTrafficPolicy
    // Local with local ready endpoints: the external VS gets the local
    // ready ones, the ClusterIP VS the cluster-wide ready ones.
    let endpoints = ready_and_terminating_endpoints();
    let yaml = terminating_service("Local", &slice(&endpoints));
    let plan = run(&yaml, &node(&[]), &ProxyConfig::default());
    assert_eq!(set(&plan, "KUBE-LOOP-BACK"), FOUR_LOCAL_LOOP_BACK);
    assert_eq!(plan.services.len(), 2);
    assert_eq!(
        dests(&plan, CLUSTER_VS),
        [
            ("10.0.1.1:80".to_owned(), 1),
            ("10.0.1.2:80".to_owned(), 1),
            ("10.0.1.5:80".to_owned(), 1),
        ]
    );
    assert_eq!(
        dests(&plan, EXTERNAL_VS),
        [("10.0.1.1:80".to_owned(), 1), ("10.0.1.2:80".to_owned(), 1)]
    );
    assert_after_slice_delete("Local");
}

#[test]
fn endpoint_slice_only_ready_and_terminating_cluster() {
    // Test_EndpointSliceOnlyReadyAndTerminatingCluster: no ready endpoint
    // anywhere: both VSs fall back to the serving-and-terminating ones
    // (local or not); not-serving ones are never used.
    let endpoints = [
        ep("10.0.1.1", "test-hostname", false, true, true),
        ep("10.0.1.2", "test-hostname", false, true, true),
        ep("10.0.1.3", "test-hostname", false, false, true),
        ep("10.0.1.4", "another-node", false, true, true),
        ep("10.0.1.5", "another-node", false, false, false),
    ]
    .concat();
    let yaml = terminating_service("Cluster", &slice(&endpoints));
    let plan = run(&yaml, &node(&[]), &ProxyConfig::default());
    assert_eq!(
        set(&plan, "KUBE-LOOP-BACK"),
        [
            "10.0.1.1,tcp:80,10.0.1.1",
            "10.0.1.2,tcp:80,10.0.1.2",
            "10.0.1.3,tcp:80,10.0.1.3",
        ]
    );
    assert_eq!(plan.services.len(), 2);
    let terminating = [
        ("10.0.1.1:80".to_owned(), 1),
        ("10.0.1.2:80".to_owned(), 1),
        ("10.0.1.4:80".to_owned(), 1),
    ];
    assert_eq!(dests(&plan, CLUSTER_VS), terminating);
    assert_eq!(dests(&plan, EXTERNAL_VS), terminating);
    assert_after_slice_delete("Cluster");
}

#[test]
fn endpoint_slice_only_ready_and_terminating_local() {
    // Test_EndpointSliceOnlyReadyAndTerminatingLocal: only terminating
    // endpoints locally: the external VS (externalTrafficPolicy Local)
    // falls back to the local serving-and-terminating ones; the ClusterIP
    // VS keeps the remote ready one.
    let endpoints = [
        ep("10.0.1.1", "test-hostname", false, true, true),
        ep("10.0.1.2", "test-hostname", false, true, true),
        ep("10.0.1.3", "test-hostname", false, false, true),
        ep("10.0.1.4", "another-node", false, true, true),
        ep("10.0.1.5", "another-node", true, true, false),
    ]
    .concat();
    let yaml = terminating_service("Local", &slice(&endpoints));
    let plan = run(&yaml, &node(&[]), &ProxyConfig::default());
    assert_eq!(
        set(&plan, "KUBE-LOOP-BACK"),
        [
            "10.0.1.1,tcp:80,10.0.1.1",
            "10.0.1.2,tcp:80,10.0.1.2",
            "10.0.1.3,tcp:80,10.0.1.3",
        ]
    );
    assert_eq!(plan.services.len(), 2);
    assert_eq!(dests(&plan, CLUSTER_VS), [("10.0.1.5:80".to_owned(), 1)]);
    assert_eq!(
        dests(&plan, EXTERNAL_VS),
        [("10.0.1.1:80".to_owned(), 1), ("10.0.1.2:80".to_owned(), 1)]
    );
    assert_after_slice_delete("Local");
}

#[test]
fn internal_traffic_policy_e2e() {
    // TestTestInternalTrafficPolicyE2E: a ClusterIP Service 172.20.1.1:80
    // with three ready endpoints; (policy, endpoint nodes, KUBE-LOOP-BACK
    // entries, real servers of the ClusterIP VS).
    /// Policy, endpoint nodes, KUBE-LOOP-BACK entries, real servers.
    type Case = (
        &'static str,
        [&'static str; 3],
        &'static [&'static str],
        &'static [&'static str],
    );
    let cases: [Case; 4] = [
        // internalTrafficPolicy is cluster with non-zero local endpoints
        (
            "Cluster",
            ["test-hostname", "node1", "node2"],
            &["10.0.1.1,tcp:80,10.0.1.1"],
            &["10.0.1.1:80", "10.0.1.2:80", "10.0.1.3:80"],
        ),
        // internalTrafficPolicy is cluster with zero local endpoints
        // (kube-proxy lists the same three real servers but skips the VS
        // check in that case).
        (
            "Cluster",
            ["node0", "node1", "node2"],
            &[],
            &["10.0.1.1:80", "10.0.1.2:80", "10.0.1.3:80"],
        ),
        // internalTrafficPolicy is local with non-zero local endpoints
        (
            "Local",
            ["test-hostname", "node1", "node2"],
            &["10.0.1.1,tcp:80,10.0.1.1"],
            &["10.0.1.1:80"],
        ),
        // internalTrafficPolicy is local with zero local endpoints: no
        // fallback, the VS exists without real servers.
        ("Local", ["node0", "node1", "node2"], &[], &[]),
    ];
    for (policy, nodes, loop_back, real_servers) in cases {
        let service = format!(
            r#"
apiVersion: v1
kind: Service
metadata: {{name: svc1, namespace: ns1}}
spec:
  clusterIP: 172.20.1.1
  selector: {{foo: bar}}
  internalTrafficPolicy: {policy}
  ports: [{{name: "", port: 80, targetPort: 80, protocol: TCP}}]
"#
        );
        let endpoints: String = ["10.0.1.1", "10.0.1.2", "10.0.1.3"]
            .iter()
            .zip(nodes)
            .map(|(ip, node)| {
                format!("- {{addresses: [{ip}], nodeName: {node}, conditions: {{ready: true}}}}\n")
            })
            .collect();
        let yaml = format!("{service}{}", slice(&endpoints));
        let plan = run(&yaml, &node(&[]), &ProxyConfig::default());
        assert_eq!(
            set(&plan, "KUBE-LOOP-BACK"),
            loop_back,
            "{policy} {nodes:?}"
        );
        assert_eq!(plan.services.len(), 1);
        let want: Vec<(String, u32)> = real_servers.iter().map(|a| (a.to_string(), 1)).collect();
        assert_eq!(
            dests(&plan, "172.20.1.1:80/tcp"),
            want,
            "{policy} {nodes:?}"
        );

        // After the slice is deleted: one VS, no real servers, no entries.
        let plan = run(&service, &node(&[]), &ProxyConfig::default());
        assert!(set(&plan, "KUBE-LOOP-BACK").is_empty());
        assert_eq!(plan.services.len(), 1);
        assert!(dests(&plan, "172.20.1.1:80/tcp").is_empty());
    }
}
