//! `/healthz` and `/livez` (pkg/proxy/healthcheck/proxy_health.go
//! `healthzHandler.ServeHTTP`, `livezHandler.ServeHTTP`, `Health`,
//! `NodeEligible`).

use std::{net::SocketAddr, time::Duration};

use k8s_openapi::{
    api::core::v1::{Node, NodeSpec, Taint},
    apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time},
    jiff::Timestamp,
};
use tokio::task::JoinHandle;

use super::{ManualClock, get, loopback};
use ipvs_netlink::Family;

use crate::serve::{
    Metrics, ProxyHealth, ServeError, health::rfc3339_nano, http, serve_healthz, serve_healthz_on,
};

const TIMEOUT: Duration = Duration::from_secs(60);

async fn server(health: &ProxyHealth, metrics: &Metrics) -> (SocketAddr, JoinHandle<()>) {
    let (listener, addr) = loopback().await;
    let task = tokio::spawn(serve_healthz_on(listener, health.clone(), metrics.clone()));
    (addr, task)
}

fn node(deleting: bool, taint: Option<&str>) -> Node {
    Node {
        metadata: ObjectMeta {
            name: Some("node-1".into()),
            deletion_timestamp: deleting.then_some(Time(Timestamp::UNIX_EPOCH)),
            ..ObjectMeta::default()
        },
        spec: Some(NodeSpec {
            taints: taint.map(|key| {
                vec![Taint {
                    key: key.into(),
                    effect: "NoSchedule".into(),
                    ..Taint::default()
                }]
            }),
            ..NodeSpec::default()
        }),
        status: None,
    }
}

/// Go's `time.Time.MarshalJSON` (layout RFC3339Nano,
/// "2006-01-02T15:04:05.999999999Z07:00"): trailing zeros of the fraction
/// trimmed, no dot for a whole second, `Z` for UTC, zero time
/// `0001-01-01T00:00:00Z`.
#[test]
fn times_print_like_go_rfc3339_nano() {
    use std::time::UNIX_EPOCH;
    let at = |nanos| Some(UNIX_EPOCH + Duration::new(super::T0, nanos));
    assert_eq!(rfc3339_nano(at(0)), "2024-01-02T03:04:05Z");
    assert_eq!(rfc3339_nano(at(500_000_000)), "2024-01-02T03:04:05.5Z");
    assert_eq!(rfc3339_nano(at(120_000_000)), "2024-01-02T03:04:05.12Z");
    assert_eq!(
        rfc3339_nano(at(123_456_789)),
        "2024-01-02T03:04:05.123456789Z"
    );
    assert_eq!(rfc3339_nano(at(1_000)), "2024-01-02T03:04:05.000001Z");
    assert_eq!(rfc3339_nano(None), "0001-01-01T00:00:00Z");
}

/// Before any sync nothing is queued or updated: `Health()` walks an empty
/// `lastUpdatedMap`, so healthy, no `status`; `lastUpdated` is now on 200.
#[tokio::test]
async fn healthy_before_the_first_sync() {
    let clock = ManualClock::at_t0(500_000_000);
    let health = ProxyHealth::with_clock(TIMEOUT, clock.clone());
    let metrics = Metrics::new();
    let (addr, _task) = server(&health, &metrics).await;

    let reply = get(addr, "/healthz").await;
    assert_eq!(reply.status_line, "HTTP/1.1 200 OK");
    assert_eq!(reply.header("Content-Type"), Some("application/json"));
    assert_eq!(reply.header("X-Content-Type-Options"), Some("nosniff"));
    assert_eq!(
        reply.body,
        r#"{"lastUpdated":"2024-01-02T03:04:05.5Z","currentTime":"2024-01-02T03:04:05.5Z","nodeEligible":true,"healthy":true}"#
    );

    let reply = get(addr, "/livez").await;
    assert_eq!(reply.code(), 200);
    assert_eq!(reply.header("Content-Type"), Some("application/json"));
    assert_eq!(reply.header("X-Content-Type-Options"), Some("nosniff"));
    assert_eq!(
        reply.body,
        r#"{"lastUpdated":"2024-01-02T03:04:05.5Z","currentTime":"2024-01-02T03:04:05.5Z","healthy":true}"#
    );

    // A family queued but never updated is not in lastUpdatedMap: healthy.
    health.queued_update(Family::Inet);
    clock.advance(TIMEOUT * 2);
    assert_eq!(get(addr, "/healthz").await.code(), 200);
    assert!(health.is_healthy());

    assert_eq!(get(addr, "/").await.code(), 404);
}

/// `currentTime.Sub(oldestPendingQueued) < healthTimeout` is healthy, so a
/// change pending exactly the timeout is unhealthy; the 503 keeps the real
/// `lastUpdated`; `Updated` clears the pending change.
#[tokio::test]
async fn unhealthy_when_a_queued_update_is_older_than_the_timeout() {
    let clock = ManualClock::at_t0(0);
    let health = ProxyHealth::with_clock(TIMEOUT, clock.clone());
    let metrics = Metrics::new();
    let (addr, _task) = server(&health, &metrics).await;

    health.updated(Family::Inet); // 03:04:05
    clock.advance(Duration::from_secs(10));
    health.queued_update(Family::Inet); // 03:04:15, the oldest pending
    clock.advance(Duration::from_secs(20));
    health.queued_update(Family::Inet); // later: does not move the oldest
    clock.advance(Duration::from_millis(39_900)); // 03:05:14.9, 59.9 s pending

    let reply = get(addr, "/healthz").await;
    assert_eq!(reply.code(), 200);
    assert_eq!(
        reply.body,
        r#"{"lastUpdated":"2024-01-02T03:05:14.9Z","currentTime":"2024-01-02T03:05:14.9Z","nodeEligible":true,"healthy":true,"status":{"IPv4":{"lastUpdated":"2024-01-02T03:04:05Z","healthy":true}}}"#
    );

    clock.advance(Duration::from_millis(100)); // 03:05:15, 60 s pending
    let reply = get(addr, "/healthz").await;
    assert_eq!(reply.status_line, "HTTP/1.1 503 Service Unavailable");
    assert_eq!(reply.header("Content-Type"), Some("application/json"));
    assert_eq!(reply.header("X-Content-Type-Options"), Some("nosniff"));
    assert_eq!(
        reply.body,
        r#"{"lastUpdated":"2024-01-02T03:04:05Z","currentTime":"2024-01-02T03:05:15Z","nodeEligible":true,"healthy":false,"status":{"IPv4":{"lastUpdated":"2024-01-02T03:04:05Z","healthy":false}}}"#
    );
    let reply = get(addr, "/livez").await;
    assert_eq!(reply.code(), 503);
    assert_eq!(
        reply.body,
        r#"{"lastUpdated":"2024-01-02T03:04:05Z","currentTime":"2024-01-02T03:05:15Z","healthy":false,"status":{"IPv4":{"lastUpdated":"2024-01-02T03:04:05Z","healthy":false}}}"#
    );
    assert!(!health.is_healthy());

    health.updated(Family::Inet);
    clock.advance(Duration::from_secs(1));
    let reply = get(addr, "/healthz").await;
    assert_eq!(reply.code(), 200);
    assert_eq!(
        reply.body,
        r#"{"lastUpdated":"2024-01-02T03:05:16Z","currentTime":"2024-01-02T03:05:16Z","nodeEligible":true,"healthy":true,"status":{"IPv4":{"lastUpdated":"2024-01-02T03:05:15Z","healthy":true}}}"#
    );
}

/// Dual stack: one late family makes the whole proxy unhealthy; `status`
/// is keyed `IPv4`, `IPv6` (Go sorts map keys) and `lastUpdated` is the
/// newest family's.
#[tokio::test]
async fn one_late_family_of_two_is_unhealthy() {
    let clock = ManualClock::at_t0(0);
    let health = ProxyHealth::with_clock(TIMEOUT, clock.clone());
    let metrics = Metrics::new();
    let (addr, _task) = server(&health, &metrics).await;

    health.updated(Family::Inet6); // 03:04:05
    health.queued_update(Family::Inet6);
    clock.advance(Duration::from_secs(61));
    health.updated(Family::Inet); // 03:05:06

    let reply = get(addr, "/livez").await;
    assert_eq!(reply.code(), 503);
    assert_eq!(
        reply.body,
        r#"{"lastUpdated":"2024-01-02T03:05:06Z","currentTime":"2024-01-02T03:05:06Z","healthy":false,"status":{"IPv4":{"lastUpdated":"2024-01-02T03:05:06Z","healthy":true},"IPv6":{"lastUpdated":"2024-01-02T03:04:05Z","healthy":false}}}"#
    );
}

/// `healthy := health.Healthy && nodeEligible` decides the code, but the
/// body's `healthy` is `health.Healthy` and `lastUpdated` is only replaced
/// on 200; `/livez` ignores the node.
#[tokio::test]
async fn a_node_being_deleted_fails_healthz_but_not_livez() {
    let clock = ManualClock::at_t0(0);
    let health = ProxyHealth::with_clock(TIMEOUT, clock.clone());
    let metrics = Metrics::new();
    let (addr, _task) = server(&health, &metrics).await;

    health.updated(Family::Inet);
    clock.advance(Duration::from_secs(1));

    health.set_node(Some(&node(true, None)));
    let reply = get(addr, "/healthz").await;
    assert_eq!(reply.code(), 503);
    assert_eq!(
        reply.body,
        r#"{"lastUpdated":"2024-01-02T03:04:05Z","currentTime":"2024-01-02T03:04:06Z","nodeEligible":false,"healthy":true,"status":{"IPv4":{"lastUpdated":"2024-01-02T03:04:05Z","healthy":true}}}"#
    );
    let reply = get(addr, "/livez").await;
    assert_eq!(reply.code(), 200);
    assert!(health.is_healthy());

    health.set_node(Some(&node(false, Some("ToBeDeletedByClusterAutoscaler"))));
    assert_eq!(get(addr, "/healthz").await.code(), 503);
    assert_eq!(get(addr, "/livez").await.code(), 200);

    health.set_node(None);
    assert_eq!(get(addr, "/healthz").await.code(), 503);

    health.set_node(Some(&node(false, Some("node.kubernetes.io/unschedulable"))));
    let reply = get(addr, "/healthz").await;
    assert_eq!(reply.code(), 200);
    assert!(
        reply.body.contains(r#""nodeEligible":true"#),
        "{}",
        reply.body
    );

    // metrics.ProxyHealthzTotal / ProxyLivezTotal .WithLabelValues(code).Inc()
    let text = metrics.render();
    for line in [
        "kubeproxy_proxy_healthz_total{code=\"503\"} 3",
        "kubeproxy_proxy_healthz_total{code=\"200\"} 1",
        "kubeproxy_proxy_livez_total{code=\"200\"} 2",
    ] {
        assert!(text.lines().any(|l| l == line), "{line} not in\n{text}");
    }
    assert!(!text.contains("kubeproxy_proxy_livez_total{code=\"503\"}"));
}

/// `bindAddressHardFail`: the listen error is returned, in kube-proxy's
/// words ("failed to start proxy healthz on %s: %w").
#[tokio::test]
async fn hard_fail_returns_the_bind_error() {
    let (_taken, addr) = loopback().await;
    let health = ProxyHealth::new(TIMEOUT);
    let result = serve_healthz(addr, health, Metrics::new(), true).await;
    let Err(err @ ServeError::Bind { .. }) = result else {
        panic!("expected a bind error, got {result:?}");
    };
    let text = err.to_string();
    assert!(
        text.starts_with(&format!("failed to start proxy healthz on {addr}: ")),
        "{text}"
    );
}

/// Without hard fail a taken address is retried (kube-proxy:
/// `wait.Until(fn, 5*time.Second, …)`; here every 50 ms) until it is free.
/// The clock is paused: tokio moves it to the next retry whenever every
/// task waits, so the retries happen in order, without waiting.
#[tokio::test(start_paused = true)]
async fn soft_fail_retries_until_the_address_is_free() {
    let (taken, addr) = loopback().await;
    let retry = Duration::from_millis(50);
    let task = tokio::spawn(http::bind_every(addr, "proxy healthz", false, retry));
    // Ten retries later it is still trying (the paused clock advances to
    // each retry's timer, then to this one).
    let started = tokio::time::Instant::now();
    tokio::time::sleep(10 * retry + retry / 2).await;
    assert_eq!(
        started.elapsed(),
        10 * retry + retry / 2,
        "the clock is paused"
    );
    assert!(!task.is_finished(), "a soft bind failure must not give up");
    drop(taken);
    let listener = tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .expect("bound once free")
        .unwrap()
        .expect("a listener");
    assert_eq!(listener.local_addr().unwrap(), addr);
}
