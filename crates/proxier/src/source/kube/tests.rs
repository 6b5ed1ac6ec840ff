//! The watchers against kube's tower-test mock: the requests kube-proxy
//! would make (selectors, watch from the list's resourceVersion), events
//! in the merged stream, and the field-selector fallback.

use std::time::Duration;

use http::{Request, Response};
use kube::client::Body;
use serde_json::json;
use tokio::sync::mpsc;
use tower_test::mock::{self, Handle};

use super::*;
use crate::cluster::objects::TRIGGER_TIME_ANNOTATION;

type MockHandle = Handle<Request<Body>, Response<Body>>;

fn mock_client() -> (Client, MockHandle) {
    let (service, handle) = mock::pair::<Request<Body>, Response<Body>>();
    (Client::new(service, "default"), handle)
}

fn json_response(status: u16, value: serde_json::Value) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Body::from(serde_json::to_vec(&value).unwrap()))
        .unwrap()
}

fn list(kind: &str, api_version: &str, rv: &str, items: Vec<serde_json::Value>) -> Response<Body> {
    json_response(
        200,
        json!({"kind": kind, "apiVersion": api_version,
               "metadata": {"resourceVersion": rv}, "items": items}),
    )
}

/// A watch body: one JSON event per line, then the stream ends (as a
/// dropped watch would).
fn watch_lines(events: &[serde_json::Value]) -> Response<Body> {
    let mut body = Vec::new();
    for event in events {
        body.extend(serde_json::to_vec(event).unwrap());
        body.push(b'\n');
    }
    Response::builder()
        .status(200)
        .body(Body::from(body))
        .unwrap()
}

/// The query string, percent-decoded for readable assertions.
/// Whether a decoded query has exactly the parameter `name=value`.
fn has_param(query: &str, param: &str) -> bool {
    query.split('&').any(|p| p == param)
}

fn query(request: &Request<Body>) -> String {
    let raw = request.uri().query().unwrap_or("").as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < raw.len() {
        let hex = raw
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (raw[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn service(name: &str, rv: &str) -> serde_json::Value {
    json!({"metadata": {"namespace": "ns", "name": name, "resourceVersion": rv,
                         "managedFields": [{"manager": "kubectl"}],
                         "annotations": {"a": "b"}},
           "spec": {"clusterIP": "10.96.0.10", "ports": [{"port": 80}]}})
}

/// Drives EVENTS on a task of its own, as the daemon's pump does, so the
/// mock's requests are made while the test answers them.
fn drive(
    mut events: BoxStream<'static, SourceEvent>,
) -> (mpsc::Receiver<SourceEvent>, tokio::task::JoinHandle<()>) {
    let (tx, rx) = mpsc::channel(64);
    let task = tokio::spawn(async move {
        while let Some(event) = events.next().await {
            if tx.send(event).await.is_err() {
                return;
            }
        }
    });
    (rx, task)
}

/// Receives the next event, with a timeout.
async fn next(rx: &mut mpsc::Receiver<SourceEvent>) -> SourceEvent {
    tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .expect("an event in time")
        .expect("channel open")
}

#[tokio::test]
async fn watches_as_kube_proxy_does_and_forwards_events() {
    let (client, mut handle) = mock_client();
    let (mut rx, task) = drive(events(client, "node-1"));
    let mut seen = Vec::new();
    // The three lists, in any order, then the watches.
    for _ in 0..3 {
        let (request, send) = handle.next_request().await.expect("a list request");
        let path = request.uri().path().to_owned();
        let q = query(&request);
        assert!(!q.contains("watch=true"), "a list first: {q}");
        let response = match path.as_str() {
            "/api/v1/services" => {
                assert!(
                    has_param(
                        &q,
                        "labelSelector=!service.kubernetes.io/service-proxy-name"
                    ),
                    "{q}"
                );
                assert!(q.contains("fieldSelector=spec.clusterIP!=None"), "{q}");
                list("ServiceList", "v1", "10", vec![service("web", "9")])
            }
            "/apis/discovery.k8s.io/v1/endpointslices" => {
                assert!(
                    has_param(&q, "labelSelector=!service.kubernetes.io/headless"),
                    "{q}"
                );
                list("EndpointSliceList", "discovery.k8s.io/v1", "10", vec![])
            }
            "/api/v1/nodes" => {
                assert!(q.contains("fieldSelector=metadata.name=node-1"), "{q}");
                list("NodeList", "v1", "10", vec![])
            }
            other => panic!("unexpected request {other}?{q}"),
        };
        seen.push(path);
        send.send_response(response);
    }
    seen.sort();
    assert_eq!(seen.len(), 3);

    // Init, InitApply(web), InitDone for Services; the stripped object.
    let mut services = Vec::new();
    let mut others = 0;
    while services.len() < 3 || others < 4 {
        match next(&mut rx).await {
            SourceEvent::Service(event) => services.push(*event),
            _ => others += 1,
        }
    }
    assert!(matches!(services[0], Event::Init));
    match &services[1] {
        Event::InitApply(s) => {
            assert_eq!(s.metadata.name.as_deref(), Some("web"));
            assert_eq!(s.metadata.trigger_time, None, "no annotation kept");
        }
        other => panic!("expected InitApply, got {other:?}"),
    }
    assert!(matches!(services[2], Event::InitDone));

    // The Service watch resumes from the list's resourceVersion.
    loop {
        let (request, send) = handle.next_request().await.expect("a watch request");
        let q = query(&request);
        assert!(q.contains("watch=true"), "{q}");
        if request.uri().path() == "/api/v1/services" {
            assert!(q.contains("resourceVersion=10"), "{q}");
            assert!(q.contains("allowWatchBookmarks=true"), "{q}");
            send.send_response(watch_lines(&[
                json!({"type": "ADDED", "object": service("db", "11")}),
                json!({"type": "BOOKMARK", "object": {"kind": "Service", "apiVersion": "v1",
                        "metadata": {"resourceVersion": "12"}}}),
                json!({"type": "DELETED", "object": service("web", "13")}),
            ]));
            break;
        }
        // Keep the other watches open: answer nothing for them.
        std::mem::forget(send);
    }
    let mut got = Vec::new();
    while got.len() < 2 {
        if let SourceEvent::Service(event) = next(&mut rx).await {
            got.push(*event);
        }
    }
    assert!(matches!(&got[0], Event::Apply(s) if s.metadata.name.as_deref() == Some("db")));
    assert!(matches!(&got[1], Event::Delete(s) if s.metadata.name.as_deref() == Some("web")));
    // After the stream ended, the next watch resumes after the bookmark
    // and the delete.
    loop {
        let (request, _send) = handle.next_request().await.expect("a re-watch");
        if request.uri().path() == "/api/v1/services" {
            let q = query(&request);
            assert!(
                q.contains("watch=true") && q.contains("resourceVersion=13"),
                "{q}"
            );
            break;
        }
    }
    task.abort();
}

#[tokio::test]
async fn a_rejected_field_selector_falls_back_to_filtering_here() {
    let (client, mut handle) = mock_client();
    let (mut rx, task) = drive(service_events(Api::all(client)));
    let (request, send) = handle.next_request().await.unwrap();
    assert!(query(&request).contains("fieldSelector="));
    send.send_response(json_response(
        400,
        json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 400,
               "reason": "BadRequest",
               "message": "field label not supported: spec.clusterIP"}),
    ));
    let (request, send) = handle.next_request().await.unwrap();
    let q = query(&request);
    assert!(!q.contains("fieldSelector"), "{q}");
    assert!(
        q.contains("labelSelector=!service.kubernetes.io/service-proxy-name"),
        "{q}"
    );
    send.send_response(list("ServiceList", "v1", "5", vec![service("web", "4")]));
    // The failed first attempt may already have said Init; the store
    // starts a fresh buffer at each Init.
    assert!(matches!(next(&mut rx).await, SourceEvent::Service(e) if matches!(*e, Event::Init)));
    let mut event = next(&mut rx).await;
    if matches!(&event, SourceEvent::Service(e) if matches!(**e, Event::Init)) {
        event = next(&mut rx).await;
    }
    assert!(matches!(&event, SourceEvent::Service(e) if matches!(**e, Event::InitApply(_))));
    assert!(
        matches!(next(&mut rx).await, SourceEvent::Service(e) if matches!(*e, Event::InitDone))
    );
    task.abort();
}

/// An object of the wrong kind in the stream, or a list item that does not
/// decode, is skipped and the watch goes on: later events still arrive and
/// the next watch resumes after the skipped event.
#[tokio::test]
async fn an_object_that_does_not_decode_is_skipped_and_the_watch_goes_on() {
    let (client, mut handle) = mock_client();
    let (mut rx, task) = drive(service_events(Api::all(client)));
    let (request, send) = handle.next_request().await.unwrap();
    assert!(!query(&request).contains("watch=true"));
    let mut broken = service("broken", "8");
    broken["spec"]["ports"][0]["port"] = json!("eighty");
    send.send_response(list(
        "ServiceList",
        "v1",
        "10",
        vec![service("web", "9"), broken],
    ));
    let mut got = Vec::new();
    while got.len() < 3 {
        if let SourceEvent::Service(event) = next(&mut rx).await {
            got.push(*event);
        }
    }
    assert!(matches!(got[0], Event::Init));
    assert!(matches!(&got[1], Event::InitApply(s) if s.metadata.name.as_deref() == Some("web")));
    assert!(matches!(got[2], Event::InitDone), "{:?}", got[2]);

    let (request, send) = handle.next_request().await.unwrap();
    assert!(query(&request).contains("resourceVersion=10"));
    send.send_response(watch_lines(&[
        json!({"type": "ADDED", "object": {"kind": "ConfigMap", "apiVersion": "v1",
               "metadata": {"name": "intruder", "namespace": "ns", "resourceVersion": "11"},
               "data": {"k": "v"}}}),
        json!({"type": "MODIFIED", "object": service("db", "12")}),
        json!({"type": "MODIFIED", "object": {"kind": "Service", "apiVersion": "v1",
               "metadata": {"name": "db", "namespace": "ns", "resourceVersion": "13"},
               "spec": {"ports": 5}}}),
    ]));
    match next(&mut rx).await {
        SourceEvent::Service(event) => assert!(
            matches!(&*event, Event::Apply(s) if s.metadata.name.as_deref() == Some("db")),
            "{event:?}"
        ),
        _ => panic!("a Service event"),
    }
    // The stream ended; the re-watch resumes after the last, skipped, event.
    let (request, _send) = handle.next_request().await.unwrap();
    let q = query(&request);
    assert!(
        q.contains("watch=true") && q.contains("resourceVersion=13"),
        "{q}"
    );
    task.abort();
}

#[test]
fn stripping_keeps_what_the_planner_reads() {
    let slice: EndpointSlice = serde_json::from_value(json!({
        "metadata": {"name": "s", "namespace": "ns", "resourceVersion": "7",
            "labels": {"kubernetes.io/service-name": "web"},
            "annotations": {TRIGGER_TIME_ANNOTATION: "2026-01-01T00:00:00Z", "other": "x"},
            "managedFields": [{"manager": "m"}]},
        "addressType": "IPv4",
        "endpoints": [{"addresses": ["10.0.0.9"], "nodeName": "n", "zone": "z",
            "conditions": {"ready": false},
            "targetRef": {"kind": "Pod", "name": "p"}}],
        "ports": [{"name": "http", "port": 80}]
    }))
    .unwrap();
    let SourceEvent::EndpointSlice(event) = slice_event(Event::Apply(slice)) else {
        panic!("not a slice event");
    };
    let Event::Apply(slice) = *event else {
        panic!("not an Apply");
    };
    let meta = &slice.metadata;
    assert_eq!(meta.trigger_time.as_deref(), Some("2026-01-01T00:00:00Z"));
    assert_eq!(
        (meta.name.as_deref(), meta.namespace.as_deref()),
        (Some("s"), Some("ns"))
    );
    assert_eq!(meta.resource_version.as_deref(), Some("7"));
    let labels = meta.labels.as_ref().unwrap();
    assert_eq!(labels.get("kubernetes.io/service-name").unwrap(), "web");
    let endpoint = &slice.endpoints[0];
    assert_eq!(&*endpoint.addresses, ["10.0.0.9".to_owned()]);
    assert_eq!(endpoint.node_name.as_deref(), Some("n"));
    assert_eq!(endpoint.conditions.as_ref().unwrap().ready, Some(false));
    let port = &slice.ports.as_ref().unwrap()[0];
    assert_eq!((port.name.as_deref(), port.port), (Some("http"), Some(80)));
    let mut node: Node = serde_json::from_value(json!({
        "metadata": {"name": "n", "labels": {"topology.kubernetes.io/zone": "z"}},
        "spec": {"taints": [{"key": "ToBeDeletedByClusterAutoscaler", "effect": "NoSchedule"}]},
        "status": {"addresses": [{"type": "InternalIP", "address": "10.0.0.1"}],
                   "images": [{"names": ["x"]}]}
    }))
    .unwrap();
    strip_node(&mut node);
    assert!(node.metadata.labels.is_some());
    assert!(node.spec.unwrap().taints.is_some());
    let status = node.status.unwrap();
    assert!(status.addresses.is_some() && status.images.is_none());
}
