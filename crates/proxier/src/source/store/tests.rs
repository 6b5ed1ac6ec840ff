use k8s_openapi::api::core::v1::Node;
use kube::runtime::watcher::Event;

use super::*;
use crate::cluster::{
    HEADLESS_LABEL, SERVICE_NAME_LABEL, SERVICE_PROXY_NAME_LABEL,
    objects::{EndpointSlice, Service},
};

fn service(ns: &str, name: &str, rv: &str) -> Service {
    serde_json::from_value(serde_json::json!({
        "metadata": {"namespace": ns, "name": name, "resourceVersion": rv},
        "spec": {"clusterIP": "10.96.0.10", "ports": [{"port": 80}]}
    }))
    .unwrap()
}

fn slice(ns: &str, name: &str, owner: &str, rv: &str) -> EndpointSlice {
    serde_json::from_value(serde_json::json!({
        "metadata": {"namespace": ns, "name": name, "resourceVersion": rv,
                     "labels": {"kubernetes.io/service-name": owner}},
        "addressType": "IPv4",
        "endpoints": [{"addresses": ["10.244.0.5"]}]
    }))
    .unwrap()
}

fn node(name: &str, ip: &str, rv: &str) -> Node {
    serde_json::from_value(serde_json::json!({
        "metadata": {"name": name, "resourceVersion": rv},
        "status": {"addresses": [{"type": "InternalIP", "address": ip}]}
    }))
    .unwrap()
}

fn names(list: &[(&str, &str)]) -> BTreeSet<ServiceName> {
    list.iter()
        .map(|(ns, n)| ServiceName::new(*ns, *n))
        .collect()
}

/// Lists all three kinds with the given objects.
fn listed(services: Vec<Service>, slices: Vec<EndpointSlice>, nodes: Vec<Node>) -> ClusterStore {
    let mut store = ClusterStore::new();
    store.apply(SourceEvent::service(Event::Init)).unwrap();
    for s in services {
        store
            .apply(SourceEvent::service(Event::InitApply(s)))
            .unwrap();
    }
    assert!(!store.is_ready());
    store.apply(SourceEvent::service(Event::InitDone)).unwrap();
    store.apply(SourceEvent::slice(Event::Init)).unwrap();
    for s in slices {
        store
            .apply(SourceEvent::slice(Event::InitApply(s)))
            .unwrap();
    }
    store.apply(SourceEvent::slice(Event::InitDone)).unwrap();
    assert!(!store.is_ready(), "the node is not listed yet");
    store.apply(SourceEvent::node(Event::Init)).unwrap();
    for n in nodes {
        store.apply(SourceEvent::node(Event::InitApply(n))).unwrap();
    }
    store.apply(SourceEvent::node(Event::InitDone)).unwrap();
    store
}

#[test]
fn ready_only_after_all_three_lists() {
    let store = listed(
        vec![service("a", "web", "1")],
        vec![slice("a", "web-x", "web", "2")],
        vec![],
    );
    assert!(store.is_ready());
    assert_eq!(store.pending().services, names(&[("a", "web")]));
}

#[test]
fn a_slice_change_marks_only_its_service() {
    let mut store = listed(
        vec![service("a", "web", "1"), service("b", "db", "2")],
        vec![
            slice("a", "web-x", "web", "3"),
            slice("b", "db-x", "db", "4"),
        ],
        vec![node("n1", "192.168.1.10", "5")],
    );
    let first = store.take_changes();
    assert_eq!(first.services, names(&[("a", "web"), ("b", "db")]));
    assert!(first.node);
    assert_eq!((first.service_changes, first.endpoint_changes), (2, 2));

    store
        .apply(SourceEvent::slice(Event::Apply(slice(
            "b", "db-x", "db", "6",
        ))))
        .unwrap();
    let changes = store.take_changes();
    assert_eq!(changes.services, names(&[("b", "db")]));
    assert!(!changes.node);
    assert_eq!((changes.service_changes, changes.endpoint_changes), (0, 1));
    assert_eq!(store.slices_shared(&ServiceName::new("b", "db")).len(), 1);
}

#[test]
fn the_same_resource_version_again_changes_nothing() {
    let mut store = listed(vec![service("a", "web", "1")], vec![], vec![]);
    store.take_changes();
    store
        .apply(SourceEvent::service(Event::Apply(service("a", "web", "1"))))
        .unwrap();
    assert!(!store.has_changes());
    // A relist with the same objects changes nothing either.
    store.apply(SourceEvent::service(Event::Init)).unwrap();
    store
        .apply(SourceEvent::service(Event::InitApply(service(
            "a", "web", "1",
        ))))
        .unwrap();
    store.apply(SourceEvent::service(Event::InitDone)).unwrap();
    assert!(!store.has_changes());
}

#[test]
fn a_relist_keeps_the_old_view_until_done_then_deletes_what_vanished() {
    let mut store = listed(
        vec![service("a", "web", "1"), service("a", "gone", "2")],
        vec![slice("a", "gone-x", "gone", "3")],
        vec![],
    );
    store.take_changes();
    // 410 Gone: the watcher relists.
    store.apply(SourceEvent::service(Event::Init)).unwrap();
    store
        .apply(SourceEvent::service(Event::InitApply(service(
            "a", "web", "1",
        ))))
        .unwrap();
    assert!(store.relisting());
    assert!(
        store
            .service_shared(&ServiceName::new("a", "gone"))
            .is_some()
    );
    assert!(!store.has_changes(), "nothing changes before InitDone");
    store.apply(SourceEvent::service(Event::InitDone)).unwrap();
    assert!(
        store
            .service_shared(&ServiceName::new("a", "gone"))
            .is_none()
    );
    assert_eq!(store.take_changes().services, names(&[("a", "gone")]));

    store.apply(SourceEvent::slice(Event::Init)).unwrap();
    store.apply(SourceEvent::slice(Event::InitDone)).unwrap();
    assert!(
        store
            .slices_shared(&ServiceName::new("a", "gone"))
            .is_empty()
    );
    assert_eq!(store.take_changes().services, names(&[("a", "gone")]));
}

#[test]
fn services_kube_proxy_does_not_watch_are_not_held() {
    let mut other = service("a", "other", "1");
    other.metadata.labels = Some(
        [(SERVICE_PROXY_NAME_LABEL.to_owned(), "x".to_owned())]
            .into_iter()
            .collect(),
    );
    let mut headless = service("a", "headless", "2");
    headless.spec.as_mut().unwrap().cluster_ip = Some("None".into());
    let mut headless_slice = slice("a", "h-x", "headless", "3");
    headless_slice.metadata.labels = Some(
        [(SERVICE_NAME_LABEL, "headless"), (HEADLESS_LABEL, "")]
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .into_iter()
            .collect(),
    );
    let mut unlabelled = slice("a", "u-x", "web", "4");
    unlabelled.metadata.labels = None;
    let store = listed(
        vec![other, headless, service("a", "web", "5")],
        vec![headless_slice, unlabelled],
        vec![],
    );
    assert_eq!(store.service_count(), 1);
    assert_eq!(store.slice_count(), 0);
    // A Service that gains the label is dropped.
    let mut store = store;
    store.take_changes();
    let mut web = service("a", "web", "6");
    web.metadata.labels = Some(
        [(SERVICE_PROXY_NAME_LABEL.to_owned(), "x".to_owned())]
            .into_iter()
            .collect(),
    );
    store
        .apply(SourceEvent::service(Event::Apply(web)))
        .unwrap();
    assert_eq!(store.service_count(), 0);
    assert_eq!(store.take_changes().services, names(&[("a", "web")]));
}

#[test]
fn a_slice_moving_to_another_service_marks_both() {
    let mut store = listed(vec![], vec![slice("a", "s", "one", "1")], vec![]);
    store.take_changes();
    store
        .apply(SourceEvent::slice(Event::Apply(slice(
            "a", "s", "two", "2",
        ))))
        .unwrap();
    assert_eq!(
        store.take_changes().services,
        names(&[("a", "one"), ("a", "two")])
    );
    assert!(
        store
            .slices_shared(&ServiceName::new("a", "one"))
            .is_empty()
    );
    assert_eq!(store.slices_shared(&ServiceName::new("a", "two")).len(), 1);
}

#[test]
fn node_deleted_or_readdressed_means_exit() {
    let mut store = listed(vec![], vec![], vec![node("n1", "192.168.1.10", "1")]);
    // A label change is a node change, not an exit.
    let mut labelled = node("n1", "192.168.1.10", "2");
    labelled.metadata.labels = Some([("a".to_owned(), "b".to_owned())].into_iter().collect());
    store.take_changes();
    store
        .apply(SourceEvent::node(Event::Apply(labelled)))
        .unwrap();
    assert!(store.take_changes().node);
    // kube-proxy compares the first address of each family only: a second
    // address of the same family, or none at all for a while, is no exit.
    let mut second = node("n1", "192.168.1.10", "2a");
    second
        .status
        .as_mut()
        .unwrap()
        .addresses
        .as_mut()
        .unwrap()
        .push(k8s_openapi::api::core::v1::NodeAddress {
            type_: "InternalIP".into(),
            address: "192.168.1.99".into(),
        });
    store
        .apply(SourceEvent::node(Event::Apply(second)))
        .unwrap();
    let mut bare = node("n1", "192.168.1.10", "2b");
    bare.status = None;
    store.apply(SourceEvent::node(Event::Apply(bare))).unwrap();
    let err = store
        .apply(SourceEvent::node(Event::Apply(node(
            "n1",
            "192.168.1.11",
            "3",
        ))))
        .unwrap_err();
    assert!(matches!(err, NodeExit::IpsChanged { .. }), "{err}");
    let err = store
        .apply(SourceEvent::node(Event::Delete(node(
            "n1",
            "192.168.1.11",
            "4",
        ))))
        .unwrap_err();
    assert_eq!(err, NodeExit::Deleted("n1".into()));
}

#[test]
fn trigger_times_keep_the_oldest() {
    let mut store = listed(vec![], vec![], vec![]);
    for (name, time, rv) in [
        ("s1", "2026-01-01T00:00:05Z", "1"),
        ("s2", "2026-01-01T00:00:01Z", "2"),
        ("s3", "2026-01-01T00:00:09Z", "3"),
    ] {
        let mut s = slice("a", name, "web", rv);
        s.metadata.trigger_time = Some(time.to_owned());
        store.apply(SourceEvent::slice(Event::Apply(s))).unwrap();
    }
    assert_eq!(
        store.take_changes().oldest_trigger.as_deref(),
        Some("2026-01-01T00:00:01Z")
    );
}

#[test]
fn replace_all_diffs_snapshots() {
    let mut store = ClusterStore::new();
    let snapshot = Snapshot {
        services: vec![
            service("a", "web", "1").into(),
            service("a", "db", "2").into(),
        ],
        endpoint_slices: vec![slice("a", "web-x", "web", "3").into()],
        nodes: vec![
            node("n1", "192.168.1.10", "4").into(),
            node("n2", "192.168.1.11", "5").into(),
        ],
    };
    store.replace_all(snapshot.clone(), "n1").unwrap();
    assert!(store.is_ready());
    assert_eq!(
        store.node().and_then(|n| n.metadata.name.as_deref()),
        Some("n1")
    );
    store.take_changes();
    let mut next = snapshot;
    next.services.remove(1);
    store.replace_all(next, "n1").unwrap();
    let changes = store.take_changes();
    assert_eq!(changes.services, names(&[("a", "db")]));
    assert!(!changes.node);
    assert_eq!(store.service_count(), 1);
}
